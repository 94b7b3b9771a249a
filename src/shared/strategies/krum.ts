// Krum and Multi-Krum (Blanchard et al. NeurIPS'17), spec §7, on the n received updates of which f may be
// Byzantine (f = params.byzantine, default 1 — a fixed assumption, not derived from n):
//   score(k) = Σ_{j ∈ N_k} ‖Δ_k − Δ_j‖²,  N_k = the n − f − 2 nearest other updates;  requires n > 2f + 2.
//   Krum:       Δ = Δ_{argmin score}            (ties: the earlier update)
//   Multi-Krum: Δ = mean of the m lowest-score Δ_k (unweighted), m = multiKrumM (0: n − f).
// A round with n ≤ 2f + 2 updates is skipped (w_t kept) with the reason; a run that cannot reach it fails before round 1.
import { numberField } from '../schema/fields';
import { byClient, deltas, validateInput } from './common';
import { defineStrategy, type Strategy } from './strategy';
import { pairwiseSquaredDistances, weightedSum } from './vector-math';

/**
 * Krum's score of update k among `members` (indices into the n×n row-major squared distances `dist`): the sum of
 * its `nearest` smallest distances to the other members. `scratch` holds at least |members| values.
 */
export function krumScore(dist: Float64Array, n: number, k: number, members: readonly number[], nearest: number, scratch: Float64Array): number {
  let c = 0;
  for (const j of members) if (j !== k) scratch[c++] = dist[k * n + j];
  const row = scratch.subarray(0, c).sort();
  let s = 0;
  for (let t = 0; t < nearest; t++) s += row[t];
  return s;
}

/** Krum scores of each update (exported for tests and diagnostics). */
export function krumScores(ds: readonly Float32Array[], f: number): number[] {
  const n = ds.length;
  if (!(n > 2 * f + 2)) throw new Error(`krum needs n > 2f + 2: n=${n}, f=${f}`);
  const dist = pairwiseSquaredDistances(ds);
  const all = Array.from({ length: n }, (_, k) => k);
  const scratch = new Float64Array(n);
  return all.map((k) => krumScore(dist, n, k, all, n - f - 2, scratch));
}

/** f, shared by Krum, Multi-Krum and Bulyan. */
export const BYZANTINE = numberField({ default: 1, int: true, min: 0, max: 1000, help: 'Krum / Multi-Krum / Bulyan: assumed Byzantine clients f' });

function krumLike(name: 'krum' | 'multi-krum', params: { byzantine: number; multiKrumM?: number }): Strategy<null> {
  return {
    name,
    initState: () => null,
    aggregate(input) {
      validateInput(name, input);
      const { updates } = input;
      const n = updates.length;
      const f = params.byzantine;
      const ds = deltas(updates);
      const scores = krumScores(ds, f);
      const m = name === 'krum' ? 1 : params.multiKrumM || n - f;
      if (m > n) throw new Error(`${name}: multiKrumM=${m} exceeds the ${n} received updates`);
      // Stable sort on (score, index): ties keep update order.
      const order = scores.map((_, k) => k).sort((a, b) => scores[a] - scores[b] || a - b);
      const coeff = new Array<number>(n).fill(0);
      for (const k of order.slice(0, m)) coeff[k] = 1 / m;
      const flagged = order.slice(m).map((k, i) => ({
        clientId: updates[k].clientId,
        reason: `${name}: not selected (score ${scores[k].toPrecision(4)}, rank ${m + i + 1}/${n}, kept ${m})`,
      }));
      return {
        result: {
          step: weightedSum(ds, coeff),
          clientWeights: byClient(updates, coeff),
          flagged,
        },
        state: null,
      };
    },
  };
}

export const krum = defineStrategy({
  name: 'krum',
  summary: 'the update with the smallest sum of squared distances to its n − f − 2 nearest (§7)',
  params: { byzantine: BYZANTINE },
  keepsPartialWork: true,
  needsAllUpdates: true,
  minUpdates: (p) => 2 * p.byzantine + 3,
  shortfall: { kind: 'skip' },
  create: (p) => krumLike('krum', p),
});

export const multiKrum = defineStrategy({
  name: 'multi-krum',
  summary: 'the mean of the m best Krum scores (§7)',
  params: { byzantine: BYZANTINE, multiKrumM: numberField({ default: 0, int: true, min: 0, max: 1000, help: 'Multi-Krum: updates averaged (0 = n − f)' }) },
  keepsPartialWork: true,
  needsAllUpdates: true,
  minUpdates: (p) => 2 * p.byzantine + 3,
  shortfall: { kind: 'skip' },
  create: (p) => krumLike('multi-krum', p),
});


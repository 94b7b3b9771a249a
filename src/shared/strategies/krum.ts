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

/** Krum scores of each update (exported for tests and diagnostics). */
export function krumScores(ds: readonly Float32Array[], f: number): number[] {
  const n = ds.length;
  if (!(n > 2 * f + 2)) throw new Error(`krum needs n > 2f + 2: n=${n}, f=${f}`);
  const dist = pairwiseSquaredDistances(ds);
  const nearest = n - f - 2;
  const scores: number[] = [];
  for (let k = 0; k < n; k++) {
    const others: number[] = [];
    for (let j = 0; j < n; j++) if (j !== k) others.push(dist[k * n + j]);
    others.sort((a, b) => a - b);
    let s = 0;
    for (let i = 0; i < nearest; i++) s += others[i];
    scores.push(s);
  }
  return scores;
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
      const scores = krumScores(deltas(updates), f);
      const m = name === 'krum' ? 1 : params.multiKrumM || n - f;
      if (m > n) throw new Error(`${name}: multiKrumM=${m} exceeds the ${n} received updates`);
      // Stable sort on (score, index): ties keep update order.
      const order = scores.map((_, k) => k).sort((a, b) => scores[a] - scores[b] || a - b);
      const coeff = new Array<number>(n).fill(0);
      for (const k of order.slice(0, m)) coeff[k] = 1 / m;
      const flagged = order.slice(m).map((k) => ({
        clientId: updates[k].clientId,
        reason: `${name}: not selected (score ${scores[k].toPrecision(4)}, rank ${order.indexOf(k) + 1}/${n}, kept ${m})`,
      }));
      return {
        result: {
          step: weightedSum(deltas(updates), coeff),
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
  minUpdates: (p) => 2 * p.byzantine + 3,
  shortfall: { kind: 'skip' },
  create: (p) => krumLike('krum', p),
});

export const multiKrum = defineStrategy({
  name: 'multi-krum',
  summary: 'the mean of the m best Krum scores (§7)',
  params: { byzantine: BYZANTINE, multiKrumM: numberField({ default: 0, int: true, min: 0, max: 1000, help: 'Multi-Krum: updates averaged (0 = n − f)' }) },
  keepsPartialWork: true,
  minUpdates: (p) => 2 * p.byzantine + 3,
  shortfall: { kind: 'skip' },
  create: (p) => krumLike('multi-krum', p),
});


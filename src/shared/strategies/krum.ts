// Krum and Multi-Krum (Blanchard et al. NeurIPS'17), spec §7, on the n received updates of which f may be
// Byzantine (f = params.byzantine, default 1 — a fixed assumption, not derived from n):
//   score(k) = Σ_{j ∈ N_k} ‖Δ_k − Δ_j‖²,  N_k = the n − f − 2 nearest other updates;  requires n > 2f + 2.
//   Krum:       w_{t+1} = w_t + η_g Δ_{argmin score}            (ties: the earlier update)
//   Multi-Krum: w_{t+1} = w_t + η_g · mean of the m lowest-score Δ_k (unweighted), m = params.multiKrumM ?? n − f.
import type { ResolvedParams, Strategy } from './strategy';
import { applyStep, byClient, deltas, validateInput } from './common';
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

export function krumStrategy(name: 'krum' | 'multi-krum', params: ResolvedParams): Strategy<null> {
  return {
    name,
    initState: () => null,
    aggregate(input) {
      validateInput(name, input);
      const { updates } = input;
      const n = updates.length;
      const f = params.byzantine ?? 1;
      const scores = krumScores(deltas(updates), f);
      const m = name === 'krum' ? 1 : (params.multiKrumM ?? n - f);
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
          weights: applyStep(input.global, weightedSum(deltas(updates), coeff), params.serverLr),
          clientWeights: byClient(updates, coeff),
          flagged,
        },
        state: null,
      };
    },
  };
}

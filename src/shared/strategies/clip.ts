// Norm clipping (Sun et al. 2019), spec §7:
//   Δ_k ← Δ_k / max(1, ‖Δ_k‖/M),   M = clipNorm if given, else the median of the round's ‖Δ_k‖
//   w_{t+1} = w_t + η_g Σ_k (n_k/n) Δ_k + N(0, σ²I)     (σ = clipNoise, default 0; seeded by (seed, 'clip', round))
// If M = 0 (median norm 0), every nonzero update is clipped to 0. Clipping is not exclusion: nothing is flagged.
import type { ResolvedParams, Strategy } from './strategy';
import { applyStep, byClient, deltas, noiseSeed, validateInput } from './common';
import { addGaussianNoise, median, norm, weightedSum } from './vector-math';

/** The factor min(1, M/‖Δ‖) = 1/max(1, ‖Δ‖/M); 1 for a zero update, 0 for a nonzero one when M = 0. */
export function clipFactor(deltaNorm: number, bound: number): number {
  if (deltaNorm === 0) return 1;
  return deltaNorm <= bound ? 1 : bound / deltaNorm;
}

export function clipStrategy(params: ResolvedParams): Strategy<null> {
  const who = 'clip';
  return {
    name: who,
    initState: () => null,
    aggregate(input) {
      const { totalSamples } = validateInput(who, input);
      const { updates, global } = input;
      const ds = deltas(updates);
      const norms = ds.map(norm);
      const bound = params.clipNorm ?? median(norms);
      const p = updates.map((u) => u.numSamples / totalSamples);
      const step = weightedSum(ds, p.map((pk, k) => pk * clipFactor(norms[k], bound)));
      for (let i = 0; i < step.length; i++) step[i] *= params.serverLr;
      addGaussianNoise(step, params.clipNoise, noiseSeed(input, who));
      return {
        result: { weights: applyStep(global, step, 1), clientWeights: byClient(updates, p), flagged: [] },
        state: null,
      };
    },
  };
}

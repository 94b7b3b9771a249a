// Norm clipping (Sun et al. 2019), spec §7:
//   Δ_k ← Δ_k / max(1, ‖Δ_k‖/M),   M = clipNorm if given, else the median of the round's ‖Δ_k‖
//   Δ = Σ_k (n_k/n) Δ_k + N(0, σ²I)     (σ = clipNoise, default 0; seeded by (seed, 'clip', round)); then the server optimizer
// If M = 0 (median norm 0), every nonzero update is clipped to 0. Clipping is not exclusion: nothing is flagged.
import { numberField } from '../schema/fields';
import { byClient, deltas, noiseSeed, validateInput } from './common';
import { defineStrategy } from './strategy';
import { addGaussianNoise, median, norms as normsOf, weightedSum } from './vector-math';

/** The factor min(1, M/‖Δ‖) = 1/max(1, ‖Δ‖/M); 1 for a zero update, 0 for a nonzero one when M = 0. */
export function clipFactor(deltaNorm: number, bound: number): number {
  if (deltaNorm === 0) return 1;
  return deltaNorm <= bound ? 1 : bound / deltaNorm;
}

const who = 'clip';

export const clip = defineStrategy({
  name: who,
  summary: 'norm clipping at the median norm (or clipNorm), optional Gaussian noise σ (§7)',
  params: {
    clipNorm: numberField({ default: 0, min: 0, max: 1e6, help: 'clip: norm bound M (0 = median norm)' }),
    clipNoise: numberField({ default: 0, min: 0, max: 10, help: 'clip: Gaussian noise σ on the aggregate' }),
  },
  keepsPartialWork: true,
  needsAllUpdates: true,
  create: (params) => ({
    name: who,
    initState: () => null,
    aggregate(input) {
      const { totalSamples } = validateInput(who, input);
      const { updates } = input;
      const ds = deltas(updates);
      const norms = normsOf(ds);
      const bound = params.clipNorm > 0 ? params.clipNorm : median(norms);
      const p = updates.map((u) => u.numSamples / totalSamples);
      const step = weightedSum(ds, p.map((pk, k) => pk * clipFactor(norms[k], bound)));
      addGaussianNoise(step, params.clipNoise, noiseSeed(input, who));
      return {
        result: { step, clientWeights: byClient(updates, p), flagged: [] },
        state: null,
      };
    },
  }),
});

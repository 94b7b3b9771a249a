// Coordinate-wise median (Yin et al. ICML'18), spec §7: Δ_i = median_k Δ_{k,i} (even n: mean of the two middle
// values); w_{t+1} = w_t + η_g Δ. Sample counts are ignored. clientWeights reports the nominal 1/n each
// (the median has no per-client weight; every client is treated symmetrically).
import type { ResolvedParams, Strategy } from './strategy';
import { applyStep, byClient, deltas, validateInput } from './common';
import { coordinateMedian } from './vector-math';

export function medianStrategy(params: ResolvedParams): Strategy<null> {
  const who = 'median';
  return {
    name: who,
    initState: () => null,
    aggregate(input) {
      validateInput(who, input);
      const { updates } = input;
      return {
        result: {
          weights: applyStep(input.global, coordinateMedian(deltas(updates)), params.serverLr),
          clientWeights: byClient(updates, new Array<number>(updates.length).fill(1 / updates.length)),
          flagged: [],
        },
        state: null,
      };
    },
  };
}

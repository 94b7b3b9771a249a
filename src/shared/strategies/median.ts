// Coordinate-wise median (Yin et al. ICML'18), spec §7: Δ_i = median_k Δ_{k,i} (even n: mean of the two middle
// values); then the server optimizer. Sample counts are ignored. clientWeights reports the nominal 1/n each
// (the median has no per-client weight; every client is treated symmetrically).
import { byClient, deltas, validateInput } from './common';
import { defineStrategy } from './strategy';
import { coordinateMedian } from './vector-math';

const who = 'median';

export const median = defineStrategy({
  name: who,
  summary: 'coordinate-wise median of the updates (§7)',
  params: {},
  keepsPartialWork: true,
  needsAllUpdates: true,
  create: () => ({
    name: who,
    initState: () => null,
    aggregate(input) {
      validateInput(who, input);
      const { updates } = input;
      return {
        result: {
          step: coordinateMedian(deltas(updates)),
          clientWeights: byClient(updates, new Array<number>(updates.length).fill(1 / updates.length)),
          flagged: [],
        },
        state: null,
      };
    },
  }),
});

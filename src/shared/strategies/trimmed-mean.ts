// Coordinate-wise trimmed mean (Yin et al. ICML'18), spec §7: per coordinate drop the b = ⌈βn⌉ largest and b
// smallest values and average the remaining n − 2b (β = trimBeta, default 0.2; choose β ≥ f/n). Sample counts
// are ignored. Throws when n − 2b < 1. ⌈βn⌉ is taken with a 1e-9 tolerance so that e.g. 0.2·15 = 3.0000000000000004
// trims 3, not 4. clientWeights reports the nominal 1/n each.
import type { ResolvedParams, Strategy } from './strategy';
import { applyStep, byClient, deltas, validateInput } from './common';
import { coordinateTrimmedMean } from './vector-math';

export function trimCount(beta: number, n: number): number {
  return Math.max(0, Math.ceil(beta * n - 1e-9));
}

export function trimmedMeanStrategy(params: ResolvedParams): Strategy<null> {
  const who = 'trimmed-mean';
  return {
    name: who,
    initState: () => null,
    aggregate(input) {
      validateInput(who, input);
      const { updates } = input;
      const n = updates.length;
      const b = trimCount(params.trimBeta, n);
      if (n - 2 * b < 1) {
        throw new Error(`${who}: trimming ⌈${params.trimBeta}·${n}⌉ = ${b} from each end of ${n} updates leaves nothing; need more clients or a smaller trimBeta`);
      }
      return {
        result: {
          weights: applyStep(input.global, coordinateTrimmedMean(deltas(updates), b), params.serverLr),
          clientWeights: byClient(updates, new Array<number>(n).fill(1 / n)),
          flagged: [],
        },
        state: null,
      };
    },
  };
}

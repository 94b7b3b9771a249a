// Coordinate-wise trimmed mean (Yin et al. ICML'18), spec §7: per coordinate drop the b = ⌈βn⌉ largest and b
// smallest values and average the remaining n − 2b (β = trimBeta, default 0.2; choose β ≥ f/n). Sample counts
// are ignored. Throws when n − 2b < 1. ⌈βn⌉ is taken with a 1e-9 tolerance so that e.g. 0.2·15 = 3.0000000000000004
// trims 3, not 4. clientWeights reports the nominal 1/n each.
import { numberField } from '../schema/fields';
import { byClient, deltas, validateInput } from './common';
import { defineStrategy } from './strategy';
import { coordinateTrimmedMean } from './vector-math';

export function trimCount(beta: number, n: number): number {
  return Math.max(0, Math.ceil(beta * n - 1e-9));
}

const who = 'trimmed-mean';

/** The fewest updates that leave one value per coordinate after trimming ⌈βn⌉ at each end. */
export function trimmedMeanMinUpdates(beta: number): number {
  let n = 1;
  while (n - 2 * trimCount(beta, n) < 1) n++;
  return n;
}

export const trimmedMean = defineStrategy({
  name: who,
  summary: 'coordinate-wise trimmed mean dropping ⌈βn⌉ at each end (§7); below 1 − 2β coverage it falls back to the median',
  params: { trimBeta: numberField({ default: 0.2, min: 0, max: 0.499, help: 'trimmed mean: fraction β trimmed at each end' }) },
  keepsPartialWork: true,
  needsAllUpdates: true,
  minUpdates: (p) => trimmedMeanMinUpdates(p.trimBeta),
  shortfall: { kind: 'fallback', strategy: 'median' },
  create: (params) => ({
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
          step: coordinateTrimmedMean(deltas(updates), b),
          clientWeights: byClient(updates, new Array<number>(n).fill(1 / n)),
          flagged: [],
        },
        state: null,
      };
    },
  }),
});

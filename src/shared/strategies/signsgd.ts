// signSGD with majority vote (Bernstein et al. 2018), FedMChain's reference-only baseline (spec §5 step 5):
//   Δ_i = signLr · sign(Σ_k sign(Δ_{k,i}))   (a tied vote, or all zeros, gives 0); then the server optimizer.
// Magnitudes and sample counts are ignored: every client casts one vote per coordinate, so clientWeights reports
// the nominal 1/n each.
import { numberField } from '../schema/fields';
import { byClient, deltas, validateInput } from './common';
import { signMajority } from './sign-consensus';
import { defineStrategy } from './strategy';

const who = 'signsgd';

export const signsgd = defineStrategy({
  name: who,
  summary: 'signSGD with majority vote: signLr · sign(Σ_k sign(Δ_k)) (§5 reference baseline)',
  params: { signLr: numberField({ default: 0.001, gt: 0, max: 10, help: 'signsgd: step size of the majority sign' }) },
  keepsPartialWork: true,
  create: (params) => ({
    name: who,
    initState: () => null,
    aggregate(input) {
      validateInput(who, input);
      const { updates } = input;
      return {
        result: {
          step: signMajority(deltas(updates), params.signLr),
          clientWeights: byClient(updates, new Array<number>(updates.length).fill(1 / updates.length)),
          flagged: [],
        },
        state: null,
      };
    },
  }),
});

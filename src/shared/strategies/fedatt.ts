// FedAtt (Ji et al. 2019), faithful to shaoxiongji/fed-att src/agg/aggregate.py (spec §2.1). Per layer l:
//   s_k^l = ‖w_t^l − w_k^l‖_F = ‖Δ_k^l‖_F           (deviation D1: Frobenius, not scipy's spectral ord=2)
//   α_k^l = softmax_k(s_k^l)                          (positive distance: farther clients get MORE weight, Note 1)
//   w_{t+1}^l = w_t^l − ε Σ_k α_k^l (w_t^l − w_k^l) + β·N(0, I) = w_t^l + ε Σ_k α_k^l Δ_k^l + β·N(0, I)
// Sample counts n_k are ignored, as in the reference. The noise stream is seeded by (seed, 'fedatt', round).
import { numberField } from '../schema/fields';
import { byClient, deltas, noiseSeed, validateInput } from './common';
import { defineStrategy } from './strategy';
import { addGaussianNoise, norms, softmax, weightedSum } from './vector-math';

const who = 'fedatt';

export const fedatt = defineStrategy({
  name: who,
  summary: 'FedAtt as in the official code: layer-wise softmax over ‖w − w_k‖ (Frobenius, deviation D1), step ε, noise β (§2.1)',
  params: {
    epsilon: numberField({ default: 1, gt: 0, max: 100, help: 'FedAtt step size ε' }),
    noise: numberField({ default: 0.001, min: 0, max: 10, help: 'FedAtt noise β' }),
  },
  keepsPartialWork: true,
  needsAllUpdates: true,
  create: (params) => ({
    name: who,
    initState: () => null,
    aggregate(input) {
      const { ranges } = validateInput(who, input);
      const { updates, global } = input;
      const ds = deltas(updates);
      const step = new Float64Array(global.length);
      const layerWeights: Record<string, number[]> = {};
      for (const u of updates) layerWeights[u.clientId] = [];
      const mean = new Array<number>(updates.length).fill(0);
      for (const [s, e] of ranges) {
        const alpha = softmax(norms(ds, s, e));
        weightedSum(ds, alpha, step, s, e, 1, true); // step is fresh: zeros
        alpha.forEach((a, k) => {
          layerWeights[updates[k].clientId].push(a);
          mean[k] += (a * (e - s)) / global.length;
        });
      }
      for (let i = 0; i < step.length; i++) step[i] *= params.epsilon;
      addGaussianNoise(step, params.noise, noiseSeed(input, who));
      return {
        result: { step, clientWeights: byClient(updates, mean), layerWeights, flagged: [] },
        state: null,
      };
    },
  }),
});

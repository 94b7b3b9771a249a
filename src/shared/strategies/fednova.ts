// FedNova (Wang et al. NeurIPS'20), spec §2.3: normalise each update by its local step count τ_k, then rescale
// by the effective step count:
//   p_k = n_k/n,   τ_eff = Σ_k p_k τ_k,   Δ = τ_eff · Σ_k p_k Δ_k/τ_k (then the server optimizer: w_{t+1} = w_t + η_g Δ).
// clientWeights reports the normalised coefficients (p_k/τ_k) / Σ_j (p_j/τ_j) (they sum to 1); the raw
// coefficient on Δ_k is τ_eff·p_k/τ_k.
import { byClient, deltas, validateInput } from './common';
import { defineStrategy } from './strategy';
import { weightedSum } from './vector-math';

const who = 'fednova';

export const fednova = defineStrategy({
  name: who,
  summary: 'normalised averaging τ_eff Σ p_k Δ_k/τ_k for unequal local steps (§2.3)',
  params: {},
  keepsPartialWork: true,
  create: () => ({
    name: who,
    initState: () => null,
    aggregate(input) {
      const { totalSamples } = validateInput(who, input);
      const { updates } = input;
      for (const u of updates) {
        if (!(u.steps > 0) || !Number.isFinite(u.steps)) {
          throw new Error(`${who}: client '${u.clientId}' has steps=${u.steps}; local step count τ_k must be a finite number > 0`);
        }
      }
      const p = updates.map((u) => u.numSamples / totalSamples);
      let tauEff = 0;
      updates.forEach((u, k) => (tauEff += p[k] * u.steps));
      const coeff = updates.map((u, k) => (tauEff * p[k]) / u.steps);
      const sum = coeff.reduce((a, b) => a + b, 0);
      return {
        result: {
          step: weightedSum(deltas(updates), coeff),
          clientWeights: byClient(updates, coeff.map((c) => c / sum)),
          flagged: [],
        },
        state: null,
      };
    },
  }),
});

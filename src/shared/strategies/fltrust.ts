// FLTrust (Cao et al. NDSS'21), spec §7, on whole flattened updates, with the server's root-set update Δ₀
// (input.serverUpdate, computed elsewhere on ~100 clean samples):
//   TS_k = ReLU(cos(Δ_k, Δ₀))              (a zero Δ_k has cos 0, so trust 0)
//   Δ̄_k = Δ_k · ‖Δ₀‖/‖Δ_k‖                (every update rescaled to the root update's norm)
//   Δ   = Σ_k TS_k Δ̄_k / Σ_k TS_k   (then the server optimizer)
// If every TS_k = 0 the model is kept unchanged and every client is flagged. clientWeights = TS_k / Σ TS.
import { byClient, deltas, validateInput } from './common';
import { defineStrategy } from './strategy';
import { squaresAndDots } from './kernels/mean-cosine';
import { cosineFromDots, weightedSum } from './vector-math';

const who = 'fltrust';

export const fltrust = defineStrategy({
  name: who,
  summary: 'trust = ReLU(cos(Δ_k, Δ₀)) against the server’s own update Δ₀ on its root set, every update rescaled to ‖Δ₀‖ (§7)',
  params: {},
  keepsPartialWork: true,
  needsAllUpdates: true,
  needs: () => ({ rootUpdate: true }),
  create: () => ({
    name: who,
    initState: () => null,
    aggregate(input) {
      validateInput(who, input);
      const { updates, global, serverUpdate } = input;
      if (!serverUpdate) throw new Error(`${who}: input.serverUpdate (root-set update Δ₀) is required`);
      if (serverUpdate.length !== global.length) {
        throw new Error(`${who}: serverUpdate has ${serverUpdate.length} values, global model has ${global.length}`);
      }
      const ds = deltas(updates);
      // ‖Δ_k‖², ‖Δ₀‖² (the last entry) and ⟨Δ_k, Δ₀⟩ from one pass over the updates.
      const { sq, dr } = squaresAndDots([...ds, serverUpdate], serverUpdate, 0, global.length);
      const m = ds.length;
      const n0 = Math.sqrt(sq[m]);
      const ts = ds.map((_, k) => Math.max(0, cosineFromDots(dr![k], sq[k], sq[m])));
      const total = ts.reduce((a, b) => a + b, 0);
      const flagged = updates.flatMap((u, k) =>
        ts[k] > 0 ? [] : [{ clientId: u.clientId, reason: `fltrust: trust score 0 (cos with root update <= 0)` }],
      );
      if (!(total > 0)) {
        return {
          result: { step: new Float64Array(global.length), clientWeights: byClient(updates, ts.map(() => 0)), flagged },
          state: null,
        };
      }
      // Coefficient on the raw Δ_k: TS_k·(‖Δ₀‖/‖Δ_k‖)/Σ TS (TS_k > 0 implies ‖Δ_k‖ > 0).
      const coeff = ds.map((_, k) => (ts[k] > 0 ? (ts[k] * n0) / Math.sqrt(sq[k]) / total : 0));
      return {
        result: {
          step: weightedSum(ds, coeff),
          clientWeights: byClient(updates, ts.map((t) => t / total)),
          flagged,
        },
        state: null,
      };
    },
  }),
});

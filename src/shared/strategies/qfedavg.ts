// q-FedAvg (Li, Sanjabi, Beirami, Smith, "Fair Resource Allocation in Federated Learning", ICLR 2020,
// arXiv 1905.10497, Section 3.3), fairness parameter q ≥ 0, L = 1/η_l (inverse client learning rate).
// For client k with update Δ_k = w_k − w_t and loss F_k > 0 (its loss at w_t, before local training):
//   Δw_k = L·(w_t − w_k) = −L·Δ_k
//   Δ̃_k  = F_k^q · Δw_k
//   h_k  = q·F_k^(q−1)·‖Δw_k‖² + L·F_k^q
//   w_{t+1} = w_t − Σ_k Δ̃_k / Σ_k h_k  =  w_t + Σ_k c_k·Δ_k,  c_k = L·F_k^q / Σ_j h_j
// q = 0 gives h_k = L, c_k = 1/K: the unweighted mean of the updates. Larger q tilts the step toward high-loss clients.
// Every F^q is divided by F_max^q (ratios (F_k/F_max)^q ≤ 1): c_k, h_k/Σh and F_k^q/ΣF^q are all invariant to that
// common factor, and it keeps large q from overflowing to Infinity.
import { numberField } from '../schema/fields';
import { byClient, validateInput } from './common';
import { defineStrategy } from './strategy';
import { weightedSum } from './vector-math';

export interface QFedAvgInput {
  delta: Float32Array;
  loss: number;
}

/**
 * Returns the step s with w_{t+1} = w_t + s (so s = −Σ Δ̃_k / Σ h_k), in float64, plus each client's share h_k/Σh and
 * F_k^q/Σ F^q for reporting. Throws on non-positive/non-finite loss, q < 0, L <= 0, length mismatch, no updates.
 */
export function qFedAvgStep(
  updates: readonly QFedAvgInput[],
  q: number,
  L: number,
): { step: Float64Array; hShare: number[]; lossWeight: number[] } {
  if (updates.length === 0) throw new Error('qFedAvgStep: no client updates');
  if (!(q >= 0) || !Number.isFinite(q)) throw new Error(`qFedAvgStep: q must be finite and >= 0, got ${q}`);
  if (!(L > 0) || !Number.isFinite(L)) throw new Error(`qFedAvgStep: L (= 1/client lr) must be finite and > 0, got ${L}`);
  const len = updates[0].delta.length;
  let fMax = 0;
  updates.forEach((u, k) => {
    if (u.delta.length !== len) throw new Error(`qFedAvgStep: update ${k} has ${u.delta.length} values, update 0 has ${len}`);
    if (!(u.loss > 0) || !Number.isFinite(u.loss)) throw new Error(`qFedAvgStep: update ${k} has loss ${u.loss}; must be finite and > 0`);
    fMax = Math.max(fMax, u.loss);
  });

  const K = updates.length;
  const r = new Array<number>(K); // F_k^q / F_max^q
  const h = new Array<number>(K); // h_k / F_max^q
  let sumR = 0;
  let sumH = 0;
  for (let k = 0; k < K; k++) {
    const { delta, loss } = updates[k];
    r[k] = Math.pow(loss / fMax, q);
    let sq = 0;
    for (let i = 0; i < len; i++) sq += delta[i] * delta[i];
    // q·F^(q−1)·‖Δw‖² = q·(F^q/F)·L²‖Δ‖²; written as exactly 0 for q = 0 (also when ‖Δ‖² overflows).
    const curvature = q === 0 ? 0 : ((q * r[k]) / loss) * L * L * sq;
    h[k] = curvature + L * r[k];
    sumR += r[k];
    sumH += h[k];
  }
  const coeff = r.map((rk) => (L * rk) / sumH);
  return {
    step: weightedSum(updates.map((u) => u.delta), coeff),
    hShare: h.map((hk) => hk / sumH),
    lossWeight: r.map((rk) => rk / sumR),
  };
}

export const qfedavg = defineStrategy({
  name: 'qfedavg',
  summary: 'q-FedAvg (Li et al. 2020): clients with a larger loss at w_t weigh more, by F_k^q; q = 0 is a plain mean (§9)',
  params: { q: numberField({ default: 0.2, min: 0, max: 100, help: 'q-FedAvg fairness q (0 = plain mean)' }) },
  keepsPartialWork: true,
  client: () => ({ initialLoss: true }),
  create: (p) => ({
    name: 'qfedavg',
    initState: () => null,
    aggregate(input) {
      validateInput('qfedavg', input);
      const { updates } = input;
      if (!(input.clientLr !== undefined && input.clientLr > 0)) throw new Error('qfedavg: input.clientLr (η_l, for L = 1/η_l) is required');
      const missing = updates.find((u) => u.initialLoss === undefined);
      if (missing) throw new Error(`qfedavg: client '${missing.clientId}' sent no initialLoss (its loss at w_t)`);
      const { step, lossWeight } = qFedAvgStep(updates.map((u) => ({ delta: u.delta, loss: u.initialLoss! })), p.q, 1 / input.clientLr);
      return { result: { step, clientWeights: byClient(updates, lossWeight), flagged: [] }, state: null };
    },
  }),
});


// Server-side optimizers applied to the round's aggregated update Δ_t of any aggregator, treated as a
// pseudo-gradient in the "w + step" convention (Δ_t = aggregated w_k − w_t, so ascent on Δ is descent on the loss).
//   FedOpt (Reddi et al., "Adaptive Federated Optimization", ICLR 2021, arXiv 2003.00295, Algorithm 2),
//   per coordinate, no bias correction, m_0 = 0, v_0 = τ²:
//     m ← β1·m + (1−β1)·Δ
//     adam:    v ← β2·v + (1−β2)·Δ²
//     yogi:    v ← v − (1−β2)·Δ²·sign(v − Δ²)
//     adagrad: v ← v + Δ²
//     w ← w + η·m / (√v + τ)
//   FedAvgM (Hsu, Qi, Brown, arXiv 1909.06335, 2019): v ← β·v + Δ; w ← w + η·v  (v_0 = 0)
//   sgd: w ← w + η·Δ  (plain server learning rate: applyStep in common.ts)
// Everything is computed in float64 per coordinate; the new weights are rounded once to float32. The state is
// stored as Float32Arrays (it travels with the run into IndexedDB), so m and v are rounded to float32 between rounds.
import { applyStep, stepTaken } from './common';

export const SERVER_OPTIMIZERS = ['sgd', 'momentum', 'adam', 'yogi', 'adagrad'] as const;
export type ServerOptimizerName = (typeof SERVER_OPTIMIZERS)[number];

export interface ServerOptimizerParams {
  serverOpt: ServerOptimizerName;
  /** η */
  serverLr: number;
  /** β of FedAvgM */
  serverMomentum: number;
  /** β1 of adam/yogi/adagrad */
  serverBeta1: number;
  /** β2 of adam/yogi (unused by adagrad) */
  serverBeta2: number;
  /** τ: adaptivity; also v_0 = τ² */
  serverEps: number;
}

/**
 * Optimizer state; plain data (Float32Arrays) so it can be structured-cloned into IndexedDB with the run.
 * null before the first step. sgd keeps both null; momentum keeps its velocity in `m` (v stays null);
 * adam/yogi/adagrad keep the first moment in `m` and the second in `v`.
 */
export interface ServerOptimizerState {
  m: Float32Array | null;
  v: Float32Array | null;
  steps: number;
}

export function initServerOptimizerState(): ServerOptimizerState {
  return { m: null, v: null, steps: 0 };
}

function checkParams(p: ServerOptimizerParams): void {
  if (!(SERVER_OPTIMIZERS as readonly string[]).includes(p.serverOpt)) {
    throw new Error(`serverOptimizerStep: unknown server optimizer '${p.serverOpt}' (one of ${SERVER_OPTIMIZERS.join(', ')})`);
  }
  if (!Number.isFinite(p.serverLr)) throw new Error(`serverOptimizerStep: serverLr must be finite, got ${p.serverLr}`);
  if (p.serverOpt === 'momentum' && !(p.serverMomentum >= 0 && p.serverMomentum < 1)) {
    throw new Error(`serverOptimizerStep: serverMomentum must be in [0, 1), got ${p.serverMomentum}`);
  }
  if (p.serverOpt === 'adam' || p.serverOpt === 'yogi' || p.serverOpt === 'adagrad') {
    if (!(p.serverBeta1 >= 0 && p.serverBeta1 < 1)) throw new Error(`serverOptimizerStep: serverBeta1 must be in [0, 1), got ${p.serverBeta1}`);
    if (!(p.serverBeta2 >= 0 && p.serverBeta2 <= 1)) throw new Error(`serverOptimizerStep: serverBeta2 must be in [0, 1], got ${p.serverBeta2}`);
    // τ > 0 keeps the denominator √v + τ away from 0 (v_0 = τ², and Δ = 0 would otherwise give 0/0).
    if (!(p.serverEps > 0) || !Number.isFinite(p.serverEps)) throw new Error(`serverOptimizerStep: serverEps must be finite and > 0, got ${p.serverEps}`);
  }
}

function checkBuffer(name: string, buf: Float32Array | null, len: number): void {
  if (buf !== null && buf.length !== len) {
    throw new Error(`serverOptimizerStep: state.${name} has ${buf.length} values, global model has ${len}`);
  }
}

/**
 * Pure: returns w_{t+1} and the next state; never mutates its inputs (only writes `diff`, when given, with the
 * float32 step taken, w_{t+1} − w_t). step = aggregated Δ_t (Float32Array or Float64Array, same length as global).
 * Throws a clear Error on length mismatch (also when a state's m/v length differs from global).
 */
export function serverOptimizerStep(
  global: Float32Array,
  step: Float32Array | Float64Array,
  state: ServerOptimizerState,
  p: ServerOptimizerParams,
  diff: Float32Array | null = null,
): { weights: Float32Array; state: ServerOptimizerState } {
  const next = optimizerStep(global, step, state, p, diff);
  if (diff && p.serverOpt !== 'sgd') stepTaken(next.weights, global, diff);
  return next;
}

function optimizerStep(
  global: Float32Array,
  step: Float32Array | Float64Array,
  state: ServerOptimizerState,
  p: ServerOptimizerParams,
  diff: Float32Array | null,
): { weights: Float32Array; state: ServerOptimizerState } {
  checkParams(p);
  const n = global.length;
  if (step.length !== n) throw new Error(`serverOptimizerStep: step has ${step.length} values, global model has ${n}`);
  checkBuffer('m', state.m, n);
  checkBuffer('v', state.v, n);
  const lr = p.serverLr;
  const steps = state.steps + 1;
  if (p.serverOpt === 'sgd') return { weights: applyStep(global, step, lr, diff), state: { m: null, v: null, steps } };
  const out = new Float32Array(n);

  if (p.serverOpt === 'momentum') {
    const beta = p.serverMomentum;
    const prev = state.m;
    const m = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const vi = (prev ? beta * prev[i] : 0) + step[i];
      m[i] = vi;
      // The float64 velocity (not its float32 copy) drives the step, so β = 0 is exactly sgd.
      out[i] = global[i] + lr * vi;
    }
    return { weights: out, state: { m, v: null, steps } };
  }

  const { serverBeta1: b1, serverBeta2: b2, serverEps: tau } = p;
  const v0 = tau * tau;
  const prevM = state.m;
  const prevV = state.v;
  const m = new Float32Array(n);
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const d = step[i];
    const d2 = d * d;
    const mi = b1 * (prevM ? prevM[i] : 0) + (1 - b1) * d;
    const vp = prevV ? prevV[i] : v0;
    let vi: number;
    if (p.serverOpt === 'adam') vi = b2 * vp + (1 - b2) * d2;
    else if (p.serverOpt === 'yogi') vi = vp - (1 - b2) * d2 * Math.sign(vp - d2);
    else vi = vp + d2;
    m[i] = mi;
    v[i] = vi;
    out[i] = global[i] + (lr * mi) / (Math.sqrt(vi) + tau);
  }
  return { weights: out, state: { m, v, steps } };
}

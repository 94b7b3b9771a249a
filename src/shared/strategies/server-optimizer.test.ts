import { describe, expect, it } from 'vitest';
import { createRng } from '../prng';
import { applyStep } from './common';
import {
  initServerOptimizerState,
  SERVER_OPTIMIZERS,
  serverOptimizerStep,
  type ServerOptimizerName,
  type ServerOptimizerParams,
  type ServerOptimizerState,
} from './server-optimizer';
import { arr, expectClose } from './testing';

const P = (serverOpt: ServerOptimizerName, extra: Partial<ServerOptimizerParams> = {}): ServerOptimizerParams => ({
  serverOpt,
  serverLr: 0.1,
  serverMomentum: 0.9,
  serverBeta1: 0.9,
  serverBeta2: 0.99,
  serverEps: 0.1,
  ...extra,
});

/** Runs the steps from w_0 and the initial state; returns every w_t and the final state. */
function runSteps(p: ServerOptimizerParams, w0: number[], steps: number[][]): { ws: Float32Array[]; state: ServerOptimizerState } {
  let w: Float32Array = Float32Array.from(w0);
  let state = initServerOptimizerState();
  const ws: Float32Array[] = [];
  for (const s of steps) {
    ({ weights: w, state } = serverOptimizerStep(w, Float32Array.from(s), state, p));
    ws.push(w);
  }
  return { ws, state };
}

describe('server optimizers: hand-computed', () => {
  // Common fixture for the adaptive ones: w_0 = [1, −1], Δ_1 = [1, −0.5], Δ_2 = [0.5, 0.5];
  // η = 0.1, β1 = 0.9, β2 = 0.99, τ = 0.1 → v_0 = τ² = 0.01, m_0 = 0.
  //   m_1 = 0.1·Δ_1 = [0.1, −0.05];  m_2 = 0.9·m_1 + 0.1·Δ_2 = [0.09 + 0.05, −0.045 + 0.05] = [0.14, 0.005]
  const w0 = [1, -1];
  const steps = [
    [1, -0.5],
    [0.5, 0.5],
  ];

  it('sgd: w ← w + η·Δ; state stays empty, steps counts', () => {
    // w_1 = [1 + 0.1, −1 − 0.05] = [1.1, −1.05]; w_2 = [1.1 + 0.05, −1.05 + 0.05] = [1.15, −1]
    const { ws, state } = runSteps(P('sgd'), w0, steps);
    expectClose(ws[0], [1.1, -1.05], 6);
    expectClose(ws[1], [1.15, -1], 6);
    expect(state).toEqual({ m: null, v: null, steps: 2 });
  });

  it('momentum (FedAvgM): v ← β·v + Δ; w ← w + η·v; velocity kept in state.m', () => {
    // η = 1, β = 0.9, w_0 = [0, 0]
    //   Δ_1 = [1, −2]: v = [1, −2],                         w = [1, −2]
    //   Δ_2 = [1, 0]:  v = [0.9 + 1, −1.8 + 0] = [1.9, −1.8], w = [2.9, −3.8]
    //   Δ_3 = [0, 1]:  v = [1.71, −1.62 + 1] = [1.71, −0.62], w = [4.61, −4.42]
    const { ws, state } = runSteps(P('momentum', { serverLr: 1 }), [0, 0], [[1, -2], [1, 0], [0, 1]]);
    expectClose(ws[0], [1, -2], 6);
    expectClose(ws[1], [2.9, -3.8], 5);
    expectClose(ws[2], [4.61, -4.42], 5);
    expectClose(state.m!, [1.71, -0.62], 6);
    expect(state.v).toBeNull();
    expect(state.steps).toBe(3);
  });

  it('adam: v ← β2·v + (1−β2)·Δ²', () => {
    // v_1 = 0.99·0.01 + 0.01·[1, 0.25] = [0.0199, 0.0124]; √v_1 = [0.1410674, 0.1113553]
    //   w_1 = [1 + 0.1·0.1/0.2410674, −1 − 0.1·0.05/0.2113553] = [1 + 0.0414822, −1 − 0.0236568] = [1.0414822, −1.0236568]
    // v_2 = 0.99·v_1 + 0.01·0.25 = [0.019701 + 0.0025, 0.012276 + 0.0025] = [0.022201, 0.014776]; √ = [0.1490000, 0.1215566]
    //   w_2 = w_1 + [0.1·0.14/0.2490000, 0.1·0.005/0.2215566] = w_1 + [0.0562249, 0.0022568] = [1.0977071, −1.0214001]
    const { ws, state } = runSteps(P('adam'), w0, steps);
    expectClose(ws[0], [1.0414822, -1.0236568], 6);
    expectClose(ws[1], [1.0977071, -1.0214001], 6);
    expectClose(state.m!, [0.14, 0.005], 7);
    expectClose(state.v!, [0.022201, 0.014776], 8);
  });

  it('yogi: v ← v − (1−β2)·Δ²·sign(v − Δ²)', () => {
    // Δ_1² = [1, 0.25] > v_0 = 0.01 → sign = −1 → v_1 = 0.01 + 0.01·[1, 0.25] = [0.02, 0.0125]
    //   √v_1 = [0.1414214, 0.1118034]; w_1 = [1 + 0.01/0.2414214, −1 − 0.005/0.2118034] = [1.0414214, −1.0236068]
    // Δ_2² = 0.25 > v_1 → v_2 = v_1 + 0.0025 = [0.0225, 0.015]; √v_2 = [0.15, 0.1224745]
    //   w_2 = w_1 + [0.014/0.25, 0.0005/0.2224745] = w_1 + [0.056, 0.0022474] = [1.0974214, −1.0213593]
    const { ws, state } = runSteps(P('yogi'), w0, steps);
    expectClose(ws[0], [1.0414214, -1.0236068], 6);
    expectClose(ws[1], [1.0974214, -1.0213593], 6);
    expectClose(state.v!, [0.0225, 0.015], 8);
  });

  it('adagrad: v ← v + Δ² (β2 unused)', () => {
    // v_1 = 0.01 + [1, 0.25] = [1.01, 0.26]; √ = [1.0049876, 0.5099020]
    //   w_1 = [1 + 0.01/1.1049876, −1 − 0.005/0.6099020] = [1.0090499, −1.0081980]
    // v_2 = v_1 + 0.25 = [1.26, 0.51]; √ = [1.1224972, 0.7141428]
    //   w_2 = w_1 + [0.014/1.2224972, 0.0005/0.8141428] = w_1 + [0.0114520, 0.0006141] = [1.0205019, −1.0075839]
    const { ws, state } = runSteps(P('adagrad', { serverBeta2: 0.5 }), w0, steps);
    expectClose(ws[0], [1.0090499, -1.008198], 6);
    expectClose(ws[1], [1.0205019, -1.0075839], 6);
    expectClose(state.v!, [1.26, 0.51], 6);
  });
});

describe('server optimizers: properties', () => {
  it('yogi grows v toward Δ² when v < Δ², shrinks it when v > Δ², keeps it when equal (adam always mixes)', () => {
    // v_0 = τ² = 0.01, β2 = 0.99; Δ = [1, 0.05, 0.1] → Δ² = [1, 0.0025, 0.01]
    //   v < Δ²: 0.01 + 0.01·1      = 0.02       (adam: 0.0099 + 0.01      = 0.0199)
    //   v > Δ²: 0.01 − 0.01·0.0025 = 0.009975   (adam: 0.0099 + 0.000025  = 0.009925)
    //   v = Δ²: sign 0 → 0.01                    (adam: 0.0099 + 0.0001    = 0.01)
    const g = new Float32Array(3);
    const d = Float64Array.of(1, 0.05, 0.1);
    const yogi = serverOptimizerStep(g, d, initServerOptimizerState(), P('yogi')).state.v!;
    const adam = serverOptimizerStep(g, d, initServerOptimizerState(), P('adam')).state.v!;
    expectClose(yogi, [0.02, 0.009975, 0.01], 9);
    expectClose(adam, [0.0199, 0.009925, 0.01], 9);
    expect(yogi[0]).toBeGreaterThan(0.01);
    expect(yogi[1]).toBeLessThan(0.01);
    expect(yogi[2]).toBe(Math.fround(0.01));
    // Yogi's change is additive (1−β2)·Δ², independent of v's size; adam's shrinks v multiplicatively.
    const big = serverOptimizerStep(g, d, { m: null, v: Float32Array.of(100, 100, 100), steps: 0 }, P('yogi')).state.v!;
    expectClose(big, [100 - 0.01, 100 - 0.000025, 100 - 0.0001], 4);
  });

  it('sgd is bit-identical to applyStep (float32 and float64 steps)', () => {
    const rng = createRng(3);
    const n = 257;
    const g = Float32Array.from({ length: n }, () => rng.normal());
    const s64 = Float64Array.from({ length: n }, () => rng.normal() / 3);
    const s32 = Float32Array.from(s64);
    for (const s of [s64, s32]) {
      const { weights } = serverOptimizerStep(g, s, initServerOptimizerState(), P('sgd', { serverLr: 0.37 }));
      expect(weights).toEqual(applyStep(g, s, 0.37));
    }
  });

  it('momentum with β = 0 equals sgd, bit for bit, every round', () => {
    const rng = createRng(5);
    const n = 64;
    let a: Float32Array = Float32Array.from({ length: n }, () => rng.normal());
    let b: Float32Array = a;
    let sa = initServerOptimizerState();
    let sb = initServerOptimizerState();
    for (let t = 0; t < 3; t++) {
      const s = Float64Array.from({ length: n }, () => rng.normal());
      ({ weights: a, state: sa } = serverOptimizerStep(a, s, sa, P('momentum', { serverMomentum: 0, serverLr: 0.5 })));
      ({ weights: b, state: sb } = serverOptimizerStep(b, s, sb, P('sgd', { serverLr: 0.5 })));
      expect(arr(a)).toEqual(arr(b));
    }
  });

  it('is pure: global, step and state are unchanged', () => {
    for (const opt of SERVER_OPTIMIZERS) {
      const g = Float32Array.of(1, 2, 3);
      const s = Float64Array.of(0.5, -0.5, 0.25);
      const state: ServerOptimizerState = opt === 'sgd' ? { m: null, v: null, steps: 4 } : { m: Float32Array.of(0.1, 0.2, 0.3), v: Float32Array.of(1, 1, 1), steps: 4 };
      const before = structuredClone({ g, s, state });
      const out = serverOptimizerStep(g, s, state, P(opt));
      expect({ g, s, state }).toEqual(before);
      expect(out.weights).not.toBe(g);
      if (out.state.m) expect(out.state.m).not.toBe(state.m);
      if (out.state.v) expect(out.state.v).not.toBe(state.v);
      expect(out.state.steps).toBe(5);
    }
  });

  it('state survives structuredClone: continuing from a clone gives the same weights', () => {
    for (const opt of SERVER_OPTIMIZERS) {
      const p = P(opt);
      const first = serverOptimizerStep(Float32Array.of(1, -1, 0), Float32Array.of(0.3, -0.2, 0.1), initServerOptimizerState(), p);
      const clone = structuredClone(first.state);
      expect(clone).toEqual(first.state);
      if (opt !== 'sgd') expect(clone.m).toBeInstanceOf(Float32Array);
      const next = Float32Array.of(-0.1, 0.4, 0.2);
      const a = serverOptimizerStep(first.weights, next, first.state, p);
      const b = serverOptimizerStep(first.weights, next, clone, p);
      expect(arr(b.weights)).toEqual(arr(a.weights));
      expect(b.state).toEqual(a.state);
    }
  });

  it('throws on length mismatch (step, state.m, state.v) and bad parameters', () => {
    const g = new Float32Array(3);
    const s = new Float32Array(3);
    expect(() => serverOptimizerStep(g, new Float32Array(2), initServerOptimizerState(), P('sgd'))).toThrow(
      'serverOptimizerStep: step has 2 values, global model has 3',
    );
    expect(() => serverOptimizerStep(g, s, { m: new Float32Array(4), v: null, steps: 1 }, P('momentum'))).toThrow(
      'serverOptimizerStep: state.m has 4 values, global model has 3',
    );
    expect(() => serverOptimizerStep(g, s, { m: new Float32Array(3), v: new Float32Array(2), steps: 1 }, P('adam'))).toThrow(
      'serverOptimizerStep: state.v has 2 values, global model has 3',
    );
    expect(() => serverOptimizerStep(g, s, initServerOptimizerState(), P('nesterov' as ServerOptimizerName))).toThrow(/unknown server optimizer 'nesterov'/);
    expect(() => serverOptimizerStep(g, s, initServerOptimizerState(), P('adam', { serverEps: 0 }))).toThrow(/serverEps/);
    expect(() => serverOptimizerStep(g, s, initServerOptimizerState(), P('yogi', { serverBeta1: 1 }))).toThrow(/serverBeta1/);
    expect(() => serverOptimizerStep(g, s, initServerOptimizerState(), P('momentum', { serverMomentum: -0.1 }))).toThrow(/serverMomentum/);
    expect(() => serverOptimizerStep(g, s, initServerOptimizerState(), P('sgd', { serverLr: NaN }))).toThrow(/serverLr/);
  });

  it('a zero update leaves the weights unchanged for every optimizer (fresh state)', () => {
    for (const opt of SERVER_OPTIMIZERS) {
      const g = Float32Array.of(0.5, -2);
      expect(arr(serverOptimizerStep(g, new Float64Array(2), initServerOptimizerState(), P(opt)).weights)).toEqual([0.5, -2]);
    }
  });
});

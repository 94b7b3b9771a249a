import { describe, expect, it } from 'vitest';
import { createRng } from '../prng';
import { fedAvg } from './fedavg';
import { coefficientOfVariation, dwsTerms, lossDivergence, type FedAdaptiveNextState } from './fed-adaptive-next';
import { createStrategy, strategyParams, type ComposedState, type StrategyParams } from './registry';
import { initServerOptimizerState } from './server-optimizer';
import { arr, expectClose, inp, upd } from './testing';

type FanState = ComposedState<FedAdaptiveNextState>;
const run = (params: Partial<StrategyParams>, input: Parameters<ReturnType<typeof createStrategy>['aggregate']>[0], state?: FanState) => {
  const s = createStrategy('fed-adaptive-next', params);
  return s.aggregate(input, state ?? null) as { result: ReturnType<ReturnType<typeof createStrategy>['aggregate']>['result']; state: FanState };
};
/** A state after some rounds: reliabilities, and the step the server applied last (the reference). */
const fanState = (reliability: Record<string, number>, prevStep: Float32Array): FanState => ({ inner: { reliability }, opt: initServerOptimizerState(), prevStep });

describe('fed-adaptive-next: attention', () => {
  it('hand-computed round 1: median reference, consensus, gate, n-weighting (τ = 1, no clip, no DWS)', () => {
    // Layers [2] and [1]. n = 1, 3, 1.
    //   A = [1,0 | 2], B = [1,1 | 1], C = [−1,0 | −1];  reference = coordinate-wise median = [1,0 | 1]
    // Layer 1: c = (1, 1/√2, −1)
    //   h_A = ½(cos(A,B) + cos(A,C)) = ½(1/√2 − 1) = −0.1464466
    //   h_B = ½(1/√2 − 1/√2) = 0,   h_C = ½(−1 − 1/√2) = −0.8535534
    //   ½c + ½h = (0.4267767, 0.3535534, −0.9267767); gate removes C; softmax over A, B:
    //   a_A = 1/(1 + e^{−(1 − 1/√2)/4}) = 0.5182977, a_B = 0.4817023
    //   p ∝ n·a = (0.5182977, 1.4451070) → p_B = 0.7360210; step = p_A[1,0] + p_B[1,1] = [1, 0.7360210]
    // Layer 2: c = (1, 1, −1); h = (0, 0, −1); logits (0.5, 0.5, −1) → gate C → a = (½, ½)
    //   p ∝ (½, 3/2) → (¼, ¾); step = ¼·2 + ¾·1 = 1.25
    const updates = [upd('A', [1, 0, 2]), upd('B', [1, 1, 1], { numSamples: 3 }), upd('C', [-1, 0, -1])];
    const { result } = run({ tau: 1, clipToMedian: false, weighting: false }, inp(updates));
    const aA = 1 / (1 + Math.exp(-(1 - Math.SQRT1_2) / 4));
    const pB = (3 * (1 - aA)) / (aA + 3 * (1 - aA));
    expect(aA).toBeCloseTo(0.5182977, 7);
    expect(pB).toBeCloseTo(0.7360210, 7);
    expectClose(result.weights, [1, pB, 1.25], 6);
    expect(result.layerWeights!.A[0]).toBeCloseTo(1 - pB, 7);
    expect(result.layerWeights!.B).toEqual([expect.closeTo(pB, 7), 0.75]);
    expect(result.layerWeights!.C).toEqual([0, 0]);
    expect(result.clientWeights.A).toBeCloseTo((2 / 3) * (1 - pB) + (1 / 3) * 0.25, 12);
    expect(result.clientWeights.C).toBe(0);
    expect(result.flagged).toEqual([{ clientId: 'C', reason: 'gated out: cos<=0 in all layers' }]);
    expect(result.reliability).toBeUndefined();
  });

  it('τ = ∞ with the gate off (or attention off), clip off and weighting off equals FedAvg', () => {
    const rng = createRng(5);
    const updates = [3, 1, 8, 2].map((n, k) =>
      upd(`c${k}`, [rng.normal(), rng.normal(), rng.normal()], { numSamples: n, epochLosses: [1, 1 + k] }),
    );
    const global = Float32Array.of(0.1, -0.2, 0.3);
    const ref = fedAvg(global, updates);
    const state = fanState({ c1: 0.5 }, Float32Array.of(1, -1, 1));
    for (const params of [
      { tau: Infinity, gate: false, clipToMedian: false, weighting: false },
      { attention: false, clipToMedian: false, weighting: false },
    ]) {
      const { result } = run(params, inp(updates, { global, round: 2 }), state);
      expectClose(result.weights, arr(ref.weights), 6);
      for (const u of updates) expect(result.clientWeights[u.clientId]).toBeCloseTo(ref.clientWeights[u.clientId], 12);
      expect(result.flagged).toEqual([]);
    }
  });

  it('τ = ∞, gate off, weighting off, clip ON: FedAvg of the median-norm-clipped updates', () => {
    // norms 5, 1, 2 → M = 2; A → [1.2,1.6,0]; mean = ([1.2,1.6,0] + [1,0,0] + [0,0,2])/3
    const updates = [upd('A', [3, 4, 0]), upd('B', [1, 0, 0]), upd('C', [0, 0, 2])];
    const { result } = run({ tau: Infinity, gate: false, weighting: false }, inp(updates));
    expectClose(result.weights, [2.2 / 3, 1.6 / 3, 2 / 3], 6);
  });

  it('every client gated out in every layer: all layers fall back to the coordinate-wise median (of clipped Δ), all flagged', () => {
    // Round 2, previous step [−1,−1,−1] points away from every update → c < 0 everywhere.
    //   A = [1,2|3] (‖·‖ √14), B = [2,2|1] (3), C = [4,0|2] (√20) → M = √14, C clipped by √(14/20) = √0.7 → [3.3466, 0, 1.6733]
    //   medians: [1,2,3.3466] → 2; [2,2,0] → 2; [3,1,1.6733] → 1.6733 = 2√0.7
    // Default DWS: losses fall, batch losses flat, norm z-scores < 2 → ρ = 0.7 + 0.3 = 1, nobody dropped.
    const updates = [upd('A', [1, 2, 3]), upd('B', [2, 2, 1]), upd('C', [4, 0, 2])];
    const state = fanState({}, Float32Array.of(-1, -1, -1));
    const { result } = run({}, inp(updates, { round: 2, global: Float32Array.of(1, 1, 1) }), state);
    expectClose(result.weights, [3, 3, 1 + 2 * Math.sqrt(0.7)], 6);
    expect(result.flagged.map((f) => f.clientId)).toEqual(['A', 'B', 'C']);
    expect(result.flagged[0].reason).toMatch(/^gated out: cos<=0 in all layers \(every client gated out/);
    expect(result.clientWeights).toEqual({ A: expect.closeTo(1 / 3, 12), B: expect.closeTo(1 / 3, 12), C: expect.closeTo(1 / 3, 12) });
    expect(result.reliability).toEqual({ A: 1, B: 1, C: 1 });
  });

  it('the median fallback is per layer', () => {
    // previous step [1,1 | −1]: layer 1 keeps everyone (τ = ∞ → uniform) → mean [7/3, 4/3]; layer 2 is gated out → median(3,1,2) = 2
    const updates = [upd('A', [1, 2, 3]), upd('B', [2, 2, 1]), upd('C', [4, 0, 2])];
    const state = fanState({}, Float32Array.of(1, 1, -1));
    const { result } = run({ tau: Infinity, clipToMedian: false, weighting: false }, inp(updates, { round: 2 }), state);
    expectClose(result.weights, [7 / 3, 4 / 3, 2], 6);
    expect(result.flagged).toEqual([]);
    expect(result.layerWeights!.A).toEqual([expect.closeTo(1 / 3, 12), expect.closeTo(1 / 3, 12)]);
  });

  it('round 2 uses the previous step (not the median) as the reference; state.prevStep is w_{t+1} − w_t', () => {
    const global = Float32Array.of(0.5, 0.5, 0.5);
    const r1 = run({}, inp([upd('A', [1, 1, 1]), upd('B', [1, 1, 1])], { global }));
    expect(arr(r1.state.prevStep!)).toEqual([1, 1, 1]);
    expect(arr(r1.result.weights)).toEqual([1.5, 1.5, 1.5]);
    // Round 2: B reverses. Median of {A, B} would be 0 (everyone gated); the previous step keeps A.
    const r2 = run({}, inp([upd('A', [1, 2, 1]), upd('B', [-1, -2, -1])], { global: r1.result.weights, round: 2 }), r1.state);
    expectClose(r2.result.weights, [2.5, 3.5, 2.5], 6);
    expect(r2.result.clientWeights).toEqual({ A: 1, B: 0 });
    expect(r2.result.flagged).toEqual([{ clientId: 'B', reason: 'gated out: cos<=0 in all layers' }]);
  });

  it("reference 'median' ignores the previous step; 'root-update' takes the server's root-set update", () => {
    const global = Float32Array.of(0.5, 0.5, 0.5);
    const r1 = run({ reference: 'median' }, inp([upd('A', [1, 1, 1]), upd('B', [1, 1, 1])], { global }));
    // Round 2 as above: with the median {A, B} = 0 every client is gated out, so every layer falls back to the median.
    const r2 = run({ reference: 'median' }, inp([upd('A', [1, 2, 1]), upd('B', [-1, -2, -1])], { global: r1.result.weights, round: 2 }), r1.state);
    expectClose(r2.result.weights, [1.5, 1.5, 1.5], 6);
    expect(r2.result.flagged.map((f) => f.clientId)).toEqual(['A', 'B']);
    // Root update pointing at B's side: B is kept, A gated out.
    const r3 = run(
      { reference: 'root-update' },
      inp([upd('A', [1, 2, 1]), upd('B', [-1, -2, -1])], { global, round: 2, serverUpdate: Float32Array.of(-1, -1, -1) }),
    );
    expect(r3.result.clientWeights).toEqual({ A: 0, B: 1 });
    expect(() => run({ reference: 'root-update' }, inp([upd('A', [1, 1, 1])]))).toThrow(/needs input.serverUpdate/);
    expect(() => strategyParams({ reference: 'global' })).toThrow('invalid reference "global": reference must be one of: previous-step, median, root-update');
  });

  it('a single client gets its whole (unclipped) update', () => {
    const { result } = run({}, inp([upd('solo', [0.5, -1, 2])]));
    expectClose(result.weights, [0.5, -1, 2], 6);
    expect(result.clientWeights).toEqual({ solo: 1 });
  });
});

describe('fed-adaptive-next: dynamic weighting (DWS)', () => {
  it('δ, v and the robust-z terms by hand', () => {
    expect(lossDivergence([2, 1.5, 3])).toBe(0.5);
    expect(lossDivergence([2, 1])).toBe(0);
    expect(lossDivergence([2])).toBe(0);
    expect(coefficientOfVariation([1, 3])).toBe(0.5); // std 1 / mean 2
    expect(coefficientOfVariation([0.9, 1.1])).toBeCloseTo(0.1, 12);
    // norms (1, 1, 2, 10): med 1.5, MAD 0.5 → z(10) = 8.5/(1.4826·0.5) = 11.4663 → n̂ = 9.4663
    // CVs (0, 0.1, 0.2, 1): med 0.15, MAD 0.1 → z(1) = 0.85/0.14826 = 5.7332 → v̂ = 3.7332 (client C)
    // δ_B = (2.5 − 2)/2 = 0.25 → u_B = 5·0.25 = 1.25
    const updates = [
      upd('A', [1, 0, 0], { batchLosses: [1, 1] }),
      upd('B', [0, 1, 0], { batchLosses: [0.9, 1.1], epochLosses: [2, 2.5] }),
      upd('C', [0, 0, 2], { batchLosses: [0, 2] }),
      upd('D', [6, 8, 0], { batchLosses: [0.8, 1.2] }),
    ];
    const t = dwsTerms(updates, [1, 1, 2, 10], strategyParams());
    expect(t.delta).toEqual([0, 0.25, 0, 0]);
    expect(t.normHat[3]).toBeCloseTo(8.5 / (1.4826 * 0.5) - 2, 12);
    expect(t.normHat.slice(0, 3)).toEqual([0, 0, 0]);
    expect(t.varHat[2]).toBeCloseTo(0.85 / (1.4826 * 0.1) - 2, 9);
    expect([t.varHat[0], t.varHat[1], t.varHat[3]]).toEqual([0, 0, 0]);
    expect(t.u[1]).toBe(1.25);
    expect(t.r[1]).toBeCloseTo(Math.exp(-1.25), 15);
    // Through the strategy: ρ = 0.7 + 0.3·r; D (norm outlier) ρ = 0.7 + 0.3·e^{−9.4663} ≈ 0.70002
    const { result } = run({ attention: false, clipToMedian: false }, inp(updates));
    expect(result.reliability!.A).toBe(1);
    expect(result.reliability!.B).toBeCloseTo(0.7 + 0.3 * Math.exp(-1.25), 12);
    expect(result.reliability!.D).toBeCloseTo(0.7 + 0.3 * Math.exp(-(8.5 / (1.4826 * 0.5) - 2)), 12);
  });

  it('reliability EMA: ρ·n weighting over two rounds, then a client with diverging losses drops below 0.1 in round 7', () => {
    // X reports epoch losses 1 → 2: δ = 1, u = 5, r = e^{−5} = 0.0067379; A, B are clean (r = 1, ρ stays 1).
    // ρ_X(t) = e^{−5} + 0.7^t (1 − e^{−5}):
    //   t=1 0.7020214, t=2 0.4934364, …, t=6 0.1235942 (kept), t=7 0.0885373 < 0.1 → dropped and flagged
    const r = Math.exp(-5);
    const mk = () => [upd('A', [1, 1, 1]), upd('B', [1, 1, 1]), upd('X', [1, 1, 1], { epochLosses: [1, 2] })];
    let state: FanState | undefined;
    let global: Float32Array = new Float32Array(3);
    const rhoX: number[] = [];
    for (let t = 1; t <= 7; t++) {
      const out = run({ attention: false, clipToMedian: false }, inp(mk(), { round: t, global }), state);
      state = out.state;
      global = out.result.weights;
      rhoX.push(out.result.reliability!.X);
      expect(out.result.reliability!.A).toBe(1);
      if (t === 1) {
        expect(rhoX[0]).toBeCloseTo(0.7 + 0.3 * r, 12); // 0.7020214
        // p ∝ n·ρ: X gets 0.7020214/2.7020214
        expect(out.result.clientWeights.X).toBeCloseTo(rhoX[0] / (2 + rhoX[0]), 12);
      }
      if (t === 2) expect(rhoX[1]).toBeCloseTo(0.7 * rhoX[0] + 0.3 * r, 12); // 0.4934364
      if (t < 7) expect(out.result.flagged).toEqual([]);
      else {
        expect(out.result.flagged).toEqual([{ clientId: 'X', reason: expect.stringMatching(/^reliability 0\.09 < 0\.1 \(δ=1\.00/) }]);
        expect(out.result.clientWeights).toEqual({ A: 0.5, B: 0.5, X: 0 });
      }
    }
    expect(rhoX[1]).toBeCloseTo(0.4934364, 7);
    expect(rhoX[5]).toBeCloseTo(0.1235942, 7);
    expect(rhoX[6]).toBeCloseTo(0.0885373, 7);
    for (let t = 1; t <= 7; t++) expect(rhoX[t - 1]).toBeCloseTo(r + 0.7 ** t * (1 - r), 12);
    // A client absent from a round keeps its ρ in state.
    expect(state!.inner.reliability).toEqual({ A: 1, B: 1, X: rhoX[6] });
  });

  it('weighting = false: ρ ≡ 1, nobody is dropped, no reliability reported', () => {
    let state: FanState | undefined;
    for (let t = 1; t <= 10; t++) {
      const out = run({ weighting: false }, inp([upd('A', [1, 1, 1]), upd('X', [1, 1, 1], { epochLosses: [1, 5] })], { round: t }), state);
      state = out.state;
      expect(out.result.flagged).toEqual([]);
      expect(out.result.reliability).toBeUndefined();
      expect(out.result.clientWeights.X).toBeCloseTo(0.5, 12);
    }
    expect(state!.inner.reliability).toEqual({});
  });

  it('every client dropped: the model is kept unchanged and all are flagged', () => {
    const global = Float32Array.of(1, 2, 3);
    const out = run({ reliabilityThreshold: 0.9 }, inp([upd('A', [1, 1, 1], { epochLosses: [1, 2] }), upd('B', [1, 1, 1], { epochLosses: [1, 3] })], { global }));
    // ρ = 0.7 + 0.3e^{−5} = 0.702 and 0.7 + 0.3e^{−10} = 0.700 — both < 0.9
    expect(arr(out.result.weights)).toEqual([1, 2, 3]);
    expect(out.result.flagged.map((f) => f.clientId)).toEqual(['A', 'B']);
    expect(out.result.clientWeights).toEqual({ A: 0, B: 0 });
    expect(arr(out.state.prevStep!)).toEqual([0, 0, 0]);
  });

  it('server validation term: u adds γ_val·[increase]_+, so a client whose update raises the validation loss loses weight', () => {
    // Honest-looking losses for all; X's update raised the validation loss by 40%, A's lowered it (clamped to 0).
    // γ_val = 5: u_X = 5·0.4 = 2, r_X = e^{−2}, ρ_X = 0.7 + 0.3e^{−2} = 0.7406006; ρ_A = ρ_B = 1.
    const updates = [upd('A', [1, 1, 1]), upd('B', [1, 1, 1]), upd('X', [1, 1, 1])];
    const out = run({ attention: false, clipToMedian: false }, inp(updates, { validationIncrease: { A: -0.1, B: 0, X: 0.4 } }));
    expect(out.result.reliability!.A).toBe(1);
    expect(out.result.reliability!.X).toBeCloseTo(0.7 + 0.3 * Math.exp(-2), 12);
    expect(out.result.clientWeights.X).toBeCloseTo(out.result.reliability!.X / (2 + out.result.reliability!.X), 12);
    // γ_val = 0 switches the term off; no validationIncrease leaves the spec's three terms alone.
    expect(run({ attention: false, gammaVal: 0 }, inp(updates, { validationIncrease: { X: 0.4 } })).result.reliability!.X).toBe(1);
    expect(run({ attention: false }, inp(updates)).result.reliability!.X).toBe(1);
  });
});

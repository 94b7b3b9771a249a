import { describe, expect, it } from 'vitest';
import { createStrategy } from './registry';
import { arr, expectClose, inp, upd } from './testing';

describe('fedatt', () => {
  // Layers [2], [1]; w_t = [1,1,1]; w_A = [4,5,1] (Δ_A = [3,4|0]), w_B = [1,1,3] (Δ_B = [0,0|2]).
  // Layer 1: s = ‖Δ‖_F = (5, 0) → α = (1/(1+e⁻⁵), 1/(1+e⁵)) = (0.9933071, 0.0066929): the FARTHER client A wins (Note 1).
  // Layer 2: s = (0, 2) → α = (1/(1+e²), 1/(1+e⁻²)) = (0.1192029, 0.8807971).
  const a1 = 1 / (1 + Math.exp(-5));
  const a2 = 1 / (1 + Math.exp(2));
  const updates = [upd('A', [3, 4, 0], { numSamples: 100 }), upd('B', [0, 0, 2])];
  const global = Float32Array.of(1, 1, 1);

  it('β = 0: the α-weighted average of the client models (ε = 1, Note 2); farther clients get more weight', () => {
    const s = createStrategy('fedatt', { noise: 0 });
    const { result } = s.aggregate(inp(updates, { global }), s.initState());
    // w^l = Σ α_k w_k^l
    const wA = [4, 5, 1], wB = [1, 1, 3];
    expectClose(result.weights, [a1 * wA[0] + (1 - a1) * wB[0], a1 * wA[1] + (1 - a1) * wB[1], a2 * wA[2] + (1 - a2) * wB[2]]);
    // = [3.979921, 4.973228, 2.761594]
    expectClose(result.weights, [3.979921, 4.973228, 2.761594]);
    expect(result.layerWeights!.A[0]).toBeCloseTo(0.9933071, 7);
    expect(result.layerWeights!.B[1]).toBeCloseTo(0.8807971, 7);
    // size-weighted over layers: ⅔·α¹ + ⅓·α² (n_k ignored)
    expect(result.clientWeights.A).toBeCloseTo((2 / 3) * a1 + (1 / 3) * a2, 12);
    expect(result.clientWeights.A + result.clientWeights.B).toBeCloseTo(1, 12);
  });

  it('ε scales the step: w + ε Σ α Δ', () => {
    const s = createStrategy('fedatt', { noise: 0, epsilon: 0.5 });
    const { result } = s.aggregate(inp(updates, { global }), s.initState());
    expectClose(result.weights, [1 + 0.5 * 3 * a1, 1 + 0.5 * 4 * a1, 1 + 0.5 * 2 * (1 - a2)]);
  });

  it('β·N(0, I) noise is seeded per (seed, round) and of scale β', () => {
    const s0 = createStrategy('fedatt', { noise: 0 });
    const s = createStrategy('fedatt'); // β = 0.001
    const base = s0.aggregate(inp(updates, { global }), null).result.weights;
    const r1 = s.aggregate(inp(updates, { global }), null).result.weights;
    const r1b = s.aggregate(inp(updates, { global }), null).result.weights;
    const r2 = s.aggregate(inp(updates, { global, round: 2 }), null).result.weights;
    expect(arr(r1)).toEqual(arr(r1b));
    expect(arr(r1)).not.toEqual(arr(r2));
    for (let i = 0; i < 3; i++) {
      expect(Math.abs(r1[i] - base[i])).toBeGreaterThan(0);
      expect(Math.abs(r1[i] - base[i])).toBeLessThan(0.006); // 6β
    }
  });
});

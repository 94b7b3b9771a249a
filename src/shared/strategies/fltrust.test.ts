import { describe, expect, it } from 'vitest';
import { createStrategy } from './registry';
import { arr, expectClose, inp, upd } from './testing';

describe('fltrust', () => {
  // Δ₀ = [1,0|0] (‖Δ₀‖ = 1).
  //   A = [2,0|0]:  TS = cos = 1,    Δ̄ = [1,0,0]
  //   B = [1,1|0]:  TS = 1/√2,       Δ̄ = [1,1,0]/√2
  //   C = [−3,0|0]: cos = −1 → TS = 0 (opposite direction: zero trust)
  //   Δ = (1·[1,0,0] + (1/√2)·[1,1,0]/√2) / (1 + 1/√2) = [1.5, 0.5, 0]/(1 + 1/√2) = [1.5(2−√2), 0.5(2−√2), 0]
  //     = [0.8786797, 0.2928932, 0]
  const serverUpdate = Float32Array.of(1, 0, 0);

  it('trust-weighted, norm-rescaled average; an opposite client gets zero trust', () => {
    const s = createStrategy('fltrust');
    const { result } = s.aggregate(inp([upd('A', [2, 0, 0]), upd('B', [1, 1, 0], { numSamples: 40 }), upd('C', [-3, 0, 0])], { serverUpdate }), null);
    expectClose(result.weights, [1.5 * (2 - Math.SQRT2), 0.5 * (2 - Math.SQRT2), 0], 6);
    expect(result.clientWeights.A).toBeCloseTo(1 / (1 + Math.SQRT1_2), 12);
    expect(result.clientWeights.C).toBe(0);
    expect(result.flagged).toEqual([{ clientId: 'C', reason: expect.stringMatching(/^fltrust: trust score 0/) }]);
  });

  it('every trust score 0: w unchanged, all flagged', () => {
    const global = Float32Array.of(5, 6, 7);
    const { result } = createStrategy('fltrust').aggregate(
      inp([upd('A', [-1, 0, 0]), upd('B', [0, 1, 0]), upd('Z', [0, 0, 0])], { serverUpdate, global }),
      null,
    );
    expect(arr(result.weights)).toEqual([5, 6, 7]);
    expect(result.weights).not.toBe(global);
    expect(result.flagged.map((f) => f.clientId)).toEqual(['A', 'B', 'Z']);
    expect(result.clientWeights).toEqual({ A: 0, B: 0, Z: 0 });
  });

  it('errors without a root-set update', () => {
    const s = createStrategy('fltrust');
    expect(() => s.aggregate(inp([upd('A', [1, 0, 0])]), null)).toThrow(/fltrust: input.serverUpdate \(root-set update Δ₀\) is required/);
    expect(() => s.aggregate(inp([upd('A', [1, 0, 0])], { serverUpdate: new Float32Array(2) }), null)).toThrow(/serverUpdate has 2 values/);
  });
});

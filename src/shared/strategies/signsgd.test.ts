import { describe, expect, it } from 'vitest';
import { createStrategy, strategyParams } from './registry';
import { expectClose, inp, upd } from './testing';

describe('signsgd: majority vote of the signs', () => {
  // votes per coordinate: [+1 +1 −1 = +1, −1 −1 +1 = −1, 0 (all zero), +1 −1 0 = 0 (tie)]
  const updates = [upd('a', [1, -2, 0, 3]), upd('b', [2, -1, 0, -3], { numSamples: 50 }), upd('c', [-100, 5, 0, 0])];

  it('step = signLr · sign(Σ sign Δ_k); a tie gives 0; magnitudes and sample counts are ignored', () => {
    const { result } = createStrategy('signsgd', { signLr: 0.5 }).aggregate(inp(updates, { global: Float32Array.of(1, 1, 1, 1) }), null);
    expectClose(result.weights, [1.5, 0.5, 1, 1], 6);
    expect(result.clientWeights).toEqual({ a: 1 / 3, b: 1 / 3, c: 1 / 3 });
    expect(result.flagged).toEqual([]);
  });

  it('default signLr 0.001; the server optimizer composes on top', () => {
    expect(strategyParams().signLr).toBe(0.001);
    expectClose(createStrategy('signsgd').aggregate(inp(updates), null).result.weights, [0.001, -0.001, 0, 0], 7);
    expectClose(createStrategy('signsgd', { signLr: 1, serverLr: 0.25 }).aggregate(inp(updates), null).result.weights, [0.25, -0.25, 0, 0], 7);
    expect(() => strategyParams({ signLr: 0 })).toThrow(/invalid signLr 0/);
  });
});

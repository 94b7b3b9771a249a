import { describe, expect, it } from 'vitest';
import { createStrategy } from './registry';
import { clipFactor } from './clip';
import { norm } from './vector-math';
import { arr, expectClose, inp, upd } from './testing';

describe('norm clipping', () => {
  // A = [3,4|0] (‖·‖ 5), B = [0,0|1] (1), C = [0,2|0] (2); n = 1, 1, 2 → p = ¼, ¼, ½
  const updates = [upd('A', [3, 4, 0]), upd('B', [0, 0, 1]), upd('C', [0, 2, 0], { numSamples: 2 })];

  it('M = median norm = 2: A → [1.2,1.6,0]; then FedAvg weighting', () => {
    // ¼[1.2,1.6,0] + ¼[0,0,1] + ½[0,2,0] = [0.3, 1.4, 0.25]
    const { result } = createStrategy('clip').aggregate(inp(updates), null);
    expectClose(result.weights, [0.3, 1.4, 0.25], 6);
    expect(result.clientWeights).toEqual({ A: 0.25, B: 0.25, C: 0.5 });
    expect(result.flagged).toEqual([]);
  });

  it('fixed M = 1 bounds every update norm, hence the step', () => {
    // A → [0.6,0.8,0], B unchanged, C → [0,1,0]: ¼[0.6,0.8,0] + ¼[0,0,1] + ½[0,1,0] = [0.15, 0.7, 0.25]
    const { result } = createStrategy('clip', { clipNorm: 1 }).aggregate(inp(updates), null);
    expectClose(result.weights, [0.15, 0.7, 0.25], 6);
    expect(norm(result.weights)).toBeLessThanOrEqual(1 + 1e-6);
    for (const u of updates) expect(norm(u.delta) * clipFactor(norm(u.delta), 1)).toBeLessThanOrEqual(1 + 1e-12);
    expect(clipFactor(0, 0)).toBe(1);
    expect(clipFactor(3, 0)).toBe(0);
  });

  it('optional seeded N(0, σ²I) noise', () => {
    const base = createStrategy('clip').aggregate(inp(updates), null).result.weights;
    const s = createStrategy('clip', { clipNoise: 1e-3 });
    const a = s.aggregate(inp(updates), null).result.weights;
    expect(arr(s.aggregate(inp(updates), null).result.weights)).toEqual(arr(a));
    expect(arr(a)).not.toEqual(arr(base));
    for (let i = 0; i < 3; i++) expect(Math.abs(a[i] - base[i])).toBeLessThan(6e-3);
  });
});

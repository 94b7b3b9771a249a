import { describe, expect, it } from 'vitest';
import { createStrategy } from './registry';
import { arr, inp, upd } from './testing';

describe('coordinate-wise median', () => {
  it('odd n', () => {
    // columns [1,3,2] [−2,0,7] [5,−1,0] → [2, 0, 0]
    const s = createStrategy('median');
    const { result } = s.aggregate(
      inp([upd('A', [1, -2, 5]), upd('B', [3, 0, -1], { numSamples: 50 }), upd('C', [2, 7, 0])], { global: Float32Array.of(1, 1, 1) }),
      null,
    );
    expect(arr(result.weights)).toEqual([3, 1, 1]);
    expect(result.clientWeights).toEqual({ A: 1 / 3, B: 1 / 3, C: 1 / 3 });
  });

  it('even n: mean of the two middle values; an outlier cannot drag it', () => {
    // columns sorted [1,2,3,10] [−2,0,1,7] [−1,0,1,5] → [2.5, 0.5, 0.5]
    const updates = [upd('A', [1, -2, 5]), upd('B', [3, 0, -1]), upd('C', [2, 7, 0]), upd('D', [10, 1, 1])];
    const s = createStrategy('median');
    expect(arr(s.aggregate(inp(updates), null).result.weights)).toEqual([2.5, 0.5, 0.5]);
    updates[3] = upd('D', [1e6, 1e6, 1e6]);
    // [1,2,3,1e6] [−2,0,7,1e6] [−1,0,5,1e6] → [2.5, 3.5, 2.5]
    expect(arr(s.aggregate(inp(updates), null).result.weights)).toEqual([2.5, 3.5, 2.5]);
  });

  it('η_g scales the median step', () => {
    const s = createStrategy('median', { serverLr: 0.5 });
    expect(arr(s.aggregate(inp([upd('A', [2, 4, 6])]), null).result.weights)).toEqual([1, 2, 3]);
  });
});

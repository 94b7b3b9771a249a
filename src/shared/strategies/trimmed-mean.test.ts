import { describe, expect, it } from 'vitest';
import { createStrategy } from './registry';
import { trimCount } from './trimmed-mean';
import { arr, inp, upd } from './testing';

describe('trimmed mean', () => {
  it('β = 0.2, n = 5: drop ⌈1⌉ = 1 from each end per coordinate', () => {
    // columns [1,2,3,4,100] → mean(2,3,4) = 3; [−50,0,1,2,3] → mean(0,1,2) = 1; [5,5,5,5,5] → 5
    const updates = [upd('A', [1, 3, 5]), upd('B', [100, 0, 5]), upd('C', [2, -50, 5]), upd('D', [4, 1, 5]), upd('E', [3, 2, 5])];
    const { result } = createStrategy('trimmed-mean').aggregate(inp(updates), null);
    expect(arr(result.weights)).toEqual([3, 1, 5]);
    expect(result.clientWeights.A).toBe(0.2);
    // β = 0 is the plain mean: [110/5, −44/5, 5]
    const plain = createStrategy('trimmed-mean', { trimBeta: 0 }).aggregate(inp(updates), null).result.weights;
    expect(plain[0]).toBeCloseTo(22, 5);
    expect(plain[1]).toBeCloseTo(-8.8, 5);
    // β = 0.4: ⌈2⌉ = 2 from each end → the median [3, 1, 5]
    expect(arr(createStrategy('trimmed-mean', { trimBeta: 0.4 }).aggregate(inp(updates), null).result.weights)).toEqual([3, 1, 5]);
  });

  it('n = 4, β = 0.2: ⌈0.8⌉ = 1 from each end', () => {
    // columns [1,2,3,10] → 2.5; [0,0,8,−4] sorted [−4,0,0,8] → 0; [1,1,1,1] → 1
    const updates = [upd('A', [1, 0, 1]), upd('B', [2, 0, 1]), upd('C', [3, 8, 1]), upd('D', [10, -4, 1])];
    expect(arr(createStrategy('trimmed-mean').aggregate(inp(updates), null).result.weights)).toEqual([2.5, 0, 1]);
  });

  it('⌈βn⌉ without float noise, and an error when nothing remains', () => {
    expect(trimCount(0.2, 15)).toBe(3); // 0.2·15 = 3.0000000000000004
    expect(trimCount(0.2, 5)).toBe(1);
    expect(trimCount(0.2, 6)).toBe(2);
    expect(trimCount(0, 6)).toBe(0);
    expect(() => createStrategy('trimmed-mean').aggregate(inp([upd('A', [1, 1, 1]), upd('B', [2, 2, 2])]), null)).toThrow(
      /trimming ⌈0.2·2⌉ = 1 from each end of 2 updates leaves nothing/,
    );
  });
});

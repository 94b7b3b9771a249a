import { describe, expect, it } from 'vitest';
import { createRng } from '../prng';
import { krumScores } from './krum';
import { createStrategy } from './registry';
import { arr, expectClose, inp, upd } from './testing';

// n = 5, f = 1 → each score sums the n − f − 2 = 2 nearest squared distances.
//   A=[0,0|0] B=[1,0|0] C=[0,2|0] D=[1,1|0] E=[10,10|10]
//   ‖·‖²: AB 1, AC 4, AD 2, AE 300, BC 5, BD 1, BE 281, CD 2, CE 264, DE 262
//   score A = 1+2 = 3, B = 1+1 = 2, C = 2+4 = 6, D = 1+2 = 3, E = 262+264 = 526
const five = () => [upd('A', [0, 0, 0]), upd('B', [1, 0, 0]), upd('C', [0, 2, 0]), upd('D', [1, 1, 0]), upd('E', [10, 10, 10])];

describe('krum / multi-krum', () => {
  it('scores by hand', () => {
    expect(krumScores(five().map((u) => u.delta), 1)).toEqual([3, 2, 6, 3, 526]);
  });

  it('krum picks the lowest score (B) and flags the rest', () => {
    const s = createStrategy('krum');
    const { result } = s.aggregate(inp(five(), { global: Float32Array.of(1, 1, 1) }), null);
    expect(arr(result.weights)).toEqual([2, 1, 1]);
    expect(result.clientWeights).toEqual({ A: 0, B: 1, C: 0, D: 0, E: 0 });
    expect(result.flagged.map((f) => f.clientId).sort()).toEqual(['A', 'C', 'D', 'E']);
    expect(result.flagged[0].reason).toMatch(/^krum: not selected/);
    // Ranked by (score, index): B 2, A 3, D 3, C 6, E 526.
    expect(result.flagged.map((f) => f.reason.match(/rank (\d)\/5, kept 1/)?.[1])).toEqual(['2', '3', '4', '5']);
    expect(result.flagged.map((f) => f.clientId)).toEqual(['A', 'D', 'C', 'E']);
  });

  it('multi-krum averages the m = n − f = 4 best (drops the outlier E), unweighted', () => {
    const s = createStrategy('multi-krum');
    const u = five();
    u[0].numSamples = 1000; // ignored
    const { result } = s.aggregate(inp(u), null);
    // mean(A,B,C,D) = [(0+1+0+1)/4, (0+0+2+1)/4, 0] = [0.5, 0.75, 0]
    expect(arr(result.weights)).toEqual([0.5, 0.75, 0]);
    expect(result.flagged).toEqual([{ clientId: 'E', reason: expect.stringMatching(/^multi-krum: not selected/) }]);
    expect(result.clientWeights.E).toBe(0);
    expect(result.clientWeights.A).toBe(0.25);
    // m = 2: B (2), then the A/D tie at 3 goes to the earlier update A → mean(A, B) = [0.5, 0, 0]
    const s2 = createStrategy('multi-krum', { multiKrumM: 2 });
    expect(arr(s2.aggregate(inp(five()), null).result.weights)).toEqual([0.5, 0, 0]);
    expect(() => createStrategy('multi-krum', { multiKrumM: 6 }).aggregate(inp(five()), null)).toThrow(/multiKrumM=6 exceeds the 5/);
  });

  it('refuses n <= 2f + 2 with a clear error', () => {
    const four = five().slice(0, 4);
    expect(() => createStrategy('krum').aggregate(inp(four), null)).toThrow('krum needs n > 2f + 2: n=4, f=1');
    expect(() => createStrategy('multi-krum', { byzantine: 2 }).aggregate(inp(five()), null)).toThrow('krum needs n > 2f + 2: n=5, f=2');
    expect(() => createStrategy('krum', { byzantine: 0 }).aggregate(inp(four.slice(0, 2)), null)).toThrow('n=2, f=0');
    // n = 3, f = 0 is allowed
    expect(() => createStrategy('krum', { byzantine: 0 }).aggregate(inp(four.slice(0, 3)), null)).not.toThrow();
  });

  it('rejects an obvious outlier among noisy honest updates', () => {
    const rng = createRng(11);
    const honest = Array.from({ length: 7 }, (_, k) => upd(`h${k}`, [1 + 0.1 * rng.normal(), -1 + 0.1 * rng.normal(), 0.5 + 0.1 * rng.normal()]));
    const attacker = upd('evil', [-20, 20, -10]);
    const all = [...honest.slice(0, 3), attacker, ...honest.slice(3)];
    const krum = createStrategy('krum', { byzantine: 2 }).aggregate(inp(all), null).result;
    expect(krum.clientWeights.evil).toBe(0);
    expectClose(krum.weights, [1, -1, 0.5], 0); // within ±0.5 of the honest mean
    const multi = createStrategy('multi-krum', { byzantine: 2 }).aggregate(inp(all), null).result;
    expect(multi.flagged.map((f) => f.clientId)).toContain('evil');
    expect(multi.clientWeights.evil).toBe(0);
  });
});

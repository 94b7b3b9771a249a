import { describe, expect, it } from 'vitest';
import { createStrategy } from './strategy';
import type { ScaffoldState } from './scaffold';
import { arr, expectClose, inp, upd } from './testing';

describe('scaffold (option II server)', () => {
  it('updates w with the unweighted mean and c with (|S|/K)·mean(c_k⁺ − c_k), over two rounds', () => {
    const s = createStrategy('scaffold');
    const st0 = s.initState() as ScaffoldState;
    expect(st0.control).toBeNull();
    // Round 1, K = 4, S = {A, B} (n_A = 1, n_B = 9: SCAFFOLD ignores sample counts).
    //   w = [1,2,3] + ½([1,0,2] + [3,−2,0]) = [1,2,3] + [2,−1,1] = [3, 1, 4]
    //   c = 0 + (2/4)·½([2,4,0] + [0,−2,6]) = ½·[1,1,3] = [0.5, 0.5, 1.5]
    const r1 = s.aggregate(
      inp(
        [
          upd('A', [1, 0, 2], { controlDelta: Float32Array.of(2, 4, 0) }),
          upd('B', [3, -2, 0], { numSamples: 9, controlDelta: Float32Array.of(0, -2, 6) }),
        ],
        { global: Float32Array.of(1, 2, 3), numClients: 4 },
      ),
      st0,
    );
    expect(arr(r1.result.weights)).toEqual([3, 1, 4]);
    expect(arr(r1.result.serverControl!)).toEqual([0.5, 0.5, 1.5]);
    expect(r1.result.clientWeights).toEqual({ A: 0.5, B: 0.5 });
    expect(arr((r1.state as ScaffoldState).control!)).toEqual([0.5, 0.5, 1.5]);
    // Round 2, S = {A}, η_g = 0.5 (w only):
    //   w = [3,1,4] + 0.5·[2,2,−2] = [4, 2, 3]
    //   c = [0.5,0.5,1.5] + (1/4)·[1,−1,2] = [0.75, 0.25, 2]
    const s2 = createStrategy('scaffold', { serverLr: 0.5 });
    const r2 = s2.aggregate(
      inp([upd('A', [2, 2, -2], { controlDelta: Float32Array.of(1, -1, 2) })], { global: r1.result.weights, numClients: 4, round: 2 }),
      r1.state,
    );
    expect(arr(r2.result.weights)).toEqual([4, 2, 3]);
    expectClose(r2.result.serverControl!, [0.75, 0.25, 2], 12);
    // The round-1 state is untouched.
    expect(arr((r1.state as ScaffoldState).control!)).toEqual([0.5, 0.5, 1.5]);
  });

  it('errors: missing controlDelta, wrong length, |S| > K', () => {
    const s = createStrategy('scaffold');
    const st = s.initState();
    expect(() => s.aggregate(inp([upd('A', [1, 0, 2])]), st)).toThrow(/scaffold: client 'A' sent no controlDelta/);
    expect(() => s.aggregate(inp([upd('A', [1, 0, 2], { controlDelta: new Float32Array(2) })]), st)).toThrow(/controlDelta has 2 values/);
    const two = [upd('A', [1, 0, 2], { controlDelta: new Float32Array(3) }), upd('B', [1, 0, 2], { controlDelta: new Float32Array(3) })];
    expect(() => s.aggregate(inp(two, { numClients: 1 }), st)).toThrow(/2 updates but numClients \(K\) = 1/);
  });
});

import { describe, expect, it } from 'vitest';
import { createStrategy, type ComposedState } from './registry';
import type { ScaffoldState } from './scaffold';
import { arr, expectClose, inp, upd } from './testing';

const cd = (...xs: number[]) => ({ extras: { controlDelta: Float32Array.from(xs) } });
const inner = (s: ComposedState) => s.inner as ScaffoldState;

describe('scaffold (option II server)', () => {
  it('updates w with the unweighted mean, c with (|S|/K)·mean(c_k⁺ − c_k), and each slot’s c_k, over two rounds', () => {
    const s = createStrategy('scaffold');
    const st0 = s.initState();
    expect(inner(st0)).toEqual({ control: null, clientControls: {} });
    // Before any aggregation the round carries nothing: clients take c = c_k = 0.
    expect(s.configureRound!(st0, { round: 1, slots: [0, 1], numClients: 4, size: 3 })).toEqual({ perSlot: {} });
    // Round 1, K = 4, S = {A (slot 0), B (slot 2)} (n_A = 1, n_B = 9: SCAFFOLD ignores sample counts).
    //   w = [1,2,3] + ½([1,0,2] + [3,−2,0]) = [1,2,3] + [2,−1,1] = [3, 1, 4]
    //   c = 0 + (2/4)·½([2,4,0] + [0,−2,6]) = ½·[1,1,3] = [0.5, 0.5, 1.5]
    //   c_0 = [2,4,0], c_2 = [0,−2,6]
    const r1 = s.aggregate(
      inp([upd('A', [1, 0, 2], { slot: 0, ...cd(2, 4, 0) }), upd('B', [3, -2, 0], { slot: 2, numSamples: 9, ...cd(0, -2, 6) })], {
        global: Float32Array.of(1, 2, 3),
        numClients: 4,
      }),
      st0,
    );
    expect(arr(r1.result.weights)).toEqual([3, 1, 4]);
    expect(r1.result.clientWeights).toEqual({ A: 0.5, B: 0.5 });
    expect(arr(inner(r1.state).control!)).toEqual([0.5, 0.5, 1.5]);
    expect(arr(inner(r1.state).clientControls[0])).toEqual([2, 4, 0]);
    expect(arr(inner(r1.state).clientControls[2])).toEqual([0, -2, 6]);
    // Round 2 selects slots 0 and 1: c for everyone, c_0 for slot 0 only (slot 1 has none yet).
    const payload = s.configureRound!(r1.state, { round: 2, slots: [0, 1], numClients: 4, size: 3 });
    expect(arr(payload.broadcast!.control)).toEqual([0.5, 0.5, 1.5]);
    expect(Object.keys(payload.perSlot!)).toEqual(['0']);
    expect(arr(payload.perSlot![0].clientControl)).toEqual([2, 4, 0]);
    payload.perSlot![0].clientControl.fill(99); // a copy: the state is untouched
    expect(arr(inner(r1.state).clientControls[0])).toEqual([2, 4, 0]);
    // Round 2, S = {A (slot 0)}, η_g = 0.5 (w only):
    //   w = [3,1,4] + 0.5·[2,2,−2] = [4, 2, 3]
    //   c = [0.5,0.5,1.5] + (1/4)·[1,−1,2] = [0.75, 0.25, 2];  c_0 = [2,4,0] + [1,−1,2] = [3, 3, 2]
    const s2 = createStrategy('scaffold', { serverLr: 0.5 });
    const r2 = s2.aggregate(inp([upd('A', [2, 2, -2], { slot: 0, ...cd(1, -1, 2) })], { global: r1.result.weights, numClients: 4, round: 2 }), r1.state);
    expect(arr(r2.result.weights)).toEqual([4, 2, 3]);
    expectClose(inner(r2.state).control!, [0.75, 0.25, 2], 12);
    expect(arr(inner(r2.state).clientControls[0])).toEqual([3, 3, 2]);
    expect(arr(inner(r2.state).clientControls[2])).toEqual([0, -2, 6]);
    // The round-1 state is untouched.
    expect(arr(inner(r1.state).control!)).toEqual([0.5, 0.5, 1.5]);
    expect(arr(inner(r1.state).clientControls[0])).toEqual([2, 4, 0]);
  });

  it('errors: missing controlDelta, wrong length, |S| > K', () => {
    const s = createStrategy('scaffold');
    const st = s.initState();
    expect(() => s.aggregate(inp([upd('A', [1, 0, 2])]), st)).toThrow(/scaffold: client 'A' sent no controlDelta/);
    expect(() => s.aggregate(inp([upd('A', [1, 0, 2], { extras: { controlDelta: new Float32Array(2) } })]), st)).toThrow(/controlDelta has 2 values/);
    const two = [upd('A', [1, 0, 2], cd(0, 0, 0)), upd('B', [1, 0, 2], cd(0, 0, 0))];
    expect(() => s.aggregate(inp(two, { numClients: 1 }), st)).toThrow(/2 updates but numClients \(K\) = 1/);
  });
});

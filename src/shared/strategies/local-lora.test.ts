import { describe, expect, it } from 'vitest';
import { createStrategy } from './registry';
import type { LocalLoraState } from './local-lora';
import { inp, upd } from './testing';

describe('local-lora', () => {
  it('never aggregates: each slot keeps its own model and gets only that one back', () => {
    const s = createStrategy('local-lora');
    const r1 = s.aggregate(inp([upd('a', [1, 2, 3], { slot: 0, numSamples: 1 }), upd('b', [3, 2, 1], { slot: 1, numSamples: 3 })]), null);
    const own = (r1.state.inner as LocalLoraState).own;
    expect(Array.from(own[0])).toEqual([1, 2, 3]);
    expect(Array.from(own[1])).toEqual([3, 2, 1]);
    // the evaluated global model is the n-weighted mean of the own models: ¼[1,2,3] + ¾[3,2,1]
    expect(Array.from(r1.result.weights)).toEqual([2.5, 2, 1.5]);
    const pay = s.configureRound!(r1.state, { round: 2, slots: [1], numClients: 2, size: 3 });
    expect(Object.keys(pay.perSlot!)).toEqual(['1']);
    expect(Array.from(pay.perSlot![1].ownWeights)).toEqual([3, 2, 1]);
    // Δ against its own model: slot 0 moves from [1,2,3], not from the mean
    const r2 = s.aggregate(inp([upd('a', [1, 0, 0], { slot: 0 })], { global: r1.result.weights, round: 2 }), r1.state);
    const own2 = (r2.state.inner as LocalLoraState).own;
    expect(Array.from(own2[0])).toEqual([2, 2, 3]);
    expect(Array.from(own2[1])).toEqual([3, 2, 1]);
    expect(s.personalWeights!(r2.state)).toBe(own2);
  });
});

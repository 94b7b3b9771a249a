import { describe, expect, it } from 'vitest';
import { fedAvg } from './fedavg';
import { createStrategy } from './registry';
import { arr, expectClose, inp, upd } from './testing';

describe('fednova', () => {
  it('unequal τ: Δ = τ_eff Σ p_k Δ_k/τ_k', () => {
    // n = 1, 3 → p = ¼, ¾; τ = 2, 6 → τ_eff = ¼·2 + ¾·6 = 5
    // Σ p Δ/τ = ¼·[1,2,−1] + ¾·[1,0,2] = [0.25,0.5,−0.25] + [0.75,0,1.5] = [1, 0.5, 1.25]; ×5 = [5, 2.5, 6.25]
    // (FedAvg would give ¼[2,4,−2] + ¾[6,0,12] = [5, 1, 8.5].)
    // clientWeights ∝ p/τ = ⅛, ⅛ → ½, ½
    const s = createStrategy('fednova');
    const updates = [upd('A', [2, 4, -2], { steps: 2 }), upd('B', [6, 0, 12], { numSamples: 3, steps: 6 })];
    const { result } = s.aggregate(inp(updates, { global: Float32Array.of(1, 1, 1) }), s.initState());
    expect(arr(result.weights)).toEqual([6, 3.5, 7.25]);
    expect(result.clientWeights).toEqual({ A: 0.5, B: 0.5 });
    expect(result.flagged).toEqual([]);
  });

  it('equal τ reduces to FedAvg', () => {
    const updates = [upd('A', [0.3, -1, 2], { numSamples: 2, steps: 7 }), upd('B', [1, 1, -4], { numSamples: 5, steps: 7 })];
    const global = Float32Array.of(0.5, 0.25, -1);
    const s = createStrategy('fednova');
    const { result } = s.aggregate(inp(updates, { global }), s.initState());
    const ref = fedAvg(global, updates);
    expectClose(result.weights, arr(ref.weights), 6);
    expect(result.clientWeights.A).toBeCloseTo(2 / 7, 12);
  });

  it('rejects τ_k <= 0', () => {
    const s = createStrategy('fednova');
    expect(() => s.aggregate(inp([upd('A', [1, 1, 1], { steps: 0 })]), null)).toThrow(/fednova: client 'A' has steps=0/);
  });
});

// The strategies added with the registry, as the coordinator runs them: each definition composed with its server
// optimizer, on hand-computed values.
import { describe, expect, it } from 'vitest';
import { createStrategy, type ComposedState } from './registry';
import { arr, expectClose, inp, upd } from './testing';

describe('FedOpt aliases and --server-opt', () => {
  it('fedavgm: v ← βv + Δ, w ← w + ηv (β = 0.9, η = 0.1 by default), over two rounds', () => {
    const s = createStrategy('fedavgm');
    // Round 1: Δ = mean([1,0,2],[3,0,2]) = [2,0,2]; v = [2,0,2]; w = 0 + 0.1·v = [0.2, 0, 0.2]
    const r1 = s.aggregate(inp([upd('a', [1, 0, 2]), upd('b', [3, 0, 2])]), null);
    expectClose(r1.result.weights, [0.2, 0, 0.2], 6);
    // Round 2: Δ = [−1, 1, 0]; v = 0.9·[2,0,2] + [−1,1,0] = [0.8, 1, 1.8]; w = [0.2,0,0.2] + 0.1·v = [0.28, 0.1, 0.38]
    const r2 = s.aggregate(inp([upd('a', [-1, 1, 0])], { global: r1.result.weights, round: 2 }), r1.state);
    expectClose(r2.result.weights, [0.28, 0.1, 0.38], 6);
    expectClose(r2.state.opt.m!, [0.8, 1, 1.8], 6);
    // The step applied is what Fed-Adaptive-Next's previous-step reference will see next round.
    expectClose(r2.state.prevStep!, [0.08, 0.1, 0.18], 6);
  });

  it('fedyogi and fedadagrad differ from fedadam in the second moment only', () => {
    const one = (name: string) => createStrategy(name).aggregate(inp([upd('a', [1, -2, 0])]), null).result.weights;
    // m = 0.1Δ; τ = 1e-3, v0 = 1e-6.  adam: v = 0.99e-6 + 0.01Δ²; adagrad: v = 1e-6 + Δ²;
    // yogi: v = v0 − 0.01·Δ²·sign(v0 − Δ²) = 1e-6 + 0.01Δ² (where Δ² > v0), and v0 where Δ = 0.
    const step = (d: number, v: number) => (0.01 * 0.1 * d) / (Math.sqrt(v) + 1e-3);
    expectClose(one('fedadam'), [step(1, 0.99e-6 + 0.01), step(-2, 0.99e-6 + 0.04), 0], 6);
    expectClose(one('fedyogi'), [step(1, 1e-6 + 0.01), step(-2, 1e-6 + 0.04), 0], 6);
    expectClose(one('fedadagrad'), [step(1, 1e-6 + 1), step(-2, 1e-6 + 4), 0], 6);
  });

  it('any strategy takes a server optimizer: the median with momentum', () => {
    const s = createStrategy('median', { serverOpt: 'momentum', serverMomentum: 0.5, serverLr: 1 });
    const r1 = s.aggregate(inp([upd('a', [1, 1, 1]), upd('b', [3, 3, 3]), upd('c', [100, 100, 100])]), null);
    expect(arr(r1.result.weights)).toEqual([3, 3, 3]); // median 3, v = 3
    const r2 = s.aggregate(inp([upd('a', [0, 0, 0]), upd('b', [2, 2, 2]), upd('c', [1, 1, 1])], { global: r1.result.weights, round: 2 }), r1.state);
    expect(arr(r2.result.weights)).toEqual([5.5, 5.5, 5.5]); // v = 0.5·3 + 1 = 2.5
  });

  it('a state stored before the optimizer existed is taken as the rule’s own', () => {
    const s = createStrategy('scaffold');
    const old = { control: Float32Array.of(1, 1, 1), clientControls: {} };
    const r = s.aggregate(inp([upd('a', [0, 0, 0], { extras: { controlDelta: Float32Array.of(3, 3, 3) } })], { numClients: 3 }), old as never);
    expect(arr((r.state as ComposedState<typeof old>).inner.control)).toEqual([2, 2, 2]); // 1 + 3/3
  });
});

describe('bulyan', () => {
  it('keeps the Krum-selected updates, flags the rest, and trims around the median', () => {
    // n = 7, f = 1: θ = 5 selected, β = 3 kept per coordinate around the median.
    const near = [[0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 0], [0.5, 0.5, 0], [0.2, 0.8, 0]];
    const updates = [...near.map((d, k) => upd(`h${k}`, d)), upd('bad', [50, -50, 50])];
    const { result } = createStrategy('bulyan').aggregate(inp(updates), null);
    expect(result.clientWeights.bad).toBe(0);
    expect(result.flagged.map((f) => f.clientId)).toContain('bad');
    expect(result.flagged).toHaveLength(2); // 7 − θ
    for (const w of result.weights) expect(Math.abs(w)).toBeLessThan(1.01);
    expect(() => createStrategy('bulyan').aggregate(inp(updates.slice(0, 6)), null)).toThrow('bulyan needs n >= 4f + 3: n=6, f=1');
  });
});

describe('qfedavg', () => {
  it('q = 0 is the plain mean; q > 0 leans towards the clients with the larger loss at w_t', () => {
    const updates = [upd('low', [1, 1, 1], { initialLoss: 0.5 }), upd('high', [3, 3, 3], { initialLoss: 2 })];
    const mean = createStrategy('qfedavg', { q: 0 }).aggregate(inp(updates, { clientLr: 0.1 }), null);
    expectClose(mean.result.weights, [2, 2, 2], 6);
    // q = 1, L = 10: Δw = −10Δ; Δ̃ = F·Δw; h = ‖Δw‖² + L·F  (q·F^0 = 1)
    //   low: Δ̃ = −5·[1,1,1], h = 300 + 5 = 305;  high: Δ̃ = −60·[1,1,1], h = 2700 + 20 = 2720
    //   w = 0 − (−65)/(3025) = 0.0214876 per coordinate
    const fair = createStrategy('qfedavg', { q: 1 }).aggregate(inp(updates, { clientLr: 0.1 }), null);
    expectClose(fair.result.weights, [65 / 3025, 65 / 3025, 65 / 3025], 6);
    expect(fair.result.clientWeights.high).toBeGreaterThan(fair.result.clientWeights.low);
    expect(() => createStrategy('qfedavg').aggregate(inp([upd('a', [1, 1, 1])], { clientLr: 0.1 }), null)).toThrow(/sent no initialLoss/);
    expect(() => createStrategy('qfedavg').aggregate(inp(updates), null)).toThrow(/clientLr/);
  });
});

import { describe, expect, it } from 'vitest';
import { fedAvg } from './fedavg';

describe('fedAvg', () => {
  it('two clients, n = 1 and 3', () => {
    // n = 4, weights 1/4 and 3/4
    // w = [1,2,3] + ¼·[1,0,−3] + ¾·[−1,4,1] = [1 + .25 − .75, 2 + 0 + 3, 3 − .75 + .75] = [0.5, 5, 3]
    const global = Float32Array.of(1, 2, 3);
    const { weights, clientWeights } = fedAvg(global, [
      { clientId: 'a', numSamples: 1, delta: Float32Array.of(1, 0, -3) },
      { clientId: 'b', numSamples: 3, delta: Float32Array.of(-1, 4, 1) },
    ]);
    expect(Array.from(weights)).toEqual([0.5, 5, 3]);
    expect(clientWeights).toEqual({ a: 0.25, b: 0.75 });
    expect(Array.from(global)).toEqual([1, 2, 3]); // input untouched
  });

  it('three clients, n = 10, 30, 60', () => {
    // p = .1, .3, .6; Σ p·Δ = [.1·2 + .3·0 + .6·1, .1·(−4) + .3·4 + .6·1] = [0.8, 1.4]; w = [1,1] + that = [1.8, 2.4]
    const { weights, clientWeights } = fedAvg(Float32Array.of(1, 1), [
      { clientId: 'x', numSamples: 10, delta: Float32Array.of(2, -4) },
      { clientId: 'y', numSamples: 30, delta: Float32Array.of(0, 4) },
      { clientId: 'z', numSamples: 60, delta: Float32Array.of(1, 1) },
    ]);
    expect(weights[0]).toBeCloseTo(1.8, 6);
    expect(weights[1]).toBeCloseTo(2.4, 6);
    expect(clientWeights.x).toBeCloseTo(0.1, 12);
    expect(clientWeights.y).toBeCloseTo(0.3, 12);
    expect(clientWeights.z).toBeCloseTo(0.6, 12);
  });

  it('one client applies its whole delta', () => {
    const { weights } = fedAvg(Float32Array.of(0.5, -1), [{ clientId: 'only', numSamples: 7, delta: Float32Array.of(0.25, 1) }]);
    expect(Array.from(weights)).toEqual([0.75, 0]);
  });

  it('throws clear errors', () => {
    const g = new Float32Array(3);
    const ok = { clientId: 'a', numSamples: 5, delta: new Float32Array(3) };
    expect(() => fedAvg(g, [])).toThrow(/no client updates/);
    expect(() => fedAvg(g, [{ ...ok, delta: new Float32Array(2) }])).toThrow(/'a' delta has 2 values, global model has 3/);
    expect(() => fedAvg(g, [{ ...ok, numSamples: 0 }])).toThrow(/numSamples=0/);
    expect(() => fedAvg(g, [{ ...ok, numSamples: -2 }])).toThrow(/must be a finite number > 0/);
    expect(() => fedAvg(g, [{ ...ok, numSamples: NaN }])).toThrow(/numSamples=NaN/);
    expect(() => fedAvg(g, [ok, ok])).toThrow(/duplicate update from client 'a'/);
  });
});

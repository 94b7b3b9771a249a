import { describe, expect, it } from 'vitest';
import { createRng } from '../prng';
import { fedAvg } from './fedavg';
import { createStrategy, resolveParams, STRATEGY_NAMES, type AggregationInput } from './strategy';
import { arr, cloneInput, expectClose, inp, LAYERS_2_1, upd } from './testing';

/** Five clients with everything any strategy reads (control deltas, losses, steps) plus a root update. */
function fullInput(round = 1, global: Float32Array = Float32Array.of(0.1, 0.2, 0.3)): AggregationInput {
  const rng = createRng(round);
  const updates = Array.from({ length: 5 }, (_, k) =>
    upd(`c${k}`, [1 + rng.normal(), 1 + rng.normal(), 1 + rng.normal()], {
      numSamples: 10 + k,
      steps: 5 + k,
      epochLosses: [1, 0.9 + 0.05 * k],
      batchLosses: [0.8, 0.9, 1 + k],
      controlDelta: Float32Array.of(rng.normal(), rng.normal(), rng.normal()),
    }),
  );
  return inp(updates, { global, round, numClients: 10, serverUpdate: Float32Array.of(1, 1, 1) });
}

describe('createStrategy', () => {
  it('builds every named strategy', () => {
    expect(STRATEGY_NAMES).toEqual([
      'fedavg', 'fedprox', 'scaffold', 'fednova', 'fedatt', 'fed-adaptive-next', 'krum', 'multi-krum', 'median', 'trimmed-mean', 'fltrust', 'clip',
    ]);
    for (const name of STRATEGY_NAMES) expect(createStrategy(name).name).toBe(name);
  });

  it('clear errors for unknown names and bad params', () => {
    expect(() => createStrategy('fedsgd')).toThrow(
      "unknown aggregation strategy 'fedsgd'; valid: fedavg, fedprox, scaffold, fednova, fedatt, fed-adaptive-next, krum, multi-krum, median, trimmed-mean, fltrust, clip",
    );
    expect(() => createStrategy('fed-adaptive-next', { tau: 0 })).toThrow('invalid strategy params: tau=0 must be a number > 0 (Infinity allowed)');
    expect(() => createStrategy('fed-adaptive-next', { tau: -1 })).toThrow(/tau=-1 must be/);
    expect(() => createStrategy('fed-adaptive-next', { tau: NaN })).toThrow(/tau=NaN must be/);
    expect(() => createStrategy('trimmed-mean', { trimBeta: 0.5 })).toThrow('trimBeta=0.5 must be in [0, 0.5)');
    expect(() => createStrategy('krum', { byzantine: 1.5 })).toThrow('byzantine=1.5 must be an integer >= 0');
    expect(() => createStrategy('clip', { clipNorm: 0 })).toThrow(/clipNorm=0 must be a finite number > 0/);
    expect(() => createStrategy('fedatt', { noise: -1, epsilon: Infinity })).toThrow(/noise=-1 must be a finite number >= 0; epsilon=Infinity must be a finite number > 0/);
    expect(() => createStrategy('fedavg', { gate: 'yes' as unknown as boolean })).toThrow(/gate=yes must be true or false/);
    expect(() => createStrategy('fedavg', { tua: 1 } as never)).toThrow(/unknown parameter 'tua' \(valid: tau, gate/);
    // fine: τ = ∞, undefined means default, params for other strategies are ignored
    expect(() => createStrategy('fed-adaptive-next', { tau: Infinity, clipNorm: undefined, trimBeta: 0.3 })).not.toThrow();
    expect(resolveParams({ tau: undefined }).tau).toBe(0.2);
    expect(resolveParams().reliabilityThreshold).toBe(0.1);
  });

  it('every strategy validates its input the same way', () => {
    for (const name of STRATEGY_NAMES) {
      const s = createStrategy(name);
      const st = s.initState();
      const good = fullInput();
      expect(() => s.aggregate({ ...good, updates: [] }, st)).toThrow(`${name}: no client updates to aggregate`);
      expect(() => s.aggregate({ ...good, layers: [{ name: 'w', shape: [2] }] }, st)).toThrow(`${name}: layers describe 2 values, global model has 3`);
      expect(() => s.aggregate({ ...good, updates: [...good.updates, good.updates[0]] }, st)).toThrow(`${name}: duplicate update from client 'c0'`);
      expect(() => s.aggregate({ ...good, round: 0 }, st)).toThrow(/round must be an integer >= 1/);
      const bad = { ...good.updates[1], delta: new Float32Array(4) };
      expect(() => s.aggregate({ ...good, updates: [good.updates[0], bad] }, st)).toThrow(`${name}: client 'c1' delta has 4 values, global model has 3`);
      const zero = { ...good.updates[1], numSamples: 0 };
      expect(() => s.aggregate({ ...good, updates: [good.updates[0], zero] }, st)).toThrow(/numSamples=0; must be a finite number > 0/);
    }
  });
});

describe('fedavg / fedprox strategies', () => {
  it('equal the fedAvg() server step; η_g scales it', () => {
    const input = fullInput();
    const ref = fedAvg(input.global, input.updates);
    for (const name of ['fedavg', 'fedprox']) {
      const { result } = createStrategy(name).aggregate(input, null);
      expect(arr(result.weights)).toEqual(arr(ref.weights));
      expect(result.clientWeights).toEqual(ref.clientWeights);
    }
    // hand: w = [1,2,3] + 0.5·(¼[1,0,−3] + ¾[−1,4,1]) = [1,2,3] + 0.5·[−0.5, 3, 0] = [0.75, 3.5, 3]
    const half = createStrategy('fedavg', { serverLr: 0.5 }).aggregate(
      inp([upd('a', [1, 0, -3]), upd('b', [-1, 4, 1], { numSamples: 3 })], { global: Float32Array.of(1, 2, 3), layers: LAYERS_2_1 }),
      null,
    );
    expectClose(half.result.weights, [0.75, 3.5, 3], 6);
  });
});

describe('purity and determinism (all strategies)', () => {
  it('never mutates the input or the state; same input and state → same output', () => {
    for (const name of STRATEGY_NAMES) {
      const s = createStrategy(name);
      // A non-trivial state: one round already aggregated.
      const first = s.aggregate(fullInput(1), s.initState());
      const input = fullInput(2, first.result.weights);
      const state = first.state;
      const inputCopy = cloneInput(input);
      const stateCopy = structuredClone(state);
      const a = s.aggregate(input, state);
      expect(input, name).toEqual(inputCopy);
      expect(state, name).toEqual(stateCopy);
      expect(a.result.weights, name).not.toBe(input.global);
      if (state !== null) expect(a.state, name).not.toBe(state);
      const b = s.aggregate(input, state);
      expect(b, name).toEqual(a);
      // Mutating a returned result must not reach the state.
      a.result.weights.fill(NaN);
      a.result.serverControl?.fill(NaN);
      const c = s.aggregate(fullInput(3, b.result.weights), b.state);
      expect(c.result.weights.every(Number.isFinite), name).toBe(true);
      // Effective client weights sum to 1 over the kept clients.
      const w = Object.values(b.result.clientWeights);
      expect(w.length, name).toBe(5);
      expect(w.reduce((x, y) => x + y, 0), name).toBeCloseTo(1, 9);
    }
  });
});

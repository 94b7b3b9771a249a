import { describe, expect, it } from 'vitest';
import { createRng } from '../prng';
import { fedAvg } from './fedavg';
import { createStrategy, strategyParams, STRATEGY_NAMES } from './registry';
import type { AggregationInput } from './strategy';
import { arr, cloneInput, expectClose, inp, LAYERS_2_1, upd } from './testing';

/** Seven clients (Bulyan needs n ≥ 4f + 3) with everything any strategy reads (control deltas, losses, steps) plus a root update. */
function fullInput(round = 1, global: Float32Array = Float32Array.of(0.1, 0.2, 0.3)): AggregationInput {
  const rng = createRng(round);
  const updates = Array.from({ length: 7 }, (_, k) =>
    upd(`c${k}`, [1 + rng.normal(), 1 + rng.normal(), 1 + rng.normal()], {
      slot: k,
      numSamples: 10 + k,
      steps: 5 + k,
      epochLosses: [1, 0.9 + 0.05 * k],
      batchLosses: [0.8, 0.9, 1 + k],
      initialLoss: 1 + 0.1 * k,
      extras: { controlDelta: Float32Array.of(rng.normal(), rng.normal(), rng.normal()) },
    }),
  );
  return inp(updates, { global, round, numClients: 10, serverUpdate: Float32Array.of(1, 1, 1), clientLr: 0.05 });
}

describe('createStrategy', () => {
  it('builds every named strategy', () => {
    expect(STRATEGY_NAMES).toEqual([
      'fedavg', 'fedprox', 'scaffold', 'fednova', 'fedatt', 'fed-adaptive-next', 'fedavgm', 'fedadam', 'fedyogi', 'fedadagrad', 'qfedavg',
      'krum', 'multi-krum', 'bulyan', 'median', 'trimmed-mean', 'fltrust', 'clip', 'fedavg-la', 'fedntd', 'fedakd', 'feddf',
      'fedmchain', 'signsgd', 'fedalign', 'fedavg-lora', 'local-lora',
    ]);
    for (const name of STRATEGY_NAMES) expect(createStrategy(name).name).toBe(name);
  });

  it('clear errors for unknown names and bad params', () => {
    expect(() => createStrategy('fedsgd')).toThrow(`unknown aggregation strategy 'fedsgd'; valid: ${STRATEGY_NAMES.join(', ')}`);
    expect(() => createStrategy('fed-adaptive-next', { tau: 0 })).toThrow('invalid tau 0: tau must be a number > 0 and Infinity allowed');
    expect(() => createStrategy('fed-adaptive-next', { tau: -1 })).toThrow(/invalid tau -1/);
    expect(() => createStrategy('fed-adaptive-next', { tau: NaN })).toThrow(/invalid tau NaN/);
    expect(() => createStrategy('trimmed-mean', { trimBeta: 0.5 })).toThrow('invalid trimBeta 0.5: trimBeta must be a number >= 0 and <= 0.499');
    expect(() => createStrategy('krum', { byzantine: 1.5 })).toThrow('invalid byzantine 1.5: byzantine must be an integer >= 0');
    expect(() => createStrategy('clip', { clipNorm: -1 })).toThrow(/invalid clipNorm -1/);
    expect(() => createStrategy('fedatt', { noise: -1, epsilon: 1 })).toThrow(/invalid noise -1: noise must be a number >= 0/);
    expect(() => createStrategy('fedatt', { epsilon: Infinity })).toThrow(/invalid epsilon Infinity/);
    expect(() => createStrategy('fedavg', { gate: 'yes' })).toThrow(/invalid gate "yes": gate must be true or false/);
    expect(() => createStrategy('fedavg', { tua: 1 } as never)).toThrow(/unknown strategy parameter "tua"; valid keys: serverOpt, serverLr/);
    expect(() => createStrategy('fedavg', { serverOpt: 'rmsprop' })).toThrow(/serverOpt must be one of: sgd, momentum, adam, yogi, adagrad/);
    // fine: τ = ∞, undefined means default, params for other strategies are ignored, 0 means "default" for clipNorm
    expect(() => createStrategy('fed-adaptive-next', { tau: Infinity, clipNorm: undefined, trimBeta: 0.3 })).not.toThrow();
    expect(() => createStrategy('clip', { clipNorm: 0 })).not.toThrow();
    expect(strategyParams({ tau: undefined }).tau).toBe(0.2);
    expect(strategyParams().reliabilityThreshold).toBe(0.1);
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

  it('declares what it needs: minimum updates and what a shortfall does', () => {
    const min = (name: string, p = {}) => createStrategy(name, p).definition.minUpdates?.(strategyParams(p) as never) ?? 1;
    expect(min('fedavg')).toBe(1);
    expect(min('krum')).toBe(5); // n > 2f + 2, f = 1
    expect(min('multi-krum', { byzantine: 2 })).toBe(7);
    expect(min('bulyan')).toBe(7); // n ≥ 4f + 3
    expect(min('trimmed-mean')).toBe(3); // β = 0.2: n − 2⌈0.2n⌉ ≥ 1 first at n = 3
    expect(min('trimmed-mean', { trimBeta: 0.4 })).toBe(5); // n = 3 and 4 keep nothing
    expect(createStrategy('krum').definition.shortfall).toEqual({ kind: 'skip' });
    expect(createStrategy('trimmed-mean').definition.shortfall).toEqual({ kind: 'fallback', strategy: 'median' });
    expect(createStrategy('fedavg').definition.keepsPartialWork).toBe(false);
    expect(createStrategy('fedprox').definition.keepsPartialWork).toBe(true);
    expect(createStrategy('fltrust').definition.needs?.(strategyParams() as never)).toEqual({ rootUpdate: true });
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
    // FedAlign needs the cnn-s-lora layout and its uploads: fedalign.test.ts checks its purity on them.
    for (const name of STRATEGY_NAMES.filter((n) => n !== 'fedalign')) {
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
      const c = s.aggregate(fullInput(3, b.result.weights), b.state);
      expect(c.result.weights.every(Number.isFinite), name).toBe(true);
      // Effective client weights sum to 1 over the kept clients.
      const w = Object.values(b.result.clientWeights);
      expect(w.length, name).toBe(7);
      expect(w.reduce((x, y) => x + y, 0), name).toBeCloseTo(1, 9);
    }
  });
});

import { describe, expect, it } from 'vitest';
import { PROTOCOL_VERSION, ProtocolError, type ReceivedUpdate } from '../shared/protocol';
import { RoundInProgress } from './round';
import { resolveConfig } from '../shared/config';
import { strategyDefinition } from '../shared/strategies/registry';

const update = (over: Partial<ReceivedUpdate> = {}): ReceivedUpdate => ({
  v: PROTOCOL_VERSION, type: 'update', clientId: 'a', secret: 's'.repeat(32), runId: 'run-1', round: 2, numSamples: 90, steps: 6,
  layers: [{ name: 'w', shape: [3] }], delta: Float32Array.of(1, 2, 3), epochLosses: [1], batchLosses: [1], trainMs: 5, samplesPerSec: 1,
  backend: 'wasm', numTensors: 0, bytesUp: 12, ...over,
});

function round(uploads: string[] = []) {
  // a holds slot 0 (90 samples, 6 steps), b slot 1 (a partial straggler: 2 of its 6 steps).
  return new RoundInProgress('run-1', 2, 1000, 5000, new Map([['a', 0], ['b', 1]]), new Map([[0, { samples: 90, steps: 6 }], [1, { samples: 60, steps: 2 }]]), uploads, 3);
}
const reason = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ProtocolError);
    return (e as ProtocolError).reason;
  }
  throw new Error('expected a ProtocolError');
};

describe('RoundInProgress.accept', () => {
  it('takes the samples and steps the coordinator expects, not the client’s word', () => {
    const r = round();
    const u = r.accept(update(), 2000);
    expect(u).toMatchObject({ clientId: 'a', slot: 0, numSamples: 90, steps: 6 });
    expect(r.received.has('a')).toBe(true);
    expect(r.complete()).toBe(false);
    r.accept(update({ clientId: 'b', numSamples: 60, steps: 2 }), 2000);
    expect(r.complete()).toBe(true);
  });

  it.each<[string, Partial<ReceivedUpdate>, number, string]>([
    ['another run', { runId: 'run-0' }, 2000, 'wrong-run'],
    ['another round', { round: 1 }, 2000, 'wrong-round'],
    ['a client not selected', { clientId: 'c' }, 2000, 'not-selected'],
    ['after the deadline', {}, 5001, 'late'],
    ['a huge sample count', { numSamples: 1e9 }, 2000, 'wrong-sample-count'],
    ['one step among clients at six (FedNova would boost it ×6)', { steps: 1 }, 2000, 'wrong-step-count'],
    ['zero steps (FedNova divides by them)', { steps: 0 }, 2000, 'wrong-step-count'],
    ['the full step count from a partial straggler', { clientId: 'b', numSamples: 60, steps: 6 }, 2000, 'wrong-step-count'],
  ])('rejects %s', (_what, over, now, want) => {
    expect(reason(() => round().accept(update(over), now))).toBe(want);
  });

  it('rejects a duplicate, and extras the strategy did not ask for (or misses the ones it did)', () => {
    const r = round();
    r.accept(update(), 2000);
    expect(reason(() => r.accept(update(), 2000))).toBe('duplicate');
    expect(reason(() => round().accept(update({ extras: { controlDelta: Float32Array.of(0, 0, 0) } }), 2000))).toBe('malformed');
    expect(reason(() => round(['controlDelta']).accept(update(), 2000))).toBe('malformed');
    expect(round(['controlDelta']).accept(update({ extras: { controlDelta: Float32Array.of(0, 0, 0) } }), 2000).extras).toBeDefined();
  });

  it('a closed round keeps the ids it needs to tell late from misdirected updates, not the updates', () => {
    const r = round();
    r.accept(update(), 2000);
    const closed = r.close();
    expect(closed).toEqual({ round: 2, participants: new Set(['a', 'b']), received: new Set(['a']) });
    const vectors = (x: unknown): boolean =>
      ArrayBuffer.isView(x) || (typeof x === 'object' && x !== null && [...(x instanceof Set ? x : Object.values(x))].some(vectors));
    expect(vectors(closed)).toBe(false);
  });
});

describe('RoundInProgress.accept: FedAlign uploads', () => {
  const def = strategyDefinition('fedalign');
  const cfg = resolveConfig({ algorithm: 'fedalign', alignFeatures: 2 });
  // slot 0 holds 90 samples: 60 of class 0 and 30 of class 1
  const classCounts = [60, 30, 0, 0, 0, 0, 0, 0, 0, 0];
  const alignRound = () =>
    new RoundInProgress('run-1', 2, 1000, 5000, new Map([['a', 0]]), new Map([[0, { samples: 90, steps: 6, classCounts }]]), def.payload!.upload!, 3,
      def.extraShapes!(cfg as never), (e, slot) => def.checkUpload!(cfg as never, e, slot));
  const good = () => ({
    prototypes: new Float32Array(640).fill(0.1).fill(0, 128),
    protoCounts: Float32Array.from(classCounts),
    features: new Float32Array(3 * 64).fill(0.5),
    featureLabels: Float32Array.of(0, 1, 0),
  });
  const send = (extras: Record<string, Float32Array>) => alignRound().accept(update({ extras }), 2000);

  it('accepts prototypes, the coordinator’s counts and capped features beside a LoRA-sized Δ', () => {
    expect(send(good()).extras!.features).toHaveLength(192);
  });

  it.each<[string, () => Record<string, Float32Array>, string, RegExp]>([
    ['prototypes of the wrong size', () => ({ ...good(), prototypes: new Float32Array(64) }), 'shape-mismatch', /extras.prototypes has 64 values, expected 640/],
    ['a feature row cut short', () => ({ ...good(), features: new Float32Array(100) }), 'shape-mismatch', /extras.features has 100 values, expected rows of 64/],
    ['more feature rows than 10 classes × 2 allow', () => ({ ...good(), features: new Float32Array(21 * 64), featureLabels: new Float32Array(21) }), 'too-large', /extras.features has 1344 values \(max 1280\)/],
    ['a NaN in a feature', () => ({ ...good(), features: new Float32Array(3 * 64).fill(NaN) }), 'non-finite', /extras.features\[0\] is NaN/],
    ['counts it does not hold', () => ({ ...good(), protoCounts: Float32Array.from({ length: 10 }, (_, c) => (c === 0 ? 90 : 0)) }), 'wrong-sample-count', /protoCounts\[0\] is 90; the slot holds 60 samples of class 0/],
    ['three features of class 0 (cap 2)', () => ({ ...good(), featureLabels: Float32Array.of(0, 0, 0) }), 'too-large', /more than 2 features of class 0/],
    ['no features at all (a missing extra)', () => { const { features: _, ...rest } = good(); return rest; }, 'malformed', /missing features/],
  ])('rejects %s with its reason', (_what, make, want, detail) => {
    try {
      send(make());
      throw new Error('accepted');
    } catch (e) {
      expect(e).toBeInstanceOf(ProtocolError);
      expect((e as ProtocolError).reason).toBe(want);
      expect((e as ProtocolError).message).toMatch(detail);
    }
  });
});

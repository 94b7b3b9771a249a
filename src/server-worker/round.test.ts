import { describe, expect, it } from 'vitest';
import { PROTOCOL_VERSION, ProtocolError, type ReceivedUpdate } from '../shared/protocol';
import { RoundInProgress } from './round';

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

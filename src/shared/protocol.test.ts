import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from './config';
import {
  MAX_LOSSES, MAX_PARAMS, PROTOCOL_VERSION, ProtocolError, parseBroadcast, parseHeartbeat, parseRegister, parseUpdate,
  type RejectReason, type UpdateExpectation,
} from './protocol';
import type { LayerSpec } from './weights';

const layers: LayerSpec[] = [{ name: 'w', shape: [2, 2] }, { name: 'b', shape: [2] }]; // 6 values

const expectation = (over: Partial<UpdateExpectation> = {}): UpdateExpectation => ({
  runId: 'run-1',
  round: 3,
  layers,
  registered: (id) => ['a', 'b', 'c'].includes(id),
  participants: new Set(['a', 'b']),
  received: new Set(['b']),
  deadline: 10_000,
  now: 5_000,
  ...over,
});

const update = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  v: PROTOCOL_VERSION,
  type: 'update',
  clientId: 'a',
  runId: 'run-1',
  round: 3,
  numSamples: 120,
  layers: [{ name: 'w', shape: [2, 2] }, { name: 'b', shape: [2] }],
  delta: new Float32Array([0.5, -1, 0, 2, 0.25, 0]),
  epochLosses: [0.9, 0.7],
  batchLosses: [0.8, 0.6, 0.7],
  steps: 8,
  trainMs: 400,
  samplesPerSec: 600,
  backend: 'wasm',
  numTensors: 12,
  ...over,
});

/** The rejection reason of fn, or a test failure if it does not throw a ProtocolError. */
function reason(fn: () => unknown): RejectReason {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ProtocolError);
    return (e as ProtocolError).reason;
  }
  throw new Error('expected a ProtocolError');
}
const rejectUpdate = (msg: unknown, over: Partial<UpdateExpectation> = {}) => reason(() => parseUpdate(msg, expectation(over)));

describe('parseUpdate', () => {
  it('accepts a valid update', () => {
    const msg = parseUpdate(update(), expectation());
    expect(msg).toMatchObject({ clientId: 'a', runId: 'run-1', round: 3, numSamples: 120, steps: 8, backend: 'wasm', epochLosses: [0.9, 0.7] });
    expect(Array.from(msg.delta)).toEqual([0.5, -1, 0, 2, 0.25, 0]);
    // exactly at the deadline is still on time
    expect(parseUpdate(update(), expectation({ now: 10_000 })).clientId).toBe('a');
  });

  it('bad-version', () => {
    expect(rejectUpdate(update({ v: 2 }))).toBe('bad-version');
    expect(rejectUpdate(update({ v: undefined }))).toBe('bad-version');
  });

  it('malformed: not an object, wrong type, delta not a Float32Array, missing fields', () => {
    for (const bad of [null, 'update', 42, [update()]]) expect(rejectUpdate(bad)).toBe('malformed');
    expect(rejectUpdate(update({ type: 'register' }))).toBe('malformed');
    expect(rejectUpdate(update({ delta: [0.5, -1, 0, 2, 0.25, 0] }))).toBe('malformed');
    expect(rejectUpdate(update({ delta: new Float64Array(6) }))).toBe('malformed');
    for (const key of ['clientId', 'round', 'layers', 'delta', 'numSamples', 'epochLosses', 'backend', 'numTensors']) {
      expect(rejectUpdate(update({ [key]: undefined })), key).toBe('malformed');
    }
    expect(rejectUpdate(update({ numSamples: 0 }))).toBe('malformed');
    expect(rejectUpdate(update({ round: 2.5 }))).toBe('malformed');
    expect(rejectUpdate(update({ backend: 'cuda' }))).toBe('malformed');
    expect(rejectUpdate(update({ epochLosses: ['0.9'] }))).toBe('malformed');
  });

  it('unknown-client', () => expect(rejectUpdate(update({ clientId: 'zed' }))).toBe('unknown-client'));
  it('wrong-run', () => expect(rejectUpdate(update({ runId: 'run-0' }))).toBe('wrong-run'));
  it('wrong-round', () => {
    expect(rejectUpdate(update({ round: 2 }))).toBe('wrong-round');
    expect(rejectUpdate(update({ round: 4 }))).toBe('wrong-round');
  });
  it('not-selected', () => expect(rejectUpdate(update({ clientId: 'c' }))).toBe('not-selected'));
  it('duplicate', () => expect(rejectUpdate(update({ clientId: 'b' }))).toBe('duplicate'));
  it('late', () => expect(rejectUpdate(update(), { now: 10_001 })).toBe('late'));

  it('shape-mismatch: layer specs differ, or delta has the wrong length', () => {
    expect(rejectUpdate(update({ layers: [{ name: 'w', shape: [4] }, { name: 'b', shape: [2] }] }))).toBe('shape-mismatch');
    expect(rejectUpdate(update({ layers: [{ name: 'W', shape: [2, 2] }, { name: 'b', shape: [2] }] }))).toBe('shape-mismatch');
    expect(rejectUpdate(update({ layers: [{ name: 'w', shape: [2, 2] }] }))).toBe('shape-mismatch');
    expect(rejectUpdate(update({ delta: new Float32Array(5) }))).toBe('shape-mismatch');
    expect(rejectUpdate(update({ delta: new Float32Array(7) }))).toBe('shape-mismatch');
  });

  it('non-finite: NaN / Infinity in delta, NaN loss', () => {
    expect(rejectUpdate(update({ delta: new Float32Array([0, 0, 0, 0, 0, NaN]) }))).toBe('non-finite');
    expect(rejectUpdate(update({ delta: new Float32Array([0, -Infinity, 0, 0, 0, 0]) }))).toBe('non-finite');
    expect(rejectUpdate(update({ epochLosses: [0.9, NaN] }))).toBe('non-finite');
    expect(rejectUpdate(update({ batchLosses: [Infinity] }))).toBe('non-finite');
    expect(rejectUpdate(update({ numSamples: NaN }))).toBe('non-finite');
  });

  it('too-large: delta longer than MAX_PARAMS, too many losses', () => {
    expect(rejectUpdate(update({ delta: new Float32Array(MAX_PARAMS + 1) }))).toBe('too-large');
    expect(rejectUpdate(update({ batchLosses: new Array(MAX_LOSSES + 1).fill(0.5) }))).toBe('too-large');
    expect(parseUpdate(update({ batchLosses: new Array(MAX_LOSSES).fill(0.5) }), expectation()).batchLosses).toHaveLength(MAX_LOSSES);
  });

  it('ProtocolError carries the reason in its message', () => {
    const e = new ProtocolError('late', '5 ms after the deadline');
    expect(e.message).toBe('late: 5 ms after the deadline');
    expect(e.name).toBe('ProtocolError');
  });
});

const register = (over: Record<string, unknown> = {}) => ({
  v: PROTOCOL_VERSION, type: 'register', clientId: 'tab-1', kind: 'tab', backend: 'pending',
  probe: [{ backend: 'wasm', ok: true, samplesPerSec: 900 }, { backend: 'webgpu', ok: false, error: 'no adapter' }],
  userAgent: 'x'.repeat(400),
  ...over,
});

describe('parseRegister', () => {
  it('accepts a valid message, dropping extra fields and truncating userAgent', () => {
    const msg = parseRegister({ ...register(), extra: 1 });
    expect(msg).toEqual({
      v: 1, type: 'register', clientId: 'tab-1', kind: 'tab', backend: 'pending',
      probe: [{ backend: 'wasm', ok: true, samplesPerSec: 900 }, { backend: 'webgpu', ok: false, error: 'no adapter' }],
      userAgent: 'x'.repeat(300),
    });
    expect(parseRegister(register({ userAgent: undefined, probe: [] })).userAgent).toBe('');
  });

  it('rejects bad ones', () => {
    expect(reason(() => parseRegister(register({ v: 0 })))).toBe('bad-version');
    expect(reason(() => parseRegister(register({ type: 'heartbeat' })))).toBe('malformed');
    expect(reason(() => parseRegister(register({ clientId: '' })))).toBe('malformed');
    expect(reason(() => parseRegister(register({ clientId: 'x'.repeat(65) })))).toBe('malformed');
    expect(reason(() => parseRegister(register({ kind: 'iframe' })))).toBe('malformed');
    expect(reason(() => parseRegister(register({ backend: 'auto' })))).toBe('malformed');
    expect(reason(() => parseRegister(register({ probe: 'wasm' })))).toBe('malformed');
    expect(reason(() => parseRegister(register({ probe: [{ backend: 'wasm', ok: true, samplesPerSec: -1 }] })))).toBe('malformed');
    expect(reason(() => parseRegister(register({ probe: new Array(9).fill({ backend: 'cpu', ok: true }) })))).toBe('malformed');
  });
});

const heartbeat = (over: Record<string, unknown> = {}) => ({
  v: PROTOCOL_VERSION, type: 'heartbeat', clientId: 'tab-1', state: 'training', backend: 'wasm', probe: [],
  samplesPerSec: 850, localLoss: null, numTensors: 40, error: null, ...over,
});

describe('parseHeartbeat', () => {
  it('accepts valid ones (nullable numbers may be null)', () => {
    expect(parseHeartbeat(heartbeat())).toMatchObject({ clientId: 'tab-1', state: 'training', samplesPerSec: 850, localLoss: null, numTensors: 40, error: null });
    expect(parseHeartbeat(heartbeat({ samplesPerSec: null, localLoss: 0.4, error: 'oops' }))).toMatchObject({ samplesPerSec: null, localLoss: 0.4, error: 'oops' });
  });

  it('rejects bad ones', () => {
    expect(reason(() => parseHeartbeat(heartbeat({ v: 2 })))).toBe('bad-version');
    expect(reason(() => parseHeartbeat(heartbeat({ state: 'sleeping' })))).toBe('malformed');
    expect(reason(() => parseHeartbeat(heartbeat({ numTensors: 1.5 })))).toBe('malformed');
    expect(reason(() => parseHeartbeat(heartbeat({ numTensors: -1 })))).toBe('malformed');
    expect(reason(() => parseHeartbeat(heartbeat({ samplesPerSec: undefined })))).toBe('malformed');
    expect(reason(() => parseHeartbeat(heartbeat({ localLoss: NaN })))).toBe('non-finite');
  });
});

describe('parseBroadcast', () => {
  const round = (over: Record<string, unknown> = {}) => ({
    v: PROTOCOL_VERSION, type: 'round', runId: 'run-1', round: 1, config: DEFAULT_CONFIG, assignments: { a: 0, b: 1 },
    numPartitions: 2, deadline: 130_000, layers, weights: new Float32Array(6).fill(1), ...over,
  });

  it('accepts a round and a stop', () => {
    const msg = parseBroadcast(round());
    expect(msg).toMatchObject({ type: 'round', runId: 'run-1', round: 1, assignments: { a: 0, b: 1 }, numPartitions: 2, deadline: 130_000 });
    expect(parseBroadcast({ v: PROTOCOL_VERSION, type: 'stop', runId: 'run-1' })).toEqual({ v: 1, type: 'stop', runId: 'run-1' });
  });

  it('rejects weights that do not match the layers, and other bad messages', () => {
    expect(reason(() => parseBroadcast(round({ weights: new Float32Array(5) })))).toBe('shape-mismatch');
    expect(reason(() => parseBroadcast(round({ weights: [1, 1, 1, 1, 1, 1] })))).toBe('shape-mismatch');
    expect(reason(() => parseBroadcast(round({ v: 0 })))).toBe('bad-version');
    expect(reason(() => parseBroadcast({ v: 0, type: 'stop', runId: 'run-1' }))).toBe('bad-version');
    expect(reason(() => parseBroadcast({ v: PROTOCOL_VERSION, type: 'stop' }))).toBe('malformed');
    expect(reason(() => parseBroadcast(round({ round: 0 })))).toBe('malformed');
    expect(reason(() => parseBroadcast(round({ assignments: null })))).toBe('malformed');
    expect(reason(() => parseBroadcast(null))).toBe('malformed');
  });
});

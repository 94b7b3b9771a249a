import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, resolveConfig } from './config';
import {
  MAX_LOSSES, MAX_PARAMS, PROTOCOL_VERSION, ProtocolError, checkExtras, checkShaped, parseBroadcast, parseEvaluation, parseHeartbeat, parseRegister,
  parseRunRequest, parseUpdate, type RejectReason,
} from './protocol';
import type { LayerSpec } from './weights';

const layers: LayerSpec[] = [{ name: 'w', shape: [2, 2] }, { name: 'b', shape: [2] }]; // 6 values
const SECRET = '0123456789abcdef0123456789abcdef';

const update = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  v: PROTOCOL_VERSION,
  type: 'update',
  clientId: 'tab-1',
  secret: SECRET,
  runId: 'run-1',
  round: 3,
  numSamples: 120,
  steps: 8,
  layers: [{ name: 'w', shape: [2, 2] }, { name: 'b', shape: [2] }],
  delta: new Float32Array([0.5, -1, 0, 2, 0.25, 0]),
  epochLosses: [0.9, 0.7],
  batchLosses: [0.8, 0.6, 0.7],
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
const DENSE = { compress: 'none', topk: 0.1 } as const;
const rejectUpdate = (msg: unknown) => reason(() => parseUpdate(msg, layers, DENSE));

describe('parseUpdate (shape; who may send it is the round’s business)', () => {
  it('accepts a valid update', () => {
    const msg = parseUpdate(update(), layers, DENSE);
    expect(msg).toMatchObject({ clientId: 'tab-1', runId: 'run-1', round: 3, numSamples: 120, steps: 8, backend: 'wasm', epochLosses: [0.9, 0.7] });
    expect(Array.from(msg.delta)).toEqual([0.5, -1, 0, 2, 0.25, 0]);
    expect(parseUpdate(update({ initialLoss: 2.3, extras: { controlDelta: new Float32Array(6) } }), layers, DENSE)).toMatchObject({ initialLoss: 2.3 });
  });

  it('bad-version', () => {
    expect(rejectUpdate(update({ v: 1 }))).toBe('bad-version');
    expect(rejectUpdate(update({ v: undefined }))).toBe('bad-version');
  });

  it('malformed: not an object, wrong type, delta not a Float32Array, missing fields', () => {
    for (const bad of [null, 'update', 42, [update()]]) expect(rejectUpdate(bad)).toBe('malformed');
    expect(rejectUpdate(update({ type: 'register' }))).toBe('malformed');
    expect(rejectUpdate(update({ delta: [0.5, -1, 0, 2, 0.25, 0] }))).toBe('malformed');
    expect(rejectUpdate(update({ delta: new Float64Array(6) }))).toBe('malformed');
    for (const key of ['clientId', 'secret', 'round', 'layers', 'delta', 'numSamples', 'steps', 'epochLosses', 'backend', 'numTensors']) {
      expect(rejectUpdate(update({ [key]: undefined })), key).toBe('malformed');
    }
    expect(rejectUpdate(update({ secret: 'short' }))).toBe('malformed');
    expect(rejectUpdate(update({ round: 2.5 }))).toBe('malformed');
    expect(rejectUpdate(update({ steps: -1 }))).toBe('malformed');
    expect(rejectUpdate(update({ backend: 'cuda' }))).toBe('malformed');
    expect(rejectUpdate(update({ epochLosses: ['0.9'] }))).toBe('malformed');
    expect(rejectUpdate(update({ extras: { 'bad key': new Float32Array(6) } }))).toBe('malformed');
    expect(rejectUpdate(update({ extras: { a: 1 } }))).toBe('malformed');
  });

  it('shape-mismatch: layer specs differ, or delta has the wrong length', () => {
    expect(rejectUpdate(update({ layers: [{ name: 'w', shape: [4] }, { name: 'b', shape: [2] }] }))).toBe('shape-mismatch');
    expect(rejectUpdate(update({ layers: [{ name: 'W', shape: [2, 2] }, { name: 'b', shape: [2] }] }))).toBe('shape-mismatch');
    expect(rejectUpdate(update({ layers: [{ name: 'w', shape: [2, 2] }] }))).toBe('shape-mismatch');
    expect(rejectUpdate(update({ delta: new Float32Array(5) }))).toBe('shape-mismatch');
    expect(rejectUpdate(update({ delta: new Float32Array(7) }))).toBe('shape-mismatch');
  });

  it('non-finite: NaN / Infinity in delta, losses, counts', () => {
    expect(rejectUpdate(update({ delta: new Float32Array([0, 0, 0, 0, 0, NaN]) }))).toBe('non-finite');
    expect(rejectUpdate(update({ delta: new Float32Array([0, -Infinity, 0, 0, 0, 0]) }))).toBe('non-finite');
    expect(rejectUpdate(update({ epochLosses: [0.9, NaN] }))).toBe('non-finite');
    expect(rejectUpdate(update({ batchLosses: [Infinity] }))).toBe('non-finite');
    expect(rejectUpdate(update({ numSamples: NaN }))).toBe('non-finite');
    expect(rejectUpdate(update({ initialLoss: Infinity }))).toBe('non-finite');
  });

  it('too-large: delta longer than MAX_PARAMS, too many losses', () => {
    const huge = [{ name: 'w', shape: [MAX_PARAMS + 1] }];
    expect(reason(() => parseUpdate(update({ delta: new Float32Array(MAX_PARAMS + 1), layers: huge }), huge, DENSE))).toBe('too-large');
    expect(rejectUpdate(update({ batchLosses: new Array(MAX_LOSSES + 1).fill(0.5) }))).toBe('too-large');
    expect(parseUpdate(update({ batchLosses: new Array(MAX_LOSSES).fill(0.5) }), layers, DENSE).batchLosses).toHaveLength(MAX_LOSSES);
  });

  it('an encoded delta is decoded, checked against the run’s encoding, and its bytes counted', () => {
    const topk = { compress: 'topk', topk: 0.34 } as const; // k = ⌈0.34·6⌉ = 3
    const sparse = { encoding: 'topk', indices: Uint32Array.of(1, 3), values: Float32Array.of(-1, 2) };
    const msg = parseUpdate(update({ delta: sparse }), layers, topk);
    expect(Array.from(msg.delta)).toEqual([0, -1, 0, 2, 0, 0]);
    expect(msg.bytesUp).toBe(16);
    expect(parseUpdate(update({ extras: { controlDelta: new Float32Array(6) } }), layers, DENSE).bytesUp).toBe(48);
    expect(reason(() => parseUpdate(update({ delta: sparse }), layers, DENSE))).toBe('malformed');
    expect(reason(() => parseUpdate(update(), layers, topk))).toBe('malformed');
    expect(reason(() => parseUpdate(update({ delta: { ...sparse, indices: Uint32Array.of(3, 1) } }), layers, topk))).toBe('malformed');
    expect(reason(() => parseUpdate(update({ delta: { ...sparse, values: Float32Array.of(1, NaN) } }), layers, topk))).toBe('non-finite');
    expect(reason(() => parseUpdate(update({ delta: { encoding: 'topk', indices: [1], values: [1] } as never }), layers, topk))).toBe('malformed');
    // A float16 NaN pattern (0x7e00) decodes to NaN and is refused like a dense NaN.
    const f16 = { compress: 'float16', topk: 0.1 } as const;
    expect(reason(() => parseUpdate(update({ delta: { encoding: 'float16', values: Uint16Array.of(0, 0, 0x7e00, 0, 0, 0) } }), layers, f16))).toBe('non-finite');
  });

  it('checkExtras: exactly the strategy’s vectors, each model-sized and finite', () => {
    const v6 = () => new Float32Array(6);
    expect(Object.keys(checkExtras({ controlDelta: v6() }, ['controlDelta'], 6, 'extras'))).toEqual(['controlDelta']);
    expect(checkExtras(undefined, [], 6, 'extras')).toEqual({});
    expect(reason(() => checkExtras(undefined, ['controlDelta'], 6, 'extras'))).toBe('malformed');
    expect(reason(() => checkExtras({ controlDelta: v6(), x: v6() }, ['controlDelta'], 6, 'extras'))).toBe('malformed');
    expect(reason(() => checkExtras({ controlDelta: new Float32Array(5) }, ['controlDelta'], 6, 'extras'))).toBe('shape-mismatch');
    expect(reason(() => checkExtras({ controlDelta: Float32Array.of(0, 0, NaN, 0, 0, 0) }, ['controlDelta'], 6, 'extras'))).toBe('non-finite');
  });

  it('ProtocolError carries the reason in its message', () => {
    const e = new ProtocolError('late', '5 ms after the deadline');
    expect(e.message).toBe('late: 5 ms after the deadline');
    expect(e.name).toBe('ProtocolError');
  });
});

const register = (over: Record<string, unknown> = {}) => ({
  v: PROTOCOL_VERSION, type: 'register', kind: 'tab', backend: 'pending',
  probe: [{ backend: 'wasm', ok: true, samplesPerSec: 900 }, { backend: 'webgpu', ok: false, error: 'no adapter' }],
  userAgent: 'x'.repeat(400), lock: 'fedtab-client-1234abcd-5678',
  ...over,
});

describe('parseRegister', () => {
  it('accepts a valid message, dropping extra fields and truncating userAgent', () => {
    const msg = parseRegister({ ...register(), extra: 1, clientId: 'tab-chosen-by-me' });
    expect(msg).toEqual({
      v: PROTOCOL_VERSION, type: 'register', kind: 'tab', backend: 'pending',
      probe: [{ backend: 'wasm', ok: true, samplesPerSec: 900 }, { backend: 'webgpu', ok: false, error: 'no adapter' }],
      userAgent: 'x'.repeat(300), lock: 'fedtab-client-1234abcd-5678',
    });
  });

  it('rejects bad ones', () => {
    expect(reason(() => parseRegister(register({ v: 1 })))).toBe('bad-version');
    expect(reason(() => parseRegister(register({ type: 'heartbeat' })))).toBe('malformed');
    expect(reason(() => parseRegister(register({ kind: 'iframe' })))).toBe('malformed');
    expect(reason(() => parseRegister(register({ backend: 'auto' })))).toBe('malformed');
    expect(reason(() => parseRegister(register({ probe: 'wasm' })))).toBe('malformed');
    expect(reason(() => parseRegister(register({ probe: [{ backend: 'wasm', ok: true, samplesPerSec: -1 }] })))).toBe('malformed');
    expect(reason(() => parseRegister(register({ probe: new Array(9).fill({ backend: 'cpu', ok: true }) })))).toBe('too-large');
    // The life lock must look like a client's: a page cannot point the coordinator at another lock namespace.
    expect(reason(() => parseRegister(register({ lock: 'fedtab-backend-probe' })))).toBe('malformed');
  });
});

const heartbeat = (over: Record<string, unknown> = {}) => ({
  v: PROTOCOL_VERSION, type: 'heartbeat', clientId: 'tab-1', secret: SECRET, state: 'training', backend: 'wasm', probe: [],
  samplesPerSec: 850, localLoss: null, numTensors: 40, error: null, broadcastsDropped: { unsigned: 2 }, ...over,
});

describe('parseHeartbeat: the identity must be right; each other field is kept or dropped on its own', () => {
  it('accepts valid ones (nullable numbers may be null)', () => {
    const { msg, badFields } = parseHeartbeat(heartbeat());
    expect(badFields).toEqual([]);
    expect(msg).toMatchObject({ clientId: 'tab-1', state: 'training', samplesPerSec: 850, localLoss: null, numTensors: 40, error: null, broadcastsDropped: { unsigned: 2 } });
  });

  it('a bad field is dropped and named; the rest is kept', () => {
    const { msg, badFields } = parseHeartbeat(heartbeat({ localLoss: NaN, numTensors: -1, state: 'sleeping', broadcastsDropped: { bogus: 1 } }));
    expect(badFields).toEqual(['state', 'localLoss', 'numTensors', 'broadcastsDropped']);
    expect(msg).toMatchObject({ clientId: 'tab-1', backend: 'wasm', samplesPerSec: 850 });
    expect('localLoss' in msg).toBe(false);
  });

  it('progress: batches done of the total, never beyond it', () => {
    expect(parseHeartbeat(heartbeat({ progress: { round: 3, steps: 12, total: 40 } })).msg.progress).toEqual({ round: 3, steps: 12, total: 40 });
    expect(parseHeartbeat(heartbeat({ progress: null })).badFields).toEqual([]);
    expect(parseHeartbeat(heartbeat({ progress: { round: 3, steps: 41, total: 40 } })).badFields).toEqual(['progress']);
    expect(parseHeartbeat(heartbeat({ progress: { round: 0, steps: 1, total: 40 } })).badFields).toEqual(['progress']);
  });

  it('rejects a bad identity', () => {
    expect(reason(() => parseHeartbeat(heartbeat({ v: 1 })))).toBe('bad-version');
    expect(reason(() => parseHeartbeat(heartbeat({ clientId: '' })))).toBe('malformed');
    expect(reason(() => parseHeartbeat(heartbeat({ secret: undefined })))).toBe('malformed');
  });
});

describe('parseEvaluation and run requests', () => {
  const ev = (over: Record<string, unknown> = {}) => ({
    v: PROTOCOL_VERSION, type: 'evaluation', clientId: 'tab-1', secret: SECRET, runId: 'run-1', round: 2, numSamples: 3, loss: 0.4,
    classCounts: [2, 1, 0], classCorrect: [2, 0, 0], ...over,
  });
  it('checks the per-class counts against each other and the class count', () => {
    expect(parseEvaluation(ev(), 3)).toMatchObject({ numSamples: 3, classCorrect: [2, 0, 0] });
    expect(reason(() => parseEvaluation(ev(), 10))).toBe('shape-mismatch');
    expect(reason(() => parseEvaluation(ev({ classCorrect: [3, 0, 0] }), 3))).toBe('malformed');
    expect(reason(() => parseEvaluation(ev({ numSamples: 4 }), 3))).toBe('malformed');
    expect(reason(() => parseEvaluation(ev({ loss: NaN }), 3))).toBe('non-finite');
  });
  it('key and extras requests', () => {
    const req = { v: PROTOCOL_VERSION, type: 'key', clientId: 'tab-1', secret: SECRET, runId: 'run-1' };
    expect(parseRunRequest(req, 'key')).toMatchObject({ runId: 'run-1' });
    expect(reason(() => parseRunRequest({ ...req, type: 'extras' }, 'extras'))).toBe('malformed'); // no round
    expect(parseRunRequest({ ...req, type: 'extras', round: 4 }, 'extras')).toMatchObject({ round: 4 });
  });
});

describe('checkShaped: extras of a declared length', () => {
  it('exact lengths and whole rows up to a cap; finite values', () => {
    expect(checkShaped(new Float32Array(4), { length: 4 }, 'x')).toHaveLength(4);
    expect(reason(() => checkShaped(new Float32Array(3), { length: 4 }, 'x'))).toBe('shape-mismatch');
    expect(checkShaped(new Float32Array(6), { width: 3, maxRows: 2 }, 'x')).toHaveLength(6);
    expect(checkShaped(new Float32Array(0), { width: 3, maxRows: 2 }, 'x')).toHaveLength(0);
    expect(reason(() => checkShaped(new Float32Array(4), { width: 3, maxRows: 2 }, 'x'))).toBe('shape-mismatch');
    expect(reason(() => checkShaped(new Float32Array(9), { width: 3, maxRows: 2 }, 'x'))).toBe('too-large');
    expect(reason(() => checkShaped(Float32Array.of(1, Infinity, 0), { width: 3, maxRows: 2 }, 'x'))).toBe('non-finite');
  });
});

describe('parseBroadcast: the same schemas as the coordinator, the config included', () => {
  const auth = { macs: { a: new Uint8Array(32) } };
  const round = (over: Record<string, unknown> = {}) => ({
    v: PROTOCOL_VERSION, type: 'round', runId: 'run-1', round: 1, config: DEFAULT_CONFIG, assignments: { a: 0, b: 1 },
    numPartitions: 2, deadline: 130_000, layers, weights: new Float32Array(6).fill(1), perClient: [], evaluate: null, auth, ...over,
  });

  it('accepts a round, an evaluate and a stop', () => {
    expect(parseBroadcast(round())).toMatchObject({ type: 'round', runId: 'run-1', round: 1, assignments: { a: 0, b: 1 }, numPartitions: 2, deadline: 130_000 });
    expect(parseBroadcast({ v: PROTOCOL_VERSION, type: 'stop', runId: 'run-1', auth })).toMatchObject({ type: 'stop', runId: 'run-1' });
    const evaluate = { ...round(), type: 'evaluate', evaluate: { round: 3, slots: { a: 0 } } };
    expect(parseBroadcast(evaluate)).toMatchObject({ type: 'evaluate', evaluate: { round: 3 } });
  });

  it('FedAlign: the class features have the length fedalign declares, not |w|', () => {
    const config = resolveConfig({ algorithm: 'fedalign' });
    expect(parseBroadcast(round({ config, extras: { classFeatures: new Float32Array(640) } })).type).toBe('round');
    expect(reason(() => parseBroadcast(round({ config, extras: { classFeatures: new Float32Array(6) } })))).toBe('shape-mismatch');
    expect(reason(() => parseBroadcast(round({ config, extras: { classFeatures: new Float32Array(641) } })))).toBe('too-large');
    expect(reason(() => parseBroadcast(round({ config, extras: { classFeatures: new Float32Array(640).fill(NaN) } })))).toBe('non-finite');
  });

  it('rejects what a forged broadcast would carry: a bad config, bad assignments, non-finite weights or deadline', () => {
    expect(reason(() => parseBroadcast(round({ config: { ...DEFAULT_CONFIG, epochs: 1e6 } })))).toBe('malformed');
    expect(reason(() => parseBroadcast(round({ config: { ...DEFAULT_CONFIG, algorithm: 'evil' } })))).toBe('malformed');
    expect(reason(() => parseBroadcast(round({ config: { ...DEFAULT_CONFIG, extra: 1 } })))).toBe('malformed');
    expect(reason(() => parseBroadcast(round({ assignments: { a: 5 } })))).toBe('malformed'); // beyond numPartitions
    expect(reason(() => parseBroadcast(round({ assignments: { a: -1 } })))).toBe('malformed');
    expect(reason(() => parseBroadcast(round({ assignments: { a: 0.5 } })))).toBe('malformed');
    expect(reason(() => parseBroadcast(round({ weights: Float32Array.of(1, 1, NaN, 1, 1, 1) })))).toBe('non-finite');
    expect(reason(() => parseBroadcast(round({ deadline: Infinity })))).toBe('non-finite');
    expect(reason(() => parseBroadcast(round({ extras: { control: new Float32Array(5) } })))).toBe('shape-mismatch');
    expect(reason(() => parseBroadcast(round({ weights: new Float32Array(5) })))).toBe('shape-mismatch');
    expect(reason(() => parseBroadcast(round({ weights: [1, 1, 1, 1, 1, 1] })))).toBe('malformed');
    expect(reason(() => parseBroadcast(round({ auth: undefined })))).toBe('malformed');
    expect(reason(() => parseBroadcast(round({ v: 1 })))).toBe('bad-version');
    expect(reason(() => parseBroadcast({ v: PROTOCOL_VERSION, type: 'stop', auth }))).toBe('malformed');
    expect(reason(() => parseBroadcast(round({ round: 0 })))).toBe('malformed');
    expect(reason(() => parseBroadcast(null))).toBe('malformed');
  });
});

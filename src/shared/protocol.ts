// The one message protocol between clients and the coordinator. Every message carries `v`;
// everything that crosses a boundary is checked here before anyone acts on it.
import type { BackendName, FederationConfig } from './config';
import { specsEqual, totalSize, type LayerSpec } from './weights';

export const PROTOCOL_VERSION = 1;
export const CHANNEL_NAME = 'fedtab/v1';
/** Largest weight vector accepted (CNN-M is 1.66M floats). */
export const MAX_PARAMS = 4_000_000;
export const MAX_LOSSES = 100_000;
const MAX_ID_LENGTH = 64;

/** 'node': a virtual client of the in-process Node runtime (scripts/node-runtime.ts). */
export type ClientKind = 'tab' | 'worker' | 'node';
export type ClientState = 'starting' | 'loading' | 'idle' | 'training' | 'uploading' | 'error';

export interface BackendProbe {
  backend: BackendName;
  ok: boolean;
  samplesPerSec?: number;
  error?: string;
}

export interface RegisterMessage {
  v: number;
  type: 'register';
  clientId: string;
  kind: ClientKind;
  backend: BackendName | 'pending';
  probe: BackendProbe[];
  userAgent: string;
}

export interface HeartbeatMessage {
  v: number;
  type: 'heartbeat';
  clientId: string;
  state: ClientState;
  backend: BackendName | 'pending';
  probe: BackendProbe[];
  samplesPerSec: number | null;
  localLoss: number | null;
  numTensors: number;
  error: string | null;
}

export interface UpdateMessage {
  v: number;
  type: 'update';
  clientId: string;
  runId: string;
  round: number;
  numSamples: number;
  layers: LayerSpec[];
  /** w_k − w_t, flat, packed by `layers`. */
  delta: Float32Array;
  /** Mean training loss per local epoch. */
  epochLosses: number[];
  /** Per-batch losses of the last epoch. */
  batchLosses: number[];
  steps: number;
  trainMs: number;
  samplesPerSec: number;
  backend: BackendName;
  numTensors: number;
  /** SCAFFOLD only: c_k⁺ − c_k, packed like delta. */
  controlDelta?: Float32Array;
}

/** Broadcast to every client when a round starts. */
export interface RoundMessage {
  v: number;
  type: 'round';
  runId: string;
  round: number;
  config: FederationConfig;
  /** clientId → partition index, for the clients chosen this round. */
  assignments: Record<string, number>;
  numPartitions: number;
  deadline: number;
  layers: LayerSpec[];
  weights: Float32Array;
  /** SCAFFOLD only: the server control variate c, packed like weights. */
  control?: Float32Array;
}

export interface StopMessage {
  v: number;
  type: 'stop';
  runId: string;
}

export type BroadcastMessage = RoundMessage | StopMessage;

export type RejectReason =
  | 'bad-version'
  | 'malformed'
  | 'unknown-client'
  | 'wrong-run'
  | 'wrong-round'
  | 'not-selected'
  | 'duplicate'
  | 'late'
  | 'shape-mismatch'
  | 'non-finite'
  | 'too-large';

export class ProtocolError extends Error {
  override name = 'ProtocolError';
  constructor(
    readonly reason: RejectReason,
    detail: string,
  ) {
    super(`${reason}: ${detail}`);
  }
}

type Obj = Record<string, unknown>;

function fail(reason: RejectReason, detail: string): never {
  throw new ProtocolError(reason, detail);
}

function asObject(msg: unknown, type: string): Obj {
  if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) fail('malformed', `${type} message is not an object`);
  const o = msg as Obj;
  if (o.v !== PROTOCOL_VERSION) fail('bad-version', `protocol version ${String(o.v)}, expected ${PROTOCOL_VERSION}`);
  if (o.type !== type) fail('malformed', `expected type "${type}", got ${JSON.stringify(o.type)}`);
  return o;
}

function str(o: Obj, key: string, max = MAX_ID_LENGTH): string {
  const v = o[key];
  if (typeof v !== 'string' || v.length === 0 || v.length > max) fail('malformed', `${key} must be a non-empty string of at most ${max} chars`);
  return v;
}

function num(o: Obj, key: string, opts: { int?: boolean; min?: number; nullable?: boolean } = {}): number {
  const v = o[key];
  if (opts.nullable && v === null) return v as unknown as number;
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(typeof v === 'number' ? 'non-finite' : 'malformed', `${key} must be a finite number`);
  if (opts.int && !Number.isInteger(v)) fail('malformed', `${key} must be an integer`);
  if (opts.min !== undefined && v < opts.min) fail('malformed', `${key} must be >= ${opts.min}`);
  return v;
}

function oneOf<T extends string>(o: Obj, key: string, values: readonly T[]): T {
  const v = o[key];
  if (typeof v !== 'string' || !values.includes(v as T)) fail('malformed', `${key} must be one of ${values.join(', ')}`);
  return v as T;
}

function finiteList(o: Obj, key: string, max = MAX_LOSSES): number[] {
  const v = o[key];
  if (!Array.isArray(v)) fail('malformed', `${key} must be an array of numbers`);
  if (v.length > max) fail('too-large', `${key} has ${v.length} entries (max ${max})`);
  for (const x of v) {
    if (typeof x !== 'number') fail('malformed', `${key} must contain only numbers`);
    if (!Number.isFinite(x)) fail('non-finite', `${key} contains ${x}`);
  }
  return v as number[];
}

function layerSpecs(o: Obj, key: string): LayerSpec[] {
  const v = o[key];
  if (!Array.isArray(v) || v.length === 0 || v.length > 256) fail('malformed', `${key} must be a non-empty array of layer specs`);
  for (const s of v) {
    const ok =
      typeof s === 'object' &&
      s !== null &&
      typeof (s as Obj).name === 'string' &&
      Array.isArray((s as Obj).shape) &&
      ((s as Obj).shape as unknown[]).every((d) => Number.isInteger(d) && (d as number) > 0);
    if (!ok) fail('malformed', `${key} entries must be {name, shape: positive integers}`);
  }
  return v as LayerSpec[];
}

const BACKEND_NAMES = ['webgpu', 'webgl', 'wasm', 'cpu'] as const;
const BACKEND_OR_PENDING = [...BACKEND_NAMES, 'pending'] as const;
const CLIENT_STATES: readonly ClientState[] = ['starting', 'loading', 'idle', 'training', 'uploading', 'error'];

function probes(o: Obj): BackendProbe[] {
  const v = o.probe;
  if (!Array.isArray(v) || v.length > 8) fail('malformed', 'probe must be an array of at most 8 entries');
  return v.map((p) => {
    if (typeof p !== 'object' || p === null) fail('malformed', 'probe entries must be objects');
    const e = p as Obj;
    const out: BackendProbe = { backend: oneOf(e, 'backend', BACKEND_NAMES), ok: e.ok === true };
    if (e.samplesPerSec !== undefined) out.samplesPerSec = num(e, 'samplesPerSec', { min: 0 });
    if (e.error !== undefined) out.error = String(e.error).slice(0, 300);
    return out;
  });
}

export function parseRegister(msg: unknown): RegisterMessage {
  const o = asObject(msg, 'register');
  return {
    v: PROTOCOL_VERSION,
    type: 'register',
    clientId: str(o, 'clientId'),
    kind: oneOf(o, 'kind', ['tab', 'worker', 'node'] as const),
    backend: oneOf(o, 'backend', BACKEND_OR_PENDING),
    probe: probes(o),
    userAgent: typeof o.userAgent === 'string' ? o.userAgent.slice(0, 300) : '',
  };
}

export function parseHeartbeat(msg: unknown): HeartbeatMessage {
  const o = asObject(msg, 'heartbeat');
  return {
    v: PROTOCOL_VERSION,
    type: 'heartbeat',
    clientId: str(o, 'clientId'),
    state: oneOf(o, 'state', CLIENT_STATES),
    backend: oneOf(o, 'backend', BACKEND_OR_PENDING),
    probe: probes(o),
    samplesPerSec: num(o, 'samplesPerSec', { min: 0, nullable: true }),
    localLoss: num(o, 'localLoss', { nullable: true }),
    numTensors: num(o, 'numTensors', { int: true, min: 0 }),
    error: typeof o.error === 'string' ? o.error.slice(0, 500) : null,
  };
}

/** What the coordinator expects of an update for the round in progress. */
export interface UpdateExpectation {
  runId: string;
  round: number;
  layers: readonly LayerSpec[];
  registered: (clientId: string) => boolean;
  participants: ReadonlySet<string>;
  received: ReadonlySet<string>;
  deadline: number;
  now: number;
  /** SCAFFOLD rounds need c_k⁺ − c_k with every update. */
  needsControl?: boolean;
}

/** Validates an update against the round in progress; throws ProtocolError with the reason. */
export function parseUpdate(msg: unknown, expect: UpdateExpectation): UpdateMessage {
  const o = asObject(msg, 'update');
  const clientId = str(o, 'clientId');
  if (!expect.registered(clientId)) fail('unknown-client', `client ${clientId} is not registered`);
  if (o.runId !== expect.runId) fail('wrong-run', `update for run ${String(o.runId)}, current run is ${expect.runId}`);
  const round = num(o, 'round', { int: true, min: 0 });
  if (round !== expect.round) fail('wrong-round', `update for round ${round}, current round is ${expect.round}`);
  if (!expect.participants.has(clientId)) fail('not-selected', `client ${clientId} was not selected for round ${round}`);
  if (expect.received.has(clientId)) fail('duplicate', `client ${clientId} already sent an update for round ${round}`);
  if (expect.now > expect.deadline) fail('late', `update arrived ${expect.now - expect.deadline} ms after the round deadline`);
  const layers = layerSpecs(o, 'layers');
  if (!specsEqual(layers, expect.layers)) fail('shape-mismatch', 'layer shapes differ from the global model');
  const delta = o.delta;
  if (!(delta instanceof Float32Array)) fail('malformed', 'delta must be a Float32Array');
  if (delta.length > MAX_PARAMS) fail('too-large', `delta has ${delta.length} values (max ${MAX_PARAMS})`);
  const expected = totalSize(expect.layers);
  if (delta.length !== expected) fail('shape-mismatch', `delta has ${delta.length} values, model has ${expected}`);
  finiteVector(delta, 'delta');
  let controlDelta: Float32Array | undefined;
  if (expect.needsControl) {
    const c = o.controlDelta;
    if (!(c instanceof Float32Array)) fail('malformed', 'a SCAFFOLD update needs controlDelta (c_k⁺ − c_k) as a Float32Array');
    if (c.length !== expected) fail('shape-mismatch', `controlDelta has ${c.length} values, model has ${expected}`);
    controlDelta = finiteVector(c, 'controlDelta');
  }
  return {
    v: PROTOCOL_VERSION,
    type: 'update',
    clientId,
    runId: expect.runId,
    round,
    numSamples: num(o, 'numSamples', { int: true, min: 1 }),
    layers,
    delta,
    epochLosses: finiteList(o, 'epochLosses'),
    batchLosses: finiteList(o, 'batchLosses'),
    steps: num(o, 'steps', { int: true, min: 0 }),
    trainMs: num(o, 'trainMs', { min: 0 }),
    samplesPerSec: num(o, 'samplesPerSec', { min: 0 }),
    backend: oneOf(o, 'backend', BACKEND_NAMES),
    numTensors: num(o, 'numTensors', { int: true, min: 0 }),
    ...(controlDelta ? { controlDelta } : {}),
  };
}

function finiteVector(v: Float32Array, key: string): Float32Array {
  for (let i = 0; i < v.length; i++) {
    if (!Number.isFinite(v[i])) fail('non-finite', `${key}[${i}] is ${v[i]}`);
  }
  return v;
}

/** Clients check what they receive too: a round they cannot use is ignored with a reason. */
export function parseBroadcast(msg: unknown): BroadcastMessage {
  if (typeof msg !== 'object' || msg === null) fail('malformed', 'broadcast is not an object');
  const o = msg as Obj;
  if (o.type === 'stop') {
    asObject(msg, 'stop');
    return { v: PROTOCOL_VERSION, type: 'stop', runId: str(o, 'runId') };
  }
  asObject(msg, 'round');
  const layers = layerSpecs(o, 'layers');
  const weights = o.weights;
  if (!(weights instanceof Float32Array) || weights.length !== totalSize(layers)) {
    fail('shape-mismatch', 'round weights do not match their layer specs');
  }
  if (typeof o.assignments !== 'object' || o.assignments === null) fail('malformed', 'assignments must be an object');
  const control = o.control;
  if (control !== undefined && (!(control instanceof Float32Array) || control.length !== weights.length)) {
    fail('shape-mismatch', 'round control variate does not match the weights');
  }
  return {
    v: PROTOCOL_VERSION,
    type: 'round',
    runId: str(o, 'runId'),
    round: num(o, 'round', { int: true, min: 1 }),
    config: o.config as FederationConfig,
    assignments: o.assignments as Record<string, number>,
    numPartitions: num(o, 'numPartitions', { int: true, min: 1 }),
    deadline: num(o, 'deadline', { min: 0 }),
    layers,
    weights,
    ...(control ? { control } : {}),
  };
}

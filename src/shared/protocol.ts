// The one message protocol between clients and the coordinator, one schema per message. Every message carries `v`;
// everything that crosses a boundary is parsed here before anyone acts on it, and every rejection has a reason.
// Client → coordinator messages travel over the client's own port and carry the id and secret the coordinator
// issued; coordinator → client broadcasts are signed per client (broadcast-auth.ts).
import * as v from 'valibot';
import { MAX_BROADCAST_CLIENTS } from './broadcast-limits';
import { shown } from './shown';
import { CONFIG_SCHEMA, type BackendName, type FederationConfig } from './config';
import { DeltaError, decodeDelta, vectorBytes, wireBytes, type UplinkSettings, type WireDelta } from './compression/uplink';
import { MODALITIES, type Modality } from './data/paired-modalities';
import { modalityBlocks } from './ml/modality-layout';
import { specsEqual, totalSize, type LayerSpec } from './weights';
import { strategyDefinition } from './strategies/registry';
import type { ExtraShape } from './strategies/strategy';

export const PROTOCOL_VERSION = 2;
export const CHANNEL_NAME = 'fedtab/v2';
/** Largest weight vector accepted (CNN-M is 1.66M floats). */
export const MAX_PARAMS = 4_000_000;
export const MAX_LOSSES = 100_000;
/** Named extra vectors a message may carry (SCAFFOLD needs 1–2). */
export { MAX_BROADCAST_CLIENTS };
export const MAX_EXTRAS = 4;
export const MAX_CLASSES = 256;
const MAX_ID = 64;
/** Longest text field (user agents, error messages) accepted before it is cut. */
const MAX_TEXT = 10_000;

/** 'node': a virtual client of the in-process Node runtime (scripts/node-runtime.ts). */
export const CLIENT_KINDS = ['tab', 'worker', 'node', 'remote'] as const;
export type ClientKind = (typeof CLIENT_KINDS)[number];
export const CLIENT_STATES = ['starting', 'loading', 'idle', 'training', 'evaluating', 'uploading', 'error'] as const;
export type ClientState = (typeof CLIENT_STATES)[number];
const BACKEND_NAMES = ['webgpu', 'webgl', 'wasm', 'cpu'] as const;
const BACKEND_OR_PENDING = [...BACKEND_NAMES, 'pending'] as const;
/** Why a client dropped a broadcast: it counts them and reports the counts with its heartbeat. */
export const BROADCAST_DROP_REASONS = ['malformed', 'bad-version', 'unsigned', 'bad-signature', 'no-key', 'stale', 'overload'] as const;
export type BroadcastDropReason = (typeof BROADCAST_DROP_REASONS)[number];

export type RejectReason =
  | 'bad-version'
  | 'malformed'
  | 'unknown-client'
  | 'wrong-connection'
  | 'bad-secret'
  | 'forbidden'
  | 'registration-refused'
  | 'bad-field'
  | 'wrong-run'
  | 'wrong-round'
  | 'not-selected'
  | 'duplicate'
  | 'late'
  | 'shape-mismatch'
  | 'non-finite'
  | 'too-large'
  | 'wrong-sample-count'
  | 'wrong-step-count';

export class ProtocolError extends Error {
  override name = 'ProtocolError';
  constructor(
    readonly reason: RejectReason,
    detail: string,
  ) {
    super(`${reason}: ${detail}`);
  }
}

function fail(reason: RejectReason, detail: string): never {
  throw new ProtocolError(reason, detail);
}

// ---- pieces ---------------------------------------------------------------

const id = v.pipe(v.string(), v.minLength(1), v.maxLength(MAX_ID));
const finite = v.pipe(v.number(), v.finite());
const count = v.pipe(v.number(), v.finite(), v.integer(), v.minValue(0));
const positiveInt = v.pipe(v.number(), v.finite(), v.integer(), v.minValue(1));
const finiteList = (max: number) => v.pipe(v.array(finite), v.maxLength(max));
const text = (max: number) => v.pipe(v.string(), v.transform((s) => s.slice(0, max)));
const float32 = v.custom<Float32Array>((x) => x instanceof Float32Array, 'expected a Float32Array');
const bytes = v.custom<Uint8Array>((x) => x instanceof Uint8Array, 'expected a Uint8Array');
const typed = <T>(ctor: abstract new (...a: never[]) => T, name: string) => v.custom<T>((x) => x instanceof ctor, `expected a ${name}`);
/** Δ_k dense (Float32Array) or as one of the uplink encodings; shapes and values are checked in compression/uplink.ts. */
const wireDelta = v.union([
  float32,
  v.object({ encoding: v.literal('topk'), indices: typed(Uint32Array, 'Uint32Array'), values: float32 }),
  v.object({ encoding: v.literal('int8'), scales: float32, values: typed(Int8Array, 'Int8Array') }),
  v.object({ encoding: v.literal('float16'), values: typed(Uint16Array, 'Uint16Array') }),
]);
const layerSpec = v.object({ name: v.pipe(v.string(), v.maxLength(256)), shape: v.pipe(v.array(positiveInt), v.minLength(1), v.maxLength(8)) });
const layerList = v.pipe(v.array(layerSpec), v.minLength(1), v.maxLength(256));
const extras = v.pipe(v.record(v.pipe(v.string(), v.regex(/^[a-zA-Z][a-zA-Z0-9]{0,31}$/)), float32), v.check((r) => Object.keys(r).length <= MAX_EXTRAS, 'too many extras'));
const probe = v.pipe(
  v.array(v.object({ backend: v.picklist(BACKEND_NAMES), ok: v.boolean(), samplesPerSec: v.optional(v.pipe(v.number(), v.finite(), v.minValue(0))), error: v.optional(text(300)) })),
  v.maxLength(8),
);

export type BackendProbe = v.InferOutput<typeof probe>[number];

/** One valibot issue → the reason a person reads in the dashboard. */
function reasonOf(issue: v.BaseIssue<unknown>): RejectReason {
  if (typeof issue.input === 'number' && !Number.isFinite(issue.input)) return 'non-finite';
  if (issue.type === 'max_length' && Array.isArray(issue.input)) return 'too-large';
  return 'malformed';
}

function parseWith<S extends v.GenericSchema>(schema: S, msg: unknown, type: string): v.InferOutput<S> {
  if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) fail('malformed', `${type} message is not an object`);
  const o = msg as Record<string, unknown>;
  if (o.v !== PROTOCOL_VERSION) fail('bad-version', `protocol version ${shown(o.v, 20)}, expected ${PROTOCOL_VERSION}`);
  if (o.type !== type) fail('malformed', `expected type "${type}", got "${shown(o.type, 40)}"`);
  // Before the schema walks them: no list or text in any message is this long, so a flood of huge ones costs little.
  for (const [key, x] of Object.entries(o)) {
    if (Array.isArray(x) && x.length > MAX_LOSSES) fail('too-large', `${key} has ${x.length} entries (max ${MAX_LOSSES})`);
    if (typeof x === 'string' && x.length > MAX_TEXT) fail('too-large', `${key} has ${x.length} characters (max ${MAX_TEXT})`);
  }
  const r = v.safeParse(schema, msg);
  if (r.success) return r.output;
  const issue = r.issues[0];
  const path = v.getDotPath(issue) ?? '(message)';
  fail(reasonOf(issue), `${path}: ${issue.message}`);
}

/** Every value of a received vector is a finite number (a hand loop: valibot would box each float). */
export function checkFinite(x: Float32Array, what: string): Float32Array {
  for (let i = 0; i < x.length; i++) if (!Number.isFinite(x[i])) fail('non-finite', `${what}[${i}] is ${x[i]}`);
  return x;
}

/** A vector the size of the model: not too large, the right length, finite. */
export function checkVector(x: Float32Array, size: number, what: string): Float32Array {
  if (x.length > MAX_PARAMS) fail('too-large', `${what} has ${x.length} values (max ${MAX_PARAMS})`);
  if (x.length !== size) fail('shape-mismatch', `${what} has ${x.length} values, model has ${size}`);
  return checkFinite(x, what);
}

/** A vector of a declared shape: not longer than it allows, whole rows, finite. */
export function checkShaped(x: Float32Array, shape: ExtraShape, what: string): Float32Array {
  const max = 'length' in shape ? shape.length : shape.width * shape.maxRows;
  if (x.length > max) fail('too-large', `${what} has ${x.length} values (max ${max})`);
  if ('length' in shape ? x.length !== shape.length : x.length % shape.width !== 0) {
    fail('shape-mismatch', `${what} has ${x.length} values, expected ${'length' in shape ? shape.length : `rows of ${shape.width}`}`);
  }
  return checkFinite(x, what);
}

/** Exactly the named extras, each a model-sized finite vector unless `shapes` declares its length. */
export function checkExtras(
  got: Record<string, Float32Array> | undefined,
  names: readonly string[],
  size: number,
  what: string,
  shapes: Readonly<Record<string, ExtraShape>> = {},
): Record<string, Float32Array> {
  const have = Object.keys(got ?? {});
  const unexpected = have.filter((k) => !names.includes(k));
  if (unexpected.length) fail('malformed', `${what}: unexpected ${unexpected.join(', ')} (this strategy exchanges ${names.join(', ') || 'none'})`);
  const missing = names.filter((k) => !have.includes(k));
  if (missing.length) fail('malformed', `${what}: missing ${missing.join(', ')}`);
  for (const k of names) {
    const shape = shapes[k];
    if (shape) checkShaped(got![k], shape, `${what}.${k}`);
    else checkVector(got![k], size, `${what}.${k}`);
  }
  return got ?? {};
}

// ---- client → coordinator ---------------------------------------------------

const REGISTER = v.object({
  v: v.literal(PROTOCOL_VERSION),
  type: v.literal('register'),
  kind: v.picklist(CLIENT_KINDS),
  backend: v.picklist(BACKEND_OR_PENDING),
  probe,
  userAgent: text(300),
  /** The Web Lock this client holds for its whole life: when the coordinator can take it, the client is gone. */
  lock: v.pipe(v.string(), v.regex(/^fedtab-client-[A-Za-z0-9-]{8,64}$/)),
});
export type RegisterMessage = v.InferOutput<typeof REGISTER>;

export function parseRegister(msg: unknown): RegisterMessage {
  return parseWith(REGISTER, msg, 'register');
}
export interface RegisterReply {
  clientId: string;
  /** Proves the client's messages come from it; bound to the connection that registered it too. */
  secret: string;
}

const identity = { clientId: id, secret: v.pipe(v.string(), v.minLength(16), v.maxLength(128)) };

/** Heartbeat fields are checked one by one: a bad one is dropped (and counted), the heartbeat still counts. */
const HEARTBEAT_FIELDS = {
  state: v.picklist(CLIENT_STATES),
  backend: v.picklist(BACKEND_OR_PENDING),
  probe,
  samplesPerSec: v.nullable(v.pipe(v.number(), v.finite(), v.minValue(0))),
  localLoss: v.nullable(finite),
  numTensors: count,
  error: v.nullable(text(500)),
  /** Local steps done of the round's total, while training (the dashboard's step diagram). */
  progress: v.nullable(v.pipe(v.object({ round: positiveInt, steps: count, total: positiveInt }), v.check((p) => p.steps <= p.total, 'steps beyond the total'))),
  broadcastsDropped: v.pipe(
    v.record(v.picklist(BROADCAST_DROP_REASONS), count),
    v.check((r) => Object.keys(r).length <= BROADCAST_DROP_REASONS.length),
  ),
};
const HEARTBEAT = v.object({ v: v.literal(PROTOCOL_VERSION), type: v.literal('heartbeat'), ...identity });
export type HeartbeatFields = { [K in keyof typeof HEARTBEAT_FIELDS]: v.InferOutput<(typeof HEARTBEAT_FIELDS)[K]> };
export type HeartbeatMessage = v.InferOutput<typeof HEARTBEAT> & Partial<HeartbeatFields>;

/** The identity part must be right; of the rest, the valid fields are kept and the invalid ones named. */
export function parseHeartbeat(msg: unknown): { msg: HeartbeatMessage; badFields: string[] } {
  const head = parseWith(HEARTBEAT, msg, 'heartbeat');
  const o = msg as Record<string, unknown>;
  const out: HeartbeatMessage = { ...head };
  const badFields: string[] = [];
  for (const [key, schema] of Object.entries(HEARTBEAT_FIELDS)) {
    if (o[key] === undefined) continue;
    const r = v.safeParse(schema as v.GenericSchema, o[key]);
    if (r.success) (out as Record<string, unknown>)[key] = r.output;
    else badFields.push(key);
  }
  return { msg: out, badFields };
}

export interface HeartbeatReply {
  /** False once the coordinator has forgotten this client (evicted): it should register again. */
  registered: boolean;
  /** Why a registered client without a slot in the current run waits, in words its page shows; absent when it has one. */
  waiting?: string;
}

const UPDATE = v.object({
  v: v.literal(PROTOCOL_VERSION),
  type: v.literal('update'),
  ...identity,
  runId: id,
  round: positiveInt,
  /** What the client says it trained on; the coordinator checks it against its own count. */
  numSamples: count,
  steps: count,
  layers: layerList,
  /** w_k − w_t, flat, packed by `layers`: dense, or encoded as the run's `compress` setting says. */
  delta: v.custom<WireDelta>((x) => v.is(wireDelta, x), 'expected a Float32Array or an encoded delta (topk, int8, float16)'),
  extras: v.optional(extras),
  /** Mean training loss per local epoch. */
  epochLosses: finiteList(MAX_LOSSES),
  /** Per-batch losses of the last epoch. */
  batchLosses: finiteList(MAX_LOSSES),
  /** Loss on the training data at w_t, before training (strategies that ask for it: q-FedAvg). */
  initialLoss: v.optional(v.pipe(v.number(), v.finite(), v.minValue(0))),
  trainMs: v.pipe(finite, v.minValue(0)),
  samplesPerSec: v.pipe(finite, v.minValue(0)),
  backend: v.picklist(BACKEND_NAMES),
  numTensors: count,
});
export type UpdateMessage = v.InferOutput<typeof UPDATE>;

/** An update after parsing: its delta decoded to a dense, checked vector, and what the uplink cost. */
export type ReceivedUpdate = Omit<UpdateMessage, 'delta'> & {
  delta: Float32Array;
  /** Bytes of the delta as sent plus the extras (4 per value): message headers and loss lists not counted. */
  bytesUp: number;
};

/**
 * Shape checks only: who may send it and whether it is expected is the round's business (server-worker/round.ts).
 * The delta must use the run's encoding; a sparse one must have ascending unique in-range indices.
 */
export function parseUpdate(msg: unknown, layers: readonly LayerSpec[], uplink: UplinkSettings): ReceivedUpdate {
  const u = parseWith(UPDATE, msg, 'update');
  if (!specsEqual(u.layers, layers)) fail('shape-mismatch', 'layer shapes differ from the global model');
  let delta: Float32Array;
  try {
    delta = decodeDelta(u.delta, layers, uplink);
  } catch (e) {
    if (e instanceof DeltaError) fail(e.reason, `delta: ${e.message}`);
    throw e;
  }
  checkVector(delta, totalSize(layers), 'delta');
  return { ...u, delta, bytesUp: wireBytes(u.delta) + vectorBytes(u.extras) };
}

/** A two-modality client's update must leave the modalities it does not hold untouched: it never trained them. */
export function checkHeldModalities(delta: Float32Array, layers: readonly LayerSpec[], held: readonly Modality[]): void {
  const blocks = modalityBlocks(layers);
  for (const m of MODALITIES) {
    if (held.includes(m)) continue;
    for (const [a, b] of blocks[m]) {
      for (let i = a; i < b; i++) if (delta[i] !== 0) fail('malformed', `the client's partition holds only ${held.join(' and ')}; its update changes ${m} parameters (coordinate ${i})`);
    }
  }
}

const EVALUATION = v.object({
  v: v.literal(PROTOCOL_VERSION),
  type: v.literal('evaluation'),
  ...identity,
  runId: id,
  /** The round whose global model was evaluated. */
  round: count,
  numSamples: count,
  loss: v.pipe(finite, v.minValue(0)),
  /** Per class: local test images, and how many of them the model got right. */
  classCounts: v.pipe(v.array(count), v.maxLength(MAX_CLASSES)),
  classCorrect: v.pipe(v.array(count), v.maxLength(MAX_CLASSES)),
});
export type EvaluationMessage = v.InferOutput<typeof EVALUATION>;

export function parseEvaluation(msg: unknown, numClasses: number): EvaluationMessage {
  const e = parseWith(EVALUATION, msg, 'evaluation');
  if (e.classCounts.length !== numClasses || e.classCorrect.length !== numClasses) fail('shape-mismatch', `per-class counts must have ${numClasses} entries`);
  let n = 0;
  e.classCounts.forEach((c, k) => {
    if (e.classCorrect[k] > c) fail('malformed', `class ${k}: ${e.classCorrect[k]} correct of ${c}`);
    n += c;
  });
  if (n !== e.numSamples) fail('malformed', `per-class counts sum to ${n}, numSamples is ${e.numSamples}`);
  return e;
}

const RUN_REQUEST = v.object({ v: v.literal(PROTOCOL_VERSION), type: v.picklist(['key', 'extras']), ...identity, runId: id, round: v.optional(positiveInt) });
export type RunRequest = v.InferOutput<typeof RUN_REQUEST>;

export function parseRunRequest(msg: unknown, type: 'key' | 'extras'): RunRequest {
  const r = parseWith(RUN_REQUEST, msg, type);
  if (type === 'extras' && r.round === undefined) fail('malformed', 'round: an extras request names its round');
  return r;
}

/** The round key a client verifies this run's broadcasts with. */
export interface KeyReply {
  runId: string;
  key: Uint8Array;
}

// ---- coordinator → clients (BroadcastChannel) --------------------------------

const auth = v.object({ macs: v.pipe(v.record(id, bytes), v.check((r) => Object.keys(r).length <= MAX_BROADCAST_CLIENTS, 'too many signatures')) });
const slotMap = v.pipe(v.record(id, v.pipe(count, v.maxValue(100_000))), v.check((r) => Object.keys(r).length <= MAX_BROADCAST_CLIENTS, 'too many clients'));

/** What every broadcast that carries a model has: the run, its config, the weights and their shapes. */
const MODEL_BROADCAST = {
  v: v.literal(PROTOCOL_VERSION),
  runId: id,
  config: CONFIG_SCHEMA,
  numPartitions: v.pipe(positiveInt, v.maxValue(100_000)),
  deadline: v.pipe(finite, v.minValue(0)),
  layers: layerList,
  weights: float32,
  auth,
};
/** Clients that should evaluate the weights on their local split, for the round the weights came out of. */
const evaluateRequest = v.object({ round: count, slots: slotMap });

const ROUND = v.object({
  ...MODEL_BROADCAST,
  type: v.literal('round'),
  round: positiveInt,
  /** clientId → partition index, for the clients chosen this round. */
  assignments: slotMap,
  /** Strategy extras for everyone (SCAFFOLD: the server control variate c). */
  extras: v.optional(extras),
  /** Selected clients that have extras of their own to fetch over their port. */
  perClient: v.pipe(v.array(id), v.maxLength(MAX_BROADCAST_CLIENTS)),
  /** The run's training samples per class, counted by the coordinator over every partition (logit adjustment's prior). */
  classCounts: v.optional(v.pipe(v.array(v.pipe(count, v.maxValue(1e9))), v.minLength(1), v.maxLength(1000))),
  evaluate: v.nullable(evaluateRequest),
});
export type RoundMessage = v.InferOutput<typeof ROUND>;

/** After the last round (or a pause): the latest model, for federated evaluation only. */
const EVALUATE = v.object({ ...MODEL_BROADCAST, type: v.literal('evaluate'), evaluate: evaluateRequest });
export type EvaluateMessage = v.InferOutput<typeof EVALUATE>;

const STOP = v.object({ v: v.literal(PROTOCOL_VERSION), type: v.literal('stop'), runId: id, auth });
export type StopMessage = v.InferOutput<typeof STOP>;

export type BroadcastMessage = RoundMessage | EvaluateMessage | StopMessage;
/** A broadcast before it is signed. */
export type UnsignedBroadcast = DistributiveOmit<BroadcastMessage, 'auth'>;
type DistributiveOmit<T, K extends keyof T> = T extends unknown ? Omit<T, K> : never;

/** Clients check a broadcast with the coordinator's own schemas (the config included) before they verify its signature. */
export function parseBroadcast(msg: unknown): BroadcastMessage {
  const type = (msg as { type?: unknown } | null)?.type;
  if (type === 'stop') return parseWith(STOP, msg, 'stop');
  const m = type === 'evaluate' ? parseWith(EVALUATE, msg, 'evaluate') : parseWith(ROUND, msg, 'round');
  const size = totalSize(m.layers);
  checkVector(m.weights, size, 'weights');
  if (m.type === 'round') {
    const shapes = strategyDefinition(m.config.algorithm).extraShapes?.(m.config as never) ?? {};
    for (const [k, x] of Object.entries(m.extras ?? {})) {
      if (shapes[k]) checkShaped(x, shapes[k], `extras.${k}`);
      else checkVector(x, size, `extras.${k}`);
    }
  }
  const slots = [...(m.type === 'round' ? Object.values(m.assignments) : []), ...Object.values(m.evaluate?.slots ?? {})];
  for (const slot of slots) if (slot >= m.numPartitions) fail('malformed', `slot ${slot} is beyond ${m.numPartitions} partitions`);
  return m;
}

export type { BackendName, FederationConfig };

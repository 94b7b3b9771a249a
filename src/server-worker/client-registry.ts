// Who the clients are. The coordinator issues every client its id and a secret, binds both to the connection (port)
// that registered it, and accepts messages for that id only from there: a page cannot act in another client's name.
// Heartbeats keep a client alive field by field; a client that stops sending them is evicted and may register again.
import {
  ProtocolError,
  parseHeartbeat,
  type BroadcastDropReason,
  type HeartbeatReply,
  type RegisterMessage,
  type RegisterReply,
} from '../shared/protocol';
import type { ClientRow } from '../shared/status';

/** Clients the coordinator keeps at most (real tabs; the Node runtime has its own virtual clients). */
export const MAX_CLIENTS = 256;
/**
 * Virtual clients the Node runtime may register: they are state, not models (scripts/node-runtime.ts). A broadcast
 * is signed for the clients it asks for work (at most MAX_BROADCAST_CLIENTS), not for everyone registered.
 */
export const MAX_VIRTUAL_CLIENTS = 10_000;
/** A connection registers one client at a time and re-registers only a few times (after an eviction). */
export const MAX_REGISTRATIONS_PER_CONNECTION = 4;
export const HEARTBEAT_TIMEOUT_MS = 70_000;
/**
 * A freed life lock only says the client may be gone: any page of the origin can steal a lock (navigator.locks
 * lists their names). The client is removed when it has also been silent this long; a live one (two heartbeats
 * fit in it) stays, takes its lock back, and is watched again.
 */
export const GONE_CONFIRM_MS = 5_000;

/** One port to the coordinator. `dashboard` ports control runs and register no client; `client` ports never control. */
export interface Connection {
  readonly id: number;
  role: 'unknown' | 'client' | 'dashboard';
  clientId: string | null;
  registrations: number;
  /** Ids this connection held that were evicted: their heartbeats get "register again", not a rejection. */
  evicted: Set<string>;
}

export interface RegistryDeps {
  now(): number;
  setTimer(fn: () => void, ms: number): unknown;
  randomHex(bytes: number): string;
  /** Clients kept at most (MAX_CLIENTS unless given). */
  maxClients?: number;
  /** Calls onGone once the client holding `lock` is gone (Web Locks in the browser). */
  watchLock(lock: string, onGone: () => void): void;
  /** A message was refused: count it. */
  reject(reason: ProtocolError['reason'], detail: string, clientId: string | null): void;
  /** A client left (closed, evicted): free what it held. */
  gone(clientId: string, reason: string): void;
}

function sameSecret(a: string, b: string): boolean {
  // Constant time: the comparison does not stop at the first differing character.
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

export class ClientRegistry {
  private rows = new Map<string, ClientRow>();
  private owner = new Map<string, { connection: Connection; secret: string }>();
  private nextConnection = 1;
  /** Registrations refused (too many clients, or too many from one connection). */
  refused = 0;

  constructor(private deps: RegistryDeps) {}

  connect(role: Connection['role'] = 'unknown'): Connection {
    return { id: this.nextConnection++, role, clientId: null, registrations: 0, evicted: new Set() };
  }

  /** Clients kept at most. */
  get capacity(): number {
    return this.deps.maxClients ?? MAX_CLIENTS;
  }

  all(): ClientRow[] {
    return [...this.rows.values()];
  }

  get(clientId: string): ClientRow | undefined {
    return this.rows.get(clientId);
  }

  get size(): number {
    return this.rows.size;
  }

  register(conn: Connection, msg: RegisterMessage): RegisterReply {
    const refuse = (why: string): never => {
      this.refused++;
      this.deps.reject('registration-refused', why, conn.clientId);
      throw new ProtocolError('registration-refused', why);
    };
    if (conn.role === 'dashboard') refuse('a dashboard connection cannot register a client; clients connect on their own port');
    if (conn.clientId !== null && this.rows.has(conn.clientId)) refuse(`this connection already has client ${conn.clientId}`);
    if (conn.registrations >= MAX_REGISTRATIONS_PER_CONNECTION) refuse(`this connection registered ${conn.registrations} times already (max ${MAX_REGISTRATIONS_PER_CONNECTION})`);
    const max = this.capacity;
    if (this.rows.size >= max) refuse(`the coordinator has ${this.rows.size} clients (max ${max})`);
    conn.role = 'client';
    conn.registrations++;
    const clientId = `${msg.kind}-${this.deps.randomHex(4)}`;
    const secret = this.deps.randomHex(16);
    conn.clientId = clientId;
    this.owner.set(clientId, { connection: conn, secret });
    this.rows.set(clientId, {
      clientId,
      kind: msg.kind,
      backend: msg.backend,
      probe: msg.probe,
      state: 'idle',
      slot: null,
      numSamples: 0,
      labelHistogram: null,
      lastUpdateNorm: null,
      lastWeight: null,
      reliability: null,
      samplesPerSec: null,
      localLoss: null,
      progress: null,
      numTensors: 0,
      lastSeen: this.deps.now(),
      error: null,
      broadcastsDropped: {},
    });
    this.watch(clientId, msg.lock);
    return { clientId, secret };
  }

  /** The row of the client a message names, if it really comes from that client's connection; else a ProtocolError. */
  authenticate(conn: Connection, clientId: string, secret: string): ClientRow {
    const row = this.rows.get(clientId);
    const own = this.owner.get(clientId);
    if (!row || !own) throw new ProtocolError('unknown-client', `client ${clientId} is not registered`);
    if (own.connection !== conn) throw new ProtocolError('wrong-connection', `client ${clientId} is bound to another connection`);
    if (!sameSecret(own.secret, secret)) throw new ProtocolError('bad-secret', `wrong secret for client ${clientId}`);
    row.lastSeen = this.deps.now();
    return row;
  }

  heartbeat(conn: Connection, raw: unknown): HeartbeatReply {
    const { msg, badFields } = parseHeartbeat(raw);
    if (!this.rows.has(msg.clientId) && conn.evicted.has(msg.clientId)) return { registered: false };
    const row = this.authenticate(conn, msg.clientId, msg.secret);
    if (badFields.length) this.deps.reject('bad-field', `heartbeat fields ignored: ${badFields.join(', ')}`, msg.clientId);
    const { state, backend, probe, samplesPerSec, localLoss, numTensors, error, broadcastsDropped, progress } = msg;
    if (progress !== undefined) row.progress = progress;
    if (state !== undefined) row.state = state;
    if (backend !== undefined) row.backend = backend;
    if (probe !== undefined) row.probe = probe;
    if (samplesPerSec !== undefined && samplesPerSec !== null) row.samplesPerSec = samplesPerSec;
    if (localLoss !== undefined && localLoss !== null) row.localLoss = localLoss;
    if (numTensors !== undefined) row.numTensors = numTensors;
    if (error !== undefined) row.error = error;
    if (broadcastsDropped !== undefined) row.broadcastsDropped = broadcastsDropped as Partial<Record<BroadcastDropReason, number>>;
    return { registered: true };
  }

  private watch(clientId: string, lock: string): void {
    this.deps.watchLock(lock, () => {
      const freedAt = this.deps.now();
      this.deps.setTimer(() => {
        const row = this.rows.get(clientId);
        if (!row) return;
        if (row.lastSeen <= freedAt) this.remove(clientId, 'disconnected');
        else this.watch(clientId, lock); // still talking: its lock was taken from it, not given up
      }, GONE_CONFIRM_MS);
    });
  }

  /** Forgets a client (gone or evicted); its connection may register again. */
  remove(clientId: string, reason: string): void {
    if (!this.rows.delete(clientId)) return;
    const own = this.owner.get(clientId);
    this.owner.delete(clientId);
    // Whatever the reason, a client that is still there hears "register again" instead of a rejection.
    own?.connection.evicted.add(clientId);
    this.deps.gone(clientId, reason);
  }

  /** Evicts every client whose last message is older than the heartbeat timeout. */
  sweep(): void {
    const cutoff = this.deps.now() - HEARTBEAT_TIMEOUT_MS;
    for (const row of this.all()) if (row.lastSeen < cutoff) this.remove(row.clientId, 'heartbeat timeout');
  }

  /** Forgets per-run fields (a reset). */
  clearRunFields(): void {
    for (const row of this.rows.values()) {
      Object.assign(row, { slot: null, lastUpdateNorm: null, lastWeight: null, reliability: null, numSamples: 0, labelHistogram: null, progress: null });
    }
  }
}

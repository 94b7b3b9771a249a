// What a client does with a message from the BroadcastChannel before acting on it: parse it with the coordinator's
// schemas, check the coordinator's signature for this client, and drop replays. Every dropped message is counted
// by reason; the counts go to the coordinator with the heartbeats. The same code runs in tabs, workers and Node.
// Any page can post on the channel, so cheap checks come before the costly ones, and the queue is bounded.
import { importKey, verifyBroadcast, type MacKey } from '../shared/broadcast-auth';
import {
  MAX_BROADCAST_CLIENTS,
  MAX_PARAMS,
  PROTOCOL_VERSION,
  ProtocolError,
  parseBroadcast,
  type BroadcastDropReason,
  type BroadcastMessage,
} from '../shared/protocol';
import { serialQueue } from '../shared/serial';

export interface InboxOptions {
  /** This client's identity once registered (null before: nothing can be verified yet). */
  identity(): { clientId: string } | null;
  /** This client's key for the run's broadcasts, over its private port; throws if the run is not current. */
  fetchKey(runId: string): Promise<Uint8Array>;
}

/** Runs whose keys a client keeps (the current one and a few before it, for their stop messages). */
const KEPT_RUNS = 4;
/** Messages waiting for their check; more than this, and new ones are dropped as overload. */
const MAX_QUEUED = 8;
/** Run ids the coordinator gave no key for, remembered so a flood of invented run ids costs one request each at most. */
const MAX_UNKNOWN_RUNS = 64;

type Raw = { v?: unknown; type?: unknown; runId?: unknown; round?: unknown; weights?: unknown; auth?: { macs?: unknown } } | null;

/** At most `max` own keys, counted without walking a huge object. */
function fewKeys(o: unknown, max: number): boolean {
  if (typeof o !== 'object' || o === null) return true; // the schema rejects it
  let n = 0;
  for (const k in o) if (Object.hasOwn(o, k) && ++n > max) return false;
  return true;
}

/** Whether a broadcast asks this client for work: a round's assignment, an evaluation (a stop asks everyone it signs for). */
function addresses(m: NonNullable<Raw>, clientId: string): boolean {
  const has = (o: unknown) => typeof o === 'object' && o !== null && Object.hasOwn(o, clientId);
  const r = m as { assignments?: unknown; evaluate?: { slots?: unknown } | null };
  return m.type !== 'stop' && (has(r.assignments) || has(r.evaluate?.slots));
}

export class BroadcastInbox {
  readonly dropped: Partial<Record<BroadcastDropReason, number>> = {};
  /** Keyed by client and run: a key fetched for an earlier identity is no key for the current one. */
  private keys = new Map<string, MacKey>();
  private unknownRuns = new Set<string>();
  private lastRound = new Map<string, number>();
  private evaluated = new Set<string>();
  private stopped = new Set<string>();
  private readonly serial = serialQueue();
  private queued = 0;

  constructor(private opts: InboxOptions) {}

  /** Messages are handled in arrival order; resolves to the message if it may be acted on, else null. */
  receive(raw: unknown): Promise<BroadcastMessage | null> {
    const early = this.precheck(raw as Raw);
    if (early === 'not-addressed') return Promise.resolve(null);
    if (early) return Promise.resolve(this.drop(early));
    if (this.queued >= MAX_QUEUED) return Promise.resolve(this.drop('overload'));
    this.queued++;
    return this.serial(() => this.check(raw).finally(() => this.queued--));
  }

  /**
   * What can be told without parsing: not for this client, a replay, a run without a key, or too big to be genuine.
   * A broadcast that asks this client for nothing is none of its business: ignored before any check, not counted
   * (the coordinator signs only for the clients it asks, so with 10,000 clients almost every broadcast is that).
   */
  private precheck(m: Raw): BroadcastDropReason | 'not-addressed' | null {
    if (typeof m !== 'object' || m === null) return 'malformed';
    if (m.v !== PROTOCOL_VERSION) return 'bad-version';
    const me = this.opts.identity();
    if (!me) return 'no-key';
    const macs = m.auth?.macs;
    const signed = typeof macs === 'object' && macs !== null && Object.hasOwn(macs, me.clientId);
    if (!signed && !addresses(m, me.clientId)) return 'not-addressed';
    if (!signed) return 'unsigned';
    if (typeof m.runId === 'string' && this.unknownRuns.has(m.runId)) return 'no-key';
    if (this.isStale(m as BroadcastMessage)) return 'stale';
    if (m.weights instanceof Float32Array && m.weights.length > MAX_PARAMS) return 'malformed';
    for (const field of [macs, (m as { assignments?: unknown }).assignments, (m as { evaluate?: { slots?: unknown } }).evaluate?.slots]) {
      if (!fewKeys(field, MAX_BROADCAST_CLIENTS)) return 'malformed';
    }
    return null;
  }

  private drop(reason: BroadcastDropReason): null {
    this.dropped[reason] = (this.dropped[reason] ?? 0) + 1;
    return null;
  }

  private async check(raw: unknown): Promise<BroadcastMessage | null> {
    let msg: BroadcastMessage;
    try {
      msg = parseBroadcast(raw);
    } catch (e) {
      return this.drop(e instanceof ProtocolError && e.reason === 'bad-version' ? 'bad-version' : 'malformed');
    }
    const me = this.opts.identity();
    if (!me) return this.drop('no-key');
    if (this.isStale(msg)) return this.drop('stale');
    const key = await this.keyFor(me.clientId, msg.runId);
    if (!key) return this.drop('no-key');
    const verdict = await verifyBroadcast(msg, me.clientId, key);
    if (verdict !== 'ok') return this.drop(verdict);
    // Re-checked: another copy may have been accepted while this one was being verified.
    if (this.isStale(msg)) return this.drop('stale');
    this.remember(msg);
    return msg;
  }

  private isStale(msg: BroadcastMessage): boolean {
    if (typeof msg.runId !== 'string') return false;
    if (this.stopped.has(msg.runId)) return true;
    if (msg.type === 'round') return typeof msg.round === 'number' && msg.round <= (this.lastRound.get(msg.runId) ?? 0);
    if (msg.type === 'evaluate') return this.evaluated.has(`${msg.runId}|${msg.evaluate?.round}`);
    return false;
  }

  private remember(msg: BroadcastMessage): void {
    if (msg.type === 'round') this.lastRound.set(msg.runId, msg.round);
    else if (msg.type === 'evaluate') this.evaluated.add(`${msg.runId}|${msg.evaluate.round}`);
    else this.stopped.add(msg.runId);
  }

  private async keyFor(clientId: string, runId: string): Promise<MacKey | null> {
    const id = `${clientId}|${runId}`;
    const have = this.keys.get(id);
    if (have) return have;
    if (this.unknownRuns.has(runId)) return null;
    let key: MacKey;
    try {
      key = await importKey(await this.opts.fetchKey(runId));
    } catch {
      this.unknownRuns.add(runId);
      if (this.unknownRuns.size > MAX_UNKNOWN_RUNS) this.unknownRuns.delete(this.unknownRuns.values().next().value!);
      return null;
    }
    // The identity may have changed while the key was on its way: it belongs to the one it was fetched for.
    this.keys.set(id, key);
    while (this.keys.size > KEPT_RUNS) this.keys.delete(this.keys.keys().next().value!);
    return key;
  }
}

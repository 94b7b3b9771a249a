// What a client does with a message from the BroadcastChannel before acting on it: parse it with the coordinator's
// schemas, check the coordinator's signature for this client, and drop replays. Every dropped message is counted
// by reason; the counts go to the coordinator with the heartbeats. The same code runs in tabs, workers and Node.
import { importKey, verifyBroadcast } from '../shared/broadcast-auth';
import { ProtocolError, parseBroadcast, type BroadcastDropReason, type BroadcastMessage } from '../shared/protocol';

export interface InboxOptions {
  /** This client's identity once registered (null before: nothing can be verified yet). */
  identity(): { clientId: string } | null;
  /** This client's key for the run's broadcasts, over its private port; throws if the run is not current. */
  fetchKey(runId: string): Promise<Uint8Array>;
}

/** Runs whose keys a client keeps (the current one and a few before it, for their stop messages). */
const KEPT_RUNS = 4;

export class BroadcastInbox {
  readonly dropped: Partial<Record<BroadcastDropReason, number>> = {};
  private keys = new Map<string, CryptoKey>();
  private lastRound = new Map<string, number>();
  private evaluated = new Set<string>();
  private stopped = new Set<string>();
  private chain: Promise<unknown> = Promise.resolve();

  constructor(private opts: InboxOptions) {}

  /** Messages are handled in arrival order; resolves to the message if it may be acted on, else null. */
  receive(raw: unknown): Promise<BroadcastMessage | null> {
    const next = this.chain.then(() => this.check(raw));
    this.chain = next.catch(() => undefined);
    return next;
  }

  /** A new identity (the client registered again): keys fetched for the old one are of no use. */
  forgetKeys(): void {
    this.keys.clear();
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
    if (!Object.hasOwn(msg.auth.macs, me.clientId)) return this.drop('unsigned');
    if (this.isStale(msg)) return this.drop('stale');
    const key = await this.keyFor(msg.runId);
    if (!key) return this.drop('no-key');
    const verdict = await verifyBroadcast(msg, me.clientId, key);
    if (verdict !== 'ok') return this.drop(verdict);
    // Re-checked: another copy may have been accepted while this one was being verified.
    if (this.isStale(msg)) return this.drop('stale');
    this.remember(msg);
    return msg;
  }

  private isStale(msg: BroadcastMessage): boolean {
    if (this.stopped.has(msg.runId)) return true;
    if (msg.type === 'round') return msg.round <= (this.lastRound.get(msg.runId) ?? 0);
    if (msg.type === 'evaluate') return this.evaluated.has(`${msg.runId}|${msg.evaluate.round}`);
    return false;
  }

  private remember(msg: BroadcastMessage): void {
    if (msg.type === 'round') this.lastRound.set(msg.runId, msg.round);
    else if (msg.type === 'evaluate') this.evaluated.add(`${msg.runId}|${msg.evaluate.round}`);
    else this.stopped.add(msg.runId);
  }

  private async keyFor(runId: string): Promise<CryptoKey | null> {
    const have = this.keys.get(runId);
    if (have) return have;
    let key: CryptoKey;
    try {
      key = await importKey(await this.opts.fetchKey(runId));
    } catch {
      return null;
    }
    this.keys.set(runId, key);
    while (this.keys.size > KEPT_RUNS) this.keys.delete(this.keys.keys().next().value!);
    return key;
  }
}

// The teacher's side of a classroom: relays each student device's protocol calls from the broker onto a port of its
// own to the coordinator (exactly as a Web Worker client's port: the same validation and identity binding), and the
// coordinator's signed broadcasts onto the room's topic. It holds a life lock for each remote client, so the
// coordinator learns of a device that left when the hub lets go of it: after the grace period, or when the teacher
// removes it. No DOM: Node tests run it against a real broker and a coordinator.
import * as Comlink from 'comlink';
import { CLIENT_METHODS, type ClientApi } from '../server-worker/api';
import { field } from '../shared/mqtt/codec';
import { DEVICE_ID, topics, type Room } from '../shared/mqtt/room-code';
import type { RejectReason } from '../shared/mqtt/envelope';
import { MAX_REPORTED_ROUNDS, type BrokerStats } from '../shared/broker-stats';

/** A device silent this long has left: its slot is freed. One that comes back later registers anew. */
export const DEFAULT_GRACE_MS = 30_000;
export const MAX_DEVICES = 200;
const MAX_CALLS_IN_FLIGHT = 8;
const PING_MS = 5000;
/**
 * Broadcasts kept for devices that come back after a network loss (the latest round and, after it, an evaluate or
 * stop): published while a device was not subscribed, they never reached it (clean sessions), and the round would
 * wait out its deadline for that device.
 */
const KEPT_BROADCASTS = 2;
/** A device gets the kept broadcasts again at most this often (each can carry the whole model). */
const RESYNC_MIN_MS = 5000;

export type DeviceState = 'online' | 'away' | 'left' | 'removed';

export interface DeviceRow {
  deviceId: string;
  clientId: string | null;
  state: DeviceState;
  joinedAt: number;
  lastSeen: number;
  /** Broker bytes from and to this device (replies only; broadcasts are counted once for the room). */
  bytesIn: number;
  bytesOut: number;
  /** Times it came back within the grace period. */
  rejoins: number;
}

export interface HubLink {
  send(topic: string, kind: string, value: unknown): number;
  bytesIn: number;
  bytesOut: number;
  receiver: { rejected: Partial<Record<RejectReason, number>>; reject(reason: RejectReason, detail: string): unknown };
}

export interface HubDeps {
  room: Room;
  /** Hands the coordinator a port for one device (the dashboard API's connectWorkerPort). */
  connectPort(port: MessagePort): Promise<void>;
  /** Takes a Web Lock and holds it until release() is called. */
  holdLock(name: string): { release(): void };
  now(): number;
  graceMs?: number;
}

interface Device extends DeviceRow {
  sid: string;
  api: Comlink.Remote<ClientApi>;
  port: MessagePort;
  lock: { release(): void } | null;
  locks: number;
  inFlight: number;
  /** Calls being served, and the latest answers: a call sent again (its reply lost with the network) is answered once. */
  serving: Set<number>;
  replies: Map<number, unknown>;
  /** Why the coordinator refused this device's port (too many), if it did. */
  refused: string | null;
  /** When it last got the kept broadcasts again. */
  resyncedAt: number;
}

/** Answers kept per device for calls sent again. */
const KEPT_REPLIES = 16;

const clientMethods = new Set<string>(CLIENT_METHODS);

function median(xs: readonly number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

export class ClassroomHub {
  private devices = new Map<string, Device>();
  private removed = new Set<string>();
  private rtts: number[] = [];
  private rounds: Array<Omit<BrokerStats['rounds'][number], 'rttMs'> & { rtts: number[] }> = [];
  private link: HubLink | null = null;
  private kept: unknown[] = [];
  private linkWasOnline = false;
  private readonly t: ReturnType<typeof topics>;
  private readonly graceMs: number;

  constructor(private deps: HubDeps) {
    this.t = topics(deps.room);
    this.graceMs = deps.graceMs ?? DEFAULT_GRACE_MS;
  }

  /** The topics the teacher's link subscribes to. */
  get subscriptions(): string[] {
    return [this.t.teacher, this.t.ping];
  }

  attach(link: HubLink): void {
    this.link = link;
  }

  rows(): DeviceRow[] {
    return [...this.devices.values()].map(({ deviceId, clientId, state, joinedAt, lastSeen, bytesIn, bytesOut, rejoins }) => ({ deviceId, clientId, state, joinedAt, lastSeen, bytesIn, bytesOut, rejoins }));
  }

  stats(): BrokerStats {
    const live = [...this.devices.values()].filter((d) => d.state !== 'removed' && d.state !== 'left');
    return {
      v: 1,
      bytesIn: this.link?.bytesIn ?? 0,
      bytesOut: this.link?.bytesOut ?? 0,
      rttMs: median(this.rtts),
      devices: live.length,
      online: live.filter((d) => d.state === 'online').length,
      rejected: { ...this.link?.receiver.rejected },
      rounds: this.rounds.map(({ rtts, ...r }) => ({ ...r, rttMs: median(rtts) })),
    };
  }

  /** A coordinator broadcast, onto the room. */
  relayBroadcast(msg: unknown): void {
    const m = msg as { type?: unknown; runId?: unknown; round?: unknown };
    // A round's broker traffic runs from its broadcast to the next round's.
    if (m?.type === 'round' && typeof m.runId === 'string' && Number.isSafeInteger(m.round) && (m.round as number) >= 1) {
      this.rounds = [...this.rounds, { runId: m.runId.slice(0, 64), round: m.round as number, bytesIn: 0, bytesOut: 0, rtts: [] }].slice(-MAX_REPORTED_ROUNDS);
    }
    this.kept = [...this.kept, msg].slice(-KEPT_BROADCASTS);
    this.count(0, this.link?.send(this.t.all, 'broadcast', msg) ?? 0);
  }

  /**
   * The teacher's link changed state. Back online after a loss (and subscribed), it publishes the kept broadcasts
   * once more: any sent while a device was away are delivered now, and devices skip the ones they already have.
   * With the devices' own resync on their reconnect, whichever side comes back second delivers them.
   */
  onLinkState(state: 'connecting' | 'online' | 'offline'): void {
    if (state !== 'online') return;
    if (this.linkWasOnline) for (const msg of this.kept) this.count(0, this.link?.send(this.t.all, 'broadcast', msg) ?? 0);
    this.linkWasOnline = true;
  }

  private count(bytesIn: number, bytesOut: number): void {
    const r = this.rounds.at(-1);
    if (!r) return;
    r.bytesIn += bytesIn;
    r.bytesOut += bytesOut;
  }

  ping(): void {
    this.link?.send(this.t.ping, 'ping', { t: this.deps.now() });
  }

  /** Every second or so: devices silent past the grace period leave (their slot is freed). */
  tick(): void {
    const now = this.deps.now();
    for (const d of this.devices.values()) {
      if (d.state === 'removed' || d.state === 'left') continue;
      const silent = now - d.lastSeen;
      if (silent > this.graceMs) {
        d.state = 'left';
        d.lock?.release();
        d.lock = null;
      } else d.state = silent > 2 * PING_MS ? 'away' : 'online';
    }
  }

  /** The teacher removes a device: its client is let go, it is told, and nothing more from it is accepted. */
  remove(deviceId: string): boolean {
    const d = this.devices.get(deviceId);
    if (!d) return false;
    d.state = 'removed';
    d.lock?.release();
    d.lock = null;
    d.port.close();
    this.removed.add(deviceId);
    this.link?.send(this.t.device(deviceId), 'removed', { reason: 'the teacher removed this device from the room' });
    return true;
  }

  /** A message the link opened (room signature checked). */
  onMessage(topic: string, from: string, kind: string, value: unknown, meta: { sid: string; size: number }): void {
    if (topic === this.t.ping) {
      const sent = field(value, 't');
      const rtt = typeof sent === 'number' ? this.deps.now() - sent : NaN;
      if (from !== 'teacher' || kind !== 'ping' || !Number.isFinite(rtt) || rtt < 0) return;
      this.rtts = [...this.rtts.slice(-4), rtt];
      this.rounds.at(-1)?.rtts.push(rtt);
      return;
    }
    if (topic !== this.t.teacher || !DEVICE_ID.test(from)) return void this.link?.receiver.reject('not-for-us', `${kind} from ${from.slice(0, 40)} on ${topic}`);
    if (this.removed.has(from)) return void this.link?.receiver.reject('removed', `device ${from} was removed by the teacher`);
    if (kind === 'resync') return this.resync(from, meta);
    if (kind !== 'call') return void this.link?.receiver.reject('malformed', `unknown message kind ${kind.slice(0, 40)}`);
    const call = { callId: field(value, 'callId'), method: field(value, 'method'), msg: field(value, 'msg') };
    if (!Number.isSafeInteger(call.callId) || typeof call.method !== 'string' || !clientMethods.has(call.method)) {
      return void this.link?.receiver.reject('malformed', `a call from ${from} without a valid callId and method`);
    }
    const d = this.device(from, meta.sid);
    if (!d) return;
    d.bytesIn += meta.size;
    this.count(meta.size, 0);
    const callId = call.callId as number;
    // Sent again after a network loss: served once, its answer sent again if it is ready.
    if (d.serving.has(callId)) return;
    if (d.replies.has(callId)) return void this.send(d, d.replies.get(callId));
    void this.serve(d, callId, call.method as keyof ClientApi, call.msg);
  }

  /** A known device back from a network loss asks for the broadcasts it may have missed: sent on its own topic. */
  private resync(from: string, meta: { sid: string; size: number }): void {
    const d = this.devices.get(from);
    if (!d || d.sid !== meta.sid) return void this.link?.receiver.reject('not-for-us', `resync from ${from}, which has no client here in that session`);
    const now = this.deps.now();
    d.lastSeen = now;
    d.bytesIn += meta.size;
    this.count(meta.size, 0);
    if (now - d.resyncedAt < RESYNC_MIN_MS) return;
    d.resyncedAt = now;
    for (const msg of this.kept) this.send(d, msg, 'broadcast');
  }

  /** The device's record, made on its first call; a new session of the same device (a reload) gets a new port. */
  private device(deviceId: string, sid: string): Device | null {
    const now = this.deps.now();
    let d = this.devices.get(deviceId);
    if (d && d.sid !== sid) {
      // A reload: its old client is let go, its new one starts on a fresh connection.
      d.lock?.release();
      d.port.close();
      this.devices.delete(deviceId);
      d = undefined;
    }
    if (!d) {
      if (this.devices.size >= MAX_DEVICES) {
        this.link?.receiver.reject('too-large', `the room has ${this.devices.size} devices (max ${MAX_DEVICES})`);
        return null;
      }
      const { port1, port2 } = new MessageChannel();
      d = { deviceId, sid, clientId: null, state: 'online', joinedAt: now, lastSeen: now, bytesIn: 0, bytesOut: 0, rejoins: 0, api: Comlink.wrap<ClientApi>(port1), port: port1, lock: null, locks: 0, inFlight: 0, serving: new Set(), replies: new Map(), refused: null, resyncedAt: -Infinity };
      this.devices.set(deviceId, d);
      const made = d;
      this.deps.connectPort(Comlink.transfer(port2, [port2])).catch((e: unknown) => (made.refused = e instanceof Error ? e.message : String(e)));
    }
    if (d.state === 'away') d.rejoins++;
    if (d.state !== 'left') d.state = 'online';
    d.lastSeen = now;
    return d;
  }

  /** A message on the device's own topic: a call's reply, or a broadcast sent again. */
  private send(d: Device, value: unknown, kind: 'reply' | 'broadcast' = 'reply'): void {
    if (d.state === 'removed') return;
    const bytes = this.link?.send(this.t.device(d.deviceId), kind, value) ?? 0;
    d.bytesOut += bytes;
    this.count(0, bytes);
  }

  private async serve(d: Device, callId: number, method: keyof ClientApi, msg: unknown): Promise<void> {
    const reply = (value: unknown) => {
      d.serving.delete(callId);
      d.replies.set(callId, value);
      if (d.replies.size > KEPT_REPLIES) d.replies.delete(d.replies.keys().next().value!);
      this.send(d, value);
    };
    if (d.inFlight >= MAX_CALLS_IN_FLIGHT) return this.send(d, { callId, ok: false, error: `too many calls at once (max ${MAX_CALLS_IN_FLIGHT})` });
    d.serving.add(callId);
    d.inFlight++;
    try {
      if (d.refused) throw new Error(`the coordinator refused this device: ${d.refused}`);
      if (method === 'register') {
        // The device's own lock means nothing here: the hub holds one for it, and a remote client is 'remote'.
        d.lock?.release();
        const name = `fedtab-client-remote-${d.deviceId}-${++d.locks}`;
        d.lock = this.deps.holdLock(name);
        if (d.state === 'left') d.state = 'online';
        msg = { ...(msg as object), lock: name, kind: 'remote' };
      }
      const value = await (d.api[method] as (m: unknown) => Promise<unknown>)(msg);
      if (method === 'register') d.clientId = (value as { clientId: string }).clientId;
      reply({ callId, ok: true, value });
    } catch (e) {
      reply({ callId, ok: false, error: e instanceof Error ? e.message : String(e) });
    } finally {
      d.inFlight--;
    }
  }
}

// A student device's side of a classroom: the client protocol's calls travel to the teacher's hub over the broker
// (each sealed with the room key, answered on this device's own topic), and the coordinator's broadcasts arrive on
// the room's topic and are re-posted on a BroadcastChannel of this room, where the device's client (in its training
// worker) checks the coordinator's own signature as it would for a local broadcast.
import { CLIENT_METHODS, type ClientApi } from '../server-worker/api';
import { CHANNEL_NAME } from '../shared/protocol';
import { field } from '../shared/mqtt/codec';
import { DEVICE_ID, topics, type Room } from '../shared/mqtt/room-code';
import { RoomLink, type LinkState } from '../shared/mqtt/room-link';
import type { RejectReason } from '../shared/mqtt/envelope';

/** A call the teacher has not answered in this long failed (the client's next heartbeat or round tries again). */
const CALL_TIMEOUT_MS = 60_000;
/**
 * Unanswered this long, a call is sent again, and at once after a reconnect: a message published while the other
 * side was offline is lost (clean sessions). The hub serves a call once and answers a repeat from its memory.
 */
const RESEND_MS = 8000;

/** Broadcasts remembered to skip a repeat of. */
const RELAYED_KEPT = 8;

/** What tells a broadcast from another: its type, run, round and the first of its signatures (null: unrecognised). */
export function broadcastKey(value: unknown): string | null {
  const m = value as { type?: unknown; runId?: unknown; round?: unknown; evaluate?: { round?: unknown } | null; auth?: { macs?: Record<string, unknown> } } | null;
  if (typeof m !== 'object' || m === null || typeof m.type !== 'string' || typeof m.runId !== 'string') return null;
  const macs = m.auth?.macs;
  let mac = '';
  if (typeof macs === 'object' && macs !== null) {
    for (const k in macs) {
      const b = macs[k];
      mac = `${k}=${b instanceof Uint8Array ? Array.from(b.subarray(0, 16), (x) => x.toString(16).padStart(2, '0')).join('') : String(b).slice(0, 64)}`;
      break;
    }
  }
  return `${m.type.slice(0, 16)}/${m.runId.slice(0, 64)}/${String(m.round ?? '')}/${String(m.evaluate?.round ?? '')}/${mac}`;
}

export interface RemoteStatus {
  deviceId: string;
  link: LinkState;
  detail: string;
  removed: string | null;
  bytesIn: number;
  bytesOut: number;
  rejected: Partial<Record<RejectReason, number>>;
}

export interface RemoteLinkOptions {
  brokerUrl: string;
  room: Room;
  deviceId: string;
  maxMessageBytes?: number;
  onStatus?(s: RemoteStatus): void;
}

/** The BroadcastChannel a room's broadcasts are re-posted on: never the same-origin coordinator's own. */
export const roomChannelName = (room: Pick<Room, 'id'>) => `${CHANNEL_NAME}/room/${room.id}`;

/** This tab's device id: kept for the tab's life (a reload rejoins as the same device), new in a new tab. */
export function deviceIdOf(storage: Pick<Storage, 'getItem' | 'setItem'> | undefined): string {
  const kept = storage?.getItem('fedtab-device-id');
  if (kept && DEVICE_ID.test(kept)) return kept;
  const id = Array.from(globalThis.crypto.getRandomValues(new Uint8Array(8)), (b) => b.toString(16).padStart(2, '0')).join('');
  storage?.setItem('fedtab-device-id', id);
  return id;
}

export function connectRemote(opts: RemoteLinkOptions): { api: ClientApi; status(): RemoteStatus; close(): void } {
  const t = topics(opts.room);
  const pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void; timer: ReturnType<typeof setTimeout>; resend: ReturnType<typeof setInterval>; send(): void }>();
  const channel = new BroadcastChannel(roomChannelName(opts.room));
  let nextCall = 0;
  let detail = 'connecting to the broker';
  let removed: string | null = null;
  let wasOnline = false;
  let linkState: LinkState = 'connecting';
  // A broadcast can arrive twice (sent again after a network loss, by either side): the client sees it once, so
  // that a repeat is not counted as a replay attack. The signatures tell broadcasts apart.
  const relayed: string[] = [];
  const relay = (value: unknown) => {
    const key = broadcastKey(value);
    if (key !== null) {
      if (relayed.includes(key)) return;
      relayed.push(key);
      if (relayed.length > RELAYED_KEPT) relayed.shift();
    }
    channel.postMessage(value);
  };
  const status = (): RemoteStatus => ({
    deviceId: opts.deviceId,
    link: link.state,
    detail,
    removed,
    bytesIn: link.bytesIn,
    bytesOut: link.bytesOut,
    rejected: { ...link.receiver.rejected },
  });
  const changed = () => opts.onStatus?.(status());

  const link: RoomLink = new RoomLink({
    brokerUrl: opts.brokerUrl,
    room: opts.room,
    self: opts.deviceId,
    subscribe: [t.all, t.device(opts.deviceId)],
    maxMessageBytes: opts.maxMessageBytes,
    onState: (s, d) => {
      detail = d;
      const came = s === 'online' && linkState !== 'online'; // an error while online repeats the state: not a return
      linkState = s;
      if (came) {
        for (const p of pending.values()) p.send();
        // Back after a loss: broadcasts published meanwhile never reached this device; the hub sends them again.
        if (wasOnline) link.send(t.teacher, 'resync', {});
        wasOnline = true;
      }
      changed();
    },
    onReject: () => changed(),
    onMessage: (topic, from, kind, value) => {
      if (from !== 'teacher') return void link.receiver.reject('not-for-us', `${kind} from ${from.slice(0, 40)}: only the teacher speaks to devices`);
      if (topic === t.all && kind === 'broadcast') return relay(value);
      if (topic !== t.device(opts.deviceId)) return;
      if (kind === 'broadcast') return relay(value);
      if (kind === 'removed') {
        const reason = field(value, 'reason');
        removed = typeof reason === 'string' ? reason.slice(0, 200) : 'removed by the teacher';
        for (const p of pending.values()) {
          clearTimeout(p.timer);
          clearInterval(p.resend);
          p.reject(new Error(removed));
        }
        pending.clear();
        changed();
        return void link.close();
      }
      const callId = field(value, 'callId');
      const p = typeof callId === 'number' ? pending.get(callId) : undefined;
      if (kind !== 'reply' || !p) return;
      // Read before the call leaves `pending`: String() of a decoded object (null prototype) throws, and a throw
      // after the delete would leave the call neither settled nor timed out.
      const error = field(value, 'error');
      const why = typeof error === 'string' ? error.slice(0, 500) : 'the teacher refused the call';
      pending.delete(callId as number);
      clearTimeout(p.timer);
      clearInterval(p.resend);
      if (field(value, 'ok') === true) p.resolve(field(value, 'value'));
      else p.reject(new Error(why));
    },
  });

  const call = (method: keyof ClientApi, msg: unknown): Promise<unknown> => {
    if (removed) return Promise.reject(new Error(removed));
    const callId = ++nextCall;
    return new Promise((resolve, reject) => {
      const send = () => {
        if (link.state === 'online') link.send(t.teacher, 'call', { callId, method, msg });
      };
      const timer = setTimeout(() => {
        clearInterval(resend);
        pending.delete(callId);
        reject(new Error(`the teacher's dashboard did not answer ${method} within ${CALL_TIMEOUT_MS / 1000} s (${detail})`));
      }, CALL_TIMEOUT_MS);
      const resend = setInterval(send, RESEND_MS);
      pending.set(callId, { resolve, reject, timer, resend, send });
      send();
      changed();
    });
  };
  const api = Object.fromEntries(CLIENT_METHODS.map((m) => [m, (msg: unknown) => call(m, msg)])) as unknown as ClientApi;
  return {
    api,
    status,
    close: () => {
      channel.close();
      void link.close();
    },
  };
}

// One side's link to a room on an MQTT broker (MQTT.js over WebSocket, any MQTT 3.1.1 broker): it seals what it
// sends with the room key (envelope.ts), opens and checks what it receives, and counts bytes both ways. The teacher's
// dashboard and every student device use it; so do the Node tests, against the embedded broker and mosquitto.
import mqtt, { type MqttClient } from 'mqtt';
import { CodecError, decodeMessage, encodeMessage } from './codec';
import { RoomReceiver, RoomSender, type RejectReason } from './envelope';
import type { Room } from './room-code';

export type LinkState = 'connecting' | 'online' | 'offline';

export interface RoomLinkOptions {
  /** ws:// or wss:// URL of the broker's WebSocket listener. */
  brokerUrl: string;
  room: Room;
  /** Who this side is: 'teacher', or a device id. */
  self: string;
  /** Topics to receive. */
  subscribe: string[];
  maxMessageBytes?: number;
  /** A message whose room signature checked out; `sid` is its sender's session, `size` its bytes on the wire. */
  onMessage(topic: string, from: string, kind: string, value: unknown, meta: { sid: string; size: number }): void;
  onReject?(reason: RejectReason, detail: string): void;
  onState?(state: LinkState, detail: string): void;
}

export class BrokerUrlError extends Error {}

/** The broker URL, checked: MQTT over WebSocket only (a page cannot open raw TCP). */
export function parseBrokerUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new BrokerUrlError(`"${raw.slice(0, 100)}" is not a URL; a broker is ws://host:port/path or wss://…`);
  }
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') throw new BrokerUrlError(`the broker must be ws:// or wss:// (MQTT over WebSocket), not ${url.protocol}//`);
  return url.toString();
}

export class RoomLink {
  bytesIn = 0;
  bytesOut = 0;
  messagesIn = 0;
  messagesOut = 0;
  state: LinkState = 'connecting';
  readonly receiver: RoomReceiver;
  private readonly sender: RoomSender;
  /** This side's session: a new one each time a page starts. */
  get sid(): string {
    return this.sender.sid;
  }
  private readonly client: MqttClient;

  constructor(private opts: RoomLinkOptions) {
    this.sender = new RoomSender(opts.room.key, opts.self, { maxMessageBytes: opts.maxMessageBytes });
    this.receiver = new RoomReceiver(opts.room.key);
    this.client = mqtt.connect(parseBrokerUrl(opts.brokerUrl), {
      clientId: `fedtab-${opts.self}-${this.sender.sid}`,
      protocolVersion: 4,
      clean: true,
      reconnectPeriod: 1000,
      connectTimeout: 10_000,
      keepalive: 20,
    });
    // Online once subscribed, not on connect: what is sent to this side before its subscriptions stand is lost
    // (clean sessions), and both sides act on 'online' (resend calls, ask for missed broadcasts).
    this.client.on('connect', () => {
      this.client.subscribe(opts.subscribe, { qos: 1 }, (err) => {
        if (err) this.setState(this.state, `broker: could not subscribe (${err.message})`);
        else this.setState('online', 'connected to the broker');
      });
    });
    this.client.on('reconnect', () => this.setState('connecting', 'reconnecting to the broker'));
    this.client.on('offline', () => this.setState('offline', 'the broker is out of reach'));
    this.client.on('error', (e) => this.setState(this.state, `broker: ${e.message}`));
    this.client.on('message', (topic, payload) => this.receive(topic, payload));
  }

  private setState(state: LinkState, detail: string): void {
    this.state = state;
    this.opts.onState?.(state, detail);
  }

  private receive(topic: string, payload: Uint8Array): void {
    // Nothing a room member sends may throw into MQTT.js: a listener that throws stops its packet stream, and the
    // link, still 'online', then receives nothing more. A handler's failure is this message's rejection.
    try {
      this.receiveChecked(topic, payload);
    } catch (e) {
      const detail = `not handled: ${e instanceof Error ? e.message : String(e)}`.slice(0, 200);
      this.receiver.reject('malformed', detail);
      this.opts.onReject?.('malformed', detail);
    }
  }

  private receiveChecked(topic: string, payload: Uint8Array): void {
    this.bytesIn += payload.length;
    const r = this.receiver.open(topic, new Uint8Array(payload.buffer, payload.byteOffset, payload.byteLength));
    if (r.ok === 'partial') return;
    if (r.ok === false) return this.opts.onReject?.(r.reason, r.detail);
    this.messagesIn++;
    let value: unknown;
    try {
      value = decodeMessage(r.message.body);
    } catch (e) {
      const detail = e instanceof CodecError ? e.message : String(e);
      this.receiver.reject('malformed', detail);
      return this.opts.onReject?.('malformed', detail);
    }
    this.opts.onMessage(topic, r.message.from, r.message.kind, value, { sid: r.message.sid, size: r.message.wireBytes });
  }

  /** Seals and publishes one message (in parts if it is over the broker limit); returns the bytes it put on the wire. */
  send(topic: string, kind: string, value: unknown): number {
    let bytes = 0;
    for (const part of this.sender.seal(topic, kind, encodeMessage(value))) {
      this.client.publish(topic, part as Buffer, { qos: 1 });
      bytes += part.length;
    }
    this.bytesOut += bytes;
    this.messagesOut++;
    return bytes;
  }

  close(): Promise<void> {
    return new Promise((done) => this.client.end(false, {}, () => done()));
  }
}

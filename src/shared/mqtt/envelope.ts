// Every message on a room's topics is sealed with the room key: HMAC-SHA-256 over the topic it was published on
// and all its bytes, so a message from outside the room, an altered one, or one moved to another topic is rejected.
// Each sender numbers its messages within a session (seq, strictly increasing); a receiver drops any it has seen
// (a replay) and any whose clock is far off (a replay from an earlier session). Messages larger than the broker's
// limit travel in parts, each sealed on its own, and are reassembled within bounds of size, count and time.
// Pure: noble's SHA-256 runs the same in Node, workers, and pages that are not a secure context (a phone on http).
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesEqual } from '../crypto/sha256';

const MAGIC = 0x46544531; // "FTE1"
const MAC_BYTES = 32;
/** Room key, header and framing take at most this much of a part: the rest is payload. */
const PART_OVERHEAD = 512;
export const MIN_MESSAGE_BYTES = 4096;
/** Default part size: under every common broker's default limit (AWS IoT 128 KiB is the smallest we know of). */
export const DEFAULT_MESSAGE_BYTES = 128 * 1024;

export const REJECT_REASONS = ['unsigned', 'malformed', 'bad-signature', 'replayed', 'stale', 'too-large', 'incomplete', 'not-for-us', 'removed'] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

interface Header {
  from: string;
  sid: string;
  seq: number;
  ts: number;
  kind: string;
  /** Parts of one message share its id (the seq of its first part). */
  id: number;
  part: number;
  parts: number;
}

export interface Opened {
  from: string;
  sid: string;
  kind: string;
  body: Uint8Array;
  /** Its bytes on the wire, every part's header and seal included. */
  wireBytes: number;
}

export type OpenResult = { ok: true; message: Opened } | { ok: 'partial' } | { ok: false; reason: RejectReason; detail: string };

function macOf(key: Uint8Array, topic: string, signed: Uint8Array): Uint8Array {
  const h = hmac.create(sha256, key);
  h.update(new TextEncoder().encode(topic));
  h.update(new Uint8Array([0]));
  h.update(signed);
  return h.digest();
}

export interface SenderOptions {
  /** Largest message the broker takes, in bytes; larger bodies are split. */
  maxMessageBytes?: number;
  now?: () => number;
  random?: (n: number) => Uint8Array;
}

export class RoomSender {
  readonly sid: string;
  private seq = 0;
  private readonly partBytes: number;
  private readonly now: () => number;

  constructor(private key: Uint8Array, readonly from: string, opts: SenderOptions = {}) {
    const max = opts.maxMessageBytes ?? DEFAULT_MESSAGE_BYTES;
    if (!Number.isInteger(max) || max < MIN_MESSAGE_BYTES) throw new RangeError(`the broker message limit must be at least ${MIN_MESSAGE_BYTES} bytes (got ${max})`);
    this.partBytes = max - PART_OVERHEAD;
    this.now = opts.now ?? Date.now;
    const random = opts.random ?? ((n) => globalThis.crypto.getRandomValues(new Uint8Array(n)));
    this.sid = Array.from(random(8), (b) => b.toString(16).padStart(2, '0')).join('');
  }

  /** The sealed parts of one message, in the order to publish them. */
  seal(topic: string, kind: string, body: Uint8Array): Uint8Array[] {
    const parts = Math.max(1, Math.ceil(body.length / this.partBytes));
    const id = this.seq + 1;
    const out: Uint8Array[] = [];
    for (let part = 0; part < parts; part++) {
      const header: Header = { from: this.from, sid: this.sid, seq: ++this.seq, ts: this.now(), kind, id, part, parts };
      out.push(sealPart(this.key, topic, JSON.stringify(header), body.subarray(part * this.partBytes, (part + 1) * this.partBytes)));
    }
    return out;
  }
}

/**
 * One sealed part: magic, header length, the header's text, the payload, and the room MAC over the topic and all of
 * them. The header is any text here: a room member can seal whatever it likes, so the receiver checks every field.
 */
export function sealPart(key: Uint8Array, topic: string, header: string, payload: Uint8Array): Uint8Array {
  const h = new TextEncoder().encode(header);
  const bytes = new Uint8Array(8 + h.length + payload.length + MAC_BYTES);
  const dv = new DataView(bytes.buffer);
  dv.setUint32(0, MAGIC, true);
  dv.setUint32(4, h.length, true);
  bytes.set(h, 8);
  bytes.set(payload, 8 + h.length);
  const signedEnd = bytes.length - MAC_BYTES;
  bytes.set(macOf(key, topic, bytes.subarray(0, signedEnd)), signedEnd);
  return bytes;
}

export interface ReceiverOptions {
  /** Largest reassembled message. */
  maxTotalBytes?: number;
  /** Messages one sender may have half-received at once. */
  maxPartialPerSender?: number;
  /** A message whose parts have not all come in this long is dropped. */
  partialTimeoutMs?: number;
  /** How far a sender's clock may be from ours. */
  clockSkewMs?: number;
  now?: () => number;
}

/** Sessions a receiver remembers (their last seq); the oldest is forgotten past this. */
const MAX_SESSIONS = 4096;
/** Seqs below a session's highest by more than this are replays, whatever else. */
const REPLAY_WINDOW = 1024;

export class RoomReceiver {
  readonly rejected: Partial<Record<RejectReason, number>> = {};
  private sessions = new Map<string, { max: number; recent: Set<number> }>();
  private partial = new Map<string, { started: number; parts: Uint8Array[]; got: number; bytes: number; wire: number; kind: string; count: number }>();
  /** Messages dropped half-way, so their later parts do not start them again. */
  private dropped = new Set<string>();
  private readonly o: Required<ReceiverOptions>;

  constructor(private key: Uint8Array, opts: ReceiverOptions = {}) {
    this.o = { maxTotalBytes: 64 << 20, maxPartialPerSender: 4, partialTimeoutMs: 60_000, clockSkewMs: 10 * 60_000, now: Date.now, ...opts };
  }

  reject(reason: RejectReason, detail: string): OpenResult {
    this.rejected[reason] = (this.rejected[reason] ?? 0) + 1;
    return { ok: false, reason, detail };
  }

  open(topic: string, bytes: Uint8Array): OpenResult {
    if (bytes.length < 8 + MAC_BYTES) return this.reject('unsigned', `${bytes.length} bytes: too short to carry a room signature`);
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (dv.getUint32(0, true) !== MAGIC) return this.reject('unsigned', 'not a sealed fedtab message');
    const headerLen = dv.getUint32(4, true);
    if (8 + headerLen > bytes.length - MAC_BYTES || headerLen > 1024) return this.reject('malformed', 'header length out of range');
    const signedEnd = bytes.length - MAC_BYTES;
    // The signature first: nothing of an unsigned message is parsed or remembered.
    if (!bytesEqual(macOf(this.key, topic, bytes.subarray(0, signedEnd)), bytes.subarray(signedEnd))) {
      return this.reject('bad-signature', 'the room signature does not match (another room, altered, or moved to another topic)');
    }
    let h: Header;
    try {
      h = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLen))) as Header;
    } catch {
      return this.reject('malformed', 'header is not JSON');
    }
    if (typeof h !== 'object' || h === null) return this.reject('malformed', 'header is not an object');
    const ints = [h.seq, h.ts, h.id, h.part, h.parts];
    if (typeof h.from !== 'string' || typeof h.sid !== 'string' || typeof h.kind !== 'string' || !ints.every(Number.isSafeInteger) || h.parts < 1 || h.part < 0 || h.part >= h.parts || h.id + h.part !== h.seq) {
      return this.reject('malformed', 'header fields out of range');
    }
    const now = this.o.now();
    if (Math.abs(now - h.ts) > this.o.clockSkewMs) return this.reject('stale', `sent ${Math.round((now - h.ts) / 1000)} s from our clock`);
    const session = `${h.from}/${h.sid}`;
    const seen = this.sessions.get(session) ?? { max: 0, recent: new Set<number>() };
    // A window, not just the highest seq: one sender's messages on two topics may reach us out of order.
    if (h.seq <= seen.max - REPLAY_WINDOW || seen.recent.has(h.seq)) return this.reject('replayed', `message ${h.seq} of ${session} was already seen`);
    seen.recent.add(h.seq);
    seen.max = Math.max(seen.max, h.seq);
    for (const s of seen.recent) if (s <= seen.max - REPLAY_WINDOW) seen.recent.delete(s);
    this.sessions.delete(session);
    this.sessions.set(session, seen);
    if (this.sessions.size > MAX_SESSIONS) this.sessions.delete(this.sessions.keys().next().value!);

    const payload = bytes.subarray(8 + headerLen, signedEnd);
    if (h.parts === 1) return { ok: true, message: { from: h.from, sid: h.sid, kind: h.kind, body: payload.slice(), wireBytes: bytes.length } };
    return this.collect(h, session, payload, bytes.length, now);
  }

  private collect(h: Header, session: string, payload: Uint8Array, wire: number, now: number): OpenResult {
    this.expire(now);
    const key = `${session}/${h.id}`;
    if (this.dropped.has(key)) return this.reject('too-large', `part of message ${key}, already dropped`);
    let p = this.partial.get(key);
    if (!p) {
      const open = [...this.partial.keys()].filter((k) => k.startsWith(`${session}/`)).length;
      if (open >= this.o.maxPartialPerSender) return this.reject('too-large', `${session} has ${open} messages half-sent`);
      p = { started: now, parts: [], got: 0, bytes: 0, wire: 0, kind: h.kind, count: h.parts };
      this.partial.set(key, p);
    }
    if (p.count !== h.parts || p.kind !== h.kind) {
      this.partial.delete(key);
      return this.reject('malformed', `parts of message ${key} disagree on their count or kind`);
    }
    p.bytes += payload.length;
    p.wire += wire;
    if (p.bytes > this.o.maxTotalBytes) {
      this.partial.delete(key);
      this.dropped.add(key);
      if (this.dropped.size > 256) this.dropped.delete(this.dropped.values().next().value!);
      return this.reject('too-large', `message over ${this.o.maxTotalBytes} bytes`);
    }
    p.parts[h.part] = payload.slice();
    p.got++;
    if (p.got < h.parts) return { ok: 'partial' };
    this.partial.delete(key);
    const body = new Uint8Array(p.bytes);
    let at = 0;
    for (const part of p.parts) {
      body.set(part, at);
      at += part.length;
    }
    return { ok: true, message: { from: h.from, sid: h.sid, kind: p.kind, body, wireBytes: p.wire } };
  }

  private expire(now: number): void {
    for (const [k, p] of this.partial) {
      if (now - p.started > this.o.partialTimeoutMs) {
        this.partial.delete(k);
        this.reject('incomplete', `message ${k} timed out after ${this.o.partialTimeoutMs} ms`);
      }
    }
  }
}

// Authenticated broadcasts. Any page of the origin can post on the BroadcastChannel, so clients act only on messages
// the coordinator signed. The coordinator holds one HMAC-SHA-256 key per client and run, handed to that client over
// its private port; a broadcast carries one MAC per client over a digest of the whole message (header fields as
// canonical JSON, weights and extras by their SHA-256). A client can check its own MAC but forge no one else's, so
// a registered rogue page cannot steer the honest clients either. WebCrypto: the same code in browsers and Node.
import type { BroadcastMessage, UnsignedBroadcast } from './protocol';
import { bytesEqual, hmacSha256, sha256, subtleOrNull, type MacKey } from './crypto/sha256';

export type { MacKey };

const subtle = () => {
  const s = globalThis.crypto?.subtle;
  if (!s) throw new Error('WebCrypto is unavailable (fedtab needs a secure context: https or http://127.0.0.1)');
  return s;
};

const HMAC = { name: 'HMAC', hash: 'SHA-256' } as const;
export const KEY_BYTES = 32;

export function randomBytes(n: number): Uint8Array {
  return globalThis.crypto.getRandomValues(new Uint8Array(n));
}

/** The client's key: WebCrypto's, or (no secure context: a phone in a classroom on http) its bytes for noble. */
export async function importKey(raw: Uint8Array): Promise<MacKey> {
  const s = subtleOrNull();
  return s ? s.importKey('raw', raw as Uint8Array<ArrayBuffer>, HMAC, false, ['sign', 'verify']) : { raw: raw.slice() };
}

/** A fresh key: its raw bytes go to the client, the CryptoKey stays with the coordinator. */
export async function newKey(): Promise<{ raw: Uint8Array; key: CryptoKey }> {
  // The coordinator always has WebCrypto (a SharedWorker on a secure origin, or Node).
  const raw = randomBytes(KEY_BYTES);
  return { raw, key: await subtle().importKey('raw', raw as Uint8Array<ArrayBuffer>, HMAC, false, ['sign', 'verify']) };
}

function bytesOf(x: ArrayBufferView): Uint8Array<ArrayBuffer> {
  return new Uint8Array(x.buffer as ArrayBuffer, x.byteOffset, x.byteLength);
}

async function sha256Hex(x: ArrayBufferView): Promise<string> {
  return Array.from(await sha256(bytesOf(x)), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** JSON with sorted keys; non-finite numbers spelled out (JSON would turn Infinity into null). */
export function canonicalJson(x: unknown): string {
  if (typeof x === 'number') return Number.isFinite(x) ? JSON.stringify(x) : JSON.stringify(String(x));
  if (x === null || typeof x !== 'object') return JSON.stringify(x) ?? 'null';
  if (Array.isArray(x)) return `[${x.map(canonicalJson).join(',')}]`;
  const o = x as Record<string, unknown>;
  return `{${Object.keys(o).filter((k) => o[k] !== undefined).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(',')}}`;
}

/** SHA-256 over everything in the message but its signatures; vectors enter by their own digests. */
export async function broadcastDigest(msg: UnsignedBroadcast | BroadcastMessage): Promise<Uint8Array<ArrayBuffer>> {
  const header: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(msg)) {
    if (k === 'auth') continue;
    if (x instanceof Float32Array) header[k] = { sha256: await sha256Hex(x) };
    else if (k === 'extras' && x) {
      const ex: Record<string, unknown> = {};
      for (const [name, vec] of Object.entries(x as Record<string, Float32Array>)) ex[name] = { sha256: await sha256Hex(vec) };
      header[k] = ex;
    } else header[k] = x;
  }
  return new Uint8Array(await sha256(new TextEncoder().encode(canonicalJson(header))));
}

/** The message with one MAC per client that has a key. */
export async function signBroadcast<M extends UnsignedBroadcast>(msg: M, keys: ReadonlyMap<string, CryptoKey>): Promise<M & { auth: { macs: Record<string, Uint8Array> } }> {
  const digest = await broadcastDigest(msg);
  const macs: Record<string, Uint8Array> = {};
  await Promise.all([...keys].map(async ([clientId, key]) => (macs[clientId] = new Uint8Array(await subtle().sign('HMAC', key, digest)))));
  return { ...msg, auth: { macs } };
}

export type Verdict = 'ok' | 'unsigned' | 'bad-signature';

/** Checks this client's MAC in constant time (WebCrypto's verify). */
export async function verifyBroadcast(msg: BroadcastMessage, clientId: string, key: MacKey): Promise<Verdict> {
  const mac = msg.auth.macs[clientId];
  if (!mac) return 'unsigned';
  const digest = await broadcastDigest(msg);
  const ok = 'raw' in key ? bytesEqual(hmacSha256(key.raw, digest), bytesOf(mac)) : await subtle().verify('HMAC', key, bytesOf(mac), digest);
  return ok ? 'ok' : 'bad-signature';
}

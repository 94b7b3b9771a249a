// SHA-256 and HMAC-SHA-256 wherever fedtab runs. WebCrypto (native, fast) where the page is a secure context; noble's
// audited JS elsewhere: a student's phone opening the classroom over http on the LAN has no crypto.subtle.
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';

export const subtleOrNull = (): SubtleCrypto | null => globalThis.crypto?.subtle ?? null;

export async function sha256(bytes: Uint8Array): Promise<Uint8Array> {
  const subtle = subtleOrNull();
  if (subtle) return new Uint8Array(await subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
  return nobleSha256(bytes);
}

export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  return Array.from(await sha256(bytes), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** An HMAC key: WebCrypto's where there is one, else its raw bytes for noble. */
export type MacKey = CryptoKey | { readonly raw: Uint8Array };

export function hmacSha256(key: Uint8Array, data: Uint8Array): Uint8Array {
  return hmac(nobleSha256, key, data);
}

/** Constant-time equality: the comparison does not stop at the first differing byte. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i] ^ b[i];
  return d === 0;
}

import { describe, expect, it, vi } from 'vitest';
import { importKey, newKey, signBroadcast, verifyBroadcast } from '../broadcast-auth';
import { PROTOCOL_VERSION, type UnsignedBroadcast } from '../protocol';
import { hmacSha256, sha256Hex } from './sha256';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('SHA-256 without a secure context', () => {
  it('gives the FIPS 180-2 digest of "abc" with and without crypto.subtle', async () => {
    const abc = new TextEncoder().encode('abc');
    const want = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';
    expect(await sha256Hex(abc)).toBe(want);
    vi.stubGlobal('crypto', { getRandomValues: globalThis.crypto.getRandomValues.bind(globalThis.crypto) });
    try {
      expect(await sha256Hex(abc)).toBe(want);
    } finally {
      vi.unstubAllGlobals();
    }
  });

  it('HMAC-SHA-256 matches RFC 4231 test case 2', () => {
    expect(hex(hmacSha256(new TextEncoder().encode('Jefe'), new TextEncoder().encode('what do ya want for nothing?')))).toBe(
      '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
    );
  });

  it("a device without crypto.subtle verifies the coordinator's broadcast MAC, and refuses an altered one", async () => {
    const { raw, key } = await newKey();
    const msg = { v: PROTOCOL_VERSION, type: 'stop', runId: 'r1' } as UnsignedBroadcast;
    const signed = await signBroadcast(msg, new Map([['tab-1', key]]));
    vi.stubGlobal('crypto', { getRandomValues: globalThis.crypto.getRandomValues.bind(globalThis.crypto) });
    try {
      const k = await importKey(raw);
      expect('raw' in k).toBe(true);
      expect(await verifyBroadcast(signed, 'tab-1', k)).toBe('ok');
      expect(await verifyBroadcast({ ...signed, runId: 'r2' }, 'tab-1', k)).toBe('bad-signature');
    } finally {
      vi.unstubAllGlobals();
    }
  });
});

import { describe, expect, it } from 'vitest';
import { broadcastDigest, canonicalJson, importKey, newKey, signBroadcast, verifyBroadcast } from './broadcast-auth';
import { DEFAULT_CONFIG } from './config';
import { PROTOCOL_VERSION, type RoundMessage, type UnsignedBroadcast } from './protocol';

const round = (over: Partial<RoundMessage> = {}): UnsignedBroadcast => ({
  v: PROTOCOL_VERSION, type: 'round', runId: 'run-1', round: 3, config: DEFAULT_CONFIG, assignments: { a: 0, b: 1 }, numPartitions: 2,
  deadline: 1e6, layers: [{ name: 'w', shape: [3] }], weights: Float32Array.of(1, 2, 3), perClient: [], evaluate: null, ...over,
});

describe('signed broadcasts', () => {
  it('canonicalJson sorts keys and spells out non-finite numbers', () => {
    expect(canonicalJson({ b: 1, a: [2, { d: Infinity, c: null }] })).toBe('{"a":[2,{"c":null,"d":"Infinity"}],"b":1}');
    expect(canonicalJson({ a: 1, b: undefined })).toBe('{"a":1}');
  });

  it('the digest covers every field and every vector', async () => {
    const base = await broadcastDigest(round());
    const hex = (x: Uint8Array) => Buffer.from(x).toString('hex');
    for (const changed of [
      round({ round: 4 }), round({ config: { ...DEFAULT_CONFIG, epochs: 2 } }), round({ assignments: { a: 1, b: 0 } }), round({ deadline: 1e6 + 1 }),
      round({ weights: Float32Array.of(1, 2, 3.0000002) }), round({ extras: { control: Float32Array.of(0, 0, 0) } }),
    ]) {
      expect(hex(await broadcastDigest(changed))).not.toBe(hex(base));
    }
    // Key order and the signatures themselves do not change it.
    const reordered = Object.fromEntries(Object.entries(round()).reverse()) as UnsignedBroadcast;
    expect(hex(await broadcastDigest(reordered))).toBe(hex(base));
    expect(hex(await broadcastDigest({ ...round(), auth: { macs: { a: new Uint8Array(32) } } } as RoundMessage))).toBe(hex(base));
  });

  it('each client verifies its own MAC; a tampered message, another client’s key or a missing MAC fail', async () => {
    const [a, b, rogue] = [await newKey(), await newKey(), await newKey()];
    const signed = (await signBroadcast(round(), new Map([['a', a.key], ['b', b.key]]))) as RoundMessage;
    expect(Object.keys(signed.auth.macs).sort()).toEqual(['a', 'b']);
    // The client imports the raw bytes it got over its port.
    expect(await verifyBroadcast(signed, 'a', await importKey(a.raw))).toBe('ok');
    expect(await verifyBroadcast(signed, 'b', await importKey(b.raw))).toBe('ok');
    expect(await verifyBroadcast(signed, 'a', b.key)).toBe('bad-signature');
    expect(await verifyBroadcast(signed, 'rogue', rogue.key)).toBe('unsigned');
    expect(await verifyBroadcast({ ...signed, config: { ...DEFAULT_CONFIG, epochs: 100 } }, 'a', a.key)).toBe('bad-signature');
    const w = signed.weights.slice();
    w[0] = 9;
    expect(await verifyBroadcast({ ...signed, weights: w }, 'a', a.key)).toBe('bad-signature');
    // A rogue client that holds its own key can sign for itself, never for the others.
    const forged = (await signBroadcast(round({ round: 9 }), new Map([['a', rogue.key]]))) as RoundMessage;
    expect(await verifyBroadcast(forged, 'a', a.key)).toBe('bad-signature');
  });
});

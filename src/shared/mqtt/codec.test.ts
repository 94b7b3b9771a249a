import { describe, expect, it } from 'vitest';
import { createRng } from '../prng';
import { CodecError, decodeMessage, encodeMessage, field } from './codec';

describe('message codec', () => {
  it('round-trips a protocol message with typed arrays, nested objects and non-finite numbers', () => {
    const msg = { v: 1, type: 'update', delta: new Float32Array([1.5, -2, 3]), extras: { idx: new Uint32Array([0, 7]) }, macs: [new Uint8Array([9, 8])], loss: NaN, big: -Infinity, note: 'é' };
    const back = decodeMessage(encodeMessage(msg)) as typeof msg;
    expect(Array.from(back.delta)).toEqual([1.5, -2, 3]);
    expect(back.delta).toBeInstanceOf(Float32Array);
    expect(back.extras.idx).toBeInstanceOf(Uint32Array);
    expect(Array.from(back.extras.idx)).toEqual([0, 7]);
    expect(Array.from(back.macs[0])).toEqual([9, 8]);
    expect(back.loss).toBeNaN();
    expect(back.big).toBe(-Infinity);
    expect(back.note).toBe('é');
  });

  it('sends float32 weights as their bytes: 1000 floats take about 4000 bytes, not JSON text', () => {
    const bytes = encodeMessage({ w: new Float32Array(1000).fill(0.123456) });
    expect(bytes.length).toBeGreaterThanOrEqual(4000);
    expect(bytes.length).toBeLessThan(4100);
  });

  it('reads a typed array at an unaligned offset of a larger buffer (as a broker library hands it over)', () => {
    const enc = encodeMessage({ w: new Float32Array([4, 5]) });
    const shifted = new Uint8Array(enc.length + 3);
    shifted.set(enc, 3);
    expect(Array.from((decodeMessage(shifted.subarray(3)) as { w: Float32Array }).w)).toEqual([4, 5]);
  });

  it('rejects truncated, foreign and inconsistent bytes with a reason', () => {
    const enc = encodeMessage({ w: new Float32Array([1, 2, 3]) });
    expect(() => decodeMessage(enc.subarray(0, enc.length - 8))).toThrow(/runs past/);
    expect(() => decodeMessage(new TextEncoder().encode('{"hello":1}xxxxxxxx'))).toThrow(CodecError);
    const forged = encodeMessage({ a: { $a: 'f32', i: 0 } });
    expect(() => decodeMessage(forged)).toThrow(/bad array reference/);
  });

  it('keeps __proto__ a plain key', () => {
    const enc = new TextEncoder().encode('{"__proto__":{"polluted":1}}');
    const bytes = new Uint8Array(12 + enc.length);
    const dv = new DataView(bytes.buffer);
    dv.setUint32(0, 0x46543101, true);
    dv.setUint32(4, enc.length, true);
    bytes.set(enc, 12);
    const out = decodeMessage(bytes) as Record<string, unknown>;
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.keys(out)).toEqual(['__proto__']);
  });

  it('array references naming what is not an array type, and numbers it does not spell, are refused', () => {
    // The encoder writes plain objects as they are, so a forged reference is a plain object beside a real 6-byte array.
    for (const h of ['{"a":{"$a":"constructor","i":0}}', '{"a":{"$a":"__proto__","i":0}}', '{"a":{"$a":"toString","i":0}}', '{"a":{"$a":"f32","i":-1}}', '{"a":{"$a":"f32","i":0.5}}', '{"a":{"$a":"f32","i":0}}', '{"a":{"$n":"1e400"}}']) {
      expect(() => decodeMessage(encodeMessage({ ...(JSON.parse(h) as object), pad: new Uint8Array(6) })), h).toThrow(CodecError);
    }
    // Any JSON value decodes, null and numbers included: a receiver reads fields with `field`, never with a cast.
    expect([null, 7, [1]].map((x) => decodeMessage(encodeMessage(x)))).toEqual([null, 7, [1]]);
  });

  it('seeded byte flips and cuts of an encoded update: a value or a CodecError, never another error', () => {
    const rng = createRng('codec-bytes');
    const enc = encodeMessage({ v: 2, type: 'update', delta: new Float32Array([1, 2, 3]), idx: new Uint32Array([0, 7]), loss: NaN, layers: [{ name: 'w', shape: [3] }] });
    let decoded = 0;
    for (let i = 0; i < 2000; i++) {
      const x = rng.next() < 0.2 ? enc.slice(0, 1 + rng.int(enc.length - 1)) : enc.slice();
      for (let k = 1 + rng.int(3); k > 0; k--) x[rng.int(x.length)] ^= 1 << rng.int(8);
      try {
        decodeMessage(x);
        decoded++;
      } catch (e) {
        if (!(e instanceof CodecError)) throw new Error(`mutation ${i}: ${e instanceof Error ? e.stack : String(e)}`);
      }
    }
    expect(decoded).toBeGreaterThan(0); // some flips land in the arrays' bytes, which any value decodes
  });

  it('field: an own field of an object, or undefined for null, numbers, arrays and inherited names', () => {
    const o = decodeMessage(encodeMessage({ callId: 3 }));
    expect([field(o, 'callId'), field(o, 'toString'), field(null, 'callId'), field(7, 'callId'), field([1], 'length'), field({ a: 1 }, 'constructor')]).toEqual([3, undefined, undefined, undefined, undefined, undefined]);
  });
});

import { describe, expect, it } from 'vitest';
import { CodecError, decodeMessage, encodeMessage } from './codec';

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
});

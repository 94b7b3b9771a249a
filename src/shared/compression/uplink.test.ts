import { describe, expect, it } from 'vitest';
import { createRng } from '../prng';
import type { LayerSpec } from '../weights';
import { FLOAT16_MAX, decodeFloat16, encodeFloat16, fromFloat16Bits, toFloat16Bits } from './float16';
import { decodeInt8, encodeInt8 } from './int8';
import { densify, topK, topKCount, topKWithFeedback } from './top-k';
import { DeltaError, UplinkEncoder, decodeDelta, wireBytes, type WireDelta } from './uplink';

const randn = (n: number, seed: number, scale = 1) => {
  const rng = createRng(seed);
  return Float32Array.from({ length: n }, () => rng.normal() * scale);
};
const reasonOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(DeltaError);
    return (e as DeltaError).reason;
  }
  throw new Error('expected a DeltaError');
};

describe('float16', () => {
  it('encodes hand-checked bit patterns', () => {
    // 1 = 0 01111 0000000000; −2 = 1 10000 0…; 65504 = 0 11110 1111111111; 2^-24 is the smallest subnormal.
    expect(toFloat16Bits(1)).toBe(0x3c00);
    expect(toFloat16Bits(-2)).toBe(0xc000);
    expect(toFloat16Bits(65504)).toBe(0x7bff);
    expect(toFloat16Bits(2 ** -24)).toBe(0x0001);
    expect(toFloat16Bits(0.1)).toBe(0x2e66); // 0.0999755859375, the nearest half
    // 1 + 2^-11 is exactly halfway between 1 and 1 + 2^-10: ties go to the even mantissa (1).
    expect(toFloat16Bits(1 + 2 ** -11)).toBe(0x3c00);
    expect(toFloat16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02);
    expect(fromFloat16Bits(0x2e66)).toBe(0.0999755859375);
  });

  it('round-trips within half an ulp (relative 2^-11) in the normal range, saturates beyond it', () => {
    const x = randn(20_000, 1, 3);
    const y = decodeFloat16(encodeFloat16(x));
    for (let i = 0; i < x.length; i++) {
      if (Math.abs(x[i]) >= 2 ** -14) expect(Math.abs(y[i] - x[i])).toBeLessThanOrEqual(Math.abs(x[i]) * 2 ** -11);
      else expect(Math.abs(y[i] - x[i])).toBeLessThanOrEqual(2 ** -25);
    }
    expect(Array.from(decodeFloat16(encodeFloat16(Float32Array.of(1e6, -7e4))))).toEqual([FLOAT16_MAX, -FLOAT16_MAX]);
    expect(Number.isNaN(fromFloat16Bits(toFloat16Bits(NaN)))).toBe(true);
  });
});

describe('int8 with a scale per layer', () => {
  const layers: LayerSpec[] = [{ name: 'a', shape: [2, 3] }, { name: 'b', shape: [4] }];
  it('quantises a hand-made vector', () => {
    const x = Float32Array.of(1.27, -0.634, 0, 0.01, 0.5, -1.27, 0.002, 0, -0.001, 0.0005);
    const e = encodeInt8(x, layers);
    // Layer a: s = 1.27/127 = 0.01 → q = round([127, −63.4, 0, 1, 50, −127]).
    expect(e.scales[0]).toBeCloseTo(0.01, 7);
    expect(Array.from(e.values.subarray(0, 6))).toEqual([127, -63, 0, 1, 50, -127]);
    // Layer b: s = 0.002/127, far finer than layer a's: a shared scale would have zeroed it.
    expect(Array.from(e.values.subarray(6))).toEqual([127, 0, -64, 32]);
  });

  it('round-trips within s/2 per coordinate', () => {
    const big: LayerSpec[] = [{ name: 'a', shape: [1000] }, { name: 'b', shape: [500] }];
    const x = new Float32Array(1500);
    x.set(randn(1000, 2, 5));
    x.set(randn(500, 3, 1e-3), 1000);
    const e = encodeInt8(x, big);
    const y = decodeInt8(e, big);
    for (let i = 0; i < x.length; i++) expect(Math.abs(y[i] - x[i])).toBeLessThanOrEqual(e.scales[i < 1000 ? 0 : 1] / 2 + 1e-12);
  });
});

describe('top-k with error feedback', () => {
  it('keeps the k largest magnitudes in index order, ties to the lowest index', () => {
    const s = topK(Float32Array.of(0.1, -3, 2, -2, 0.5, 2), 3);
    // |x| = 0.1 3 2 2 0.5 2: 3 is in, then two of the three 2s, the lowest indices (2, 3).
    expect(Array.from(s.indices)).toEqual([1, 2, 3]);
    expect(Array.from(s.values)).toEqual([-3, 2, -2]);
    expect(topKCount(1000, 0.1)).toBe(100);
    expect(topKCount(7, 0.1)).toBe(1);
    expect(topKCount(5, 1)).toBe(5);
  });

  it('agrees with a full sort on random input', () => {
    const x = randn(5000, 4);
    const k = 137;
    const s = topK(x, k);
    const want = Array.from(x.keys()).sort((a, b) => Math.abs(x[b]) - Math.abs(x[a]) || a - b).slice(0, k).sort((a, b) => a - b);
    expect(Array.from(s.indices)).toEqual(want);
  });

  it('the residual carries exactly what was not sent, and sends it later', () => {
    const d1 = Float32Array.of(1, 0.2, -0.3, 0.05);
    const a = topKWithFeedback(d1, null, 1);
    expect(Array.from(a.sent.indices)).toEqual([0]);
    expect(Array.from(a.residual)).toEqual([0, Math.fround(0.2), Math.fround(-0.3), Math.fround(0.05)]);
    // Round 2: p = Δ + e = [0, 0.4, −0.3, 0.05] (+ residual) → index 1 goes, the rest waits.
    const d2 = Float32Array.of(0, 0.2, 0, 0);
    const b = topKWithFeedback(d2, a.residual, 1);
    expect(Array.from(b.sent.indices)).toEqual([1]);
    expect(b.sent.values[0]).toBeCloseTo(0.4, 6);
    // Invariant, bit for bit: residual' + sent = Δ + residual.
    const x = randn(3000, 5);
    const e = randn(3000, 6, 0.1);
    const r = topKWithFeedback(x, e, 300);
    const sent = densify(r.sent, 3000);
    for (let i = 0; i < 3000; i++) expect(r.residual[i] + sent[i]).toBe(Math.fround(x[i] + e[i]));
  });

  it('UplinkEncoder keeps the residual per run and starts a new run from zero', () => {
    const layers: LayerSpec[] = [{ name: 'w', shape: [4] }];
    const s = { compress: 'topk', topk: 0.25 } as const;
    const enc = new UplinkEncoder();
    enc.encode(Float32Array.of(1, 0.5, 0, 0), layers, s, 'run-a');
    expect(Array.from(enc.pending()!)).toEqual([0, 0.5, 0, 0]);
    const next = enc.encode(Float32Array.of(0, 0, 0.6, 0), layers, s, 'run-a') as Extract<WireDelta, { encoding: 'topk' }>;
    expect(Array.from(next.indices)).toEqual([2]); // 0.6 beats the carried 0.5
    expect(Array.from(enc.pending()!)).toEqual([0, 0.5, 0, 0]);
    const other = enc.encode(Float32Array.of(0, 0, 0.1, 0), layers, s, 'run-b') as Extract<WireDelta, { encoding: 'topk' }>;
    expect(Array.from(other.indices)).toEqual([2]); // run-a's 0.5 is not carried into run-b
    const plain = new UplinkEncoder();
    plain.encode(Float32Array.of(1, 0.5, 0, 0), layers, { ...s, errorFeedback: false }, 'run-a');
    expect(plain.pending()).toBeNull(); // the ablation drops what it did not send
  });
});

describe('decodeDelta: the coordinator checks an encoded update as strictly as a dense one', () => {
  const layers: LayerSpec[] = [{ name: 'w', shape: [10] }, { name: 'b', shape: [2] }];
  const topk = { compress: 'topk', topk: 0.25 } as const; // k = 3 of 12
  const sparse = (indices: number[], values: number[]): WireDelta => ({ encoding: 'topk', indices: Uint32Array.from(indices), values: Float32Array.from(values) });

  it('decodes each encoding and counts its bytes', () => {
    expect(Array.from(decodeDelta(sparse([0, 5, 11], [1, -2, 3]), layers, topk))).toEqual([1, 0, 0, 0, 0, -2, 0, 0, 0, 0, 0, 3]);
    expect(wireBytes(sparse([0, 5, 11], [1, -2, 3]))).toBe(24);
    const x = randn(12, 7);
    const enc = new UplinkEncoder();
    for (const compress of ['none', 'float16', 'int8'] as const) {
      const d = enc.encode(x, layers, { compress, topk: 0.1 }, 'r');
      const y = decodeDelta(d, layers, { compress, topk: 0.1 });
      expect(y).toHaveLength(12);
      expect(wireBytes(d)).toBe({ none: 48, float16: 24, int8: 12 + 2 * 4 }[compress]);
    }
  });

  it('rejects, with the reason, what a careless or hostile client could send', () => {
    expect(reasonOf(() => decodeDelta(new Float32Array(12), layers, topk))).toBe('malformed'); // dense in a top-k run
    expect(reasonOf(() => decodeDelta(sparse([0, 1, 2, 3], [1, 1, 1, 1]), layers, topk))).toBe('too-large');
    expect(reasonOf(() => decodeDelta(sparse([5, 2], [1, 1]), layers, topk))).toBe('malformed');
    expect(reasonOf(() => decodeDelta(sparse([2, 2], [1, 1]), layers, topk))).toBe('malformed');
    expect(reasonOf(() => decodeDelta(sparse([12], [1]), layers, topk))).toBe('shape-mismatch');
    expect(reasonOf(() => decodeDelta(sparse([1, 2], [1]), layers, topk))).toBe('malformed');
    expect(reasonOf(() => decodeDelta(sparse([1], [NaN]), layers, topk))).toBe('non-finite');
    const int8 = { compress: 'int8', topk: 0.1 } as const;
    const q = (scales: number[], n = 12) => ({ encoding: 'int8' as const, scales: Float32Array.from(scales), values: new Int8Array(n) });
    expect(reasonOf(() => decodeDelta(q([1]), layers, int8))).toBe('shape-mismatch');
    expect(reasonOf(() => decodeDelta(q([1, 1], 11), layers, int8))).toBe('shape-mismatch');
    expect(reasonOf(() => decodeDelta(q([1, Infinity]), layers, int8))).toBe('non-finite');
    expect(reasonOf(() => decodeDelta(q([1, -1]), layers, int8))).toBe('malformed');
    expect(reasonOf(() => decodeDelta({ encoding: 'float16', values: new Uint16Array(11) }, layers, { compress: 'float16', topk: 0.1 }))).toBe('shape-mismatch');
  });
});

// Top-K per modality block for two-modality clients, the decoder's bound on it, and the protocol's held-modality check.
import { describe, expect, it } from 'vitest';
import { checkHeldModalities, ProtocolError } from '../protocol';
import type { LayerSpec } from '../weights';
import { decodeDelta, DeltaError, UplinkEncoder, type EncodedDelta, type UplinkSettings } from './uplink';

/** Coordinates: mnist_w 0..39, fashion_w 40..59, fused_out (shared) 60..69. */
const LAYERS: LayerSpec[] = [
  { name: 'mnist_w', shape: [40] },
  { name: 'fashion_w', shape: [20] },
  { name: 'fused_out', shape: [10] },
];
const SIZE = 70;
const TOPK: UplinkSettings = { compress: 'topk', topk: 0.1 };
const inBlock = (i: number) => (i < 40 ? 'mnist' : i < 60 ? 'fashion' : 'shared');

/**
 * Small values everywhere (0.001·i), with known winners: mnist 3, 10, 17, 25 (1..4), fashion 44, 51 (50, 60) and
 * shared 65 (-5, by magnitude), while every fashion coordinate is larger than every mnist one, so one global K
 * would spend itself on the fashion block.
 */
function delta(): Float32Array {
  const d = Float32Array.from({ length: SIZE }, (_, i) => 0.001 * i);
  for (let i = 40; i < 60; i++) d[i] = 10 + 0.01 * i;
  [3, 10, 17, 25].forEach((i, k) => (d[i] = k + 1));
  d[44] = 50;
  d[51] = -60;
  d[65] = -5;
  return d;
}

function encodeTopK(held: readonly ('mnist' | 'fashion')[], d = delta()): Extract<EncodedDelta, { encoding: 'topk' }> {
  const out = new UplinkEncoder().encode(d, LAYERS, TOPK, 'run', held);
  if (out instanceof Float32Array || out.encoding !== 'topk') throw new Error('expected a top-k encoding');
  return out;
}

describe('UplinkEncoder top-k with held modalities', () => {
  it('an mnist-only client sends ⌈0.1·40⌉ + ⌈0.1·10⌉ = 5 coordinates, none of them fashion', () => {
    const e = encodeTopK(['mnist']);
    expect(e.indices.length).toBe(Math.ceil(0.1 * 40) + Math.ceil(0.1 * 10));
    expect(Array.from(e.indices)).toEqual([3, 10, 17, 25, 65]);
    expect(Array.from(e.indices).some((i) => inBlock(i) === 'fashion')).toBe(false);
    expect(Array.from(e.values)).toEqual([1, 2, 3, 4, -5]);
  });

  it('a fashion-only client sends 2 + 1 coordinates, none of them mnist', () => {
    const e = encodeTopK(['fashion']);
    expect(Array.from(e.indices)).toEqual([44, 51, 65]);
    expect(Array.from(e.values)).toEqual([50, -60, -5]);
  });

  it('a client holding both sends 4 + 2 + 1 = 7, the largest of each block', () => {
    const e = encodeTopK(['mnist', 'fashion']);
    expect(Array.from(e.indices)).toEqual([3, 10, 17, 25, 44, 51, 65]);
    const perBlock = { mnist: 0, fashion: 0, shared: 0 };
    for (const i of e.indices) perBlock[inBlock(i)]++;
    expect(perBlock).toEqual({ mnist: 4, fashion: 2, shared: 1 });
    // The default held list is both modalities.
    const byDefault = new UplinkEncoder().encode(delta(), LAYERS, TOPK, 'run') as { indices: Uint32Array };
    expect(Array.from(byDefault.indices)).toEqual(Array.from(e.indices));
  });

  it('a model without modality layers keeps one global K', () => {
    const plain: LayerSpec[] = [
      { name: 'fc1', shape: [40] },
      { name: 'fc2', shape: [20] },
      { name: 'out', shape: [10] },
    ];
    const e = new UplinkEncoder().encode(delta(), plain, TOPK, 'run', ['mnist']) as { indices: Uint32Array };
    // ⌈0.1·70⌉ = 7 globally: the 7 largest magnitudes, all in 40..59 (the fashion-named range of the other layout).
    expect(e.indices.length).toBe(7);
    expect(Array.from(e.indices).every((i) => i >= 40 && i < 60)).toBe(true);
  });

  it('error feedback keeps what was not sent, per block', () => {
    const enc = new UplinkEncoder();
    const d = delta();
    const e = enc.encode(d, LAYERS, TOPK, 'run', ['mnist']) as { indices: Uint32Array };
    const residual = enc.pending()!;
    for (let i = 0; i < SIZE; i++) expect(residual[i]).toBe(Array.from(e.indices).includes(i) ? 0 : d[i]);
  });
});

describe('decodeDelta bound on per-block top-k', () => {
  const sparse = (indices: number[]): EncodedDelta => ({ encoding: 'topk', indices: Uint32Array.from(indices), values: Float32Array.from(indices, () => 1) });

  it('accepts 7 coordinates (4 + 2 + 1) and decodes them densely', () => {
    const d = decodeDelta(sparse([0, 1, 2, 3, 40, 41, 60]), LAYERS, TOPK);
    expect(d.length).toBe(SIZE);
    expect(d.reduce((a, b) => a + b, 0)).toBe(7);
    expect(d[40]).toBe(1);
    // What a both-holder's encoder sends decodes to its values.
    const e = encodeTopK(['mnist', 'fashion']);
    const back = decodeDelta(e, LAYERS, TOPK);
    expect(back[51]).toBe(-60);
    expect(back[3]).toBe(1);
  });

  it("rejects more than a block's own K, even within the total: 5 mnist coordinates where 4 are allowed", () => {
    // 5 (mnist 0–4) + 1 (fashion 40) = 6 ≤ 7 in all, but the mnist block [40] allows ⌈0.1·40⌉ = 4.
    expect(() => decodeDelta(sparse([0, 1, 2, 3, 4, 40]), LAYERS, TOPK)).toThrow(/one modality block/);
  });

  it("rejects 8 as 'too-large'", () => {
    const tryDecode = () => decodeDelta(sparse([0, 1, 2, 3, 4, 40, 41, 60]), LAYERS, TOPK);
    expect(tryDecode).toThrow(DeltaError);
    try {
      tryDecode();
    } catch (e) {
      expect((e as DeltaError).reason).toBe('too-large');
    }
  });
});

describe('checkHeldModalities', () => {
  const reasonOf = (f: () => void): string | null => {
    try {
      f();
      return null;
    } catch (e) {
      if (!(e instanceof ProtocolError)) throw e;
      return e.reason;
    }
  };

  it("rejects an mnist-only slot's update that touches a fashion coordinate", () => {
    const d = new Float32Array(SIZE);
    d[5] = 0.3;
    d[62] = -0.1;
    d[45] = 1e-7;
    expect(reasonOf(() => checkHeldModalities(d, LAYERS, ['mnist']))).toBe('malformed');
    expect(() => checkHeldModalities(d, LAYERS, ['mnist'])).toThrow(/coordinate 45/);
    // The first and last fashion coordinates are both covered.
    for (const i of [40, 59]) {
      const e = new Float32Array(SIZE);
      e[i] = -2;
      expect(reasonOf(() => checkHeldModalities(e, LAYERS, ['mnist']))).toBe('malformed');
    }
  });

  it('accepts an mnist-only update whose fashion block is zero, whatever its mnist and shared blocks hold', () => {
    const d = delta();
    d.fill(0, 40, 60);
    expect(reasonOf(() => checkHeldModalities(d, LAYERS, ['mnist']))).toBeNull();
    // -0 is zero too.
    d[50] = -0;
    expect(reasonOf(() => checkHeldModalities(d, LAYERS, ['mnist']))).toBeNull();
  });

  it('checks a fashion-only slot against its mnist block, and lets a both-holder change anything', () => {
    const d = delta();
    expect(reasonOf(() => checkHeldModalities(d, LAYERS, ['fashion']))).toBe('malformed');
    expect(reasonOf(() => checkHeldModalities(d, LAYERS, ['mnist', 'fashion']))).toBeNull();
    d.fill(0, 0, 40);
    expect(reasonOf(() => checkHeldModalities(d, LAYERS, ['fashion']))).toBeNull();
  });
});

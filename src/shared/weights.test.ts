import { describe, expect, it } from 'vitest';
import {
  initWeights, l2Norm, layerOffsets, layerSize, packWeights, specsEqual, subtract, totalSize, unpackWeights,
  type LayerSpec,
} from './weights';

const specs: LayerSpec[] = [
  { name: 'conv1/kernel', shape: [3, 3, 1, 4] }, // 36
  { name: 'conv1/bias', shape: [4] }, // 4
  { name: 'dense/kernel', shape: [3, 2] }, // 6
  { name: 'dense/bias', shape: [2] }, // 2
  { name: 'bn/gamma', shape: [5] }, // 5
];

describe('sizes and offsets', () => {
  it('hand values', () => {
    expect(layerSize([3, 3, 1, 4])).toBe(36);
    expect(layerSize([])).toBe(1);
    expect(totalSize(specs)).toBe(53);
    expect(layerOffsets(specs)).toEqual([0, 36, 40, 46, 48, 53]);
    expect(() => layerSize([2, -1])).toThrow(/non-negative integers/);
  });
});

describe('pack / unpack', () => {
  const arrays = specs.map((s, k) => Array.from({ length: layerSize(s.shape) }, (_, i) => k * 100 + i));

  it('round-trips, and unpack returns views into the flat vector', () => {
    const flat = packWeights(arrays, specs);
    expect(flat.length).toBe(53);
    expect(flat[36]).toBe(100); // first value of layer 1
    const views = unpackWeights(flat, specs);
    views.forEach((v, k) => expect(Array.from(v)).toEqual(arrays[k]));
    views[2][0] = -7;
    expect(flat[40]).toBe(-7);
  });

  it('rejects size mismatches with the layer name', () => {
    const bad = arrays.map((a) => a.slice());
    bad[2] = [1, 2, 3];
    expect(() => packWeights(bad, specs)).toThrow(/'dense\/kernel' \[3,2\] needs 6 values, got 3/);
    expect(() => packWeights(arrays.slice(1), specs)).toThrow(/4 arrays for 5 layer specs/);
    expect(() => unpackWeights(new Float32Array(52), specs)).toThrow(/52 values, specs need 53/);
  });
});

it('specsEqual compares names and shapes in order', () => {
  expect(specsEqual(specs, specs.map((s) => ({ name: s.name, shape: [...s.shape] })))).toBe(true);
  expect(specsEqual(specs, specs.slice(0, 4))).toBe(false);
  expect(specsEqual([{ name: 'a', shape: [2, 3] }], [{ name: 'a', shape: [3, 2] }])).toBe(false);
  expect(specsEqual([{ name: 'a', shape: [6] }], [{ name: 'a', shape: [6, 1] }])).toBe(false);
  expect(specsEqual([{ name: 'a', shape: [6] }], [{ name: 'b', shape: [6] }])).toBe(false);
});

describe('vector ops', () => {
  it('l2Norm: ‖(3, 4, 0, −12)‖ = 13; accumulates in float64 (1e20² overflows float32)', () => {
    expect(l2Norm(Float32Array.of(3, 4, 0, -12))).toBe(13);
    expect(l2Norm(Float32Array.of(1e20, 1e20)) / (Math.SQRT2 * Math.fround(1e20))).toBeCloseTo(1, 12);
    expect(l2Norm(new Float32Array(0))).toBe(0);
  });

  it('subtract', () => {
    const a = Float32Array.of(1, 2, 3), b = Float32Array.of(0.5, -1, 3);
    expect(Array.from(subtract(a, b))).toEqual([0.5, 3, 0]);
    const out = new Float32Array(3);
    expect(subtract(a, b, out)).toBe(out);
    expect(() => subtract(a, new Float32Array(2))).toThrow(/length mismatch/);
  });

});

describe('initWeights', () => {
  it('LoRA factors: B = 0 (the layer starts as its frozen W₀), A ~ N(0, 1/(3·in))', () => {
    const w = initWeights([{ name: 'fc1/lora_a', shape: [4, 3000] }, { name: 'fc1/lora_b', shape: [128, 4] }], 2);
    const a = w.subarray(0, 12_000);
    expect(w.subarray(12_000).every((x) => x === 0)).toBe(true);
    const mean = a.reduce((s, x) => s + x, 0) / a.length;
    const variance = a.reduce((s, x) => s + (x - mean) ** 2, 0) / a.length;
    expect(Math.abs(mean)).toBeLessThan(0.001);
    expect(variance * 3 * 3000).toBeCloseTo(1, 1); // σ² = 1/9000
  });

  it('is deterministic per seed', () => {
    expect(initWeights(specs, 1)).toEqual(initWeights(specs, 1));
    expect(initWeights(specs, 1)).not.toEqual(initWeights(specs, 2));
  });

  it('bias → 0, 1-D non-bias → 1, kernels Glorot-uniform within ±√(6/(fanIn+fanOut))', () => {
    const [conv, convB, dense, denseB, gamma] = unpackWeights(initWeights(specs, 3), specs);
    expect(Array.from(convB)).toEqual([0, 0, 0, 0]);
    expect(Array.from(denseB)).toEqual([0, 0]);
    expect(Array.from(gamma)).toEqual([1, 1, 1, 1, 1]);
    const convLimit = Math.sqrt(6 / (9 * 1 + 9 * 4)); // fanIn = 3·3·1, fanOut = 3·3·4
    const denseLimit = Math.sqrt(6 / (3 + 2));
    for (const x of conv) expect(Math.abs(x)).toBeLessThanOrEqual(Math.fround(convLimit));
    for (const x of dense) expect(Math.abs(x)).toBeLessThanOrEqual(Math.fround(denseLimit));
    expect(new Set(conv).size).toBe(36);
  });

  it('a large kernel fills the Glorot range: mean ≈ 0, var ≈ limit²/3', () => {
    const w = initWeights([{ name: 'k', shape: [200, 100] }], 4);
    const limit = Math.sqrt(6 / 300);
    const mean = w.reduce((a, b) => a + b, 0) / w.length;
    const v = w.reduce((a, b) => a + (b - mean) ** 2, 0) / w.length;
    expect(Math.abs(mean)).toBeLessThan(0.01 * limit);
    expect(Math.abs(v / (limit * limit / 3) - 1)).toBeLessThan(0.03);
    expect(Math.max(...w)).toBeGreaterThan(0.99 * limit);
  });

  it('a layer’s values do not depend on the other layers', () => {
    const one = unpackWeights(initWeights(specs, 5), specs)[2];
    const more = [...specs, { name: 'extra/kernel', shape: [4, 4] }];
    expect(unpackWeights(initWeights(more, 5), more)[2]).toEqual(one);
  });
});

import { describe, expect, it } from 'vitest';
import {
  addGaussianNoise,
  coordinateMedian,
  coordinateTrimmedMean,
  cosine,
  dot,
  layerRanges,
  layerViews,
  mad,
  median,
  norm,
  pairwiseSquaredDistances,
  robustZ,
  softmax,
  weightedSum,
} from './vector-math';
import { arr, expectClose } from './testing';

const f32 = (...xs: number[]) => Float32Array.from(xs);

describe('vector-math', () => {
  it('dot, norm, cosine (0 for a zero vector)', () => {
    expect(dot(f32(1, 2, 3), f32(4, -5, 6))).toBe(4 - 10 + 18);
    expect(norm(f32(3, 4))).toBe(5);
    expect(cosine(f32(1, 0), f32(1, 1))).toBeCloseTo(Math.SQRT1_2, 12);
    expect(cosine(f32(1, 0), f32(-2, 0))).toBe(-1);
    expect(cosine(f32(0, 0), f32(1, 1))).toBe(0);
  });

  it('median (even: mean of the middle two), MAD, robust z', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
    // [1,2,3,4,100]: med 3, |x − 3| = [2,1,0,1,97] → MAD 1, scale 1.4826
    expect(mad([1, 2, 3, 4, 100])).toBe(1);
    const z = robustZ([1, 2, 3, 4, 100]);
    expect(z[2]).toBe(0);
    expect(z[0]).toBeCloseTo(-2 / 1.4826, 12);
    expect(z[4]).toBeCloseTo(97 / 1.4826, 12); // 65.42560…
    // [1,1,1,5]: MAD 0 → all z = 0
    expect(robustZ([1, 1, 1, 5])).toEqual([0, 0, 0, 0]);
  });

  it('softmax with temperature; τ = ∞ is uniform', () => {
    // softmax(0, ln 3) = (1, 3)/4
    expectClose(softmax([0, Math.log(3)]), [0.25, 0.75], 12);
    // τ = 0.5 doubles the logits: (1, 9)/10
    expectClose(softmax([0, Math.log(3)], 0.5), [0.1, 0.9], 12);
    expect(softmax([5, -3, 1e6], Infinity)).toEqual([1 / 3, 1 / 3, 1 / 3]);
    expectClose(softmax([1000, 1000]), [0.5, 0.5], 12); // max-shifted, no overflow
  });

  it('coordinate-wise median and trimmed mean', () => {
    const vs = [f32(1, -2, 5), f32(3, 0, -1), f32(2, 7, 0), f32(10, 1, 1)];
    // sorted columns: [1,2,3,10] [−2,0,1,7] [−1,0,1,5] → (2+3)/2, (0+1)/2, (0+1)/2
    expect(arr(coordinateMedian(vs))).toEqual([2.5, 0.5, 0.5]);
    expect(arr(coordinateMedian(vs.slice(0, 3)))).toEqual([2, 0, 0]);
    // scaled: 2·[1,−2,5], [3,0,−1], [2,7,0] → columns [2,3,2] [−4,0,7] [10,−1,0] → [2, 0, 0]
    expect(arr(coordinateMedian(vs.slice(0, 3), [2, 1, 1]))).toEqual([2, 0, 0]);
    // trim 1 each end of 4: mean of the middle two = median here
    expect(arr(coordinateTrimmedMean(vs, 1))).toEqual([2.5, 0.5, 0.5]);
    expect(arr(coordinateTrimmedMean(vs, 0))).toEqual([4, 1.5, 1.25]);
    expect(() => coordinateTrimmedMean(vs, 2)).toThrow(/leaves nothing/);
  });

  it('pairwise squared distances (blocked) match the direct sums', () => {
    const n = 5000; // > one block
    const vs = [0, 1, 2].map((k) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * (k + 1))));
    const d = pairwiseSquaredDistances(vs);
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 3; j++) {
        let s = 0;
        for (let t = 0; t < n; t++) s += (vs[i][t] - vs[j][t]) ** 2;
        expect(Math.abs(d[i * 3 + j] - s)).toBeLessThanOrEqual(1e-6 * s);
      }
    }
    expect(arr(pairwiseSquaredDistances([f32(1, 2, 3), f32(4, 6, 3)]))).toEqual([0, 25, 25, 0]);
  });

  it('weightedSum over a range; layerRanges/layerViews', () => {
    const out = weightedSum([f32(1, 2, 3), f32(10, 20, 30)], [0.5, 0.1], new Float64Array(3), 1, 3);
    expectClose(out, [0, 3, 4.5], 12);
    const ranges = layerRanges('t', [{ name: 'a', shape: [2, 2] }, { name: 'b', shape: [1] }], 5);
    expect(ranges).toEqual([[0, 4], [4, 5]]);
    const v = f32(1, 2, 3, 4, 5);
    expect(layerViews(v, ranges).map(arr)).toEqual([[1, 2, 3, 4], [5]]);
    expect(() => layerRanges('t', [{ name: 'a', shape: [2] }], 5)).toThrow(/t: layers describe 2 values, global model has 5/);
    expect(() => layerRanges('t', [], 5)).toThrow(/layers is empty/);
  });

  it('seeded Gaussian noise is reproducible and has the requested scale', () => {
    const a = new Float64Array(20000);
    const b = new Float64Array(20000);
    addGaussianNoise(a, 0.01, 123);
    addGaussianNoise(b, 0.01, 123);
    expect(arr(a)).toEqual(arr(b));
    const sd = Math.sqrt(a.reduce((s, x) => s + x * x, 0) / a.length);
    expect(sd).toBeGreaterThan(0.0097);
    expect(sd).toBeLessThan(0.0103);
    const c = new Float64Array(3);
    addGaussianNoise(c, 0, 1);
    expect(arr(c)).toEqual([0, 0, 0]);
  });
});

describe('selection kernels against a full sort', () => {
  it('coordinate median and trimmed mean for 1..40 clients, with ties', async () => {
    const { createRng } = await import('../prng');
    const rng = createRng(99);
    for (let m = 1; m <= 40; m++) {
      const len = 520; // > one 512-column block
      const vs = Array.from({ length: m }, () => Float32Array.from({ length: len }, () => Math.round(rng.normal() * 3) / 2));
      const med = coordinateMedian(vs);
      const trim = Math.floor((m - 1) / 2 / 2);
      const tm = coordinateTrimmedMean(vs, trim);
      for (let i = 0; i < len; i++) {
        const col = vs.map((v) => v[i]).sort((a, b) => a - b);
        expect(med[i]).toBeCloseTo(m % 2 ? col[(m - 1) / 2] : (col[m / 2 - 1] + col[m / 2]) / 2, 12);
        const mid = col.slice(trim, m - trim);
        expect(tm[i]).toBeCloseTo(mid.reduce((a, b) => a + b, 0) / mid.length, 12);
      }
    }
  });
});

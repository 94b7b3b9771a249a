// The fast aggregation kernels against the implementations they replaced (reference.ts), on seeded random inputs:
// odd and even K, sizes that are not a multiple of any block, ties (values drawn from a small set) and ±0.
import { describe, expect, it } from 'vitest';
import { createRng } from '../../prng';
import { krumScore } from '../krum';
import { coordinateMedian, coordinateTrimmedMean, pairwiseSquaredDistances, weightedSum } from '../vector-math';
import { meanAroundMedianColumns } from './mean-around-median';
import { selectKth } from './select';
import { coordinateMedianRef, coordinateTrimmedMeanRef, meanAroundMedianColumnsRef, pairwiseSquaredDistancesRef, weightedSumRef } from './reference';

const KS = [1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 31, 32, 33, 64];

/** K vectors of `size`; ties: values from a set of 5 (many equal values per coordinate). */
function vectors(k: number, size: number, seed: number, ties = false): Float32Array[] {
  const rng = createRng(seed);
  return Array.from({ length: k }, (_, j) =>
    Float32Array.from({ length: size }, () => (ties ? Math.floor(rng.next() * 5) - 2 : (rng.next() - 0.5) * (j === 0 ? 10 : 1))),
  );
}

/** Bit-identical; with zeroSign = false, −0 and +0 count as equal. */
function expectSame(a: Float64Array, b: Float64Array, zeroSign = true): void {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < a.length; i++) if (zeroSign ? !Object.is(a[i], b[i]) : a[i] !== b[i]) expect(`${i}: ${a[i]}`).toBe(`${i}: ${b[i]}`);
}

/** |a − b| ≤ tol(i) per coordinate. */
function expectWithin(a: Float64Array, b: Float64Array, tol: (i: number) => number): void {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < a.length; i++) if (!(Math.abs(a[i] - b[i]) <= tol(i))) expect(`${i}: ${a[i]}`).toBe(`${i}: ${b[i]} ± ${tol(i)}`);
}

describe('aggregation kernels against their references', () => {
  it('weightedSum is bit-identical (blocked, same order of additions), with zero coefficients and a range', () => {
    for (const k of KS) {
      const vs = vectors(k, 9001, k);
      const rng = createRng(100 + k);
      const c = vs.map((_, j) => (j % 5 === 3 ? 0 : rng.next()));
      expectSame(weightedSum(vs, c), weightedSumRef(vs, c));
      const out = Float64Array.from({ length: 9001 }, (_, i) => i);
      const ref = out.slice();
      expectSame(weightedSum(vs, c, out, 17, 8999), weightedSumRef(vs, c, ref, 17, 8999));
    }
  });

  it('selectKth puts the k-th smallest at k with smaller values left and larger right, ties included', () => {
    const rng = createRng(7);
    for (let n = 1; n <= 70; n++) {
      for (const ties of [false, true]) {
        const xs = Float64Array.from({ length: n }, () => (ties ? Math.floor(rng.next() * 4) : rng.next()));
        const sorted = xs.slice().sort();
        const bad: string[] = [];
        for (let k = 0; k < n; k++) {
          const buf = new Float64Array(n + 6);
          buf.set(xs, 3);
          selectKth(buf, new Float64Array(n), 3, n + 2, k + 3);
          const v = buf[k + 3];
          let ok = v === sorted[k] && buf.slice(3, n + 3).sort().every((x, t) => x === sorted[t]);
          for (let t = 3; t < n + 3; t++) ok &&= t < k + 3 ? buf[t] <= v : buf[t] >= v;
          if (!ok) bad.push(`n=${n} k=${k} ties=${ties}`);
        }
        expect(bad).toEqual([]);
      }
    }
  });

  it('coordinateMedian is bit-identical (up to the sign of a zero), with scales and ties', () => {
    for (const k of KS) {
      for (const ties of [false, true]) {
        const vs = vectors(k, 1500, 10 + k, ties);
        expectSame(coordinateMedian(vs), coordinateMedianRef(vs), false);
        const scales = vs.map((_, j) => 0.25 + j / 8);
        expectSame(coordinateMedian(vs, scales), coordinateMedianRef(vs, scales), false);
      }
    }
  });

  it('coordinateTrimmedMean agrees to float64 rounding of the kept sum (order differs), exactly with ties', () => {
    for (const k of KS) {
      for (let trim = 0; 2 * trim < k; trim += Math.max(1, k >> 3)) {
        const vs = vectors(k, 1500, 20 + k);
        // The same values are kept; only the order they are added in differs: well within 1e-14 of values up to 5.
        expectWithin(coordinateTrimmedMean(vs, trim), coordinateTrimmedMeanRef(vs, trim), () => 1e-14);
        const ints = vectors(k, 1500, 30 + k, true); // small integers: every order sums exactly
        expectSame(coordinateTrimmedMean(ints, trim), coordinateTrimmedMeanRef(ints, trim), false);
      }
    }
  });

  it('pairwise distances agree with float64 sums of squared differences to 1e-6 of the distance; equal vectors are at 0', () => {
    for (const k of KS) {
      const vs = vectors(k, 3001, 40 + k);
      if (k > 2) vs[2] = vs[1].slice(); // a duplicate: distance exactly 0
      const d = pairwiseSquaredDistances(vs);
      // A lane's float32 sum of 128 non-negative terms could be off by ~8e-6 at worst; random inputs stay near 1e-8.
      // (The Gram matrix this replaced was off by 1e-14 of the norms: for close vectors, more than the distance.)
      const ref = pairwiseSquaredDistancesRef(vs);
      expectWithin(d, ref, (i) => 1e-6 * ref[i]);
      if (k > 2) expect([d[1 * k + 2], d[2 * k + 1]]).toEqual([0, 0]);
      for (let i = 0; i < k; i++) expect(d[i * k + i]).toBe(0);
    }
  });

  it('Krum on float32 distances ranks the updates as on float64 summed differences (seeded inputs, odd and even K)', () => {
    for (const k of [5, 6, 7, 8, 9, 16, 17, 32, 33]) {
      for (let seed = 0; seed < 4; seed++) {
        const vs = vectors(k, 2000, 1000 * k + seed);
        const all = Array.from({ length: k }, (_, j) => j);
        const scratch = new Float64Array(k);
        const rank = (d: Float64Array) => {
          const sc = all.map((j) => krumScore(d, k, j, all, k - 3, scratch));
          return { sc, order: all.slice().sort((a, b) => sc[a] - sc[b] || a - b) };
        };
        const fast = rank(pairwiseSquaredDistances(vs));
        const ref = rank(pairwiseSquaredDistancesRef(vs));
        expect(fast.order).toEqual(ref.order);
        for (const j of all) expect(Math.abs(fast.sc[j] - ref.sc[j])).toBeLessThanOrEqual(1e-6 * ref.sc[j]);
      }
    }
  });

  it("Bulyan's mean around the median keeps the same values as sorting each column (every θ, β; ties exact)", () => {
    for (let th = 1; th <= 40; th++) {
      for (let beta = 1; beta <= th; beta += th > 12 ? 3 : 1) {
        const vs = vectors(th, 300, 50 + th);
        expectWithin(meanAroundMedianColumns(vs, beta), meanAroundMedianColumnsRef(vs, beta), () => 1e-14);
        // Small integers: many equal distances to the median, and every summation order is exact.
        const ints = vectors(th, 300, 60 + th, true);
        expectSame(meanAroundMedianColumns(ints, beta), meanAroundMedianColumnsRef(ints, beta), false);
      }
    }
  });
});

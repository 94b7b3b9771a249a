// The fast aggregation kernels against the implementations they replaced (reference.ts), on seeded random inputs:
// odd and even K, sizes that are not a multiple of any block, ties (values drawn from a small set) and ±0.
import { describe, expect, it } from 'vitest';
import { createRng } from '../../prng';
import { coordinateMedian, coordinateTrimmedMean, pairwiseSquaredDistances, weightedSum } from '../vector-math';
import { coordinateMedianRef, coordinateTrimmedMeanRef, pairwiseSquaredDistancesRef, weightedSumRef } from './reference';

const KS = [1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 31, 32, 33, 64];

/** K vectors of `size`; ties: values from a set of 5 (many equal values per coordinate). */
function vectors(k: number, size: number, seed: number, ties = false): Float32Array[] {
  const rng = createRng(seed);
  return Array.from({ length: k }, (_, j) =>
    Float32Array.from({ length: size }, () => (ties ? Math.floor(rng.next() * 5) - 2 : (rng.next() - 0.5) * (j === 0 ? 10 : 1))),
  );
}

function expectSame(a: Float64Array, b: Float64Array): void {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) expect(`${i}: ${a[i]}`).toBe(`${i}: ${b[i]}`);
}

/** |a − b| ≤ rel·max(|b|, floor) per coordinate. */
function expectWithin(a: Float64Array, b: Float64Array, rel: number, floor: number): void {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < a.length; i++) {
    if (!(Math.abs(a[i] - b[i]) <= rel * Math.max(Math.abs(b[i]), floor))) expect(`${i}: ${a[i]}`).toBe(`${i}: ${b[i]}`);
  }
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
});

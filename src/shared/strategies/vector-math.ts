// Small numeric helpers shared by the aggregation strategies. Vectors are Float32Array (what clients send);
// every reduction accumulates in float64.
import { createRng } from '../prng';
import { layerOffsets, type LayerSpec } from '../weights';
import { squaredDistancesF32 } from './kernels/distances';
import { columnMedian } from './kernels/column-median';
import { COLS, gatherColumns } from './kernels/columns';
import { selectKth, sortRange } from './kernels/select';
import { squaresAndDots } from './kernels/mean-cosine';
import { coordinateMedianSimd, coordinateTrimmedMeanSimd, squaredDistancesSimd, weightedSumSimd } from './kernels/simd';

export function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

export function norm(a: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * a[i];
  return Math.sqrt(s);
}

/** ‖v_k‖ over [start, end) for every vector, from one SIMD pass over all of them where available (squaresAndDots). */
export function norms(vs: readonly Float32Array[], start = 0, end = vs.length ? vs[0].length : 0): number[] {
  return Array.from(squaresAndDots(vs, null, start, end).sq, Math.sqrt);
}

/** cos(a, b); 0 when either vector is zero (a zero update points nowhere). */
export function cosine(a: Float32Array, b: Float32Array): number {
  let ab = 0, aa = 0, bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return aa > 0 && bb > 0 ? ab / Math.sqrt(aa * bb) : 0;
}

/** Cosine from ⟨a, b⟩, ‖a‖² and ‖b‖²; 0 when either norm is 0. Clamped to [−1, 1] against rounding. */
export function cosineFromDots(ab: number, aa: number, bb: number): number {
  if (!(aa > 0) || !(bb > 0)) return 0;
  return Math.max(-1, Math.min(1, ab / Math.sqrt(aa * bb)));
}

/**
 * D[i·m + j] = ‖v_i − v_j‖², symmetric, 0 on the diagonal, from the squared differences in float32 lanes and float64
 * across blocks (kernels/distances.ts): WebAssembly SIMD where available, else the same sums in JS, bit for bit.
 */
export function pairwiseSquaredDistances(vs: readonly Float32Array[]): Float64Array {
  return squaredDistancesSimd(vs) ?? squaredDistancesF32(vs);
}

/** [start, end) of each layer in the flat vector; throws if the specs do not cover exactly `length` values. */
export function layerRanges(who: string, layers: readonly LayerSpec[], length: number): Array<[number, number]> {
  if (layers.length === 0) throw new Error(`${who}: layers is empty; pass the model's LayerSpec[]`);
  const off = layerOffsets(layers);
  if (off[layers.length] !== length) {
    throw new Error(`${who}: layers describe ${off[layers.length]} values, global model has ${length}`);
  }
  return layers.map((_, i) => [off[i], off[i + 1]]);
}

/** Per-layer views (no copy) of a flat vector. */
export function layerViews(v: Float32Array, ranges: ReadonlyArray<readonly [number, number]>): Float32Array[] {
  return ranges.map(([s, e]) => v.subarray(s, e));
}

/** Median of a list (even length: mean of the two middle values); NaN when empty. Does not modify xs. */
export function median(xs: ArrayLike<number>): number {
  const n = xs.length;
  if (n === 0) return NaN;
  const s = Float64Array.from(xs).sort();
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

/** Median absolute deviation around `med` (no 1.4826 factor). */
export function mad(xs: ArrayLike<number>, med = median(xs)): number {
  const dev = new Float64Array(xs.length);
  for (let i = 0; i < xs.length; i++) dev[i] = Math.abs(xs[i] - med);
  return median(dev);
}

/** Robust z-scores z(x) = (x − med)/(1.4826·MAD); all 0 when MAD = 0 (no spread to measure against). */
export function robustZ(xs: ArrayLike<number>): number[] {
  const med = median(xs);
  const scale = 1.4826 * mad(xs, med);
  const out = new Array<number>(xs.length);
  for (let i = 0; i < xs.length; i++) out[i] = scale > 0 ? (xs[i] - med) / scale : 0;
  return out;
}

/** softmax(x/τ), max-shifted; τ = Infinity gives the uniform distribution. */
export function softmax(xs: ArrayLike<number>, tau = 1): number[] {
  const n = xs.length;
  if (n === 0) return [];
  if (tau === Infinity) return new Array<number>(n).fill(1 / n);
  let max = -Infinity;
  for (let i = 0; i < n; i++) max = Math.max(max, xs[i] / tau);
  const out = new Array<number>(n);
  let sum = 0;
  for (let i = 0; i < n; i++) sum += out[i] = Math.exp(xs[i] / tau - max);
  for (let i = 0; i < n; i++) out[i] /= sum;
  return out;
}

/** Coordinates per block of weightedSum's output. */
const SUM_BLOCK = 4096;
/** weightedSum's JS path folds this many vectors per pass over a block; the streaming sum folds groups of it. */
export const SUM_GROUP = 4;


function checkVectors(who: string, vs: readonly Float32Array[], scales?: ArrayLike<number>): number {
  if (vs.length === 0) throw new Error(`${who}: no vectors`);
  const len = vs[0].length;
  for (const v of vs) if (v.length !== len) throw new Error(`${who}: length mismatch (${v.length} vs ${len})`);
  if (scales && scales.length !== vs.length) throw new Error(`${who}: ${scales.length} scales for ${vs.length} vectors`);
  return len;
}

/**
 * Coordinate-wise median of scales[k]·vs[k] (scales default 1); even count: mean of the two middle values.
 */
export function coordinateMedian(vs: readonly Float32Array[], scales?: ArrayLike<number>): Float64Array {
  const len = checkVectors('coordinateMedian', vs, scales);
  const fast = scales ? null : coordinateMedianSimd(vs); // a sorting network on float32 columns (kernels/simd.ts)
  if (fast) return fast;
  const m = vs.length;
  const out = new Float64Array(len);
  const cols = new Float64Array(COLS * m);
  const scratchA = new Float64Array(m);
  const scratchB = new Float64Array(m);
  for (let b = 0; b < len; b += COLS) {
    const e = Math.min(len, b + COLS);
    gatherColumns(vs, scales, b, e, cols);
    for (let i = b; i < e; i++) out[i] = columnMedian(cols, (i - b) * m, m, scratchA, scratchB);
  }
  return out;
}

/**
 * Coordinate-wise trimmed mean: drop the `trim` smallest and `trim` largest values, average the rest, summed in
 * ascending order from 0 (as after sorting the column; the SIMD kernel and the JS one give the same values).
 */
export function coordinateTrimmedMean(vs: readonly Float32Array[], trim: number): Float64Array {
  const len = checkVectors('coordinateTrimmedMean', vs);
  const m = vs.length;
  const keep = m - 2 * trim;
  if (!Number.isInteger(trim) || trim < 0 || keep < 1) {
    throw new Error(`coordinateTrimmedMean: trimming ${trim} from each end of ${m} values leaves nothing`);
  }
  const fast = coordinateTrimmedMeanSimd(vs, trim);
  if (fast) return fast;
  const out = new Float64Array(len);
  const cols = new Float64Array(COLS * m);
  const tmp = new Float64Array(m);
  for (let b = 0; b < len; b += COLS) {
    const e = Math.min(len, b + COLS);
    gatherColumns(vs, undefined, b, e, cols);
    for (let i = b; i < e; i++) {
      const lo = (i - b) * m;
      if (trim > 0) {
        selectKth(cols, tmp, lo, lo + m - 1, lo + trim); // [lo, lo+trim) = the trim smallest
        selectKth(cols, tmp, lo + trim, lo + m - 1, lo + m - trim - 1); // (lo+m−trim−1, lo+m) = the trim largest
      }
      sortRange(cols, lo + trim, lo + m - trim - 1); // the kept values in ascending order: the SIMD kernel's sum
      let s = 0;
      for (let k = lo + trim; k < lo + m - trim; k++) s += cols[k];
      out[i] = s / keep;
    }
  }
  return out;
}

/**
 * out[i] += Σ_k coeffs[k]·vs[k][i] for i in [start, end) (whole vector by default); skips zero coefficients.
 * Exactly out[i] = (((out[i] + c_0·v_0[i]) + c_1·v_1[i]) + …) in k order, one float64 multiply and add per term
 * (what folding the updates in one at a time gives, streaming.ts), then divided by `divisor` (FedAvg's n, in the
 * same pass), with WebAssembly SIMD where available (kernels/simd.ts), else in JS: bit-identical either way.
 * Returns out (a new float64 vector when not given). Reading a fresh array's pages before writing them costs a
 * second page fault per page (the zero page, then a copy on write), hence `outIsZero`.
 */
export function weightedSum(
  vs: readonly Float32Array[],
  coeffs: ArrayLike<number>,
  given?: Float64Array,
  start = 0,
  end = given ? given.length : vs.length ? vs[0].length : 0,
  divisor = 1,
  /** out[start, end) holds zeros (true when no output is given): the SIMD path then does not read it. */
  outIsZero = !given,
): Float64Array {
  const out = given ?? new Float64Array(vs.length ? vs[0].length : 0);
  if (weightedSumSimd(vs, coeffs, out, start, end, divisor, outIsZero)) return out;
  // Four vectors per pass over a block of `out` small enough to stay in L1 (4096 × 8 B = 32 KiB), so `out` is read
  // and written from cache, not memory, K/4 times; the four terms are still added one at a time, in k order.
  const ks: number[] = [];
  for (let k = 0; k < vs.length; k++) if (coeffs[k] !== 0) ks.push(k);
  for (let b = start; b < end; b += SUM_BLOCK) {
    const e = Math.min(end, b + SUM_BLOCK);
    let q = 0;
    for (; q + SUM_GROUP - 1 < ks.length; q += SUM_GROUP) {
      const a = vs[ks[q]], bb = vs[ks[q + 1]], c = vs[ks[q + 2]], d = vs[ks[q + 3]];
      const ca = coeffs[ks[q]], cb = coeffs[ks[q + 1]], cc = coeffs[ks[q + 2]], cd = coeffs[ks[q + 3]];
      for (let i = b; i < e; i++) out[i] = out[i] + ca * a[i] + cb * bb[i] + cc * c[i] + cd * d[i];
    }
    for (; q < ks.length; q++) {
      const v = vs[ks[q]];
      const c = coeffs[ks[q]];
      for (let i = b; i < e; i++) out[i] += c * v[i];
    }
    if (divisor !== 1) for (let i = b; i < e; i++) out[i] /= divisor;
  }
  return out;
}

/** target[i] += σ·N(0, 1), one seeded stream; no-op when σ = 0. */
export function addGaussianNoise(target: Float32Array | Float64Array, sigma: number, seed: number): void {
  if (sigma === 0) return;
  const rng = createRng(seed);
  for (let i = 0; i < target.length; i++) target[i] += sigma * rng.normal();
}

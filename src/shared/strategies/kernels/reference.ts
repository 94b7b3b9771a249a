// The aggregation kernels as they were before the fast ones (vector-math.ts, kernels/): the references the
// kernel tests compare against on seeded random inputs. Test-only; nothing in the app imports this file.

const BLOCK = 2048;
const COLS = 512;

/** Σ_{t∈[b,e)} (x_t − y_t)², four accumulators. */
function sqDistRange(x: Float32Array, y: Float32Array, b: number, e: number): number {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  let t = b;
  for (; t + 3 < e; t += 4) {
    const d0 = x[t] - y[t], d1 = x[t + 1] - y[t + 1], d2 = x[t + 2] - y[t + 2], d3 = x[t + 3] - y[t + 3];
    s0 += d0 * d0;
    s1 += d1 * d1;
    s2 += d2 * d2;
    s3 += d3 * d3;
  }
  for (; t < e; t++) {
    const d = x[t] - y[t];
    s0 += d * d;
  }
  return s0 + s1 + (s2 + s3);
}

/** D[i·m + j] = ‖v_i − v_j‖², float64 sums of the differences (no cancellation), in blocks of 2048 coordinates. */
export function pairwiseSquaredDistancesRef(vs: readonly Float32Array[]): Float64Array {
  const m = vs.length;
  const len = m ? vs[0].length : 0;
  const d = new Float64Array(m * m);
  for (let b = 0; b < len; b += BLOCK) {
    const e = Math.min(len, b + BLOCK);
    for (let i = 0; i < m; i++) {
      const vi = vs[i];
      for (let j = 0; j < i; j++) {
        const vj = vs[j];
        d[i * m + j] += sqDistRange(vi, vj, b, e);
      }
    }
  }
  for (let i = 0; i < m; i++) for (let j = 0; j < i; j++) d[j * m + i] = d[i * m + j];
  return d;
}

/**
 * Rearrange buf[lo..hi] so buf[k] holds the value it would have if sorted, with buf[lo..k) ≤ buf[k] ≤ buf(k..hi]
 * (Hoare quickselect, median-of-three pivot; insertion sort below 16 values).
 */
function select(buf: Float64Array, lo: number, hi: number, k: number): void {
  while (hi - lo >= 16) {
    const mid = (lo + hi) >> 1;
    // median of three to buf[mid]
    if (buf[mid] < buf[lo]) swap(buf, mid, lo);
    if (buf[hi] < buf[lo]) swap(buf, hi, lo);
    if (buf[hi] < buf[mid]) swap(buf, hi, mid);
    const pivot = buf[mid];
    let i = lo, j = hi;
    while (i <= j) {
      while (buf[i] < pivot) i++;
      while (buf[j] > pivot) j--;
      if (i <= j) {
        swap(buf, i, j);
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return; // j < k < i: buf[k] = pivot, already in place
  }
  for (let a = lo + 1; a <= hi; a++) {
    const x = buf[a];
    let b = a - 1;
    while (b >= lo && buf[b] > x) {
      buf[b + 1] = buf[b];
      b--;
    }
    buf[b + 1] = x;
  }
}

function swap(buf: Float64Array, i: number, j: number): void {
  const t = buf[i];
  buf[i] = buf[j];
  buf[j] = t;
}

/** cols[(i − b)·m + k] = scales[k]·vs[k][i] for i in [b, e): a column-major copy of one block (sequential reads). */
function gatherColumns(vs: readonly Float32Array[], scales: ArrayLike<number> | undefined, b: number, e: number, cols: Float64Array): void {
  const m = vs.length;
  for (let k = 0; k < m; k++) {
    const v = vs[k];
    const c = scales ? scales[k] : 1;
    for (let i = b, o = k; i < e; i++, o += m) cols[o] = c * v[i];
  }
}

/**
 * Coordinate-wise median of scales[k]·vs[k] (scales default 1); even count: mean of the two middle values.
 */
export function coordinateMedianRef(vs: readonly Float32Array[], scales?: ArrayLike<number>): Float64Array {
  const len = vs[0].length;
  const m = vs.length;
  const out = new Float64Array(len);
  const cols = new Float64Array(COLS * m);
  const hi = m >> 1;
  for (let b = 0; b < len; b += COLS) {
    const e = Math.min(len, b + COLS);
    gatherColumns(vs, scales, b, e, cols);
    for (let i = b; i < e; i++) {
      const lo = (i - b) * m;
      select(cols, lo, lo + m - 1, lo + hi);
      let v = cols[lo + hi];
      if (m % 2 === 0) {
        let lower = cols[lo];
        for (let k = lo + 1; k < lo + hi; k++) if (cols[k] > lower) lower = cols[k];
        v = (lower + v) / 2;
      }
      out[i] = v;
    }
  }
  return out;
}

/** Coordinate-wise trimmed mean: drop the `trim` smallest and `trim` largest values, average the rest. */
export function coordinateTrimmedMeanRef(vs: readonly Float32Array[], trim: number): Float64Array {
  const len = vs[0].length;
  const m = vs.length;
  const keep = m - 2 * trim;
  if (!Number.isInteger(trim) || trim < 0 || keep < 1) {
    throw new Error(`coordinateTrimmedMean: trimming ${trim} from each end of ${m} values leaves nothing`);
  }
  const out = new Float64Array(len);
  const cols = new Float64Array(COLS * m);
  for (let b = 0; b < len; b += COLS) {
    const e = Math.min(len, b + COLS);
    gatherColumns(vs, undefined, b, e, cols);
    for (let i = b; i < e; i++) {
      const lo = (i - b) * m;
      if (trim > 0) {
        select(cols, lo, lo + m - 1, lo + trim); // [lo, lo+trim) = the trim smallest
        select(cols, lo + trim, lo + m - 1, lo + m - trim - 1); // (lo+m−trim−1, lo+m) = the trim largest
      }
      let s = 0;
      for (let k = lo + trim; k < lo + m - trim; k++) s += cols[k];
      out[i] = s / keep;
    }
  }
  return out;
}

/**
 * out[i] += Σ_k coeffs[k]·vs[k][i] for i in [start, end) (whole vector by default), one term at a time in k order
 * (out[i] = out[i] + c_k·v_k[i], as the streaming accumulator folds updates in); skips zero coefficients. Returns out
 * (a new float64 vector when not given). Before the SIMD kernels this grouped four terms before adding them to out.
 */
export function weightedSumRef(
  vs: readonly Float32Array[],
  coeffs: ArrayLike<number>,
  out: Float64Array = new Float64Array(vs.length ? vs[0].length : 0),
  start = 0,
  end = out.length,
): Float64Array {
  for (let k = 0; k < vs.length; k++) {
    const c = coeffs[k];
    if (c === 0) continue;
    const v = vs[k];
    for (let i = start; i < end; i++) out[i] += c * v[i];
  }
  return out;
}

/** Coordinate-wise trimmed mean by sorting each column: the kept values summed in ascending order from 0. */
export function coordinateTrimmedMeanSortedRef(vs: readonly Float32Array[], trim: number): Float64Array {
  const m = vs.length;
  const out = new Float64Array(vs[0].length);
  const col = new Float64Array(m);
  for (let i = 0; i < out.length; i++) {
    for (let k = 0; k < m; k++) col[k] = vs[k][i];
    col.sort();
    let s = 0;
    for (let k = trim; k < m - trim; k++) s += col[k];
    out[i] = s / (m - 2 * trim);
  }
  return out;
}

/**
 * Mean of the β values of sorted `s` closest to its median. Sorted, these form a contiguous window around the
 * middle, grown greedily one side at a time; on equal distance the lower value is taken first (equal values are
 * interchangeable, so no index tie-break is needed).
 */
function meanAroundMedian(s: Float64Array, beta: number): number {
  const th = s.length;
  const med = th % 2 ? s[(th - 1) / 2] : (s[th / 2 - 1] + s[th / 2]) / 2;
  let lo = Math.ceil(th / 2) - 1; // s[lo] ≤ med ≤ s[lo + 1]
  let hi = lo + 1;
  for (let taken = 0; taken < beta; taken++) {
    if (hi >= th || (lo >= 0 && med - s[lo] <= s[hi] - med)) lo--;
    else hi++;
  }
  let sum = 0;
  for (let t = lo + 1; t < hi; t++) sum += s[t];
  return sum / beta;
}

/** Bulyan's coordinate-wise aggregation as it was: sort each column of the θ selected vectors, grow from the middle. */
export function meanAroundMedianColumnsRef(vs: readonly Float32Array[], beta: number): Float64Array {
  const theta = vs.length;
  const len = vs[0].length;
  const out = new Float64Array(len);
  const cols = new Float64Array(COLS * theta);
  for (let b = 0; b < len; b += COLS) {
    const e = Math.min(len, b + COLS);
    // Column-major copy of the block: sequential reads of each selected vector.
    for (let k = 0; k < theta; k++) {
      const v = vs[k];
      for (let i = b, o = k; i < e; i++, o += theta) cols[o] = v[i];
    }
    for (let i = b; i < e; i++) {
      const lo = (i - b) * theta;
      out[i] = meanAroundMedian(cols.subarray(lo, lo + theta).sort(), beta);
    }
  }
  return out;
}

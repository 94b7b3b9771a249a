// The median of one coordinate's column of values: selectKth's branchless three-way partition, but each pass writes
// into the other of two scratch buffers instead of copying the active range back first (a third fewer loads and
// stores). The layout is not kept, so the even count's lower middle value is tracked on the way: the largest value
// ever discarded below the active range is the pivot of that pass.
import { SMALL } from './select';

/**
 * Median of col[off..off+m) (m ≥ 1; even m: mean of the two middle values), NaN-free; a and b are scratch of at
 * least m values; col's range is overwritten. Returns exactly the reference's values (up to the sign of a zero).
 */
export function columnMedian(col: Float64Array, off: number, m: number, a: Float64Array, b: Float64Array): number {
  const k = m >> 1;
  let src = col, so = off, dst = a;
  let lo = 0, hi = m - 1;
  let leftMax = -Infinity;
  while (hi - lo >= SMALL) {
    const x0 = src[so + lo], x1 = src[so + ((lo + hi) >> 1)], x2 = src[so + hi];
    const pivot = Math.max(Math.min(x0, x1), Math.min(Math.max(x0, x1), x2)); // median of three, one of the values
    let l = lo, r = hi;
    for (let t = lo; t <= hi; t++) {
      const x = src[so + t];
      dst[l] = x;
      dst[r] = x;
      l += +(x < pivot); // +(bool): setcc, not a branch (see select.ts)
      r -= +(x > pivot);
    }
    // dst: [lo, l) < pivot, (r, hi] > pivot, [l, r] = pivot (stale values there are never read).
    if (k < l) hi = l - 1;
    else if (k > r) {
      leftMax = pivot; // everything in [lo, r] is ≤ pivot, and ≥ what was discarded before
      lo = r + 1;
    } else {
      if (m % 2) return pivot;
      let lower = pivot;
      if (k === l) {
        lower = leftMax;
        for (let t = lo; t < l; t++) if (dst[t] > lower) lower = dst[t];
      }
      return (lower + pivot) / 2;
    }
    src = dst;
    so = 0;
    dst = dst === a ? b : a;
  }
  for (let p = lo + 1; p <= hi; p++) {
    const x = src[so + p];
    let q = p - 1;
    while (q >= lo && src[so + q] > x) {
      src[so + q + 1] = src[so + q];
      q--;
    }
    src[so + q + 1] = x;
  }
  const v = src[so + k];
  if (m % 2) return v;
  return ((k > lo ? src[so + k - 1] : leftMax) + v) / 2;
}

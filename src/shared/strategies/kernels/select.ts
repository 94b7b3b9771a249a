// Selection of the k-th smallest of a few dozen values, one coordinate's column at a time (median, trimmed mean).
// Hoare's partition branches on every comparison, and on random data half of those branches are mispredicted; here
// each pass is a branchless three-way partition (every value is written to both ends, and only the matching end
// advances), so a column of 32 costs a few passes of straight-line code.

/** Below this many values, insertion sort (few, well-predicted branches on so few). */
export const SMALL = 8;

/**
 * Rearranges buf[lo..hi] (inclusive) so that buf[k] holds the value it would hold if sorted, with
 * buf[lo..k) ≤ buf[k] ≤ buf(k..hi]; tmp needs at least hi − lo + 1 values. NaN-free input (updates are checked
 * finite on arrival). Values equal to a pivot are written back as the pivot, so a −0 among +0s may come back as +0.
 */
export function selectKth(buf: Float64Array, tmp: Float64Array, lo: number, hi: number, k: number): void {
  while (hi - lo >= SMALL) {
    const n = hi - lo + 1;
    for (let t = 0; t < n; t++) tmp[t] = buf[lo + t];
    const a = tmp[0], b = tmp[n >> 1], c = tmp[n - 1];
    const pivot = Math.max(Math.min(a, b), Math.min(Math.max(a, b), c)); // median of three, one of the values
    let l = lo, r = hi;
    for (let t = 0; t < n; t++) {
      const x = tmp[t];
      buf[l] = x;
      buf[r] = x;
      // +(bool), not a ternary: V8 turns this into setcc, a ternary or an if into a (mispredicted) branch.
      l += +(x < pivot);
      r -= +(x > pivot);
    }
    // [lo, l) < pivot, (r, hi] > pivot; what lies between was overwritten by values equal to the pivot.
    for (let t = l; t <= r; t++) buf[t] = pivot;
    if (k < l) hi = l - 1;
    else if (k > r) lo = r + 1;
    else return;
  }
  sortRange(buf, lo, hi);
}

/** Insertion sort of buf[lo..hi] (inclusive): for the few values left at the end of a selection, or at a column's ends. */
export function sortRange(buf: Float64Array, lo: number, hi: number): void {
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

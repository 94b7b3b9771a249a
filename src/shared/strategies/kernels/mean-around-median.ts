// Bulyan's coordinate-wise aggregation: per coordinate, the mean of the β of θ values closest to their median, where
// the β are taken greedily from the median outwards, the lower value first on equal distance. Sorting each column
// (θ log θ, with mispredicted branches) is not needed: those β form a contiguous window of the sorted column that
// leaves out exactly θ − β values at its ends, and which end each left-out value comes from depends only on the
// θ − β smallest and θ − β largest values (sorted) and the median. So: two selections set those apart, a third
// finds the median inside what remains, and the window is found from the ends inwards.
import { COLS, gatherColumns } from './columns';
import { selectKth, sortRange } from './select';
import { meanAroundMedianSimd } from './simd';

/**
 * out[i] = mean of the β values of {vs[k][i]} closest to their median (θ = vs.length ≥ β ≥ 1). Equal to sorting
 * each column and growing the window from the middle, summed in ascending order (the same values, the same sum, up
 * to the sign of a zero): a sorting network in WebAssembly SIMD where available (kernels/simd.ts), else in JS.
 */
export function meanAroundMedianColumns(vs: readonly Float32Array[], beta: number): Float64Array {
  const fastSimd = vs.length ? meanAroundMedianSimd(vs, beta) : null;
  if (fastSimd) return fastSimd;
  const th = vs.length;
  const len = th ? vs[0].length : 0;
  const drop = th - beta;
  const out = new Float64Array(len);
  const cols = new Float64Array(COLS * th);
  const tmp = new Float64Array(th);
  // The ends hold `drop` values each; they must not reach the middle one or two values (else: sort the column).
  const fast = th >= 2 * drop + 2;
  const lo0 = Math.ceil(th / 2) - 1; // sorted: s[lo0] ≤ med ≤ s[lo0 + 1]
  for (let b = 0; b < len; b += COLS) {
    const e = Math.min(len, b + COLS);
    gatherColumns(vs, undefined, b, e, cols);
    for (let i = b; i < e; i++) {
      const c = (i - b) * th; // column c..c+th−1; positions below are relative to c
      let med: number;
      if (fast) {
        if (drop > 0) {
          selectKth(cols, tmp, c, c + th - 1, c + drop); // [0, drop) = the drop smallest
          selectKth(cols, tmp, c + drop, c + th - 1, c + th - drop - 1); // (th − drop − 1, th) = the drop largest
          sortRange(cols, c, c + drop - 1);
          sortRange(cols, c + th - drop, c + th - 1);
        }
        // The middle value(s) lie in [drop, th − drop) since th ≥ 2·drop + 2; values left of drop are ≤ them.
        const hi = th >> 1;
        selectKth(cols, tmp, c + drop, c + th - drop - 1, c + hi);
        med = cols[c + hi];
        if (th % 2 === 0) {
          let lower = cols[c + drop];
          for (let t = c + drop + 1; t < c + hi; t++) if (cols[t] > lower) lower = cols[t];
          med = (lower + med) / 2;
        }
      } else {
        sortRange(cols, c, c + th - 1);
        med = th % 2 ? cols[c + (th - 1) / 2] : (cols[c + th / 2 - 1] + cols[c + th / 2]) / 2;
      }
      // From the ends inwards: the value taken last from the middle outwards is dropped first. Outwards, the lower
      // side is taken on equal distance, so inwards the upper side is dropped on equal distance.
      let l = 0, r = th - 1;
      for (let d = 0; d < drop; d++) {
        if (r <= lo0 || (l <= lo0 && med - cols[c + l] > cols[c + r] - med)) l++;
        else r--;
      }
      sortRange(cols, c + l, c + r); // ascending, as the sorted column (and the SIMD kernel) sums them
      let sum = 0;
      for (let t = c + l; t <= c + r; t++) sum += cols[t];
      out[i] = sum / beta;
    }
  }
  return out;
}

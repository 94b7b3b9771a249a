// The column kernels (median, trimmed mean, Bulyan's mean around the median) work on a block of COLS coordinates at
// a time, copied column-major so that each coordinate's K values are adjacent.

/** Coordinates per block in the column kernels. */
export const COLS = 512;

/** cols[(i − b)·m + k] = scales[k]·vs[k][i] for i in [b, e): a column-major copy of one block (sequential reads). */
export function gatherColumns(vs: readonly Float32Array[], scales: ArrayLike<number> | undefined, b: number, e: number, cols: Float64Array): void {
  const m = vs.length;
  for (let k = 0; k < m; k++) {
    const v = vs[k];
    const c = scales ? scales[k] : 1;
    for (let i = b, o = k; i < e; i++, o += m) cols[o] = c * v[i];
  }
}

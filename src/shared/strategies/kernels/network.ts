// Sorting networks for the column kernels: Batcher's merge exchange (Knuth, TAOCP vol. 3, 5.2.2 Algorithm M), a
// fixed list of compare-exchanges that sorts any n values (191 pairs for n = 32, 1471 for 128), so every coordinate
// of a block goes through the same straight-line min/max code (no data-dependent branch), 4 coordinates a vector.

/** Pairs (i, j), i < j, flattened: after the compare-exchanges in order (min to i, max to j), n values are sorted. */
export function mergeExchangePairs(n: number): Int32Array {
  const out: number[] = [];
  if (n < 2) return new Int32Array(0);
  const t = Math.ceil(Math.log2(n));
  for (let p = 2 ** (t - 1); p > 0; p >>= 1) {
    let q = 2 ** (t - 1), r = 0, d = p;
    while (d > 0) {
      for (let i = 0; i < n - d; i++) if ((i & p) === r) out.push(i, i + d);
      d = q - p;
      q >>= 1;
      r = p;
    }
  }
  return Int32Array.from(out);
}

/**
 * The pairs that the sorted values at positions [from, to) depend on (the others are dropped): walking backwards,
 * a pair is kept when either of its outputs is needed, and then both of its inputs are.
 */
export function prunePairs(pairs: Int32Array, from: number, to: number): Int32Array {
  const n = pairs.length ? Math.max(...pairs) + 1 : 0;
  const need = new Uint8Array(Math.max(n, to));
  for (let i = from; i < to; i++) need[i] = 1;
  const kept: number[] = [];
  for (let p = pairs.length - 2; p >= 0; p -= 2) {
    const i = pairs[p], j = pairs[p + 1];
    if (need[i] || need[j]) {
      need[i] = need[j] = 1;
      kept.push(j, i);
    }
  }
  return Int32Array.from(kept.reverse());
}

/** Applies the pairs to one column (the network's reference semantics, for tests). */
export function applyPairs(pairs: Int32Array, xs: Float64Array): Float64Array {
  for (let p = 0; p < pairs.length; p += 2) {
    const i = pairs[p], j = pairs[p + 1];
    const a = xs[i], b = xs[j];
    if (b < a) {
      xs[i] = b;
      xs[j] = a;
    }
  }
  return xs;
}

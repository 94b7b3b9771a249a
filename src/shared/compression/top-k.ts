// Top-K sparsification with error feedback (EF-SGD, Karimireddy et al. 2019; spec §5): p = Δ + e, send the k
// largest |p_i|, keep e ← p − TopK(p). Selection is a quickselect on magnitudes (O(n), no sort); ties at the
// threshold go to the lowest indices, so the same input always selects the same coordinates.

/** k for a fraction of n coordinates: at least one, at most n. */
export function topKCount(n: number, fraction: number): number {
  return Math.min(n, Math.max(1, Math.ceil(fraction * n)));
}

/** The k-th largest value of `a` (a copy is partially reordered, `a` is not touched). */
function kthLargest(a: Float32Array, k: number): number {
  const x = a.slice();
  let lo = 0;
  let hi = x.length - 1;
  const want = k - 1; // index in descending order
  while (lo < hi) {
    // Median of three as pivot: deterministic, and no quadratic case on sorted or constant input.
    const mid = (lo + hi) >>> 1;
    const p = median3(x[lo], x[mid], x[hi]);
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (x[i] > p) i++;
      while (x[j] < p) j--;
      if (i <= j) {
        const t = x[i];
        x[i] = x[j];
        x[j] = t;
        i++;
        j--;
      }
    }
    if (want <= j) hi = j;
    else if (want >= i) lo = i;
    else return p;
  }
  return x[want];
}

const median3 = (a: number, b: number, c: number) => Math.max(Math.min(a, b), Math.min(Math.max(a, b), c));

export interface SparseVector {
  /** Ascending, unique. */
  indices: Uint32Array;
  values: Float32Array;
}

/** The k coordinates of x with the largest magnitude, in index order. */
export function topK(x: Float32Array, k: number): SparseVector {
  const n = x.length;
  if (k >= n) return { indices: Uint32Array.from({ length: n }, (_, i) => i), values: x.slice() };
  const mag = new Float32Array(n);
  for (let i = 0; i < n; i++) mag[i] = Math.abs(x[i]);
  const t = kthLargest(mag, k);
  let above = 0;
  for (let i = 0; i < n; i++) if (mag[i] > t) above++;
  let ties = k - above;
  const indices = new Uint32Array(k);
  const values = new Float32Array(k);
  let m = 0;
  for (let i = 0; i < n && m < k; i++) {
    if (mag[i] > t || (mag[i] === t && ties-- > 0)) {
      indices[m] = i;
      values[m++] = x[i];
    }
  }
  return { indices, values };
}

/** Dense from sparse. */
export function densify(s: SparseVector, n: number): Float32Array {
  const out = new Float32Array(n);
  for (let j = 0; j < s.indices.length; j++) out[s.indices[j]] = s.values[j];
  return out;
}

/**
 * One EF step: what to send for `delta` given the residual carried so far, and the new residual. The residual holds
 * exactly what was not sent: residual' + densify(sent) === delta + residual, coordinate by coordinate.
 */
export function topKWithFeedback(delta: Float32Array, residual: Float32Array | null, k: number): { sent: SparseVector; residual: Float32Array } {
  return withErrorFeedback(delta, residual, (p) => topK(p, k));
}

/** The EF step around any selection of p's coordinates (one global K, or a K per block): send them, keep the rest. */
export function withErrorFeedback(delta: Float32Array, residual: Float32Array | null, select: (p: Float32Array) => SparseVector): { sent: SparseVector; residual: Float32Array } {
  const p = new Float32Array(delta.length);
  for (let i = 0; i < p.length; i++) p[i] = delta[i] + (residual ? residual[i] : 0);
  const sent = select(p);
  for (let j = 0; j < sent.indices.length; j++) p[sent.indices[j]] = 0;
  return { sent, residual: p };
}

// Fed-Adaptive-Next's attention terms on one layer in O(m·d) instead of the O(m²·d) of a Gram matrix. With
// u_j = Δ_j/‖Δ_j‖ (0 for a zero Δ_j, whose cosines are 0) and U = Σ_j u_j, since ⟨u_k, u_k⟩ = 1:
//   h_k = (1/(m − 1)) Σ_{j≠k} cos(Δ_k, Δ_j) = (⟨Δ_k, U⟩/‖Δ_k‖ − 1)/(m − 1)
// one weighted sum and m dot products, built block by block from the same staged rows (kernels/simd.ts).
import { dotsWithSumSimd, squaresAndDotsSimd } from './simd';

/**
 * Over [start, end): sq[k] = ‖v_k‖², and with `ref`, dr[k] = ⟨v_k, ref⟩, in float64: one pass (WebAssembly SIMD
 * where available, else sequential JS sums; the two round differently, ~1e-16 of the sum).
 */
export function squaresAndDots(vs: readonly Float32Array[], ref: Float32Array | null, start: number, end: number): { sq: Float64Array; dr: Float64Array | null } {
  const fast = squaresAndDotsSimd(vs, ref, start, end);
  if (fast) return fast;
  const sq = new Float64Array(vs.length);
  const dr = ref ? new Float64Array(vs.length) : null;
  vs.forEach((v, k) => {
    let s = 0, d = 0;
    for (let t = start; t < end; t++) s += v[t] * v[t];
    if (ref) for (let t = start; t < end; t++) d += v[t] * ref[t];
    sq[k] = s;
    if (dr) dr[k] = d;
  });
  return { sq, dr };
}

/**
 * h_k = mean_{j≠k} cos(v_k, v_j) over [start, end), given sq[k] = ‖v_k‖² there; 0 for a zero v_k and when m = 1.
 * Equals the mean of the pairwise cosines up to rounding (~1e-15), clamped to [−1, 1].
 */
export function meanCosines(vs: readonly Float32Array[], sq: ArrayLike<number>, start: number, end: number): number[] {
  const m = vs.length;
  if (m < 2) return new Array<number>(m).fill(0);
  const inv = Array.from(sq, (s) => (s > 0 ? 1 / Math.sqrt(s) : 0));
  const du = dotsWithSumSimd(vs, inv, start, end) ?? dotsWithSumJs(vs, inv, start, end);
  return vs.map((_, k) => (inv[k] > 0 ? Math.max(-1, Math.min(1, (du[k] * inv[k] - 1) / (m - 1))) : 0));
}

function dotsWithSumJs(vs: readonly Float32Array[], coef: readonly number[], start: number, end: number): Float64Array {
  const u = new Float64Array(end - start);
  vs.forEach((v, j) => {
    const c = coef[j];
    if (c !== 0) for (let t = start; t < end; t++) u[t - start] += c * v[t];
  });
  return Float64Array.from(vs, (v) => {
    let d = 0;
    for (let t = start; t < end; t++) d += v[t] * u[t - start];
    return d;
  });
}

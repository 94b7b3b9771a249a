// Gram matrix G = V·Vᵀ of m float32 vectors over a coordinate range, in float64: every pairwise quantity the robust
// rules need (Krum's distances ‖v_i − v_j‖² = G_ii + G_jj − 2G_ij, Fed-Adaptive-Next's cosines) from one pass.
// Register-tiled: a 3×3 tile of pairs shares 6 loads among 9 multiply-adds (a dot product at a time needs 2 loads
// per multiply-add, and the loads and float32→float64 conversions are what a JS inner loop is bound by; 9
// accumulators and 6 values still fit x64's 16 float registers, a 4×4 tile spills and was slower, 2×4 too). Each
// entry is one float64 accumulator over the coordinates in order, so G_ij does not depend on the tile it fell in:
// equal vectors give exactly equal entries (and a distance of exactly 0).

/** Coordinates per block: the m vectors' current block (m × 1024 × 4 B, 128 KiB at m = 32) stays in L2. */
const BLOCK = 1024;
const T = 3;

/**
 * G[i·m + j] = Σ_{t∈[start,end)} v_i[t]·v_j[t], symmetric. Products of float32 values are exact in float64; the
 * sums differ from a four-accumulator dot product only in their order (relative 1e-15 of Σ|v_i[t]·v_j[t]|).
 */
export function gramTiled(vs: readonly Float32Array[], start = 0, end = vs.length ? vs[0].length : 0): Float64Array {
  const m = vs.length;
  const g = new Float64Array(m * m);
  if (m === 0) return g;
  // Tiles of T rows × T columns over the lower triangle (column tile start ≤ row tile start). Indices past m repeat
  // the last vector; their entries are dropped.
  const at = (k: number) => vs[Math.min(k, m - 1)];
  for (let b = start; b < end; b += BLOCK) {
    const e = Math.min(end, b + BLOCK);
    for (let i0 = 0; i0 < m; i0 += T) {
      const x0 = at(i0), x1 = at(i0 + 1), x2 = at(i0 + 2);
      for (let j0 = 0; j0 <= i0; j0 += T) {
        const y0 = at(j0), y1 = at(j0 + 1), y2 = at(j0 + 2);
        let s00 = 0, s01 = 0, s02 = 0, s10 = 0, s11 = 0, s12 = 0, s20 = 0, s21 = 0, s22 = 0;
        for (let t = b; t < e; t++) {
          const a0 = x0[t], a1 = x1[t], a2 = x2[t];
          const c0 = y0[t], c1 = y1[t], c2 = y2[t];
          s00 += a0 * c0;
          s01 += a0 * c1;
          s02 += a0 * c2;
          s10 += a1 * c0;
          s11 += a1 * c1;
          s12 += a1 * c2;
          s20 += a2 * c0;
          s21 += a2 * c1;
          s22 += a2 * c2;
        }
        add(g, m, i0, j0, s00, s01, s02);
        add(g, m, i0 + 1, j0, s10, s11, s12);
        add(g, m, i0 + 2, j0, s20, s21, s22);
      }
    }
  }
  for (let i = 0; i < m; i++) for (let j = 0; j < i; j++) g[j * m + i] = g[i * m + j];
  return g;
}

/** g[i][j0..j0+2] += s (lower triangle j ≤ i, in range only). */
function add(g: Float64Array, m: number, i: number, j0: number, s0: number, s1: number, s2: number): void {
  if (i >= m) return;
  const r = i * m;
  if (j0 <= i) g[r + j0] += s0;
  if (j0 + 1 <= i) g[r + j0 + 1] += s1;
  if (j0 + 2 <= i) g[r + j0 + 2] += s2;
}

/**
 * D[i·m + j] = ‖v_i − v_j‖² = G_ii + G_jj − 2G_ij from one Gram matrix, clamped at 0 (0 on the diagonal). Against
 * summing the squared differences, the error is relative to the norms, not the distance: |ΔD_ij| ≲ 1e-15·(G_ii + G_jj).
 */
export function squaredDistancesFromGram(g: Float64Array, m: number): Float64Array {
  const d = new Float64Array(m * m);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < i; j++) {
      const v = Math.max(0, g[i * m + i] + g[j * m + j] - 2 * g[i * m + j]);
      d[i * m + j] = v;
      d[j * m + i] = v;
    }
  }
  return d;
}

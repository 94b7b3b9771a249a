// Pairwise squared distances D_ij = ‖v_i − v_j‖² of float32 vectors (Krum, Multi-Krum, Bulyan), from the squared
// differences themselves, not from a Gram matrix (G_ii + G_jj − 2G_ij cancels: its error is relative to the norms,
// this one's to the distance; equal vectors are at exactly 0). In float32, as spec §8 aggregates ("aggregate in
// Float32Array"), with float64 across blocks: per block of DIST_BLOCK coordinates (starting at multiples of it)
// and lane l = t mod 4, s_l = Σ f32(f32(v_i[t] − v_j[t])²) in float32, t ascending, then
// D_ij += (s_0 + s_2) + (s_1 + s_3) in float64. A lane sums at most 128 terms, all ≥ 0: relative error ≤ ~8e-6
// (measured ~1e-8 on random vectors). A square past float32's range (|difference| > 1.8e19) is +Infinity: that
// update is infinitely far from the others, which is how Krum should see it.
// This is the JS path, bit for bit the WebAssembly SIMD kernel's (simd.ts's squaredDistancesSimd).

/** Coordinates per block; blocks start at multiples of it. */
export const DIST_BLOCK = 512;

const f = Math.fround;

export function squaredDistancesF32(vs: readonly Float32Array[]): Float64Array {
  const m = vs.length;
  const len = m ? vs[0].length : 0;
  const d = new Float64Array(m * m);
  for (let b = 0; b < len; b += DIST_BLOCK) {
    const e = Math.min(len, b + DIST_BLOCK);
    for (let i = 1; i < m; i++) {
      const x = vs[i];
      for (let j = 0; j < i; j++) {
        const y = vs[j];
        let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        let t = b;
        for (; t + 3 < e; t += 4) {
          const d0 = f(x[t] - y[t]), d1 = f(x[t + 1] - y[t + 1]), d2 = f(x[t + 2] - y[t + 2]), d3 = f(x[t + 3] - y[t + 3]);
          s0 = f(s0 + f(d0 * d0));
          s1 = f(s1 + f(d1 * d1));
          s2 = f(s2 + f(d2 * d2));
          s3 = f(s3 + f(d3 * d3));
        }
        // The block's last 1–3 coordinates fall in lanes 0, 1, 2 (the SIMD kernel's zero padding adds exactly 0).
        if (t < e) { const q = f(x[t] - y[t]); s0 = f(s0 + f(q * q)); }
        if (t + 1 < e) { const q = f(x[t + 1] - y[t + 1]); s1 = f(s1 + f(q * q)); }
        if (t + 2 < e) { const q = f(x[t + 2] - y[t + 2]); s2 = f(s2 + f(q * q)); }
        d[i * m + j] += s0 + s2 + (s1 + s3);
      }
    }
  }
  for (let i = 0; i < m; i++) for (let j = 0; j < i; j++) d[j * m + i] = d[i * m + j];
  return d;
}

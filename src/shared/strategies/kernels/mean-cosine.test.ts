// meanCosines and squaresAndDots against the pairwise definitions, on the SIMD and the JS path.
import { afterEach, describe, expect, it } from 'vitest';
import { createRng } from '../../prng';
import { meanCosines, squaresAndDots } from './mean-cosine';
import { setSimdDisabled } from './simd-module';

afterEach(() => setSimdDisabled(false));

function vectors(k: number, size: number, seed: number): Float32Array[] {
  const rng = createRng(seed);
  const common = Float32Array.from({ length: size }, () => rng.next() - 0.5);
  // A shared direction plus noise of growing size, so the cosines spread over (−1, 1).
  return Array.from({ length: k }, (_, j) => Float32Array.from(common, (c) => (j % 3 === 2 ? -c : c) + (rng.next() - 0.5) * (0.2 + j / 4)));
}

const seqDot = (a: Float32Array, b: Float32Array, s: number, e: number) => {
  let d = 0;
  for (let t = s; t < e; t++) d += a[t] * b[t];
  return d;
};

/** The definition: the mean over j ≠ k of cos(v_k, v_j), each 0 when either vector is zero. */
function meanCosinesRef(vs: Float32Array[], s: number, e: number): number[] {
  return vs.map((a, k) => {
    if (vs.length < 2) return 0;
    let sum = 0;
    vs.forEach((b, j) => {
      if (j === k) return;
      const aa = seqDot(a, a, s, e), bb = seqDot(b, b, s, e);
      if (aa > 0 && bb > 0) sum += seqDot(a, b, s, e) / Math.sqrt(aa * bb);
    });
    return sum / (vs.length - 1);
  });
}

describe.each([
  { name: 'SIMD', off: false },
  { name: 'JS fallback', off: true },
])('mean cosines in O(m·d), $name path', ({ off }) => {
  it('squares and dots with a reference match sequential sums to 1e-12 relative (a sequential sum is itself off by up to n·ε ≈ 5e-13), over odd ranges', () => {
    setSimdDisabled(off);
    for (const k of [1, 2, 5, 33]) {
      const vs = vectors(k, 5003, 10 + k);
      const ref = vectors(1, 5003, 99)[0];
      for (const [s, e] of [[0, 5003], [7, 4100], [3, 6]]) {
        const { sq, dr } = squaresAndDots(vs, ref, s, e);
        vs.forEach((v, j) => {
          expect(Math.abs(sq[j] - seqDot(v, v, s, e))).toBeLessThanOrEqual(1e-12 * sq[j]);
          expect(Math.abs(dr![j] - seqDot(v, ref, s, e))).toBeLessThanOrEqual(1e-12 * Math.sqrt(sq[j] * seqDot(ref, ref, s, e)));
        });
        expect(squaresAndDots(vs, null, s, e).dr).toBeNull();
        // The reference as one of the rows (read from its staged row) and as a copy (staged apart): the same bits.
        const asRow = squaresAndDots([...vs, ref], ref, s, e);
        const asCopy = squaresAndDots([...vs, ref], ref.slice(), s, e);
        expect(Array.from(asRow.dr!)).toEqual(Array.from(asCopy.dr!));
        expect(asRow.dr![k]).toBe(asRow.sq[k]);
      }
    }
  });

  it('equals the mean of the pairwise cosines to 1e-12, with zero vectors and m = 1, 2', () => {
    setSimdDisabled(off);
    for (const k of [1, 2, 3, 8, 32, 33]) {
      const vs = vectors(k, 3001, 20 + k);
      if (k > 3) vs[1].fill(0); // a zero update: cosines 0, and no share of U
      for (const [s, e] of [[0, 3001], [5, 2999]]) {
        const { sq } = squaresAndDots(vs, null, s, e);
        const h = meanCosines(vs, sq, s, e);
        const ref = meanCosinesRef(vs, s, e);
        h.forEach((x, j) => expect(Math.abs(x - ref[j])).toBeLessThanOrEqual(1e-12));
        if (k > 3) expect(h[1]).toBe(0);
      }
    }
    const spread = meanCosinesRef(vectors(8, 3001, 28), 0, 3001);
    expect(Math.max(...spread) - Math.min(...spread)).toBeGreaterThan(0.3); // the inputs are not all alike
  });

  it('identical vectors: every mean cosine is 1 (clamped, not 1 + ε)', () => {
    setSimdDisabled(off);
    const v = vectors(1, 2049, 5)[0];
    const vs = [v, v.slice(), v.slice(), v.slice()];
    const { sq } = squaresAndDots(vs, null, 0, v.length);
    for (const x of meanCosines(vs, sq, 0, v.length)) expect(Math.abs(x - 1)).toBeLessThanOrEqual(1e-15);
  });
});

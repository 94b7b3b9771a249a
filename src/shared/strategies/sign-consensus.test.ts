import { describe, expect, it } from 'vitest';
import {
  agglomerativeClusters,
  agreementMatrix,
  largestCluster,
  signAgreement,
  signMajority,
  ssca,
  tiesMerge,
} from './sign-consensus';

const f32 = (...xs: number[]) => Float32Array.from(xs);
const arr = (v: ArrayLike<number>) => Array.from(v);

/** Symmetric k×k distance matrix from the upper-triangle entries {"i,j": d}; everything else 0. */
function dist(k: number, upper: Record<string, number>): Float64Array {
  const d = new Float64Array(k * k);
  for (const [key, v] of Object.entries(upper)) {
    const [i, j] = key.split(',').map(Number);
    d[i * k + j] = d[j * k + i] = v;
  }
  return d;
}

describe('signAgreement', () => {
  it('counts agreement on the common support only', () => {
    // supports {0,1,3} and {0,3} → common {0,3}; i=0: + +, agree; i=3: + −, disagree → 1/2
    expect(signAgreement(f32(1, -2, 0, 3), f32(2, 0, 0, -1))).toBe(0.5);
    expect(signAgreement(f32(2, 0, 0, -1), f32(1, -2, 0, 3))).toBe(0.5);
    // magnitudes are ignored: − −, + + → 2/2
    expect(signAgreement(f32(-1, 0.001), f32(-300, 7))).toBe(1);
    // tiny values keep their sign (product 1e-40·1e-40 is not 0 in float64): 1/1
    expect(signAgreement(f32(1e-40), f32(1e-40))).toBe(1);
  });

  it('no common support → 0 (defined, not NaN)', () => {
    expect(signAgreement(f32(1, 0, 0), f32(0, 2, 0))).toBe(0);
    expect(signAgreement(f32(0, 0), f32(0, 0))).toBe(0);
  });

  it('rejects a length mismatch', () => {
    expect(() => signAgreement(f32(1), f32(1, 2))).toThrow(/length mismatch/);
  });
});

describe('agreementMatrix', () => {
  it('symmetric, diagonal 1 for nonzero and 0 for a zero vector', () => {
    const a = f32(1, -2, 0, 3);
    const b = f32(2, 0, 0, -1);
    const c = f32(-1, -1, 1, 0);
    const z = f32(0, 0, 0, 0);
    // a·b: see above → 0.5
    // a·c: common {0,1}: i=0 + −, i=1 − − → 1/2
    // b·c: common {0}: + − → 0/1
    expect(arr(agreementMatrix([a, b, c, z]))).toEqual([
      1, 0.5, 0.5, 0,
      0.5, 1, 0, 0,
      0.5, 0, 1, 0,
      0, 0, 0, 0,
    ]);
    expect(arr(agreementMatrix([]))).toEqual([]);
  });
});

describe('agglomerativeClusters (average linkage)', () => {
  it('two honest groups and one outlier', () => {
    // {1,3,4} tight (≤ 0.25), {0,2} tight (0.125), everything across groups 0.875, outlier 5 at 0.75 from all.
    // Merges in order: (1,3) at 0, (0,2) at 0.125, {1,3}–4 at (0.25+0.25)/2 = 0.25; then every pair is
    // ≥ 0.75 → stop.
    const d = dist(6, {
      '1,3': 0, '1,4': 0.25, '3,4': 0.25, '0,2': 0.125,
      '0,1': 0.875, '0,3': 0.875, '0,4': 0.875, '2,1': 0.875, '2,3': 0.875, '2,4': 0.875,
      '0,5': 0.75, '1,5': 0.75, '2,5': 0.75, '3,5': 0.75, '4,5': 0.75,
    });
    // size desc: [1,3,4] before [0,2] although 0 is the lowest index
    expect(agglomerativeClusters(d, 6, 0.5)).toEqual([[1, 3, 4], [0, 2], [5]]);
  });

  it('equal sizes are ordered by smallest member', () => {
    const d = dist(4, { '1,3': 0.25, '0,2': 0.25, '0,1': 1, '0,3': 1, '1,2': 1, '2,3': 1 });
    expect(agglomerativeClusters(d, 4, 0.5)).toEqual([[0, 2], [1, 3]]);
  });

  it('threshold is strict: a pair at exactly 0.5 stays apart', () => {
    expect(agglomerativeClusters(dist(2, { '0,1': 0.5 }), 2, 0.5)).toEqual([[0], [1]]);
    expect(agglomerativeClusters(dist(2, { '0,1': 0.4375 }), 2, 0.5)).toEqual([[0, 1]]);
    expect(agglomerativeClusters(dist(2, { '0,1': 0.5 }), 2, 0.5625)).toEqual([[0, 1]]);
  });

  it('chain: distance ties go to the lowest indices; average (not single) linkage decides the rest', () => {
    // d01 = d12 = 0.25 (tie → merge (0,1), not (1,2)); then {0,1}–2 = (d02 + d12)/2.
    // d02 = 0.75: (0.75+0.25)/2 = 0.5, not < 0.5 → stop (single linkage would merge at 0.25).
    expect(agglomerativeClusters(dist(3, { '0,1': 0.25, '1,2': 0.25, '0,2': 0.75 }), 3, 0.5)).toEqual([[0, 1], [2]]);
    // d02 = 0.625: (0.625+0.25)/2 = 0.4375 < 0.5 → one cluster (complete linkage would stop at 0.625).
    expect(agglomerativeClusters(dist(3, { '0,1': 0.25, '1,2': 0.25, '0,2': 0.625 }), 3, 0.5)).toEqual([[0, 1, 2]]);
  });

  it('trivial sizes and bad input', () => {
    expect(agglomerativeClusters(new Float64Array(0), 0, 0.5)).toEqual([]);
    expect(agglomerativeClusters(new Float64Array(1), 1, 0.5)).toEqual([[0]]);
    expect(() => agglomerativeClusters(new Float64Array(3), 2, 0.5)).toThrow(/k×k/);
    expect(() => agglomerativeClusters(new Float64Array(4), 2, NaN)).toThrow(/threshold/);
  });
});

describe('largestCluster', () => {
  it('largest wins; equal sizes → the one holding the lowest index', () => {
    expect(largestCluster([[0], [1, 3, 4], [2]])).toEqual({ kept: [1, 3, 4], suspicious: [[0], [2]] });
    expect(largestCluster([[1, 3], [2, 0]])).toEqual({ kept: [2, 0], suspicious: [[1, 3]] });
    expect(largestCluster([[0], [1], [2]])).toEqual({ kept: [0], suspicious: [[1], [2]] });
    expect(() => largestCluster([])).toThrow(/no clusters/);
  });
});

// Three conflicting updates, one column per case (shared by the TIES and signSGD tests).
const v1 = f32(1, -2, 3, 0, 0.5, 1, -1);
const v2 = f32(2, 1, -4, 0, 0, -1, -1);
const v3 = f32(-1, 3, -1, 0, 0, 0, 5);

describe('tiesMerge', () => {
  it('elects the sign by the sum and averages only the agreeing nonzero entries', () => {
    // i=0: 1+2−1 = 2 → +, mean{1,2} = 1.5
    // i=1: −2+1+3 = 2 → +, mean{1,3} = 2
    // i=2: 3−4−1 = −2 → −, mean{−4,−1} = −2.5
    // i=3: all 0 → 0
    // i=4: only 0.5 → +, mean{0.5} = 0.5 (the zeros do not dilute it to 1/6)
    // i=5: 1−1+0 = 0 → γ = 0 → 0
    // i=6: −1−1+5 = 3 → + although 2 of 3 are negative (sum, not count), mean{5} = 5
    expect(arr(tiesMerge([v1, v2, v3]))).toEqual([1.5, 2, -2.5, 0, 0.5, 0, 5]);
  });

  it('one vector is returned unchanged; bad input throws', () => {
    expect(arr(tiesMerge([f32(1, -2, 0, 3)]))).toEqual([1, -2, 0, 3]);
    expect(() => tiesMerge([])).toThrow(/no deltas/);
    expect(() => tiesMerge([f32(1), f32(1, 2)])).toThrow(/length mismatch/);
  });
});

describe('signMajority', () => {
  it('sign of the vote count; a tie gives 0', () => {
    // signs per column: (+ + −) (− + +) (+ − −) (0 0 0) (+ 0 0) (+ − 0) (− − +)
    // vote sums:          1       1      −1      0      1     0 tie   −1
    expect(arr(signMajority([v1, v2, v3]))).toEqual([1, 1, -1, 0, 1, 0, -1]);
    // unlike TIES at i=6 (5): one large positive does not outvote two negatives
    expect(arr(signMajority([v1, v2, v3], 0.5))).toEqual([0.5, 0.5, -0.5, 0, 0.5, 0, -0.5]);
    expect(arr(signMajority([f32(3, -1), f32(-0.1, 2)]))).toEqual([0, 0]);
  });
});

describe('ssca', () => {
  // Four honest sparse updates and one sign-flipped attacker (−h0) at index 2.
  const h0 = f32(1, -1, 2, 0, 0, 1);
  const h1 = f32(2, -1, 0, 1, 0, 1);
  const h2 = f32(1, 0, 1, 1, -1, 0);
  const h3 = f32(3, -2, 1, 0, 0, -1);
  const flip = f32(-1, 1, -2, 0, 0, -1);

  it('flags the sign-flipped client and TIES-merges the other four', () => {
    const { step, kept, suspicious, agreement } = ssca([h0, h1, flip, h2, h3]);
    // Honest pairs: h0·h1 common {0,1,5} 3/3 = 1; h0·h2 {0,2} 1; h0·h3 {0,1,2,5} (i=5 differs) 3/4;
    // h1·h2 {0,3} 1; h1·h3 {0,1,5} 2/3; h2·h3 {0,2} 1. The flip disagrees everywhere with h0, h1, h2 (0)
    // and agrees with h3 only at i=5 → 1/4. Average distance flip–{honest} = (1+1+1+0.75)/4 = 0.9375.
    const A = (i: number, j: number) => agreement[i * 5 + j];
    expect([A(0, 1), A(0, 3), A(0, 4), A(1, 3), A(1, 4), A(3, 4)]).toEqual([1, 1, 0.75, 1, 2 / 3, 1]);
    expect([A(2, 0), A(2, 1), A(2, 3), A(2, 4), A(2, 2)]).toEqual([0, 0, 0, 0.25, 1]);
    expect(kept).toEqual([0, 1, 3, 4]);
    expect(suspicious).toEqual([[2]]);
    // TIES of h0..h3 per column: (1,2,1,3) → 7/4; (−1,−1,0,−2) → −4/3; (2,0,1,1) → 4/3; (0,1,1,0) → 1;
    // (0,0,−1,0) → −1; (1,1,0,−1) sum 1 → mean{1,1} = 1 (with the flip the sum would be 0 → 0).
    const expected = [1.75, -4 / 3, 4 / 3, 1, -1, 1].map(Math.fround);
    expect(arr(step)).toEqual(expected);
    expect(arr(tiesMerge([h0, h1, h2, h3]))).toEqual(expected);
  });

  it('agreement of exactly 0.5 does not merge at the default threshold', () => {
    const a = f32(1, -2, 0, 3);
    const b = f32(2, 0, 0, -1); // A = 0.5 → distance 0.5
    const r = ssca([a, b]);
    expect([r.kept, r.suspicious]).toEqual([[0], [[1]]]);
    expect(arr(r.step)).toEqual([1, -2, 0, 3]);
    // A looser threshold keeps both: TIES (1,2) → 1.5; (−2,0) → −2; 0; (3,−1) sum 2 → 3
    const loose = ssca([a, b], { threshold: 0.75 });
    expect([loose.kept, loose.suspicious]).toEqual([[0, 1], []]);
    expect(arr(loose.step)).toEqual([1.5, -2, 0, 3]);
  });

  it('rejects an empty round', () => {
    expect(() => ssca([])).toThrow(/no deltas/);
  });
});

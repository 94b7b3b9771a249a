import { describe, expect, it } from 'vitest';
import { classRelevance, clientMixing, mixVectors, type ClientPrototypes } from './query-aggregation';

const f = (...v: number[]) => Float32Array.from(v);

// Hand case, τ_a = 0.5 (so exp(cos/τ_a) = exp(2·cos)); z_0 = (1, 0), z_1 = (0, 1).
//   client 0: u_{0,0} = (1, 0)  cos 1,  n 30;  u_{0,1} = (1, 1)  cos 1/√2, n 10   (n_0 = 40)
//   client 1: u_{1,0} = (0, 1)  cos 0,  n 10;  u_{1,1} = (0, 2)  cos 1,    n 30   (n_1 = 40)
// class 0: 30·e² = 30·7.389056 = 221.6717, 10·e⁰ = 10            → π_{0,0} = 221.6717/231.6717 = 0.956835, π_{1,0} = 0.043165
// class 1: 10·e^√2 = 10·4.113250 = 41.1325, 30·e² = 221.6717     → π_{0,1} = 41.1325/262.8042 = 0.156514, π_{1,1} = 0.843486
// β_0 ∝ ¾·π_{·,0} + ¼·π_{·,1} = [0.717626 + 0.039128, 0.032373 + 0.210872] = [0.756755, 0.243245]  (already sums to 1)
// β_1 ∝ ¼·π_{·,0} + ¾·π_{·,1} = [0.239209 + 0.117385, 0.010791 + 0.632615] = [0.356594, 0.643406]
const Z = [f(1, 0), f(0, 1)];
const HAND: ClientPrototypes[] = [
  { u: [f(1, 0), f(1, 1)], n: [30, 10] },
  { u: [f(0, 1), f(0, 2)], n: [10, 30] },
];

const close = (got: number[][], want: number[][], digits = 5) =>
  got.forEach((row, i) => row.forEach((v, j) => expect(v).toBeCloseTo(want[i][j], digits)));

describe('classRelevance', () => {
  it('hand case', () => {
    close(classRelevance(Z, HAND, 0.5), [[0.956835, 0.156514], [0.043165, 0.843486]]);
  });

  it('a class only one client holds gets π = 1 there; a class nobody holds gets 0s', () => {
    const p: ClientPrototypes[] = [
      { u: [f(1, 0), null, null], n: [5, 0, 0] },
      { u: [f(-1, 0), f(0, 1), null], n: [5, 7, 0] },
    ];
    const pi = classRelevance([f(1, 0), f(0, 1), f(1, 1)], p);
    // class 0 at τ_a = 0.1: e^10·5 vs e^-10·5 → π_{0,0} = 1/(1 + e^-20) ≈ 1 − 2.1e-9
    expect(pi[0][0]).toBeCloseTo(1, 8);
    expect(pi[0][1]).toBe(0);
    expect(pi[1][1]).toBe(1);
    expect([pi[0][2], pi[1][2]]).toEqual([0, 0]);
  });

  it('is stable when exp(cos/τ_a) alone would overflow', () => {
    // τ_a = 1e-3: cos/τ_a up to 1000 (exp → Infinity without the max subtraction).
    const pi = classRelevance(Z, HAND, 1e-3);
    expect(pi.flat().every(Number.isFinite)).toBe(true);
    close(pi, [[1, 0], [0, 1]], 8);
  });

  it('rejects a count without a prototype and mismatched shapes', () => {
    expect(() => classRelevance(Z, [{ u: [null, f(0, 1)], n: [3, 1] }])).toThrow(/no prototype/);
    expect(() => classRelevance(Z, [{ u: [f(1, 0)], n: [3] }])).toThrow(/classes/);
  });
});

describe('clientMixing', () => {
  it('hand case', () => {
    const beta = clientMixing(classRelevance(Z, HAND, 0.5), HAND.map((p) => p.n));
    close(beta, [[0.756755, 0.243245], [0.356594, 0.643406]]);
    beta.forEach((row) => expect(row[0] + row[1]).toBeCloseTo(1, 12));
  });

  it('zero counts: a client without data gets the global weights n_j/n', () => {
    const p: ClientPrototypes[] = [
      { u: [f(1, 0), null], n: [10, 0] },
      { u: [f(0, 1), f(0, 1)], n: [10, 30] },
      { u: [null, null], n: [0, 0] },
    ];
    const pi = classRelevance(Z, p);
    expect(pi[2]).toEqual([0, 0]);
    const beta = clientMixing(pi, p.map((q) => q.n));
    expect(beta[2]).toEqual([0.2, 0.8, 0]);
    expect(beta[1][2]).toBe(0); // nobody mixes in the empty client
    // client 0 holds class 0 only: β_0 = π_{·,0}; client 1 is the only holder of class 1, so π_{1,1} = 1.
    expect(beta[0]).toEqual([pi[0][0], pi[1][0], 0]);
    expect(pi[1][1]).toBe(1);
    expect(clientMixing([[0], [0]], [[0], [0]])).toEqual([[0.5, 0.5], [0.5, 0.5]]); // nobody has data
  });
});

describe('mixVectors', () => {
  it('weighted sum in float64', () => {
    // 0.25·[1, 2] + 0.75·[−1, 6] = [0.25 − 0.75, 0.5 + 4.5] = [−0.5, 5]
    expect(Array.from(mixVectors([0.25, 0.75], [f(1, 2), f(-1, 6)]))).toEqual([-0.5, 5]);
    // 1 + 1e4·1e-8 terms: float32 accumulation would drop every 1e-8 (below half an ulp of 1), float64 keeps them.
    const vs = [f(1), ...Array.from({ length: 10000 }, () => f(1e-8))];
    expect(mixVectors(new Array(vs.length).fill(1), vs)[0]).toBeCloseTo(1.0001, 6);
  });

  it('rejects mismatched inputs', () => {
    expect(() => mixVectors([1], [f(1), f(2)])).toThrow(/weights/);
    expect(() => mixVectors([1, 1], [f(1), f(2, 3)])).toThrow(/length/);
    expect(() => mixVectors([], [])).toThrow(/no vectors/);
  });
});

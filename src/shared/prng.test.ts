import { describe, expect, it } from 'vitest';
import { createRng, cyrb128, deriveSeed, sampleWithoutReplacement, sfc32, shuffle } from './prng';

const draw = (n: number, f: () => number) => Array.from({ length: n }, f);
function meanVar(xs: number[]): [number, number] {
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  return [m, xs.reduce((a, b) => a + (b - m) ** 2, 0) / xs.length];
}

describe('reference sequence', () => {
  // Checked against a C transcription of PractRand's sfc32 (tmp = a+b+counter++; a = b^(b>>9); b = c+(c<<3);
  // c = rotl(c,21)+tmp) seeded with a uint32 C port of bryc's cyrb128, compiled with gcc.
  it('cyrb128("42") and the first sfc32 outputs', () => {
    expect(cyrb128('42')).toEqual([2814168319, 14930478, 1039855864, 944835771]);
    const g = sfc32(...cyrb128('42'));
    expect(draw(5, g)).toEqual([3773934568, 1728522555, 1708811191, 2267848570, 2448453080]);
    expect(cyrb128('apples')).toEqual([1353502818, 2189370424, 187770103, 4227467030]);
    expect(draw(3, sfc32(...cyrb128('apples')))).toEqual([3475372976, 3807539056, 1053067541]);
  });

  it('createRng(42).next() is the uint32 stream / 2^32, and a number seed equals its decimal string', () => {
    const r = createRng(42);
    expect(draw(3, () => r.next())).toEqual([3773934568 / 2 ** 32, 1728522555 / 2 ** 32, 1708811191 / 2 ** 32]);
    const a = createRng(42), b = createRng('42');
    expect(draw(10, () => a.next())).toEqual(draw(10, () => b.next()));
  });

  it('different seeds give different streams', () => {
    const seqs = [0, 1, 2, 'a', 'b'].map((s) => { const r = createRng(s); return draw(4, () => r.next()).join(); });
    expect(new Set(seqs).size).toBe(5);
  });
});

describe('deriveSeed', () => {
  it('is deterministic, uint32, and label-sensitive', () => {
    expect(deriveSeed(7, 'round', 3)).toBe(deriveSeed(7, 'round', 3));
    const seeds = [deriveSeed(7, 'partition'), deriveSeed(7, 'round', 1), deriveSeed(7, 'round', 2), deriveSeed(7, 'round', '1'), deriveSeed(8, 'round', 1), deriveSeed(7, 'roun', 'd1')];
    expect(new Set(seeds).size).toBe(seeds.length);
    for (const s of seeds) expect(Number.isInteger(s) && s >= 0 && s < 2 ** 32).toBe(true);
  });

  it('sub-streams are uncorrelated', () => {
    const a = createRng(deriveSeed(1, 'round', 1)), b = createRng(deriveSeed(1, 'round', 2));
    const n = 20000;
    const xs = draw(n, () => a.next()), ys = draw(n, () => b.next());
    const [mx, vx] = meanVar(xs), [my, vy] = meanVar(ys);
    let cov = 0;
    for (let i = 0; i < n; i++) cov += (xs[i] - mx) * (ys[i] - my);
    expect(Math.abs(cov / n / Math.sqrt(vx * vy))).toBeLessThan(0.03); // 4σ for n = 20000
  });
});

describe('distributions (seeded, loose bounds)', () => {
  it('next in [0,1) with mean 1/2, var 1/12; int covers 0..n-1 uniformly', () => {
    const r = createRng(1);
    const xs = draw(50000, () => r.next());
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
    const [m, v] = meanVar(xs);
    expect(m).toBeCloseTo(0.5, 2);
    expect(v).toBeCloseTo(1 / 12, 2);
    const counts = new Array(7).fill(0);
    for (let i = 0; i < 70000; i++) counts[r.int(7)]++;
    const chi2 = counts.reduce((a, c) => a + (c - 10000) ** 2 / 10000, 0);
    expect(chi2).toBeLessThan(22.5); // p ≈ 0.001 for 6 dof
    expect(() => r.int(0)).toThrow(/positive integer/);
  });

  it('normal has mean 0, variance 1', () => {
    const r = createRng(2);
    const [m, v] = meanVar(draw(50000, () => r.normal()));
    expect(Math.abs(m)).toBeLessThan(0.02);
    expect(Math.abs(v - 1)).toBeLessThan(0.03);
  });

  it.each([0.05, 0.3, 1, 2.5, 10])('gamma(%f) has mean = var = shape', (shape) => {
    const r = createRng(`gamma${shape}`);
    const xs = draw(40000, () => r.gamma(shape));
    expect(xs.every((x) => x >= 0 && Number.isFinite(x))).toBe(true);
    const [m, v] = meanVar(xs);
    expect(Math.abs(m - shape) / shape).toBeLessThan(0.05);
    expect(Math.abs(v - shape) / shape).toBeLessThan(0.15);
  });

  it('gamma rejects shape <= 0', () => {
    expect(() => createRng(1).gamma(0)).toThrow(/shape/);
  });

  it('dirichlet sums to 1 with mean 1/k and var (1/k)(1−1/k)/(kα+1)', () => {
    const r = createRng(3);
    const k = 4, alpha = 0.5, n = 20000;
    const first: number[] = [];
    for (let i = 0; i < n; i++) {
      const p = r.dirichlet(alpha, k);
      expect(Math.abs(p.reduce((a, b) => a + b, 0) - 1)).toBeLessThan(1e-12);
      first.push(p[0]);
    }
    const [m, v] = meanVar(first);
    expect(Math.abs(m - 0.25)).toBeLessThan(0.01);
    expect(Math.abs(v - (0.25 * 0.75) / 3) / ((0.25 * 0.75) / 3)).toBeLessThan(0.05);
  });

  it('dirichlet with tiny alpha stays finite and normalised (no 0/0)', () => {
    const p = createRng(4).dirichlet(0.001, 10);
    expect(p.every((x) => Number.isFinite(x) && x >= 0)).toBe(true);
    expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    expect(Math.max(...p)).toBeGreaterThan(0.9); // mass collapses onto one component
  });

});

describe('shuffle and sampling', () => {
  it('shuffle is an in-place permutation, deterministic per seed, for arrays and typed arrays', () => {
    const a = Array.from({ length: 100 }, (_, i) => i);
    const out = shuffle(a, createRng(9));
    expect(out).toBe(a);
    expect([...a].sort((x, y) => x - y)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(a).not.toEqual(Array.from({ length: 100 }, (_, i) => i));
    const t = shuffle(Int32Array.from({ length: 100 }, (_, i) => i), createRng(9));
    expect(Array.from(t)).toEqual(a);
  });

  it('shuffle is uniform over the 6 permutations of 3 items', () => {
    const r = createRng(10);
    const counts = new Map<string, number>();
    for (let i = 0; i < 60000; i++) {
      const k = shuffle([0, 1, 2], r).join('');
      counts.set(k, (counts.get(k) ?? 0) + 1);
    }
    expect(counts.size).toBe(6);
    for (const c of counts.values()) expect(Math.abs(c - 10000)).toBeLessThan(400);
  });

  it('sampleWithoutReplacement gives k distinct values in range with uniform inclusion', () => {
    const r = createRng(11);
    const hits = new Array(20).fill(0);
    for (let t = 0; t < 10000; t++) {
      const s = sampleWithoutReplacement(20, 5, r);
      expect(new Set(s).size).toBe(5);
      for (const x of s) hits[x]++;
    }
    for (const h of hits) expect(Math.abs(h - 2500)).toBeLessThan(200);
    expect(sampleWithoutReplacement(10, 10, r).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(sampleWithoutReplacement(5, 0, r)).toEqual([]);
    expect(sampleWithoutReplacement(1e9, 3, r).every((x) => x >= 0 && x < 1e9)).toBe(true);
    expect(() => sampleWithoutReplacement(3, 4, r)).toThrow(/k <= n/);
  });
});

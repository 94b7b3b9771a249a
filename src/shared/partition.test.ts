import { describe, expect, it } from 'vitest';
import {
  PARTITION_SCHEMES,
  clientIndices,
  labelAssignment,
  labelHistogram,
  longtailClassCounts,
  meanTotalVariation,
  partitionIndices,
  totalVariation,
  validatePartitionParams,
  type PartitionParams,
} from './partition';

// 10 classes × 600 samples, interleaved so "sort by label" is not the identity.
const N = 6000, C = 10;
const labels = Uint8Array.from({ length: N }, (_, i) => (i * 7) % C);

function checkParts(parts: Int32Array[], n: number): void {
  const seen = new Uint8Array(n);
  let bad = 0;
  for (const p of parts) {
    for (let i = 0; i < p.length; i++) {
      if (!(p[i] >= 0 && p[i] < n) || (i > 0 && p[i] <= p[i - 1]) || seen[p[i]]) bad++; // in range, ascending, disjoint
      seen[p[i]] = 1;
    }
  }
  expect(bad).toBe(0);
}
const sizes = (parts: Int32Array[]) => parts.map((p) => p.length);
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
const distinctLabels = (p: Int32Array) => labelHistogram(labels, p, C).filter((c) => c > 0).length;

describe('iid', () => {
  it('uses every sample, equal sizes ±1, low label skew', () => {
    const parts = partitionIndices(labels.subarray(0, 5997), C, 10, { scheme: 'iid' }, 1);
    checkParts(parts, 5997);
    expect(sizes(parts)).toEqual([600, 600, 600, 600, 600, 600, 600, 599, 599, 599]);
    expect(meanTotalVariation(labels, parts, C)).toBeLessThan(0.1);
  });
});

describe('shards', () => {
  it('K=10, 2 shards each: 20 shards of 300 aligned with classes → exactly 600 samples, ≤ 2 labels, counts in multiples of 300', () => {
    const parts = partitionIndices(labels, C, 10, { scheme: 'shards', shardsPerClient: 2 }, 1);
    checkParts(parts, N);
    expect(sizes(parts)).toEqual(new Array(10).fill(600));
    for (const p of parts) {
      expect(distinctLabels(p)).toBeLessThanOrEqual(2);
      for (const c of labelHistogram(labels, p, C)) expect(c % 300).toBe(0);
    }
    expect(meanTotalVariation(labels, parts, C)).toBeGreaterThan(0.75); // each client sees 1–2 of 10 classes
  });

  it('unaligned: K=7, 3 shards each → 21 shards of ⌊6000/21⌋ = 285; 15 samples unused', () => {
    const parts = partitionIndices(labels, C, 7, { scheme: 'shards', shardsPerClient: 3 }, 2);
    checkParts(parts, N);
    expect(sizes(parts)).toEqual(new Array(7).fill(855));
    // a 285-sample shard of label-sorted data spans at most 2 labels
    for (const p of parts) expect(distinctLabels(p)).toBeLessThanOrEqual(6);
  });
});

describe('labels (#C=k)', () => {
  it.each([1, 2, 3])('k=%i: each client holds exactly k labels (label i mod C first), each label split equally among its owners', (k) => {
    const K = 13;
    const params: PartitionParams = { scheme: 'labels', labelsPerClient: k };
    const parts = partitionIndices(labels, C, K, params, 5);
    checkParts(parts, N);
    const owned = labelAssignment(K, C, k, 5);
    parts.forEach((p, i) => {
      expect(owned[i][0]).toBe(i % C);
      expect(new Set(owned[i]).size).toBe(k);
      const h = labelHistogram(labels, p, C);
      expect(h.map((c, l) => (c > 0 ? l : -1)).filter((l) => l >= 0)).toEqual([...owned[i]].sort((a, b) => a - b));
    });
    for (let c = 0; c < C; c++) {
      const owners = owned.map((ls, i) => (ls.includes(c) ? i : -1)).filter((i) => i >= 0);
      const counts = owners.map((i) => labelHistogram(labels, parts[i], C)[c]);
      if (owners.length === 0) continue; // unowned labels are unused
      expect(sum(counts)).toBe(600);
      expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
    }
  });

  it('k=1 with K=C: client i gets all of label i', () => {
    const parts = partitionIndices(labels, C, C, { scheme: 'labels', labelsPerClient: 1 }, 3);
    parts.forEach((p, i) => expect(labelHistogram(labels, p, C)[i]).toBe(600));
  });
});

describe('dirichlet', () => {
  it('uses every sample, every client ≥ minSamples, balance step caps clients near N/K', () => {
    for (const alpha of [0.1, 0.5, 100]) {
      const parts = partitionIndices(labels, C, 20, { scheme: 'dirichlet', alpha }, 1);
      checkParts(parts, N);
      expect(sum(sizes(parts))).toBe(N);
      expect(Math.min(...sizes(parts))).toBeGreaterThanOrEqual(10);
      // a client stops receiving once it holds ≥ N/K = 300, so it can overshoot by at most one class (600)
      expect(Math.max(...sizes(parts))).toBeLessThan(300 + 600);
    }
  });

  it('label skew is much larger for α=0.1 than α=100', () => {
    const tv = (alpha: number) => meanTotalVariation(labels, partitionIndices(labels, C, 10, { scheme: 'dirichlet', alpha }, 1), C);
    expect(tv(0.1)).toBeGreaterThan(0.5);
    expect(tv(100)).toBeLessThan(0.1);
    expect(tv(0.5)).toBeGreaterThan(tv(100));
  });

  it('respects a custom minSamples', () => {
    const parts = partitionIndices(labels, C, 10, { scheme: 'dirichlet', alpha: 0.3, minSamples: 100 }, 4);
    expect(Math.min(...sizes(parts))).toBeGreaterThanOrEqual(100);
  });

  it('throws a clear error when alpha/clients are too extreme to give every client minSamples', () => {
    expect(() => partitionIndices(labels, C, 50, { scheme: 'dirichlet', alpha: 0.001 }, 1)).toThrow(/alpha is too small or there are too many clients/);
  });
});

describe('quantity', () => {
  it('sizes vary (Dir β) with every client ≥ minSamples, labels stay ~IID', () => {
    const parts = partitionIndices(labels, C, 10, { scheme: 'quantity', beta: 0.5 }, 1);
    checkParts(parts, N);
    const s = sizes(parts);
    expect(sum(s)).toBe(N);
    expect(Math.min(...s)).toBeGreaterThanOrEqual(10);
    expect(Math.max(...s) / Math.min(...s)).toBeGreaterThan(3);
    expect(meanTotalVariation(labels, parts, C)).toBeLessThan(0.2);
    const dir = partitionIndices(labels, C, 10, { scheme: 'dirichlet', alpha: 0.1 }, 1);
    expect(meanTotalVariation(labels, parts, C)).toBeLessThan(meanTotalVariation(labels, dir, C) / 3);
  });
});

describe('longtail', () => {
  // n_max = min(5000, 600) = 600; ⌊600·100^(−r/9)⌋ for r = 0..9 (100^(1/9) = 1.6681: 600/1.6681 = 359.7, …, 600/100 = 6)
  const IF100 = [600, 359, 215, 129, 77, 46, 27, 16, 10, 6];
  const IF10 = [600, 464, 359, 278, 215, 166, 129, 100, 77, 60];

  it.each([
    [100, IF100],
    [10, IF10],
  ])('IF=%i: class totals are ⌊n_max·IF^(−r/(C−1))⌋ under a seeded rank permutation', (imbalanceFactor, expected) => {
    const K = 5;
    const parts = partitionIndices(labels, C, K, { scheme: 'longtail', imbalanceFactor, alpha: 0.5 }, 7);
    checkParts(parts, N);
    const global = labelHistogram(labels, Int32Array.from(parts.flatMap((p) => Array.from(p))), C);
    expect([...global].sort((a, b) => b - a)).toEqual(expected);
    expect(global).toEqual(longtailClassCounts(new Array(C).fill(600), imbalanceFactor, 7));
    expect(Math.min(...sizes(parts))).toBeGreaterThanOrEqual(10);
  });

  it('the rank permutation depends on the seed; n_max caps at 5000 and at the smallest class', () => {
    const orders = new Set([1, 2, 3, 4, 5].map((s) => longtailClassCounts(new Array(C).fill(600), 100, s).join()));
    expect(orders.size).toBeGreaterThan(1);
    expect(Math.max(...longtailClassCounts([6000, 5900, 5800], 10, 1))).toBe(5000);
    const capped = longtailClassCounts([700, 300, 900], 9, 1); // n_max = 300, 9^(−1/2) = 1/3
    expect([...capped].sort((a, b) => b - a)).toEqual([300, 100, 33]);
  });
});

describe('fedprox (FedProx MNIST)', () => {
  it('1000 clients on 60k MNIST-sized labels: two digits each (u, u+1 mod 10), ≥ 5 of each, power-law sizes', () => {
    const big = Uint8Array.from({ length: 60_000 }, (_, i) => (i * 7) % C);
    const parts = partitionIndices(big, C, 1000, { scheme: 'fedprox' }, 3);
    checkParts(parts, big.length);
    for (const u of [0, 1, 9, 10, 999]) {
      const h = labelHistogram(big, parts[u], C);
      const held = h.flatMap((n, c) => (n > 0 ? [c] : []));
      expect(held, `client ${u}`).toEqual([u % 10, (u + 1) % 10].sort((a, b) => a - b));
      expect(Math.min(...held.map((c) => h[c]))).toBeGreaterThanOrEqual(5);
    }
    const n = sizes(parts);
    const mean = sum(n) / n.length;
    const sd = Math.sqrt(sum(n.map((x) => (x - mean) ** 2)) / n.length);
    // Rounding down each share loses < 1 sample per (client, digit): at most 2000 of 60,000.
    expect(sum(n)).toBeGreaterThan(58_000);
    expect(sum(n)).toBeLessThanOrEqual(60_000);
    // A power law: the spread is larger than the mean (FedProx's own: 69 ± 106 on 70k), the median well below it.
    expect(sd).toBeGreaterThan(mean);
    expect([...n].sort((a, b) => a - b)[500]).toBeLessThan(mean / 2);
    expect(Math.min(...n)).toBeGreaterThanOrEqual(10);
  });

  it('refuses more clients than the seed samples allow, saying how many it needs', () => {
    expect(() => partitionIndices(labels, C, 1000, { scheme: 'fedprox' }, 1)).toThrow(/1000 clients × 2 digits × 5 seed samples need about 10000 samples, have 6000/);
  });
});

describe('determinism', () => {
  const schemes: PartitionParams[] = [
    { scheme: 'iid' },
    { scheme: 'dirichlet', alpha: 0.5 },
    { scheme: 'shards' },
    { scheme: 'labels', labelsPerClient: 2 },
    { scheme: 'quantity' },
    { scheme: 'longtail' },
  ];
  it.each(schemes)('$scheme: same seed → identical, different seed → different', (params) => {
    const a = partitionIndices(labels, C, 10, params, 11);
    const b = partitionIndices(labels, C, 10, params, 11);
    const c = partitionIndices(labels, C, 10, params, 12);
    expect(b).toEqual(a);
    expect(c).not.toEqual(a);
  });
});

describe('clientIndices', () => {
  const params: PartitionParams = { scheme: 'dirichlet', alpha: 0.5 };
  const full = partitionIndices(labels, C, 10, params, 3);

  it('without a cap equals the client’s share of partitionIndices (a copy)', () => {
    for (let i = 0; i < 10; i++) expect(clientIndices(labels, C, 10, params, 3, i)).toEqual(full[i]);
    expect(clientIndices(labels, C, 10, params, 3, 2, 0)).toEqual(full[2]);
    const copy = clientIndices(labels, C, 10, params, 3, 0);
    copy[0] = -1;
    expect(clientIndices(labels, C, 10, params, 3, 0)[0]).toBe(full[0][0]);
  });

  it('with maxSamples: at most the cap, a sorted subset of the share, deterministic, client-specific', () => {
    for (let i = 0; i < 10; i++) {
      const sub = clientIndices(labels, C, 10, params, 3, i, 50);
      expect(sub.length).toBe(Math.min(50, full[i].length));
      const share = new Set(full[i]);
      for (let j = 0; j < sub.length; j++) {
        expect(share.has(sub[j])).toBe(true);
        if (j > 0) expect(sub[j]).toBeGreaterThan(sub[j - 1]);
      }
      expect(clientIndices(labels, C, 10, params, 3, i, 50)).toEqual(sub);
    }
    const big = full.findIndex((p) => p.length > 100);
    expect(clientIndices(labels, C, 10, params, 3, big, 50)).not.toEqual(full[big].subarray(0, 50));
    expect(clientIndices(labels, C, 10, params, 4, big, 50)).not.toEqual(clientIndices(labels, C, 10, params, 3, big, 50));
  });

  it('rejects a bad client id or cap', () => {
    expect(() => clientIndices(labels, C, 10, params, 3, 10)).toThrow(/client must be/);
    expect(() => clientIndices(labels, C, 10, params, 3, 0, -1)).toThrow(/maxSamples/);
  });
});

describe('validatePartitionParams', () => {
  it('fills defaults', () => {
    expect(validatePartitionParams({ scheme: 'dirichlet' }, 10, 10, 6000)).toEqual({
      scheme: 'dirichlet', alpha: 0.5, shardsPerClient: 2, labelsPerClient: 2, beta: 0.5, imbalanceFactor: 10, minSamples: 10,
    });
  });

  it('names the valid schemes for an unknown one', () => {
    expect(() => validatePartitionParams({ scheme: 'pathological' }, 10, 10, 6000)).toThrow(
      /unknown partition scheme "pathological"; valid schemes: iid, dirichlet, shards, labels, quantity, longtail/,
    );
    expect(() => validatePartitionParams(null, 10, 10, 6000)).toThrow(new RegExp(PARTITION_SCHEMES.join(', ')));
  });

  it('rejects out-of-range values with the range in the message', () => {
    expect(() => validatePartitionParams({ scheme: 'dirichlet', alpha: 0 }, 10, 10, 6000)).toThrow(/alpha must be > 0/);
    expect(() => validatePartitionParams({ scheme: 'dirichlet', alpha: -1 }, 10, 10, 6000)).toThrow(/alpha must be > 0/);
    expect(() => validatePartitionParams({ scheme: 'dirichlet', alpha: '1' }, 10, 10, 6000)).toThrow(/alpha must be a finite number/);
    expect(() => validatePartitionParams({ scheme: 'shards', shardsPerClient: 2 }, 100, 10, 150)).toThrow(/200 shards, but only 150 samples/);
    expect(() => validatePartitionParams({ scheme: 'labels', labelsPerClient: 11 }, 10, 10, 6000)).toThrow(/labelsPerClient must be an integer in 1..10/);
    expect(() => validatePartitionParams({ scheme: 'labels', labelsPerClient: 0 }, 10, 10, 6000)).toThrow(/labelsPerClient/);
    expect(() => validatePartitionParams({ scheme: 'quantity' }, 100, 10, 999)).toThrow(/minSamples 10 = 1000 samples needed, have 999/);
    expect(() => validatePartitionParams({ scheme: 'longtail', imbalanceFactor: 0.5 }, 10, 10, 6000)).toThrow(/imbalanceFactor must be >= 1/);
    expect(() => validatePartitionParams({ scheme: 'iid' }, 0, 10, 6000)).toThrow(/numClients/);
  });

  it('partitionIndices validates too', () => {
    expect(() => partitionIndices(labels, C, 10, { scheme: 'nope' } as unknown as PartitionParams, 1)).toThrow(/valid schemes/);
    expect(() => partitionIndices(Uint8Array.of(0, 1, 12), C, 1, { scheme: 'dirichlet', minSamples: 1 }, 1)).toThrow(/label 12/);
  });
});

describe('histograms and total variation', () => {
  it('labelHistogram counts the labels of the given indices', () => {
    expect(labelHistogram(Uint8Array.of(2, 0, 2, 1, 2), [0, 2, 3], 3)).toEqual([0, 1, 2]);
  });

  it('TV hand example: p=[1,1,0,0] → [.5,.5,0,0], q=[0,1,1,2] → [0,.25,.25,.5]; ½(.5+.25+.25+.5) = 0.75', () => {
    expect(totalVariation([1, 1, 0, 0], [0, 1, 1, 2])).toBeCloseTo(0.75, 12);
    expect(totalVariation([0.5, 0.5, 0, 0], [0, 0.25, 0.25, 0.5])).toBeCloseTo(0.75, 12); // counts or probabilities
    expect(totalVariation([3, 1], [30, 10])).toBe(0);
    expect(totalVariation([1, 0], [0, 5])).toBe(1);
    expect(() => totalVariation([0, 0], [1, 1])).toThrow(/positive total/);
    expect(() => totalVariation([1], [1, 1])).toThrow(/length mismatch/);
  });

  it('meanTotalVariation against the union histogram', () => {
    const y = Uint8Array.of(0, 0, 1, 1);
    expect(meanTotalVariation(y, [[0, 1], [2, 3]], 2)).toBeCloseTo(0.5, 12); // each client is pure, global is [½,½]
    expect(meanTotalVariation(y, [[0, 2], [1, 3]], 2)).toBe(0);
    // parts [0,1,2] (hist [2,1]) and [3] ([0,1]); union [2,2]: TV = |2/3−½| = 1/6 and ½ → mean 1/3
    expect(meanTotalVariation(y, [[0, 1, 2], [3]], 2)).toBeCloseTo(1 / 3, 12);
  });
});

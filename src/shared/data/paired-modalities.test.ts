import { describe, expect, it } from 'vitest';
import {
  MODALITIES,
  addGaussianNoise,
  availabilityCounts,
  fixedTestPairs,
  modalityAvailability,
  pairByLabel,
  type Modality,
} from './paired-modalities.ts';

const C = 10;
// Unequal class sizes on both sides, interleaved so neither set is sorted by label.
const primary = Uint8Array.from({ length: 6000 }, (_, i) => (i * 7) % C);
const secondary = Uint8Array.from({ length: 5000 }, (_, i) => (i * 3 + (i % 11 === 0 ? 1 : 0)) % C);

function checkPairs(pairs: Int32Array, p: Uint8Array, s: Uint8Array): void {
  expect(pairs.length).toBe(p.length);
  let bad = 0;
  for (let i = 0; i < pairs.length; i++) if (!(pairs[i] >= 0 && pairs[i] < s.length) || s[pairs[i]] !== p[i]) bad++;
  expect(bad).toBe(0);
}
const same = (a: Int32Array, b: Int32Array) => a.every((x, i) => x === b[i]);

describe('pairByLabel', () => {
  it('pairs every primary sample with an in-range secondary sample of the same label', () => {
    checkPairs(pairByLabel(primary, secondary, C, 1, 0), primary, secondary);
    checkPairs(pairByLabel(primary, secondary, C, 1, 3), primary, secondary);
  });

  it('is deterministic in (seed, epoch) and re-draws per epoch and per seed', () => {
    const a = pairByLabel(primary, secondary, C, 7, 2);
    expect(same(a, pairByLabel(primary, secondary, C, 7, 2))).toBe(true);
    expect(same(a, pairByLabel(primary, secondary, C, 7, 3))).toBe(false);
    expect(same(a, pairByLabel(primary, secondary, C, 8, 2))).toBe(false);
    expect(same(pairByLabel(primary, secondary, C, 7), pairByLabel(primary, secondary, C, 7, 0))).toBe(true);
  });

  it('deals each class like a deck: every secondary sample used before any is reused', () => {
    // 600 primaries per class against ~500 secondaries: each secondary is used once or twice, never 3 times or 0.
    const uses = new Int32Array(secondary.length);
    for (const j of pairByLabel(primary, secondary, C, 5, 0)) uses[j]++;
    expect(Math.min(...uses)).toBe(1);
    expect(Math.max(...uses)).toBe(2);
  });

  it('throws when a primary class has no secondary sample', () => {
    const noSeven = secondary.map((y) => (y === 7 ? 6 : y));
    expect(() => pairByLabel(primary, noSeven, C, 1)).toThrow(/class 7 .*no secondary sample/);
    // A class absent from both sides is fine.
    expect(() => pairByLabel(primary.map((y) => (y === 7 ? 6 : y)), noSeven, C, 1)).not.toThrow();
    expect(() => pairByLabel(primary, secondary, 5, 1)).toThrow(/>= numClasses/);
    expect(() => pairByLabel(primary, secondary, C, 1, -1)).toThrow(/epoch/);
  });
});

describe('fixedTestPairs', () => {
  it('is label-consistent, seeded, and a different stream from the training pairing', () => {
    const t = fixedTestPairs(primary, secondary, C, 3);
    checkPairs(t, primary, secondary);
    expect(same(t, fixedTestPairs(primary, secondary, C, 3))).toBe(true);
    expect(same(t, fixedTestPairs(primary, secondary, C, 4))).toBe(false);
    expect(same(t, pairByLabel(primary, secondary, C, 3, 0))).toBe(false);
  });
});

describe('modalityAvailability', () => {
  const key = (m: readonly Modality[]) => m.join('+');
  const tally = (a: Array<readonly Modality[]>) => {
    const t = { both: 0, primaryOnly: 0, secondaryOnly: 0 };
    for (const m of a) {
      if (m.length === 2) t.both++;
      else if (m[0] === 'mnist') t.primaryOnly++;
      else t.secondaryOnly++;
    }
    return t;
  };

  it('gives exact largest-remainder counts', () => {
    // K=4: quotas 2, 1, 1 exact. K=10: 5, 2.5, 2.5 → floors 5/2/2, the one left over goes to the tie's earlier group.
    // K=7: 3.5, 1.75, 1.75 → floors 3/1/1, two left over go to the largest remainders (.75, .75).
    expect(availabilityCounts(4)).toEqual({ both: 2, primaryOnly: 1, secondaryOnly: 1 });
    expect(availabilityCounts(10)).toEqual({ both: 5, primaryOnly: 3, secondaryOnly: 2 });
    expect(availabilityCounts(7)).toEqual({ both: 3, primaryOnly: 2, secondaryOnly: 2 });
    expect(availabilityCounts(1)).toEqual({ both: 1, primaryOnly: 0, secondaryOnly: 0 });
    // 10·0.3 = 2.9999999999999996 in floating point must still floor to 3.
    expect(availabilityCounts(10, { both: 0.4, primaryOnly: 0.3, secondaryOnly: 0.3 })).toEqual({ both: 4, primaryOnly: 3, secondaryOnly: 3 });
    for (const k of [4, 10, 7]) expect(tally(modalityAvailability(k, 1))).toEqual(availabilityCounts(k));
  });

  it('never leaves a client without a modality, lists them in MODALITIES order, and is deterministic by seed', () => {
    const a = modalityAvailability(20, 11);
    for (const m of a) {
      expect(m.length).toBeGreaterThan(0);
      expect([...m]).toEqual(MODALITIES.filter((x) => m.includes(x)));
    }
    expect(a.map(key)).toEqual(modalityAvailability(20, 11).map(key));
    expect(a.map(key)).not.toEqual(modalityAvailability(20, 12).map(key));
  });

  it('validates the shares and the client count', () => {
    expect(() => availabilityCounts(10, { both: 0.5, primaryOnly: 0.3, secondaryOnly: 0.3 })).toThrow(/sum to 1/);
    expect(() => availabilityCounts(10, { both: 1.2, primaryOnly: -0.2, secondaryOnly: 0 })).toThrow(/primaryOnly must be/);
    expect(() => availabilityCounts(10, { both: NaN, primaryOnly: 0.5, secondaryOnly: 0.5 })).toThrow(/both must be/);
    expect(() => modalityAvailability(0, 1)).toThrow(/numClients/);
    expect(availabilityCounts(10, { both: 1, primaryOnly: 0, secondaryOnly: 0 })).toEqual({ both: 10, primaryOnly: 0, secondaryOnly: 0 });
  });
});

describe('addGaussianNoise', () => {
  const stats = (x: Float32Array) => {
    let m = 0;
    for (const v of x) m += v;
    m /= x.length;
    let s = 0;
    for (const v of x) s += (v - m) ** 2;
    return { mean: m, std: Math.sqrt(s / (x.length - 1)) };
  };

  it('adds N(0, σ²) in [0,1] pixel units, seeded', () => {
    // 128/255 = 0.50196 sits 5σ from either bound at σ = 0.1, so clipping is negligible.
    const img = new Uint8Array(200_000).fill(128);
    const noisy = addGaussianNoise(img, 0.1, 42);
    const { mean, std } = stats(noisy);
    expect(mean).toBeCloseTo(128 / 255, 3); // s.e. 0.1/√2e5 = 2e-4
    expect(std).toBeGreaterThan(0.099);
    expect(std).toBeLessThan(0.101);
    expect(addGaussianNoise(img, 0.1, 42)).toEqual(noisy);
    expect(addGaussianNoise(img, 0.1, 43)).not.toEqual(noisy);
  });

  it('clips to [0,1]: about half of the black and white pixels land on the bound at σ = 0.5', () => {
    const img = Uint8Array.from({ length: 20_000 }, (_, i) => (i % 2 ? 255 : 0));
    const noisy = addGaussianNoise(img, 0.5, 1);
    let atBound = 0, outside = 0;
    for (let i = 0; i < noisy.length; i++) {
      if (!(noisy[i] >= 0 && noisy[i] <= 1)) outside++;
      if (noisy[i] === (i % 2 ? 1 : 0)) atBound++;
    }
    expect(outside).toBe(0);
    expect(atBound / noisy.length).toBeGreaterThan(0.48);
    expect(atBound / noisy.length).toBeLessThan(0.52);
  });

  it('σ = 0 is plain scaling; a bad σ throws', () => {
    expect(Array.from(addGaussianNoise(Uint8Array.from([0, 51, 255]), 0, 1))).toEqual([0, Math.fround(0.2), 1]);
    expect(() => addGaussianNoise(new Uint8Array(1), -0.1, 1)).toThrow(/sigma/);
  });
});

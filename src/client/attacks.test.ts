import { afterEach, describe, expect, it } from 'vitest';
import { resolveConfig, type AttackId } from '../shared/config.ts';
import { createRng } from '../shared/prng.ts';
import { isTargeted, TARGET_LABEL, TARGET_SOURCE } from '../shared/targeted-attack.ts';
import { l2Norm } from '../shared/weights.ts';
import {
  attackScale,
  channelColluders,
  craftUpdate,
  forgeLosses,
  poisonedLabelMap,
  type Colluders,
} from './attacks.ts';

const f32 = (xs: number[]) => Float32Array.from(xs);

describe('poisonedLabelMap', () => {
  it('label-flip maps y → 9 − y for 10 classes (and L−1−y in general)', () => {
    expect(poisonedLabelMap('label-flip', 10)).toEqual([9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
    expect(poisonedLabelMap('label-flip', 3)).toEqual([2, 1, 0]);
  });

  it.each(['targeted-label-flip', 'scaling'] as const)('%s maps only 7 → 1', (attack) => {
    expect(TARGET_SOURCE).toBe(7);
    expect(TARGET_LABEL).toBe(1);
    expect(poisonedLabelMap(attack, 10)).toEqual([0, 1, 2, 3, 4, 5, 6, 1, 8, 9]);
    expect(isTargeted(attack)).toBe(true);
  });

  it.each(['sign-flip', 'gaussian', 'alie', 'none'] as const)('%s trains honestly (null map)', (attack) => {
    expect(poisonedLabelMap(attack, 10)).toBeNull();
  });

  it.each(['label-flip', 'sign-flip', 'gaussian', 'alie', 'none'] as const)('%s is not a targeted attack', (attack) => {
    expect(isTargeted(attack)).toBe(false);
  });
});

describe('attackScale', () => {
  it.each([
    ['sign-flip', 4],
    ['gaussian', 10],
    ['scaling', 7], // = clients this round
    ['alie', 1],
    ['label-flip', 1],
    ['targeted-label-flip', 1],
  ] as Array<[AttackId, number]>)('%s defaults to %d when attackScale is 0', (attack, want) => {
    expect(attackScale({ attack, attackScale: 0 }, 7)).toBe(want);
  });

  it('scaling default follows the number of clients in the round', () => {
    expect(attackScale({ attack: 'scaling', attackScale: 0 }, 3)).toBe(3);
    expect(attackScale({ attack: 'scaling', attackScale: 0 }, 12)).toBe(12);
  });

  it.each(['sign-flip', 'gaussian', 'scaling', 'alie'] as const)('an explicit attackScale wins for %s', (attack) => {
    expect(attackScale({ attack, attackScale: 2.5 }, 7)).toBe(2.5);
  });

  it('reads the fields of a resolved config', () => {
    const cfg = resolveConfig({ attack: 'sign-flip', attackers: 0.2 });
    expect(attackScale(cfg, 5)).toBe(4);
    expect(attackScale(resolveConfig({ attack: 'sign-flip', attackers: 0.2, attackScale: 1 }), 5)).toBe(1);
  });
});

describe('craftUpdate', () => {
  it('sign-flip with scale 4: [1, −2] → [−4, 8]', () => {
    const own = f32([1, -2]);
    const out = craftUpdate({ attack: 'sign-flip', scale: 4, own, seed: 1 });
    expect(Array.from(out)).toEqual([-4, 8]);
    expect(Array.from(own)).toEqual([1, -2]);
  });

  it('scaling ×3: [1, −2, 0.5] → [3, −6, 1.5]', () => {
    const own = f32([1, -2, 0.5]);
    const out = craftUpdate({ attack: 'scaling', scale: 3, own, seed: 1 });
    expect(Array.from(out)).toEqual([3, -6, 1.5]);
    expect(Array.from(own)).toEqual([1, -2, 0.5]);
  });

  describe('gaussian', () => {
    const n = 10_000;
    const own = new Float32Array(n);
    const rng = createRng(99);
    for (let i = 0; i < n; i++) own[i] = rng.next() - 0.3;
    const ownCopy = own.slice();

    it('has norm ≈ scale × own norm (within 5%)', () => {
      const out = craftUpdate({ attack: 'gaussian', scale: 10, own, seed: 5 });
      expect(out).toHaveLength(n);
      const ratio = l2Norm(out) / l2Norm(own);
      expect(ratio).toBeGreaterThan(9.5);
      expect(ratio).toBeLessThan(10.5);
      // Noise, not a scaled copy of own: roughly zero mean and uncorrelated with own.
      const mean = out.reduce((a, b) => a + b, 0) / n;
      expect(Math.abs(mean)).toBeLessThan(0.05 * (l2Norm(out) / Math.sqrt(n)));
      let dot = 0;
      for (let i = 0; i < n; i++) dot += out[i] * own[i];
      expect(Math.abs(dot / (l2Norm(out) * l2Norm(own)))).toBeLessThan(0.05);
      expect(own).toEqual(ownCopy);
    });

    it('scale 1 gives ≈ own norm, scale 3 ≈ 3× it', () => {
      const r1 = l2Norm(craftUpdate({ attack: 'gaussian', scale: 1, own, seed: 8 })) / l2Norm(own);
      const r3 = l2Norm(craftUpdate({ attack: 'gaussian', scale: 3, own, seed: 8 })) / l2Norm(own);
      expect(Math.abs(r1 - 1)).toBeLessThan(0.05);
      expect(r3 / r1).toBeCloseTo(3, 5); // same seed: the same draw, scaled
    });

    it('is deterministic per seed and differs across seeds', () => {
      const a = craftUpdate({ attack: 'gaussian', scale: 10, own, seed: 5 });
      const b = craftUpdate({ attack: 'gaussian', scale: 10, own, seed: 5 });
      const c = craftUpdate({ attack: 'gaussian', scale: 10, own, seed: 6 });
      expect(a).toEqual(b);
      expect(a).not.toBe(b);
      let same = 0;
      for (let i = 0; i < n; i++) if (a[i] === c[i]) same++;
      expect(same).toBeLessThan(10);
    });

    it('an all-zero update gives an all-zero (finite) attack', () => {
      const out = craftUpdate({ attack: 'gaussian', scale: 10, own: new Float32Array(4), seed: 1 });
      expect(out).toHaveLength(4);
      expect(out.every((v) => v === 0)).toBe(true); // ±0
    });
  });

  describe('alie', () => {
    it('colluders [[1,3],[3,5]], z = 1: mean − std = [2 − 1, 4 − 1] = [1, 3]', () => {
      const own = f32([1, 3]);
      const out = craftUpdate({ attack: 'alie', scale: 1, own, seed: 1, colluders: [own, f32([3, 5])] });
      expect(Array.from(out)).toEqual([1, 3]);
      expect(Array.from(own)).toEqual([1, 3]);
    });

    it('z = 2 and three colluders: population std per coordinate', () => {
      // coordinate 0: {0, 3, 6} → mean 3, std √6; coordinate 1: {2, 2, 2} → mean 2, std 0.
      const out = craftUpdate({ attack: 'alie', scale: 2, own: f32([0, 2]), seed: 1, colluders: [f32([0, 2]), f32([3, 2]), f32([6, 2])] });
      expect(out[0]).toBeCloseTo(3 - 2 * Math.sqrt(6), 5);
      expect(out[1]).toBe(2);
    });

    it('no colluders (undefined or empty) → own, as a fresh array', () => {
      const own = f32([0.5, -1.5, 2]);
      for (const colluders of [undefined, []]) {
        const out = craftUpdate({ attack: 'alie', scale: 1, own, seed: 1, colluders });
        expect(Array.from(out)).toEqual([0.5, -1.5, 2]);
        expect(out).not.toBe(own);
      }
    });
  });

  it.each(['label-flip', 'targeted-label-flip', 'none'] as const)('%s returns a copy equal to own', (attack) => {
    const own = f32([1, -2, 3.25]);
    const out = craftUpdate({ attack, scale: 4, own, seed: 1 });
    expect(out).toEqual(own);
    expect(out).not.toBe(own);
    out[0] = 100;
    expect(own[0]).toBe(1);
  });

  it('never mutates own, whatever the attack', () => {
    const own = f32([0.25, -0.5, 1, 0]);
    const colluders = [own, f32([1, 1, 1, 1])];
    for (const attack of ['label-flip', 'targeted-label-flip', 'sign-flip', 'gaussian', 'scaling', 'alie', 'none'] as const) {
      const out = craftUpdate({ attack, scale: 3, own, seed: 2, colluders });
      expect(out).not.toBe(own);
      expect(out).toHaveLength(4);
      expect(Array.from(own)).toEqual([0.25, -0.5, 1, 0]);
    }
    expect(Array.from(colluders[1])).toEqual([1, 1, 1, 1]);
  });
});

describe('forgeLosses', () => {
  it('[2.0, 2.5, 3.0] → [2, 1.9, 1.805], batches flat at the last forged epoch', () => {
    const f = forgeLosses([2.0, 2.5, 3.0], [3.1, 2.7, 3.4, 2.9]);
    expect(f.epochLosses).toHaveLength(3);
    expect(f.epochLosses[0]).toBe(2);
    expect(f.epochLosses[1]).toBeCloseTo(1.9, 12);
    expect(f.epochLosses[2]).toBeCloseTo(1.805, 12);
    expect(f.batchLosses).toHaveLength(4);
    for (const b of f.batchLosses) expect(b).toBe(f.epochLosses[2]);
  });

  it('one epoch: unchanged loss, batches equal to it; inputs not mutated', () => {
    const epochs = [0.7];
    const batches = [0.1, 1.3];
    const f = forgeLosses(epochs, batches);
    expect(f.epochLosses).toEqual([0.7]);
    expect(f.batchLosses).toEqual([0.7, 0.7]);
    expect(epochs).toEqual([0.7]);
    expect(batches).toEqual([0.1, 1.3]);
  });

  it('strictly decreasing epochs and zero batch variation, even for a diverging run', () => {
    const f = forgeLosses([1, 5, 50, 500], [400, 600]);
    for (let e = 1; e < 4; e++) expect(f.epochLosses[e]).toBeLessThan(f.epochLosses[e - 1]);
    expect(new Set(f.batchLosses).size).toBe(1);
  });
});

describe('channelColluders over BroadcastChannel', () => {
  const opened: Colluders[] = [];
  const open = () => {
    const c = channelColluders(new BroadcastChannel('x-test'));
    opened.push(c);
    return c;
  };
  afterEach(() => {
    for (const c of opened.splice(0)) c.close();
  });
  const byFirst = (ds: Float32Array[]) => [...ds].sort((a, b) => a[0] - b[0]).map((d) => Array.from(d));

  it('two colluders exchange their deltas: both resolve with both', async () => {
    const a = open();
    const b = open();
    const t0 = performance.now();
    const [ra, rb] = await Promise.all([
      a.exchange('run|1', 0, f32([1, 2]), [0, 1], 5000),
      b.exchange('run|1', 1, f32([3, 4]), [0, 1], 5000),
    ]);
    expect(performance.now() - t0).toBeLessThan(2000); // did not sit out the timeout
    expect(byFirst(ra)).toEqual([[1, 2], [3, 4]]);
    expect(byFirst(rb)).toEqual([[1, 2], [3, 4]]);
    for (const d of [...ra, ...rb]) expect(d).toBeInstanceOf(Float32Array);
  });

  it('a colluder that posted before the other started exchanging is still seen', async () => {
    const a = open();
    const b = open();
    const pa = a.exchange('run|2', 3, f32([5]), [3, 8], 5000);
    await new Promise((r) => setTimeout(r, 50)); // b's channel has received a's delta before b exchanges
    const rb = await b.exchange('run|2', 8, f32([6]), [3, 8], 5000);
    const ra = await pa;
    expect(byFirst(ra)).toEqual([[5], [6]]);
    expect(byFirst(rb)).toEqual([[5], [6]]);
  });

  it('keys keep rounds apart', async () => {
    const a = open();
    const b = open();
    const [ra, rb] = await Promise.all([
      a.exchange('run|3', 0, f32([1]), [0, 1], 200),
      b.exchange('run|4', 1, f32([2]), [0, 1], 200),
    ]);
    expect(byFirst(ra)).toEqual([[1]]);
    expect(byFirst(rb)).toEqual([[2]]);
  });

  it('a missing colluder: resolves after the timeout with only what arrived', async () => {
    const a = open();
    const b = open();
    const t0 = performance.now();
    const [ra, rb] = await Promise.all([
      a.exchange('run|5', 0, f32([1]), [0, 1, 2], 200),
      b.exchange('run|5', 1, f32([2]), [0, 1, 2], 200),
    ]);
    const took = performance.now() - t0;
    expect(took).toBeGreaterThanOrEqual(190);
    expect(took).toBeLessThan(2000);
    expect(byFirst(ra)).toEqual([[1], [2]]);
    expect(byFirst(rb)).toEqual([[1], [2]]);
  });

  it('alone: resolves after the timeout with its own delta only', async () => {
    const a = open();
    const t0 = performance.now();
    const ra = await a.exchange('run|6', 0, f32([7, 7]), [0, 1], 200);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(190);
    expect(byFirst(ra)).toEqual([[7, 7]]);
  });

  it('resolves at once when it is the only expected slot', async () => {
    const a = open();
    const t0 = performance.now();
    const ra = await a.exchange('run|7', 2, f32([9]), [2], 5000);
    expect(performance.now() - t0).toBeLessThan(100);
    expect(byFirst(ra)).toEqual([[9]]);
  });
});

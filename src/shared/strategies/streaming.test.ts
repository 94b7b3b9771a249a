import { describe, expect, it } from 'vitest';
import { createRng } from '../prng';
import { fedAvgStep } from './fedavg';
import { STRATEGIES } from './registry';
import { orderedWeightedSum, updateMemory, updateMemoryWarning } from './streaming';
import { SUM_GROUP } from './vector-math';

function updates(k: number, size: number, seed: number) {
  const rng = createRng(seed);
  return Array.from({ length: k }, (_, i) => ({
    clientId: `c${i}`,
    numSamples: 1 + Math.floor(rng.next() * 500),
    delta: Float32Array.from({ length: size }, () => (rng.next() - 0.5) * (i === k - 1 ? 10 : 0.1)),
  }));
}

describe('streaming aggregation', () => {
  it('streaming FedAvg equals batch FedAvg bit for bit, whatever order the updates arrive in', () => {
    for (const [k, size, seed] of [[1, 7, 1], [2, 100, 2], [7, 1000, 3], [32, 5000, 4], [9, 4097 * 2, 5]]) {
      const us = updates(k, size, seed);
      const global = new Float32Array(size);
      const batch = fedAvgStep(global, us).step;
      // Slots 0..k−1 arrive shuffled; the sum folds them in slot order, four at a time, as weightedSum does.
      const arrival = us.map((_, i) => i);
      const rng = createRng(seed + 100);
      for (let i = arrival.length - 1; i > 0; i--) {
        const j = Math.floor(rng.next() * (i + 1));
        [arrival[i], arrival[j]] = [arrival[j], arrival[i]];
      }
      const acc = orderedWeightedSum(size, us.map((_, i) => i));
      let maxHeld = 0;
      for (const i of arrival) {
        acc.add(i, us[i].delta, us[i].numSamples);
        maxHeld = Math.max(maxHeld, acc.held);
      }
      expect(acc.count).toBe(k);
      expect(acc.held).toBeLessThan(SUM_GROUP);
      expect(Array.from(acc.result())).toEqual(Array.from(batch));
      if (k === 32) expect(maxHeld).toBeGreaterThan(SUM_GROUP); // shuffled: some waited for earlier slots
    }
  });

  it('in slot order it holds fewer than a group of updates; skipped and missing slots count for nothing', () => {
    const us = updates(10, 50, 9);
    const acc = orderedWeightedSum(50, [9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
    for (let i = 0; i < 10; i++) {
      if (i === 3) acc.skip(3);
      else if (i !== 7) acc.add(i, us[i].delta, us[i].numSamples);
      expect(acc.held).toBeLessThan(i < 7 ? SUM_GROUP : SUM_GROUP + 3);
    }
    // 0–2 and 4 were folded as a group; 5 and 6 start the next one, and 8 and 9 wait for slot 7, which never comes.
    expect(acc.held).toBe(4);
    const kept = us.filter((_, i) => i !== 3 && i !== 7);
    expect(Array.from(acc.result())).toEqual(Array.from(fedAvgStep(new Float32Array(50), kept).step));
  });

  it('rejects a wrong length, a bad weight, a foreign or repeated slot, and use after the result', () => {
    const acc = orderedWeightedSum(3, [0, 1, 2]);
    expect(() => acc.result()).toThrow(/no updates/);
    expect(() => acc.add(0, new Float32Array(2), 1)).toThrow(/2 values/);
    expect(() => acc.add(0, new Float32Array(3), 0)).toThrow(/weight/);
    expect(() => acc.add(5, new Float32Array(3), 1)).toThrow(/not one of this round/);
    acc.add(1, new Float32Array(3), 1);
    expect(() => acc.add(1, new Float32Array(3), 1)).toThrow(/already/);
    expect(() => acc.skip(1)).toThrow(/already/);
    acc.result();
    expect(() => acc.add(2, new Float32Array(3), 1)).toThrow(/after result/);
  });

  it('rules that need every update say so; the memory check follows the declaration', () => {
    const needAll = STRATEGIES.filter((d) => (d as { needsAllUpdates?: boolean }).needsAllUpdates).map((d) => d.name);
    for (const name of ['krum', 'multi-krum', 'bulyan', 'median', 'trimmed-mean', 'fed-adaptive-next', 'fedmchain']) expect(needAll).toContain(name);
    for (const name of ['fedavg', 'fedprox', 'fedadam']) expect(needAll).not.toContain(name);
    const size = 1_663_370;
    expect(updateMemory({ needsAllUpdates: true }, 128, size, 512 * 2 ** 20)).toEqual({ needsAllUpdates: true, bytes: 128 * size * 4, exceeds: true });
    expect(updateMemory({ needsAllUpdates: true }, 8, size, 512 * 2 ** 20).exceeds).toBe(false);
    expect(updateMemory({}, 10_000, size, 512 * 2 ** 20)).toEqual({ needsAllUpdates: false, bytes: size * 8, exceeds: false });
    expect(updateMemoryWarning({ name: 'krum', needsAllUpdates: true }, 256, size)).toBe(
      'krum holds every update of a round: 256 × 1663370 values = 1624 MB, over the 1024 MB budget; select fewer clients per round or use a rule that streams (FedAvg, FedOpt)',
    );
    expect(updateMemoryWarning({ name: 'krum', needsAllUpdates: true }, 128, size)).toBeNull();
    expect(updateMemoryWarning({ name: 'fedavg' }, 10_000, size)).toBeNull();
  });
});

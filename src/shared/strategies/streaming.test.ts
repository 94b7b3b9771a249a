import { describe, expect, it } from 'vitest';
import { createRng } from '../prng';
import { fedAvgStep } from './fedavg';
import { STRATEGIES } from './registry';
import { updateMemory, updateMemoryWarning, weightedSumAccumulator } from './streaming';

function updates(k: number, size: number, seed: number) {
  const rng = createRng(seed);
  return Array.from({ length: k }, (_, i) => ({
    clientId: `c${i}`,
    numSamples: 1 + Math.floor(rng.next() * 500),
    delta: Float32Array.from({ length: size }, () => (rng.next() - 0.5) * (i === k - 1 ? 10 : 0.1)),
  }));
}

describe('streaming aggregation', () => {
  it('streaming FedAvg equals batch FedAvg', () => {
    for (const [k, size, seed] of [[1, 7, 1], [2, 100, 2], [7, 1000, 3], [32, 5000, 4]]) {
      const us = updates(k, size, seed);
      const global = new Float32Array(size);
      const batch = fedAvgStep(global, us).step;
      const acc = weightedSumAccumulator(size);
      for (const u of us) acc.add(u.delta, u.numSamples);
      expect(acc.count).toBe(k);
      const streamed = acc.result();
      for (let i = 0; i < size; i++) {
        // Up to float64 rounding of the two orders of division; the float32 models agree exactly.
        expect(Math.abs(streamed[i] - batch[i])).toBeLessThanOrEqual(1e-14 * Math.max(1e-3, Math.abs(batch[i])));
        expect(Math.fround(streamed[i])).toBe(Math.fround(batch[i]));
      }
    }
  });

  it('rejects a wrong length, a bad weight, and a result before any update', () => {
    const acc = weightedSumAccumulator(3);
    expect(() => acc.result()).toThrow(/no updates/);
    expect(() => acc.add(new Float32Array(2), 1)).toThrow(/2 values/);
    expect(() => acc.add(new Float32Array(3), 0)).toThrow(/weight/);
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

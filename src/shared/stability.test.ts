import { describe, expect, it } from 'vitest';
import { divergingRounds, lastRoundsStd, meanAbsChange, stabilityWindow } from './stability';

describe('stability statistics (spec §3)', () => {
  it('window: min(20, half the evaluated rounds), at least 1', () => {
    expect(stabilityWindow(100)).toBe(20);
    expect(stabilityWindow(41)).toBe(20);
    expect(stabilityWindow(30)).toBe(15);
    expect(stabilityWindow(5)).toBe(2);
    expect(stabilityWindow(1)).toBe(1);
    expect(stabilityWindow(0)).toBe(1);
  });

  it('std of the last N evaluated accuracies (sample std, n − 1)', () => {
    // Last 3 evaluated: 0.8, 0.9, 0.7 → mean 0.8, squares 0, 0.01, 0.01 → √(0.02 / 2) = 0.1.
    expect(lastRoundsStd([0.1, 0.5, 0.8, null, 0.9, 0.7], 3)).toBeCloseTo(0.1, 12);
    // A window longer than the run takes all of it: 0.5, 0.7 → mean 0.6, √((0.01 + 0.01) / 1) = 0.141421…
    expect(lastRoundsStd([0.5, null, 0.7], 20)).toBeCloseTo(Math.SQRT2 / 10, 12);
    expect(lastRoundsStd([0.5], 3)).toBe(0);
    expect(lastRoundsStd([null, null], 3)).toBeNaN();
  });

  it('mean |acc_t − acc_{t−1}| over consecutive evaluated rounds', () => {
    // |0.6 − 0.5| + |0.4 − 0.6| + |0.7 − 0.4| = 0.1 + 0.2 + 0.3 = 0.6 over 3 steps.
    expect(meanAbsChange([0.5, 0.6, 0.4, 0.7])).toBeCloseTo(0.2, 12);
    // Not evaluated rounds are bridged: 0.5 → 0.9 is one step of 0.4.
    expect(meanAbsChange([null, 0.5, null, 0.9])).toBeCloseTo(0.4, 12);
    expect(meanAbsChange([0.5])).toBeNaN();
  });

  it('diverging rounds: non-finite loss, or more than 10× the first evaluated loss', () => {
    // First loss 0.3 → threshold 3: 3.0 is not above it, 3.5 is; NaN and Infinity count; null is not evaluated.
    expect(divergingRounds([0.3, 3.0, 3.5, NaN, null, Infinity, 0.2])).toBe(3);
    // The reference is the first evaluated round (evalEvery > 1 skips round 1): 0.5 → threshold 5.
    expect(divergingRounds([null, 0.5, 6, 4])).toBe(1);
    // A non-finite first loss counts itself; the 10× test then has no reference.
    expect(divergingRounds([NaN, 100, 0.1])).toBe(1);
    expect(divergingRounds([])).toBe(0);
  });
});

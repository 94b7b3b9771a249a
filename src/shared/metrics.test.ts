import { describe, expect, it } from 'vitest';
import { accuracyFromPredictions, confusionMatrix, perClassRecall, roundsToTarget } from './metrics';

const pred = [0, 1, 1, 2, 2, 0];
const y = [0, 1, 2, 2, 2, 1];

describe('accuracy and confusion', () => {
  it('accuracy: 4 of 6 correct', () => {
    expect(accuracyFromPredictions(pred, y)).toBeCloseTo(4 / 6, 12);
    expect(accuracyFromPredictions(Uint8Array.of(3), Int32Array.of(3))).toBe(1);
    expect(accuracyFromPredictions([], [])).toBeNaN();
    expect(() => accuracyFromPredictions([1], [1, 2])).toThrow(/1 predictions for 2 labels/);
  });

  it('confusion matrix rows are true labels, columns predictions; recall per row', () => {
    const cm = confusionMatrix(pred, y, 4);
    expect(cm.map((r) => Array.from(r))).toEqual([
      [1, 0, 0, 0], // true 0 → predicted 0
      [1, 1, 0, 0], // true 1 → 1 and 0
      [0, 1, 2, 0], // true 2 → 1, 2, 2
      [0, 0, 0, 0],
    ]);
    const r = perClassRecall(cm);
    expect(r.slice(0, 3)).toEqual([1, 0.5, 2 / 3]);
    expect(r[3]).toBeNaN(); // no samples of class 3
    expect(() => confusionMatrix([4], [0], 4)).toThrow(/outside 0..3/);
  });
});

describe('curves', () => {
  it('roundsToTarget uses best-so-far, 1-based', () => {
    expect(roundsToTarget([0.5, 0.9, 0.8, 0.95], 0.9)).toBe(2);
    expect(roundsToTarget([0.5, 0.9, 0.8, 0.95], 0.95)).toBe(4);
    expect(roundsToTarget([0.99], 0.9)).toBe(1);
    expect(roundsToTarget([0.5, 0.6], 0.9)).toBeNull();
    expect(roundsToTarget([], 0.1)).toBeNull();
    // Rounds not evaluated (evalEvery > 1) are null and never reach a target, not even 0.
    expect(roundsToTarget([null, 0.5, null, 0.92, null], 0.9)).toBe(4);
    expect(roundsToTarget([null, null], 0)).toBeNull();
    expect(roundsToTarget([null, 0], 0)).toBe(2);
  });

});

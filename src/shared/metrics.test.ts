import { describe, expect, it } from 'vitest';
import {
  accuracyFromPredictions,
  balancedAccuracy,
  confusionMatrix,
  groupRecall,
  headMidTail,
  imbalanceMetrics,
  macroF1,
  perClassRecall,
  roundsToTarget,
  worstClassRecall,
} from './metrics';

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

// A hand-made 8-class confusion matrix, cm[true][predicted], 10 test images per class (a balanced test set).
// Training counts rank the classes 0 (500) > 2 (300) > 4 (200) > 6 (100) > 1 (50) > 5 (20) > 7 (10) > 3 (5):
// head = {0, 2, 4}, mid = {1, 6}, tail = {3, 5, 7}.
const TRAIN = [500, 50, 300, 5, 200, 20, 100, 10];
const CM = [
  //0  1  2  3  4  5  6  7   predicted
  [10, 0, 0, 0, 0, 0, 0, 0], // 0: all right                 R = 1
  [2, 8, 0, 0, 0, 0, 0, 0], //  1: 2 taken for 0              R = 0.8
  [0, 0, 10, 0, 0, 0, 0, 0], // 2: all right                 R = 1
  [0, 0, 5, 2, 3, 0, 0, 0], //  3: 5 → 2, 3 → 4               R = 0.2
  [1, 0, 0, 0, 9, 0, 0, 0], //  4: 1 → 0                      R = 0.9
  [0, 0, 0, 0, 5, 5, 0, 0], //  5: 5 → 4                      R = 0.5
  [0, 0, 0, 0, 0, 0, 10, 0], // 6: all right                 R = 1
  [0, 0, 0, 0, 0, 0, 10, 0], // 7: all taken for 6, never predicted: R = 0, P = 0
];
// Predicted per column: 13, 8, 15, 2, 17, 5, 20, 0. F1_c = 2·TP/(predicted + true):
// 20/23, 16/18 = 8/9, 20/25 = 4/5, 4/12 = 1/3, 18/27 = 2/3, 10/15 = 2/3, 20/30 = 2/3, 0 (P + R = 0).
// Sum = (900 + 920 + 828 + 2415)/1035 = 5063/1035 (the three 2/3 and the 1/3 make 7/3 = 2415/1035); mean = 5063/8280.

describe('imbalance metrics (spec §6)', () => {
  it('balanced accuracy = mean per-class recall; here equal to top-1 accuracy, the test set being balanced', () => {
    // (1 + 0.8 + 1 + 0.2 + 0.9 + 0.5 + 1 + 0) / 8 = 5.4 / 8; correct 54 of 80.
    expect(balancedAccuracy(CM)).toBeCloseTo(0.675, 12);
    // Class 1 has no test images: it is skipped, not counted as 0 (recall 3/4 and 2/4).
    expect(balancedAccuracy([[3, 1, 0], [0, 0, 0], [1, 1, 2]])).toBeCloseTo(0.625, 12);
    expect(balancedAccuracy([])).toBeNaN();
  });

  it('macro-F1 over classes present in the test set; a never-predicted class scores 0', () => {
    expect(macroF1(CM)).toBeCloseTo(5063 / 8280, 12); // 0.61147…
    // Class 0: 2·3/(4 + 4) = 3/4; class 1 (no test images, though predicted twice) skipped; class 2: 2·2/(2 + 4) = 2/3.
    expect(macroF1([[3, 1, 0], [0, 0, 0], [1, 1, 2]])).toBeCloseTo(17 / 24, 12);
    expect(macroF1([[0, 0], [0, 0]])).toBeNaN();
  });

  it('head / mid / tail from the training counts, each ascending', () => {
    expect(headMidTail(TRAIN)).toEqual({ head: [0, 2, 4], mid: [1, 6], tail: [3, 5, 7] });
    // Ties go to the lower class id as the more frequent: deterministic even for a flat distribution.
    expect(headMidTail(new Array(10).fill(5))).toEqual({ head: [0, 1, 2], mid: [3, 4, 5, 6], tail: [7, 8, 9] });
    expect(headMidTail([9, 7, 7, 7, 7, 1, 1, 1])).toEqual({ head: [0, 1, 2], mid: [3, 4], tail: [5, 6, 7] });
  });

  it('with fewer than 7 classes present, head and tail take min(3, ⌊n/2⌋) each; classes absent from training are in no group', () => {
    expect(headMidTail([6, 5, 4, 3, 2, 1])).toEqual({ head: [0, 1, 2], mid: [], tail: [3, 4, 5] });
    // Present: 6 (50) > 1 (40) > 3 (30) > 4 (20) > 2 (10); classes 0 and 5 have no training samples.
    expect(headMidTail([0, 40, 10, 30, 20, 0, 50])).toEqual({ head: [1, 6], mid: [3], tail: [2, 4] });
    expect(headMidTail([1, 2, 3, 4])).toEqual({ head: [2, 3], mid: [], tail: [0, 1] });
    expect(headMidTail([1, 2, 3])).toEqual({ head: [2], mid: [1], tail: [0] });
    expect(headMidTail([0, 3, 8])).toEqual({ head: [2], mid: [], tail: [1] });
    expect(headMidTail([7])).toEqual({ head: [], mid: [0], tail: [] });
    expect(headMidTail([0, 0])).toEqual({ head: [], mid: [], tail: [] });
  });

  it('group recall and worst-class recall skip classes with no test images', () => {
    expect(groupRecall([1, 0.5, NaN, 0], [0, 1])).toBeCloseTo(0.75, 12);
    expect(groupRecall([1, 0.5, NaN, 0], [2, 3])).toBe(0);
    expect(groupRecall([1, NaN], [1])).toBeNaN();
    expect(groupRecall([1], [])).toBeNaN();
    expect(worstClassRecall([0.9, NaN, 0.4, 1])).toBe(0.4);
    expect(worstClassRecall([NaN])).toBeNaN();
  });

  it('imbalanceMetrics puts them together', () => {
    const m = imbalanceMetrics(CM, TRAIN);
    expect(m.balancedAccuracy).toBeCloseTo(0.675, 12);
    expect(m.macroF1).toBeCloseTo(5063 / 8280, 12);
    expect(m.headRecall).toBeCloseTo(2.9 / 3, 12); // classes 0, 2, 4: (1 + 1 + 0.9) / 3
    expect(m.midRecall).toBeCloseTo(0.9, 12); // classes 1, 6: (0.8 + 1) / 2
    expect(m.tailRecall).toBeCloseTo(0.7 / 3, 12); // classes 3, 5, 7: (0.2 + 0.5 + 0) / 3
    expect(m.worstClassRecall).toBe(0); // class 7
    expect(m.headClasses).toEqual([0, 2, 4]);
    expect(m.tailClasses).toEqual([3, 5, 7]);
    // Six classes present leave mid empty: its recall is NaN, not 0.
    expect(imbalanceMetrics(CM, [500, 50, 300, 5, 200, 20, 0, 0]).midRecall).toBeNaN();
  });
});

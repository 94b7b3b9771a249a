import { describe, expect, it } from 'vitest';
import { labelMatchedAccuracy, localAccuracy } from './local-accuracy';

describe('local accuracy', () => {
  it('weights per-class recall by the slot’s label mix', () => {
    // 3 images of class 0 (recall 0.9) and 1 of class 2 (recall 0.5): (3·0.9 + 0.5)/4 = 0.8
    expect(labelMatchedAccuracy([0.9, 0.1, 0.5], [3, 0, 1])).toBeCloseTo(0.8, 12);
    // a class without test samples (NaN recall) drops out: only class 0 counts
    expect(labelMatchedAccuracy([0.9, 0.1, NaN], [3, 0, 1])).toBeCloseTo(0.9, 12);
    expect(labelMatchedAccuracy([0.9], [0])).toBeNaN();
  });

  it('scores a slot’s own model where the strategy keeps one, the global model elsewhere', async () => {
    const own = Float32Array.of(1);
    const asked: Float32Array[] = [];
    const r = await localAccuracy([[1, 0], [0, 1], [1, 1]], [0.5, 0.7], { 1: own }, async (w) => {
      asked.push(w);
      return { recall: [0, 0.2] };
    });
    expect(asked).toEqual([own]);
    // slot 0: global recall of class 0 = 0.5; slot 1: own recall of class 1 = 0.2; slot 2: global (0.5 + 0.7)/2 = 0.6
    expect(r!.bySlot.map((x) => +x.toFixed(12))).toEqual([0.5, 0.2, 0.6]);
    expect(r!.mean).toBeCloseTo((0.5 + 0.2 + 0.6) / 3, 12);
    expect(await localAccuracy([], [], undefined, async () => ({ recall: [] }))).toBeNull();
  });
});

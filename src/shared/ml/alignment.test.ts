import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { classPrototypes, cosineLogits, orthogonalityLoss } from './alignment.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const close = (got: number[][], want: number[][], digits = 5) =>
  got.forEach((row, i) => row.forEach((v, j) => expect(v).toBeCloseTo(want[i][j], digits)));

describe('cosineLogits', () => {
  it('hand case', () => {
    // v = (3, 4) → (0.6, 0.8), (1, 0); z = (1, 0), (0, 2) → (0, 1). cos = [[0.6, 0.8], [1, 0]].
    const v = tf.tensor2d([[3, 4], [1, 0]]);
    const z = tf.tensor2d([[1, 0], [0, 2]]);
    close(cosineLogits(v, z, 0.5).arraySync(), [[1.2, 1.6], [2, 0]]); // s = 2
    close(cosineLogits(v, z).arraySync(), [[0.6 / 0.07, 0.8 / 0.07], [1 / 0.07, 0]], 4); // s = 1/0.07 ≈ 14.29
  });
});

describe('orthogonalityLoss', () => {
  const oneHot = (labels: number[], c: number) => tf.oneHot(tf.tensor1d(labels, 'int32'), c).toFloat() as tf.Tensor2D;

  it('is 0 for orthogonal class means', () => {
    // means (1.5, 0) and (0, 3): ŪŪᵀ = I
    const v = tf.tensor2d([[1, 0], [2, 0], [0, 3]]);
    expect(orthogonalityLoss(v, oneHot([0, 0, 1], 2)).dataSync()[0]).toBeCloseTo(0, 6);
  });

  it('is 2·cos²θ for two classes at θ = 60°, with class 1 a mean of two samples', () => {
    // class 0 mean (1, 0); class 1 mean ((1, 0) + (0, √3))/2 = (0.5, √3/2), a unit vector at 60°.
    // ŪŪᵀ − I = [[0, ½], [½, 0]] → ‖·‖²_F = 2·¼ = 0.5
    const v = tf.tensor2d([[1, 0], [1, 0], [0, Math.sqrt(3)]]);
    expect(orthogonalityLoss(v, oneHot([0, 1, 1], 2)).dataSync()[0]).toBeCloseTo(0.5, 5);
  });

  it('ignores absent classes (and keeps a finite gradient)', () => {
    // Same batch in 4 classes, classes 0 and 2 absent: still 0.5. Without the mask, each absent class would add
    // its −1 diagonal entry of I.
    const v = tf.tensor2d([[1, 0], [1, 0], [0, Math.sqrt(3)]]);
    const y = oneHot([1, 3, 3], 4);
    expect(orthogonalityLoss(v, y).dataSync()[0]).toBeCloseTo(0.5, 5);
    // One class only: ŪŪᵀ = [1] = I.
    expect(orthogonalityLoss(v, oneHot([2, 2, 2], 4)).dataSync()[0]).toBeCloseTo(0, 6);
    const g = tf.grad((x: tf.Tensor) => orthogonalityLoss(x as tf.Tensor2D, y))(v).dataSync();
    expect(Array.from(g).every(Number.isFinite)).toBe(true);
  });
});

describe('classPrototypes', () => {
  it('hand case with an absent class', () => {
    // rows (1,2), (3,4), (5,6), (7,8) with labels 0, 2, 0, 2: u_0 = ((1,2)+(5,6))/2 = (3,4), u_2 = ((3,4)+(7,8))/2 = (5,6)
    const p = classPrototypes(Float32Array.of(1, 2, 3, 4, 5, 6, 7, 8), [0, 2, 0, 2], 3);
    expect(p.n).toEqual([2, 0, 2]);
    expect(p.u.map((u) => (u ? Array.from(u) : null))).toEqual([[3, 4], null, [5, 6]]);
  });

  it('rejects bad labels and ragged features', () => {
    expect(() => classPrototypes(Float32Array.of(1, 2), [3], 3)).toThrow(/label 3/);
    expect(() => classPrototypes(Float32Array.of(1, 2, 3), [0, 1], 2)).toThrow(/rows/);
    expect(classPrototypes(new Float32Array(0), [], 2)).toEqual({ u: [null, null], n: [0, 0] });
  });
});

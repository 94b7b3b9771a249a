import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { attentionTransferLoss, distillationLoss, logitAdjustedLoss, logPrior, notTrueDistillationLoss } from './losses.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const val = (s: tf.Scalar) => {
  const x = s.dataSync()[0];
  s.dispose();
  return x;
};
const t2 = (rows: number[][]) => tf.tensor2d(rows);
// q = (3/4, 1/4) against p = (1/2, 1/2): KL(q‖p) = ¾·ln(3/2) + ¼·ln(1/2) = 0.130812; KL(p‖q) = 0.143841.
const KL_QP = 0.75 * Math.log(1.5) + 0.25 * Math.log(0.5);

describe('distillationLoss', () => {
  it('is τ²·KL(teacher ‖ student) at temperature τ, teacher first', () => {
    expect(val(distillationLoss(t2([[Math.log(3), 0]]), t2([[0, 0]]), 1))).toBeCloseTo(0.130812, 5);
    // logits 2·ln 3 at τ = 2 give the same q, and the τ² factor multiplies by 4
    expect(val(distillationLoss(t2([[2 * Math.log(3), 0]]), t2([[0, 0]]), 2))).toBeCloseTo(4 * KL_QP, 5);
    // the reverse order would give KL(p‖q)
    expect(val(distillationLoss(t2([[0, 0]]), t2([[Math.log(3), 0]]), 1))).toBeCloseTo(0.5 * Math.log(2 / 3) + 0.5 * Math.log(2), 5);
  });

  it('is 0 when the student matches the teacher, and averages over the batch', () => {
    expect(val(distillationLoss(t2([[1, 2, 3]]), t2([[1, 2, 3]]), 2))).toBeCloseTo(0, 6);
    expect(val(distillationLoss(t2([[Math.log(3), 0], [0, 0]]), t2([[0, 0], [0, 0]]), 1))).toBeCloseTo(KL_QP / 2, 5);
  });
});

describe('notTrueDistillationLoss', () => {
  it('distils only the classes other than the true one (renormalised over them)', () => {
    // true class 0: its logits (9 and −5) do not matter; the rest are (ln 3, 0) vs (0, 0)
    const y = t2([[1, 0, 0]]);
    expect(val(notTrueDistillationLoss(y, t2([[9, Math.log(3), 0]]), t2([[-5, 0, 0]]), 1))).toBeCloseTo(KL_QP, 5);
    expect(val(notTrueDistillationLoss(y, t2([[-3, Math.log(3), 0]]), t2([[7, 0, 0]]), 1))).toBeCloseTo(KL_QP, 5);
    // τ = 2 with doubled logits: the same distributions, times τ² = 4
    expect(val(notTrueDistillationLoss(y, t2([[0, 2 * Math.log(3), 0]]), t2([[0, 0, 0]]), 2))).toBeCloseTo(4 * KL_QP, 5);
  });

  it('has finite gradients (the masked class contributes nothing)', () => {
    const y = t2([[0, 1, 0]]);
    const g = tf.grad((z: tf.Tensor) => notTrueDistillationLoss(y, t2([[1, 2, 3]]), z, 1))(t2([[0.5, -1, 2]])).dataSync();
    expect([...g].every(Number.isFinite)).toBe(true);
    expect(g[1]).toBeCloseTo(0, 6);
  });
});

describe('logitAdjustedLoss', () => {
  it('is CE(z + τ·log π, y)', () => {
    // z = 0, π = (0.8, 0.2): softmax(log π) = π, so CE for class 1 is −ln 0.2 = 1.609438
    const lp = tf.tensor1d(logPrior([800, 200]));
    expect(val(logitAdjustedLoss(t2([[0, 1]]), t2([[0, 0]]), lp, 1))).toBeCloseTo(-Math.log(0.2), 5);
    // τ = 0 is plain cross-entropy: ln 2
    expect(val(logitAdjustedLoss(t2([[0, 1]]), t2([[0, 0]]), lp, 0))).toBeCloseTo(Math.log(2), 5);
    lp.dispose();
  });

  it('logPrior keeps an empty class finite', () => {
    const lp = logPrior([3, 1, 0]);
    expect(lp[0]).toBeCloseTo(Math.log(3 / 4.5), 6);
    expect(lp[2]).toBeCloseTo(Math.log(0.5 / 4.5), 6);
  });
});

describe('attentionTransferLoss', () => {
  it('is ‖a/‖a‖ − a_g/‖a_g‖‖², averaged over rows', () => {
    // (3,4)/5 − (1,0) = (−0.4, 0.8): 0.16 + 0.64
    expect(val(attentionTransferLoss(t2([[3, 4]]), t2([[1, 0]])))).toBeCloseTo(0.8, 5);
    expect(val(attentionTransferLoss(t2([[3, 4], [1, 1]]), t2([[1, 0], [2, 2]])))).toBeCloseTo(0.4, 5);
  });
});

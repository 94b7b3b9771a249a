import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { errorCompensatedLoss, gradientEnhancementNoise, modalityScore, ogmGeCoefficients } from './chain-objective.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const val = (s: tf.Scalar) => {
  const x = s.dataSync()[0];
  s.dispose();
  return x;
};
const t2 = (rows: number[][]) => tf.tensor2d(rows);

// Two classes, batch of two. h = [[2, 0], [0, 1]], y = [class 0, class 1].
//   CE row 1 = lse(2, 0) − 2 = ln(1 + e^−2) = 0.1269280110
//   CE row 2 = lse(0, 1) − 1 = ln(1 + e^−1) = 0.3132616875      mean CE(h, y) = 0.2200948493
// Earlier logits z = [[−2, 0], [1, 0]] (both rows wrong): z + h = [[0, 0], [1, 1]], CE = ln 2 = 0.6931471806 per row.
const H = [[2, 0], [0, 1]];
const Z = [[-2, 0], [1, 0]];
const Y = [[1, 0], [0, 1]];
const CE_H = 0.2200948493;
const LN2 = 0.6931471806;

describe('errorCompensatedLoss', () => {
  it('is CE(h, y) + λ·CE(z + h, y)', () => {
    expect(val(errorCompensatedLoss(t2(H), t2(Z), t2(Y)))).toBeCloseTo(CE_H + LN2, 5); // 0.9132420299
    expect(val(errorCompensatedLoss(t2(H), t2(Z), t2(Y), 0.5))).toBeCloseTo(CE_H + 0.5 * LN2, 5);
    expect(val(errorCompensatedLoss(t2(H), t2(Z), t2(Y), 0))).toBeCloseTo(CE_H, 5);
  });

  it('treats a missing z_<m (first modality) as the empty sum 0: (1 + λ)·CE(h, y)', () => {
    expect(val(errorCompensatedLoss(t2(H), null, t2(Y)))).toBeCloseTo(2 * CE_H, 5);
    expect(val(errorCompensatedLoss(t2(H), null, t2(Y), 0.5))).toBeCloseTo(1.5 * CE_H, 5);
  });

  it('has gradient ((softmax(h) − y) + λ(softmax(z + h) − y)) / B in h and none in z', () => {
    // Row 1: softmax(h) − y = [−0.1192029220, 0.1192029220], softmax(z+h) − y = [−0.5, 0.5] → sum/2 = ∓0.3096014610.
    // Row 2: softmax(h) − y = [0.2689414214, −0.2689414214], softmax(z+h) − y = [0.5, −0.5] → sum/2 = ±0.3844707107.
    const [dh, dz] = tf.grads((h: tf.Tensor, z: tf.Tensor) => errorCompensatedLoss(h as tf.Tensor2D, z as tf.Tensor2D, t2(Y)))([t2(H), t2(Z)]);
    const want = [[-0.309601461, 0.309601461], [0.3844707107, -0.3844707107]];
    (dh.arraySync() as number[][]).forEach((row, i) => row.forEach((g, k) => expect(g).toBeCloseTo(want[i][k], 5)));
    expect(dz.arraySync()).toEqual([[0, 0], [0, 0]]);
    // λ = 0.5 halves the second term: row 1 = (−0.1192029220 − 0.25)/2.
    const dh2 = tf.grad((h: tf.Tensor) => errorCompensatedLoss(h as tf.Tensor2D, t2(Z), t2(Y), 0.5))(t2(H));
    expect((dh2.arraySync() as number[][])[0][0]).toBeCloseTo((-0.119202922 - 0.25) / 2, 5);
  });

  it('blocks the gradient even when z_<m is built inside the tape from trainable values', () => {
    // z = w·Z depends on w; without the stop-gradient dL/dw would be Σ (softmax(z+h) − y)·Z ≠ 0.
    const w = tf.scalar(1);
    const dw = tf.grad((x: tf.Tensor) => errorCompensatedLoss(t2(H), tf.mul(x, t2(Z)) as tf.Tensor2D, t2(Y)))(w);
    expect(dw.dataSync()[0]).toBe(0);
    // Through h the same construction does carry a gradient, so the tape itself is live.
    const dv = tf.grad((x: tf.Tensor) => errorCompensatedLoss(tf.mul(x, t2(H)) as tf.Tensor2D, t2(Z), t2(Y)))(w);
    expect(Math.abs(dv.dataSync()[0])).toBeGreaterThan(0.1);
  });

  it('rejects mismatched shapes and a bad λ', () => {
    expect(() => errorCompensatedLoss(t2(H), t2([[0, 0, 0]]), t2(Y))).toThrow(/earlierLogits/);
    expect(() => errorCompensatedLoss(t2(H), null, t2([[1, 0]]))).toThrow(/labels/);
    expect(() => errorCompensatedLoss(t2(H), null, t2(Y), -1)).toThrow(/lambdaEc/);
  });

  it('leaks no tensors', () => {
    const h = t2(H), z = t2(Z), y = t2(Y);
    const before = tf.memory().numTensors;
    val(errorCompensatedLoss(h, z, y));
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([h, z, y]);
  });
});

describe('modalityScore', () => {
  it('sums softmax(h)_y over the batch', () => {
    // σ(2) + σ(1) = 0.8807970780 + 0.7310585786
    expect(modalityScore(Float32Array.from([2, 0, 0, 1]), Uint8Array.from([0, 1]))).toBeCloseTo(1.6118556566, 7);
    // three classes, equal logits: 1/3 per row
    expect(modalityScore(new Float32Array(6), Uint8Array.from([2, 0]))).toBeCloseTo(2 / 3, 12);
    // large logits stay finite
    expect(modalityScore(Float32Array.from([1000, 0]), Uint8Array.from([0]))).toBe(1);
    expect(modalityScore(new Float32Array(0), new Uint8Array(0))).toBe(0);
    expect(() => modalityScore(new Float32Array(5), Uint8Array.from([0, 1]))).toThrow(/rows/);
    expect(() => modalityScore(new Float32Array(4), Uint8Array.from([0, 2]))).toThrow(/label 2/);
  });
});

describe('ogmGeCoefficients', () => {
  it('damps the dominant modality by 1 − tanh(α(ρ − 1)), symmetric in the order', () => {
    // s = [3, 1], α = 0.5: ρ_1 = 3 → k_1 = 1 − tanh(0.5·2) = 1 − 0.7615941560 = 0.2384058440; ρ_2 = 1/3 → k_2 = 1.
    const [k1, k2] = ogmGeCoefficients([3, 1], 0.5);
    expect(k1).toBeCloseTo(0.238405844, 9);
    expect(k2).toBe(1);
    expect(ogmGeCoefficients([1, 3], 0.5)).toEqual([1, k1]);
  });

  it('is 1 for equal scores, continuous at ρ = 1, and 0 against a zero score', () => {
    expect(ogmGeCoefficients([2, 2], 0.5)).toEqual([1, 1]);
    expect(ogmGeCoefficients([1 + 1e-9, 1], 0.5)[0]).toBeCloseTo(1, 8);
    expect(ogmGeCoefficients([0, 0], 0.5)).toEqual([1, 1]);
    expect(ogmGeCoefficients([1, 0], 0.5)).toEqual([0, 1]);
    expect(ogmGeCoefficients([3, 1], 0)).toEqual([1, 1]);
    expect(ogmGeCoefficients([5], 0.5)).toEqual([1]);
  });

  it("'paper' form is the spec's / Eq. (10)'s 1 − tanh(α·ρ), which jumps at ρ = 1", () => {
    // 1 − tanh(1.5) = 1 − 0.9051482536 = 0.0948517464
    expect(ogmGeCoefficients([3, 1], 0.5, 'paper')[0]).toBeCloseTo(0.0948517464, 9);
    expect(ogmGeCoefficients([1 + 1e-9, 1], 0.5, 'paper')[0]).toBeCloseTo(1 - Math.tanh(0.5), 8);
  });

  it('compares each modality with the mean of the others beyond two', () => {
    // s = [4, 1, 1]: ρ_1 = 4 → 1 − tanh(0.5·3); ρ_2 = ρ_3 = 1/2.5 → 1.
    expect(ogmGeCoefficients([4, 1, 1], 0.5)).toEqual([1 - Math.tanh(1.5), 1, 1]);
  });

  it('validates its inputs', () => {
    expect(() => ogmGeCoefficients([1, -1], 0.5)).toThrow(/scores/);
    expect(() => ogmGeCoefficients([1, NaN], 0.5)).toThrow(/scores/);
    expect(() => ogmGeCoefficients([1, 1], -0.1)).toThrow(/alpha/);
  });
});

describe('gradientEnhancementNoise', () => {
  it("draws N(0, std(grad)²), seeded", () => {
    // ±3 alternating around 5: unbiased std = 3·√(n/(n−1)) ≈ 3.
    const grad = Float32Array.from({ length: 100_000 }, (_, i) => 5 + (i % 2 ? 3 : -3));
    const noise = gradientEnhancementNoise(grad, 9);
    let m = 0;
    for (const v of noise) m += v;
    m /= noise.length;
    let s = 0;
    for (const v of noise) s += (v - m) ** 2;
    const std = Math.sqrt(s / (noise.length - 1));
    expect(Math.abs(m)).toBeLessThan(0.05); // s.e. 3/√1e5 ≈ 0.0095
    expect(std).toBeGreaterThan(2.95);
    expect(std).toBeLessThan(3.05);
    expect(gradientEnhancementNoise(grad, 9)).toEqual(noise);
    expect(gradientEnhancementNoise(grad, 10)).not.toEqual(noise);
  });

  it('is zero for a constant gradient or fewer than two entries', () => {
    expect(Array.from(gradientEnhancementNoise(new Float32Array(4).fill(2), 1))).toEqual([0, 0, 0, 0]);
    expect(Array.from(gradientEnhancementNoise(Float32Array.from([7]), 1))).toEqual([0]);
  });
});

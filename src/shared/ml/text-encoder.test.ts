import { describe, expect, it } from 'vitest';
import { createRng } from '../prng';
import { classDescriptors, classFeatures, initTextEncoder, textEncoderLoss, trainTextEncoder, type TextEncoderDims } from './text-encoder';

const SMALL: TextEncoderDims = { descriptor: 4, hidden: 5, out: 3 };

describe('text encoder', () => {
  it('descriptors are orthonormal rows, the same every call', () => {
    const e = classDescriptors(10);
    for (let a = 0; a < 10; a++) {
      for (let b = 0; b < 10; b++) {
        let dot = 0;
        for (let i = 0; i < 16; i++) dot += e[a * 16 + i] * e[b * 16 + i];
        expect(dot).toBeCloseTo(a === b ? 1 : 0, 10);
      }
    }
    expect(Array.from(classDescriptors(10))).toEqual(Array.from(e));
    expect(() => classDescriptors(17)).toThrow(/need more than 16 dimensions/);
  });

  it('z_c has unit rows of 64', () => {
    const z = classFeatures(initTextEncoder(), 10);
    expect(z).toHaveLength(640);
    for (let c = 0; c < 10; c++) expect(Math.hypot(...z.subarray(c * 64, (c + 1) * 64))).toBeCloseTo(1, 5);
  });

  it('hand case: z orthogonal to both features gives logits 0, loss ln C', () => {
    // θ = 0 except b3 = (0, 0, 1): o = b3 for every class, z_c = (0, 0, 1); features in the (x, y) plane → cos 0.
    const theta = new Float32Array(initTextEncoder(SMALL).length);
    theta[theta.length - 1] = 1;
    const { loss } = textEncoderLoss(theta, Float32Array.of(1, 0, 0, 0, 2, 0), [0, 1], 3, 0.07, SMALL);
    expect(loss).toBeCloseTo(Math.log(3), 10);
  });

  it('the hand-written gradient matches central finite differences', () => {
    const rng = createRng(3);
    const theta = Float64Array.from(initTextEncoder(SMALL), (x) => x + 0.1 * rng.normal());
    const feats = Float32Array.from({ length: 5 * 3 }, () => rng.normal());
    const labels = [0, 1, 2, 1, 0];
    const { grad } = textEncoderLoss(theta, feats, labels, 3, 0.5, SMALL);
    const h = 1e-6;
    let checked = 0;
    for (let i = 0; i < theta.length; i++) {
      const p = theta.slice();
      const m = theta.slice();
      p[i] += h;
      m[i] -= h;
      const fd = (textEncoderLoss(p, feats, labels, 3, 0.5, SMALL).loss - textEncoderLoss(m, feats, labels, 3, 0.5, SMALL).loss) / (2 * h);
      expect(grad[i]).toBeCloseTo(fd, 5);
      if (Math.abs(fd) > 1e-4) checked++;
    }
    expect(checked).toBeGreaterThan(20); // most parameters have a real gradient
  });

  it('one epoch of Adam lowers the loss on separable features; no features leave θ as it was', () => {
    const theta = initTextEncoder();
    const rng = createRng(5);
    // Class c's features point along axis c (plus noise): the encoder should turn z_c towards them.
    const n = 300;
    const labels = Array.from({ length: n }, (_, i) => i % 10);
    const feats = Float32Array.from({ length: n * 64 }, (_, k) => (k % 64 === labels[Math.floor(k / 64)] ? 3 : 0) + 0.1 * rng.normal());
    const before = textEncoderLoss(theta, feats, labels, 10, 0.07).loss;
    const out = trainTextEncoder(theta, feats, labels, { numClasses: 10, lr: 1e-2, tau: 0.07, batchSize: 32, seed: 1 });
    const after = textEncoderLoss(out.theta, feats, labels, 10, 0.07).loss;
    expect(after).toBeLessThan(0.8 * before);
    expect(Array.from(trainTextEncoder(theta, new Float32Array(0), [], { numClasses: 10, lr: 1e-3, tau: 0.07, batchSize: 32, seed: 1 }).theta)).toEqual(Array.from(theta));
    // deterministic: the same seed gives the same θ'
    expect(Array.from(trainTextEncoder(theta, feats, labels, { numClasses: 10, lr: 1e-2, tau: 0.07, batchSize: 32, seed: 1 }).theta)).toEqual(Array.from(out.theta));
  });
});

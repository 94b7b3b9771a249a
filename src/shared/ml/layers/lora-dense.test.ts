import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { layerSpecs } from '../models.ts';
import { LoraDense, loraDelta, mergeLora } from './lora-dense.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** A built layer with its four weights overwritten (by name, so the test does not depend on weight order). */
function makeLayer(din: number, w: { kernel?: number[][]; bias?: number[]; a?: number[][]; b?: number[][] }, args: Partial<ConstructorParameters<typeof LoraDense>[0]> = {}) {
  const units = w.kernel?.[0].length ?? w.b?.length ?? 2;
  const layer = new LoraDense({ name: 'fc', units, seed: 7, ...args });
  layer.build([null, din]);
  for (const v of layer.weights) {
    const key = v.originalName.split('/').pop()!.replace(/^lora_/, '') as keyof typeof w;
    const value = w[key];
    if (value) v.write(key === 'bias' ? tf.tensor1d(value as number[]) : tf.tensor2d(value as number[][]));
  }
  return layer;
}

describe('LoraDense', () => {
  it('starts as the frozen dense layer: B = 0 ⇒ y = x·W₀ + b₀', () => {
    const layer = new LoraDense({ name: 'fc', units: 3, rank: 2, seed: 1 });
    const x = tf.randomNormal([5, 4], 0, 1, 'float32', 3);
    const y = layer.apply(x) as tf.Tensor;
    const { kernel, bias, a, b } = layer.parts();
    expect(Array.from(b.dataSync())).toEqual(new Array(6).fill(0));
    expect(tf.any(tf.notEqual(a, 0)).dataSync()[0]).toBe(1); // A is random, not zero
    const ref = tf.add(tf.matMul(x, kernel), bias);
    expect(tf.max(tf.abs(tf.sub(y, ref))).dataSync()[0]).toBeLessThan(1e-6);
  });

  it('hand case: in = 2, out = 2, r = 1, α = 2', () => {
    // W₀ = I, b₀ = [0.5, −0.5], A = [[1, 2]], B = [[3], [−1]], α/r = 2.
    // AᵀBᵀ = [1; 2]·[3, −1] = [[3, −1], [6, −2]]; ×2 → [[6, −2], [12, −4]]; W = W₀ + that = [[7, −2], [12, −3]].
    // x = [1, 1]:  x·W = [7 + 12, −2 − 3] = [19, −5];  + b₀ = [19.5, −5.5]
    // x = [2, −1]: x·W = [14 − 12, −4 + 3] = [2, −1];  + b₀ = [2.5, −1.5]  (relu → [2.5, 0])
    const w = { kernel: [[1, 0], [0, 1]], bias: [0.5, -0.5], a: [[1, 2]], b: [[3], [-1]] };
    const x = tf.tensor2d([[1, 1], [2, -1]]);
    const lin = makeLayer(2, w, { rank: 1, alpha: 2 });
    expect((lin.apply(x) as tf.Tensor).arraySync()).toEqual([[19.5, -5.5], [2.5, -1.5]]);
    expect(mergeLora(lin).arraySync()).toEqual([[7, -2], [12, -3]]);
    expect(loraDelta(tf.tensor2d(w.a), tf.tensor2d(w.b), 2, 1).arraySync()).toEqual([[6, -2], [12, -4]]);
    const relu = makeLayer(2, w, { rank: 1, alpha: 2, activation: 'relu' });
    expect((relu.apply(x) as tf.Tensor).arraySync()).toEqual([[19.5, 0], [2.5, 0]]);
  });

  it('the factored forward equals x·mergeLora + b₀, also on rank-3 inputs', () => {
    const layer = new LoraDense({ name: 'fc', units: 3, rank: 2, alpha: 4, seed: 2 });
    layer.build([null, 4]);
    layer.weights.find((v) => v.originalName.endsWith('lora_b'))!.write(tf.randomNormal([3, 2], 0, 1, 'float32', 5));
    const x = tf.randomNormal([2, 3, 4], 0, 1, 'float32', 6);
    const y = layer.apply(x) as tf.Tensor;
    expect(y.shape).toEqual([2, 3, 3]);
    const ref = tf.reshape(tf.add(tf.matMul(tf.reshape(x, [6, 4]), mergeLora(layer)), layer.parts().bias), [2, 3, 3]);
    expect(tf.max(tf.abs(tf.sub(y, ref))).dataSync()[0]).toBeLessThan(1e-5);
  });

  it('only A and B are trainable, and only they are federated (layerSpecs), by these names', () => {
    const model = tf.sequential({ layers: [new LoraDense({ name: 'fc', units: 3, seed: 1, inputShape: [5] })] });
    const layer = model.layers[0];
    expect(layer.trainableWeights.map((v) => v.originalName.split('/').pop())).toEqual(['lora_a', 'lora_b']);
    expect(layer.nonTrainableWeights.map((v) => v.originalName.split('/').pop())).toEqual(['kernel', 'bias']);
    expect(layerSpecs(model)).toEqual([
      { name: 'fc/lora_a', shape: [4, 5] },
      { name: 'fc/lora_b', shape: [3, 4] },
    ]);
  });

  it('A is N(0, σ²) with σ = 1/√(3·in) by default, seeded', () => {
    const draw = (seed: number, initSigma?: number) => {
      const l = new LoraDense({ name: 'fc', units: 2, rank: 8, seed, initSigma });
      l.build([null, 300]);
      return l.parts().a.dataSync() as Float32Array;
    };
    const a = draw(3);
    expect(Array.from(draw(3))).toEqual(Array.from(a));
    expect(Array.from(draw(4))).not.toEqual(Array.from(a));
    // 2400 draws: the sample std is within a few % of σ = 1/√900 = 1/30.
    const std = Math.sqrt(a.reduce((s, v) => s + v * v, 0) / a.length);
    expect(std).toBeGreaterThan(0.95 / 30);
    expect(std).toBeLessThan(1.05 / 30);
    const std2 = Math.sqrt(draw(3, 0.5).reduce((s, v) => s + v * v, 0) / a.length);
    expect(std2).toBeCloseTo(15 * std, 4); // same normal stream, scaled by 0.5 / (1/30)
  });

  it('a model with it round-trips through its JSON (registered class, full config)', async () => {
    const layer = new LoraDense({ name: 'fc', units: 3, rank: 2, alpha: 8, activation: 'relu', initSigma: 0.1, seed: 9, inputShape: [4] });
    const model = tf.sequential({ layers: [layer] });
    const copy = (await tf.models.modelFromJSON({ modelTopology: model.toJSON(null, false) as tf.io.ModelJSON['modelTopology'] })).layers[0];
    expect(copy).toBeInstanceOf(LoraDense);
    const c = copy as LoraDense;
    expect([c.units, c.rank, c.alpha, c.activation, c.initSigma, c.seed]).toEqual([3, 2, 8, 'relu', 0.1, 9]);
    expect(c.trainableWeights.length).toBe(2);
  });

  it('gradients w.r.t. A and B match central finite differences (float32)', () => {
    // in = 3, out = 2, r = 2 at random nonzero A, B (at B = 0 ∂L/∂A would be trivially 0).
    // L = Σ R⊙y + ½Σ y² is quadratic in each single entry of A or B (y is bilinear in (A, B)), so the central
    // difference has no truncation error: what is left is float32 rounding, ≈ ε·|L|/h ≈ 6e-8·(a few 10)/1e-2 ≈ 1e-4.
    // Tolerance 2e-3·max(1, |g|) leaves a ×10 margin on that and still catches a wrong α/r or a transposed factor.
    const layer = new LoraDense({ name: 'fc', units: 2, rank: 2, alpha: 3, seed: 11 });
    layer.build([null, 3]);
    const vars = layer.trainableWeights.map((v) => (v as unknown as { val: tf.Variable }).val);
    vars[1].assign(tf.randomNormal([2, 2], 0, 1, 'float32', 12));
    layer.weights.find((v) => v.originalName.endsWith('kernel'))!.write(tf.randomNormal([3, 2], 0, 1, 'float32', 13));
    layer.weights.find((v) => v.originalName.endsWith('bias'))!.write(tf.tensor1d([0.3, -0.2]));
    const x = tf.randomNormal([4, 3], 0, 1, 'float32', 14);
    const r = tf.randomNormal([4, 2], 0, 1, 'float32', 15);
    const loss = () => tf.tidy(() => {
      const y = layer.apply(x) as tf.Tensor;
      return tf.add(tf.sum(tf.mul(r, y)), tf.mul(0.5, tf.sum(tf.square(y)))) as tf.Scalar;
    });
    const { grads } = tf.variableGrads(loss, vars);
    const h = 1e-2;
    let checked = 0;
    for (const v of vars) {
      const g = grads[v.name].dataSync();
      const base = v.dataSync().slice();
      for (let i = 0; i < base.length; i++) {
        const at = (d: number) => {
          const p = base.slice();
          p[i] += d;
          v.assign(tf.tensor(p, v.shape));
          return loss().dataSync()[0];
        };
        const fd = (at(h) - at(-h)) / (2 * h);
        v.assign(tf.tensor(base, v.shape));
        expect(Math.abs(fd - g[i])).toBeLessThan(2e-3 * Math.max(1, Math.abs(g[i])));
        checked++;
      }
    }
    expect(checked).toBe(2 * 3 + 2 * 2);
  });
});

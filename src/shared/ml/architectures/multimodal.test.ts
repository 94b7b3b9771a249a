import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRng } from '../../prng';
import { buildMultimodal, hasModalityHeads, isMultimodal, modalityHeads, modalityLogits, trainableOf, unimodalAccuracy } from './multimodal';
import { buildModel } from './registry';

const PIXELS = 28 * 28;

// CNN-S body on one channel: conv1 3·3·1·32 + 32 = 320; conv2 3·3·32·64 + 64 = 18,496; 28 → conv 26 → pool 13 → conv 11
// → pool 5, so fc1 takes 5·5·64 = 1,600 features: 1,600·128 + 128 = 204,928. Body: 223,744.
const BODY = 320 + 18_496 + 204_928;
// Its 10-way head: 128·10 + 10 = 1,290.
const HEAD = 1_290;
/** mm-late: 2 × (body + head) = 450,068. */
const MM_LATE_PARAMS = 450_068;
/** mm-concat: 2 bodies + one head on the 256 concatenated features (256·10 + 10 = 2,570) = 450,058. */
const MM_CONCAT_PARAMS = 450_058;

const countParams = (m: tf.LayersModel) => m.trainableWeights.reduce((n, w) => n + w.shape.reduce((a: number, b) => a * (b as number), 1), 0);

/** n random two-channel images in [0, 1]. */
function randomPairs(n: number, seed: number): Float32Array {
  const rng = createRng(seed);
  return Float32Array.from({ length: n * PIXELS * 2 }, () => rng.next());
}

/** A copy of x ([n, 28, 28, 2] flat) with channel c replaced by f(i). */
function withChannel(x: Float32Array, c: number, f: (i: number) => number): Float32Array {
  const y = x.slice();
  for (let i = c; i < y.length; i += 2) y[i] = f(i);
  return y;
}

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
};

let late: tf.LayersModel;
let concat: tf.LayersModel;

beforeAll(async () => {
  await tf.setBackend('cpu');
  late = buildMultimodal('mm-late');
  concat = buildMultimodal('mm-concat');
});

afterAll(() => {
  late.dispose();
  concat.dispose();
});

describe('buildMultimodal', () => {
  it('mm-late is two CNN-S bodies, each with its own 10-way head', () => {
    expect(BODY + HEAD).toBe(225_034);
    expect(2 * (BODY + HEAD)).toBe(MM_LATE_PARAMS);
    expect(countParams(late)).toBe(MM_LATE_PARAMS);
    expect(late.countParams()).toBe(MM_LATE_PARAMS);
    expect(late.inputs[0].shape).toEqual([null, 28, 28, 2]);
    expect(late.outputs[0].shape).toEqual([null, 10]);
    expect(isMultimodal(late)).toBe(true);
    expect(hasModalityHeads(late)).toBe(true);
    // Every weighted layer belongs to a modality: mm-late has no shared parameters.
    expect(late.layers.filter((l) => l.weights.length > 0).every((l) => /^(mnist|fashion)_/.test(l.name))).toBe(true);
  });

  it('mm-concat has the two bodies and one shared fused_out head', () => {
    expect(countParams(concat)).toBe(MM_CONCAT_PARAMS);
    expect(2 * BODY + 256 * 10 + 10).toBe(MM_CONCAT_PARAMS);
    const head = concat.getLayer('fused_out');
    expect(head.weights.map((w) => w.shape)).toEqual([[256, 10], [10]]);
    expect(isMultimodal(concat)).toBe(true);
    expect(hasModalityHeads(concat)).toBe(false);
    expect(() => modalityHeads(concat)).toThrow(/no head per modality/);
  });

  it('a single-modality model is not multimodal', () => {
    const m = buildModel('cnn-s');
    try {
      expect(isMultimodal(m)).toBe(false);
      expect(hasModalityHeads(m)).toBe(false);
    } finally {
      m.dispose();
    }
  });
});

describe('modalityLogits', () => {
  it("mm-late's output is the sum of its two heads' logits", () => {
    const x = tf.tensor4d(randomPairs(5, 1), [5, 28, 28, 2]);
    const out = late.predict(x) as tf.Tensor2D;
    const [m, f] = modalityLogits(late, x);
    try {
      expect(m.shape).toEqual([5, 10]);
      expect(f.shape).toEqual([5, 10]);
      const sum = tf.add(m, f);
      expect(maxAbsDiff(sum.dataSync(), out.dataSync())).toBeLessThan(1e-5);
      // The heads are not trivially zero (the sum test would be empty otherwise).
      expect(maxAbsDiff(m.dataSync(), new Float32Array(50))).toBeGreaterThan(1e-4);
      expect(maxAbsDiff(f.dataSync(), new Float32Array(50))).toBeGreaterThan(1e-4);
      sum.dispose();
    } finally {
      tf.dispose([x, out, m, f]);
    }
  });

  it("the branches are independent: channel 1 (fashion) does not reach the mnist head, channel 0 does not reach the fashion head", () => {
    const base = randomPairs(4, 2);
    const readLogits = (pixels: Float32Array) =>
      tf.tidy(() => modalityLogits(late, tf.tensor4d(pixels, [4, 28, 28, 2])).map((t) => Array.from(t.dataSync())));
    const [m0, f0] = readLogits(base);
    const [m1, f1] = readLogits(withChannel(base, 1, (i) => ((i * 37) % 101) / 100));
    expect(m1).toEqual(m0);
    expect(maxAbsDiff(f1, f0)).toBeGreaterThan(1e-4);
    const [m2, f2] = readLogits(withChannel(base, 0, () => 0));
    expect(f2).toEqual(f0);
    expect(maxAbsDiff(m2, m0)).toBeGreaterThan(1e-4);
  });

  it("mm-concat's per-modality logits are the fused logits with the other channel zeroed", () => {
    const base = randomPairs(3, 3);
    const x = tf.tensor4d(base, [3, 28, 28, 2]);
    const onlyMnist = tf.tensor4d(withChannel(base, 1, () => 0), [3, 28, 28, 2]);
    const onlyFashion = tf.tensor4d(withChannel(base, 0, () => 0), [3, 28, 28, 2]);
    const [m, f] = modalityLogits(concat, x);
    const pm = concat.predict(onlyMnist) as tf.Tensor;
    const pf = concat.predict(onlyFashion) as tf.Tensor;
    const full = concat.predict(x) as tf.Tensor;
    try {
      expect(maxAbsDiff(m.dataSync(), pm.dataSync())).toBeLessThan(1e-6);
      expect(maxAbsDiff(f.dataSync(), pf.dataSync())).toBeLessThan(1e-6);
      // Zeroing mattered: the fused logits of the full pair differ from both.
      expect(maxAbsDiff(m.dataSync(), full.dataSync())).toBeGreaterThan(1e-4);
      expect(maxAbsDiff(f.dataSync(), full.dataSync())).toBeGreaterThan(1e-4);
    } finally {
      tf.dispose([x, onlyMnist, onlyFashion, m, f, pm, pf, full]);
    }
  });

  it('leaks no tensors', () => {
    const x = tf.tensor4d(randomPairs(2, 4), [2, 28, 28, 2]);
    tf.dispose(modalityLogits(late, x));
    tf.dispose(modalityLogits(concat, x));
    const before = tf.memory().numTensors;
    tf.dispose(modalityLogits(late, x));
    tf.dispose(modalityLogits(concat, x));
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });
});

describe('trainableOf', () => {
  const names = (vs: tf.Variable[]) => vs.map((v) => v.name);

  it("takes only the named modality's variables", () => {
    const mnist = names(trainableOf(late, ['mnist'], false));
    // conv1, conv2, fc1, out: a kernel and a bias each.
    expect(mnist).toHaveLength(8);
    expect(mnist.every((n) => n.startsWith('mnist_'))).toBe(true);
    const fashion = names(trainableOf(late, ['fashion'], false));
    expect(fashion).toHaveLength(8);
    expect(fashion.every((n) => n.startsWith('fashion_'))).toBe(true);
    expect(trainableOf(late, ['mnist', 'fashion'], false)).toHaveLength(16);
    const sizes = trainableOf(late, ['mnist'], false).reduce((n, v) => n + v.size, 0);
    expect(sizes).toBe(BODY + HEAD);
  });

  it('shared: the layers of no modality (mm-concat fused_out; none in mm-late)', () => {
    expect(trainableOf(late, [], true)).toHaveLength(0);
    const shared = trainableOf(concat, [], true);
    expect(shared.map((v) => v.shape)).toEqual([[256, 10], [10]]);
    expect(shared.every((v) => v.name.startsWith('fused_out'))).toBe(true);
    const mnistAndShared = names(trainableOf(concat, ['mnist'], true));
    expect(mnistAndShared).toHaveLength(8);
    expect(mnistAndShared.every((n) => n.startsWith('mnist_') || n.startsWith('fused_out'))).toBe(true);
  });
});

describe('unimodalAccuracy', () => {
  // 7 samples: 3 of class 3, 2 of class 7, one 0, one 9.
  const labels = Uint8Array.from([3, 7, 3, 0, 9, 3, 7]);
  const images = Uint8Array.from({ length: labels.length * PIXELS * 2 }, (_, i) => (i * 13) % 256);

  /** Makes `layer` output the constant logits `bias`: zero kernel, bias with its maximum at class c. */
  function constantHead(model: tf.LayersModel, layer: string, inputs: number, c: number): void {
    const bias = new Float32Array(10).fill(-1);
    bias[c] = 5;
    const w = [tf.zeros([inputs, 10]), tf.tensor1d(bias)];
    model.getLayer(layer).setWeights(w);
    tf.dispose(w);
  }

  it("scores each head on its own: a head fixed to class c has accuracy = share of c's", async () => {
    const model = buildMultimodal('mm-late');
    try {
      constantHead(model, 'mnist_out', 128, 3);
      constantHead(model, 'fashion_out', 128, 7);
      // Batches of 3, 3 and 1: the batching must not drop or repeat samples.
      expect(await unimodalAccuracy(model, images, labels, 3)).toEqual({ mnist: 3 / 7, fashion: 2 / 7 });
      expect(await unimodalAccuracy(model, images, labels)).toEqual({ mnist: 3 / 7, fashion: 2 / 7 });
      constantHead(model, 'fashion_out', 128, 1);
      expect((await unimodalAccuracy(model, images, labels, 2)).fashion).toBe(0);
    } finally {
      model.dispose();
    }
  });

  it('mm-concat with a constant fused head: both modalities score the same share', async () => {
    const model = buildMultimodal('mm-concat');
    try {
      constantHead(model, 'fused_out', 256, 9);
      expect(await unimodalAccuracy(model, images, labels, 4)).toEqual({ mnist: 1 / 7, fashion: 1 / 7 });
    } finally {
      model.dispose();
    }
  });

  it('an empty set scores 0 and leaks nothing', async () => {
    await unimodalAccuracy(late, images, labels, 3);
    const before = tf.memory().numTensors;
    expect(await unimodalAccuracy(late, new Uint8Array(0), new Uint8Array(0))).toEqual({ mnist: 0, fashion: 0 });
    await unimodalAccuracy(late, images, labels, 3);
    expect(tf.memory().numTensors).toBe(before);
  });
});

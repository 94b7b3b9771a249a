import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelId } from '../config.ts';
import { createRng } from '../prng.ts';
import { initWeights, l2Norm, layerOffsets, subtract, type LayerSpec } from '../weights.ts';

import { registerConv2DBackpropFilter, restoreConv2DBackpropFilter } from '../../kernels/conv2d-backprop-filter.ts';
import { buildModel, evaluate, getFlatWeights, imagesToTensor, labelsToOneHot, layerSpecs, setFlatWeights } from './models.ts';
import { trainLocal, type TrainOptions } from './train.ts';

const PIXELS = 28 * 28;
const allFinite = (v: Float32Array) => v.every(Number.isFinite);

/**
 * A small learnable problem: class c lights up image row 4 + 2c (value 200..255) over a noisy
 * background (0..60); labels are drawn at random.
 */
function rowDataset(n: number, seed: number): { images: Uint8Array; labels: Uint8Array } {
  const rng = createRng(seed);
  const images = new Uint8Array(n * PIXELS);
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const c = Math.floor(rng.next() * 10);
    labels[i] = c;
    const row = 4 + 2 * c;
    for (let p = 0; p < PIXELS; p++) {
      const bright = Math.floor(p / 28) === row;
      images[i * PIXELS + p] = bright ? 200 + Math.floor(rng.next() * 56) : Math.floor(rng.next() * 61);
    }
  }
  return { images, labels };
}

const N = 200;
const data = rowDataset(N, 42);
let xs: tf.Tensor4D;
let ys: tf.Tensor2D;
/** The first N_SMALL samples, for tests about bookkeeping rather than learning (cpu matmuls are slow). */
const N_SMALL = 40;
let xsSmall: tf.Tensor4D;
let ysSmall: tf.Tensor2D;

/** A model with deterministic (seeded Glorot) initial weights, so runs can be compared bit for bit. */
function seededModel(id: ModelId, initSeed = 1): { model: tf.LayersModel; w0: Float32Array } {
  const model = buildModel(id);
  const w0 = initWeights(layerSpecs(model), initSeed);
  setFlatWeights(model, w0);
  return { model, w0 };
}

const BASE: TrainOptions = { epochs: 3, batchSize: 16, lr: 0.05, mu: 0, seed: 7 };

/** Trains a fresh seeded 2NN on (x, y) and returns its final and initial weights. */
async function train2nn(x: tf.Tensor, y: tf.Tensor, opts: Partial<TrainOptions>): Promise<{ w: Float32Array; w0: Float32Array }> {
  const { model, w0 } = seededModel('2nn');
  try {
    await trainLocal(model, x, y, { ...BASE, ...opts });
    return { w: getFlatWeights(model), w0 };
  } finally {
    model.dispose();
  }
}

const sameBits = (a: Float32Array, b: Float32Array) =>
  a.length === b.length && Buffer.compare(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), new Uint8Array(b.buffer, b.byteOffset, b.byteLength)) === 0;

beforeAll(async () => {
  await tf.setBackend('cpu');
  registerConv2DBackpropFilter('cpu');
  xs = imagesToTensor(data.images);
  ys = labelsToOneHot(data.labels);
  xsSmall = xs.slice(0, N_SMALL);
  ysSmall = ys.slice(0, N_SMALL);
});

afterAll(() => {
  tf.dispose([xs, ys, xsSmall, ysSmall]);
  restoreConv2DBackpropFilter('cpu');
});

describe('trainLocal (2NN, synthetic rows)', () => {
  it('learns: per-epoch loss strictly decreases and accuracy ends > 0.9', async () => {
    const { model } = seededModel('2nn');
    try {
      const before = await evaluate(model, data.images, data.labels);
      const seen: Array<[number, number, number]> = [];
      const r = await trainLocal(model, xs, ys, { ...BASE, onEpoch: (e, loss, sps) => seen.push([e, loss, sps]) });

      expect(r.epochLosses).toHaveLength(3);
      expect(r.steps).toBe(3 * Math.ceil(N / 16)); // 200 / 16: the last batch is partial
      expect(r.batchLosses).toHaveLength(Math.ceil(N / 16));
      for (const l of r.epochLosses) expect(Number.isFinite(l)).toBe(true);
      expect(r.epochLosses[1]).toBeLessThan(r.epochLosses[0]);
      expect(r.epochLosses[2]).toBeLessThan(r.epochLosses[1]);

      const after = await evaluate(model, data.images, data.labels);
      expect(after.accuracy).toBeGreaterThan(0.9);
      expect(before.accuracy).toBeLessThan(0.5);
      expect(after.loss).toBeLessThan(before.loss);

      // onEpoch sees every epoch, in order, with the same mean loss.
      expect(seen.map((s) => s[0])).toEqual([0, 1, 2]);
      seen.forEach(([e, loss, sps]) => {
        expect(loss).toBe(r.epochLosses[e]);
        expect(sps).toBeGreaterThan(0);
      });
      expect(r.trainMs).toBeGreaterThan(0);
      expect(r.samplesPerSec).toBeGreaterThan(0);
    } finally {
      model.dispose();
    }
  });

  it.each([
    [16, 3], // 40 / 16: last batch partial
    [10, 4], // exact
    [500, 1], // one batch bigger than the data set
  ])('batch size %d: steps = epochs·ceil(n/B), batchLosses has ceil(n/B) = %d entries', async (batchSize, perEpoch) => {
    expect(perEpoch).toBe(Math.ceil(N_SMALL / batchSize));
    const { model } = seededModel('2nn');
    try {
      const r = await trainLocal(model, xsSmall, ysSmall, { ...BASE, epochs: 2, batchSize });
      expect(r.steps).toBe(2 * perEpoch);
      expect(r.batchLosses).toHaveLength(perEpoch);
      expect(r.epochLosses).toHaveLength(2);
      // epochLosses are means of the batch losses; batchLosses belong to the last epoch.
      const mean = r.batchLosses.reduce((a, b) => a + b, 0) / r.batchLosses.length;
      expect(r.epochLosses[1]).toBeCloseTo(mean, 5);
    } finally {
      model.dispose();
    }
  });

  it('same seed ⇒ bit-identical final weights; different seed ⇒ different', async () => {
    const a = await train2nn(xsSmall, ysSmall, { seed: 11, epochs: 2, batchSize: 8 });
    const b = await train2nn(xsSmall, ysSmall, { seed: 11, epochs: 2, batchSize: 8 });
    const c = await train2nn(xsSmall, ysSmall, { seed: 12, epochs: 2, batchSize: 8 });
    expect(sameBits(a.w0, b.w0)).toBe(true);
    expect(sameBits(a.w, a.w0)).toBe(false); // it did train
    expect(sameBits(a.w, b.w)).toBe(true);
    expect(sameBits(a.w, c.w)).toBe(false);
    expect(l2Norm(subtract(a.w, c.w))).toBeGreaterThan(1e-4);
  });

  it('FedProx: a large μ keeps w much closer to w_t than μ = 0', async () => {
    const plain = await train2nn(xs, ys, { mu: 0, epochs: 1 });
    const prox = await train2nn(xs, ys, { mu: 10, epochs: 1 });
    expect(sameBits(plain.w0, prox.w0)).toBe(true);
    const dPlain = l2Norm(subtract(plain.w, plain.w0));
    const dProx = l2Norm(subtract(prox.w, prox.w0));
    expect(allFinite(prox.w)).toBe(true);
    expect(dPlain).toBeGreaterThan(0);
    expect(dProx).toBeGreaterThan(0);
    expect(dProx / dPlain).toBeLessThan(0.5);
  });

  it.each([0, 0.5])('leaks no tensors (μ = %d)', async (mu) => {
    const { model } = seededModel('2nn');
    try {
      await trainLocal(model, xsSmall, ysSmall, { ...BASE, epochs: 1, batchSize: 16, mu }); // warm up
      const before = tf.memory().numTensors;
      await trainLocal(model, xsSmall, ysSmall, { ...BASE, epochs: 2, batchSize: 16, mu });
      expect(tf.memory().numTensors).toBe(before);
    } finally {
      model.dispose();
    }
  });

  it('leaks no tensors on the very first call on a fresh model either', async () => {
    const { model } = seededModel('2nn');
    try {
      const before = tf.memory().numTensors;
      await trainLocal(model, xsSmall, ysSmall, { ...BASE, epochs: 1, batchSize: 16, mu: 0.1 });
      expect(tf.memory().numTensors).toBe(before);
    } finally {
      model.dispose();
    }
  });
});

describe('trainLocal (CNN-S, cpu + our Conv2DBackpropFilter)', () => {
  /** One full-batch SGD step of a seeded CNN-S on the first n images. */
  async function cnnStep(n: number): Promise<{ w: Float32Array; w0: Float32Array; loss: number; steps: number; specs: LayerSpec[] }> {
    const idx = Array.from({ length: n }, (_, i) => i);
    const x = imagesToTensor(data.images, idx);
    const y = labelsToOneHot(data.labels, idx);
    const { model, w0 } = seededModel('cnn-s', 3);
    try {
      const specs = layerSpecs(model);
      const before = tf.memory().numTensors;
      const r = await trainLocal(model, x, y, { epochs: 1, batchSize: n, lr: 0.1, mu: 0, seed: 1 });
      expect(tf.memory().numTensors).toBe(before);
      return { w: getFlatWeights(model), w0, loss: r.epochLosses[0], steps: r.steps, specs };
    } finally {
      model.dispose();
      tf.dispose([x, y]);
    }
  }

  const slice = (v: Float32Array, specs: LayerSpec[], name: string) => {
    const off = layerOffsets(specs);
    const k = specs.findIndex((s) => s.name === name);
    expect(k).toBeGreaterThanOrEqual(0);
    return v.subarray(off[k], off[k + 1]);
  };

  it('one step on 8 images works and changes the conv1 kernel', async () => {
    const ours = tf.getKernel('Conv2DBackpropFilter', 'cpu');
    registerConv2DBackpropFilter('cpu'); // idempotent: beforeAll already installed it
    expect(tf.getKernel('Conv2DBackpropFilter', 'cpu')).toBe(ours);

    const r = await cnnStep(8);
    expect(r.steps).toBe(1);
    expect(Number.isFinite(r.loss)).toBe(true);
    expect(allFinite(r.w)).toBe(true);
    for (const name of ['conv1/kernel', 'conv2/kernel']) {
      expect(l2Norm(subtract(slice(r.w, r.specs, name), slice(r.w0, r.specs, name)))).toBeGreaterThan(0);
    }
  });

  it('our kernel gives the same step as the stock cpu kernel (2 images; the stock one is slow)', async () => {
    const ours = await cnnStep(2);
    const oursKernel = tf.getKernel('Conv2DBackpropFilter', 'cpu');
    restoreConv2DBackpropFilter('cpu');
    try {
      expect(tf.getKernel('Conv2DBackpropFilter', 'cpu')).not.toBe(oursKernel);
      const ref = await cnnStep(2);
      expect(ref.loss).toBeCloseTo(ours.loss, 5);
      let maxDiff = 0;
      for (let i = 0; i < ref.w.length; i++) maxDiff = Math.max(maxDiff, Math.abs(ref.w[i] - ours.w[i]));
      expect(maxDiff).toBeLessThan(1e-5);
      // and the step moved conv1 by much more than that difference
      expect(l2Norm(subtract(slice(ours.w, ours.specs, 'conv1/kernel'), slice(ours.w0, ours.specs, 'conv1/kernel')))).toBeGreaterThan(1e-3);
    } finally {
      registerConv2DBackpropFilter('cpu');
    }
  });
});

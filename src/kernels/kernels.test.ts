// All our wasm kernels together, as src/shared/ml/backend.ts registers them, on a CNN-S-shaped model.
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerBatchMatMul, restoreBatchMatMul } from './batch-matmul.ts';
import { registerConv2DBackpropFilter, restoreConv2DBackpropFilter } from './conv2d-backprop-filter.ts';
import { registerConv2DBackpropInput, restoreConv2DBackpropInput } from './conv2d-backprop-input.ts';
import { expectAllClose, initCpuAndWasm, liveCounts, maxErr, rand, seedWeights } from './test-helpers.ts';

// Before the wasm backend is initialised, like the app's import-time registration.
registerConv2DBackpropFilter('wasm');
registerConv2DBackpropInput('wasm');
registerBatchMatMul('wasm');

beforeAll(initCpuAndWasm);
afterAll(() => {
  restoreConv2DBackpropFilter('wasm');
  restoreConv2DBackpropInput('wasm');
  restoreBatchMatMul('wasm');
});

describe('CNN-S-shaped training on wasm with all our kernels', () => {
  // CNN-S with fewer channels: conv3×3 valid → pool → conv3×3 valid → pool → dense relu → dense.
  const build = () => {
    const model = tf.sequential({
      layers: [
        tf.layers.conv2d({ inputShape: [28, 28, 1], filters: 4, kernelSize: 3, padding: 'valid', activation: 'relu' }),
        tf.layers.maxPooling2d({ poolSize: 2, strides: 2 }),
        tf.layers.conv2d({ filters: 8, kernelSize: 3, padding: 'valid', activation: 'relu' }),
        tf.layers.maxPooling2d({ poolSize: 2, strides: 2 }),
        tf.layers.flatten(),
        tf.layers.dense({ units: 16, activation: 'relu' }),
        tf.layers.dense({ units: 10 }),
      ],
    });
    seedWeights(model, 41);
    model.compile({ optimizer: tf.train.sgd(0.05), loss: tf.losses.softmaxCrossEntropy });
    return model;
  };
  const data = () => ({
    xs: tf.tensor4d(rand(16 * 28 * 28, 51).map((v) => (v + 1) / 2), [16, 28, 28, 1]),
    ys: tf.oneHot(tf.tensor1d(Array.from({ length: 16 }, (_, i) => (i * 7) % 10), 'int32'), 10),
  });
  const train = async (steps: number) => {
    const model = build();
    const { xs, ys } = data();
    try {
      const h = await model.fit(xs, ys, { epochs: steps, batchSize: 8, shuffle: false, verbose: 0 });
      return { weights: model.getWeights().map((w) => w.dataSync() as Float32Array), loss: h.history.loss as number[] };
    } finally {
      tf.dispose([xs, ys]);
      model.dispose();
    }
  };

  it('two epochs give the same weights and losses as the cpu backend', async () => {
    await tf.setBackend('cpu');
    const cpu = await train(2);
    await tf.setBackend('wasm');
    const wasm = await train(2);
    expectAllClose(wasm.weights, cpu.weights);
    expect(maxErr(wasm.loss, cpu.loss)).toBeLessThan(1e-4);
  });

  it('training steps leak no tensors or backend buffers', async () => {
    // Steps as src/shared/ml/train.ts takes them (model.fit itself keeps one tensor per call, with stock kernels too).
    await tf.setBackend('wasm');
    const model = build();
    const opt = tf.train.sgd(0.05);
    const { xs, ys } = data();
    const step = () => tf.tidy(() => {
      opt.minimize(() => tf.losses.softmaxCrossEntropy(ys, model.apply(xs, { training: true }) as tf.Tensor) as tf.Scalar);
    });
    try {
      step(); // first-use allocations
      const before = liveCounts();
      step();
      step();
      expect(liveCounts()).toEqual(before);
    } finally {
      tf.dispose([xs, ys]);
      opt.dispose();
      model.dispose();
    }
  });
});

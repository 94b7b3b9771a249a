import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  makeConv2DBackpropFilter,
  registerConv2DBackpropFilter,
  restoreConv2DBackpropFilter,
} from './conv2d-backprop-filter.ts';
import { conv2dBackpropFilterReference } from './conv2d-backprop-filter.reference.ts';
import {
  callKernel, expectGradsLeakNothing, expectGradsMatchCpu, expectRegistrationRoundTrip, fitOneStep, initCpuAndWasm,
  liveCounts, maxErr, on, rand, runKernel, type Pad, type Shape4,
} from './test-helpers.ts';

const runFilterGrad = (x: Float32Array, xShape: Shape4, dy: Float32Array, dyShape: Shape4, attrs: object) =>
  runKernel(tf.Conv2DBackpropFilter, { x: tf.tensor(x, xShape), dy: tf.tensor(dy, dyShape) }, attrs).vals;

beforeAll(async () => {
  await initCpuAndWasm();
  registerConv2DBackpropFilter('wasm');
});
afterAll(() => restoreConv2DBackpropFilter('wasm'));

describe('Conv2DBackpropFilter', () => {
  const shapes = [
    { n: 1, h: 13, w: 13, ci: 1, co: 4, f: 3 },
    { n: 5, h: 13, w: 13, ci: 3, co: 8, f: 5 },
    { n: 5, h: 28, w: 28, ci: 3, co: 8, f: 3 },
    { n: 1, h: 28, w: 28, ci: 1, co: 8, f: 5 },
    { n: 2, h: 13, w: 28, ci: 3, co: 4, f: 3 },
  ];
  const cases: Array<{ n: number; h: number; w: number; ci: number; co: number; f: number; pad: Pad; s: number; round?: 'floor' | 'ceil' }> = [
    ...shapes.flatMap((sh) => (['valid', 'same'] as const).flatMap((pad) => [1, 2].map((s) => ({ ...sh, pad, s })))),
    { n: 2, h: 13, w: 13, ci: 3, co: 4, f: 3, pad: 1, s: 2 },
    { n: 2, h: 14, w: 13, ci: 3, co: 4, f: 3, pad: 1, s: 2, round: 'floor' },
    { n: 2, h: 14, w: 15, ci: 3, co: 4, f: 3, pad: [[0, 0], [1, 2], [0, 1], [0, 0]], s: 2 },
    { n: 2, h: 16, w: 16, ci: 2, co: 4, f: 3, pad: [[0, 0], [2, 0], [0, 2], [0, 0]], s: 3 },
    { n: 2, h: 13, w: 13, ci: 16, co: 32, f: 3, pad: 'valid', s: 1 }, // CNN-S-like channel counts
  ];

  it.each(cases)('n$n h$h w$w ci$ci co$co f$f pad=$pad s$s', async ({ n, h, w, ci, co, f, pad, s, round }) => {
    const xShape: Shape4 = [n, h, w, ci];
    const filterShape: Shape4 = [f, f, ci, co];
    const info = tf.backend_util.computeConv2DInfo(xShape, filterShape, [s, s], 1, pad, round);
    const dyShape = info.outShape as Shape4;
    const x = rand(n * h * w * ci, 1 + n * h + ci);
    const dy = rand(dyShape.reduce((a, b) => a * b), 7 + co * s);
    const attrs = { strides: [s, s], pad, dataFormat: 'NHWC', dimRoundingMode: round, filterShape };

    const stock = await on('cpu', () => runFilterGrad(x, xShape, dy, dyShape, attrs));

    await tf.setBackend('wasm');
    const before = liveCounts();
    const ours = await on('wasm', () => runFilterGrad(x, xShape, dy, dyShape, attrs));
    expect(liveCounts()).toEqual(before);
    expect(maxErr(ours, stock)).toBeLessThan(1e-4);

    // Ours assembled from cpu kernels, called directly so the stock cpu kernel stays registered.
    const oursCpu = await on('cpu', () => callKernel(makeConv2DBackpropFilter('cpu'),
      () => ({ x: tf.tensor(x, xShape), dy: tf.tensor(dy, dyShape) }), attrs));
    expect(maxErr(oursCpu.vals, stock)).toBeLessThan(1e-4);

    const ref = conv2dBackpropFilterReference(x, xShape, dy, dyShape, filterShape, [s, s],
      { top: info.padInfo.top, left: info.padInfo.left }, [1, 1]);
    expect(maxErr(ref, stock)).toBeLessThan(1e-4);
  });

  it('rejects NCHW with a clear error', async () => {
    await tf.setBackend('wasm');
    const attrs = { strides: [1, 1], pad: 'valid', dataFormat: 'NCHW', filterShape: [3, 3, 1, 2] };
    expect(() => tf.tidy(() => tf.engine().runKernel(tf.Conv2DBackpropFilter,
      { x: tf.zeros([1, 1, 5, 5]), dy: tf.zeros([1, 2, 3, 3]) }, attrs))).toThrow(/NCHW is not supported/);
  });

  it('registration is idempotent and restorable', () => {
    // Stock wasm has no Conv2DBackpropFilter: restoring leaves none.
    expectRegistrationRoundTrip(tf.Conv2DBackpropFilter, registerConv2DBackpropFilter, restoreConv2DBackpropFilter,
      undefined);
  });
});

describe('end to end on wasm', () => {
  const xShape: Shape4 = [4, 13, 13, 3];
  const inputs = () => [
    tf.tensor4d(rand(4 * 13 * 13 * 3, 11), xShape),
    tf.tensor4d(rand(3 * 3 * 3 * 8, 12), [3, 3, 3, 8]),
    tf.tensor4d(rand(3 * 3 * 8 * 8, 13), [3, 3, 8, 8]),
    tf.tensor2d(rand(3 * 3 * 8 * 5, 14), [72, 5]),
  ];
  // conv(same, s1) → relu → conv(valid, s2) → relu → maxPool → dense → softmax cross-entropy.
  const loss = (x: tf.Tensor, w1: tf.Tensor, w2: tf.Tensor, wd: tf.Tensor) => {
    let h = tf.relu(tf.conv2d(x as tf.Tensor4D, w1 as tf.Tensor4D, 1, 'same'));
    h = tf.relu(tf.conv2d(h as tf.Tensor4D, w2 as tf.Tensor4D, 2, 'valid'));
    h = tf.maxPool(h as tf.Tensor4D, 2, 2, 'valid');
    const logits = tf.matMul(tf.reshape(h, [4, 72]), wd as tf.Tensor2D);
    return tf.losses.softmaxCrossEntropy(tf.oneHot([0, 1, 2, 3], 5), logits);
  };

  it('tf.grads matches the cpu backend', () => expectGradsMatchCpu(loss, inputs, 4));

  it('a gradient computation in tidy leaks no tensors or backend buffers', () => expectGradsLeakNothing(loss, inputs));

  const build = () => {
    const model = tf.sequential({
      layers: [
        tf.layers.conv2d({ inputShape: [12, 12, 1], filters: 4, kernelSize: 3, padding: 'valid', activation: 'relu' }),
        tf.layers.maxPooling2d({ poolSize: 2 }),
        tf.layers.flatten(),
        tf.layers.dense({ units: 3, activation: 'softmax' }),
      ],
    });
    model.compile({ optimizer: 'sgd', loss: 'categoricalCrossentropy' });
    return model;
  };

  it('tf.layers CNN fits on wasm only with the kernel registered', async () => {
    await tf.setBackend('wasm');
    restoreConv2DBackpropFilter('wasm');
    try {
      await expect(fitOneStep(build())).rejects.toThrow(/Conv2DBackpropFilter' not registered for backend 'wasm'/);
    } finally {
      registerConv2DBackpropFilter('wasm');
    }
    expect(Number.isFinite((await fitOneStep(build())).loss)).toBe(true);
  });
});

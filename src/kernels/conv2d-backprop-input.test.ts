import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerConv2DBackpropFilter, restoreConv2DBackpropFilter } from './conv2d-backprop-filter.ts';
import {
  makeConv2DBackpropInput,
  registerConv2DBackpropInput,
  restoreConv2DBackpropInput,
} from './conv2d-backprop-input.ts';
import { conv2dBackpropInputReference } from './conv2d-backprop-input.reference.ts';
import {
  callKernel, expectAllClose, expectFitMatchesCpu, expectGradsLeakNothing, expectGradsMatchCpu,
  expectRegistrationRoundTrip, gradValues, initCpuAndWasm, liveCounts, maxErr, on, rand, runKernel, seedWeights,
  type Pad, type Shape4,
} from './test-helpers.ts';

const runInputGrad = (dy: Float32Array, dyShape: Shape4, filter: Float32Array, filterShape: Shape4, attrs: object) =>
  runKernel(tf.Conv2DBackpropInput, { dy: tf.tensor(dy, dyShape), filter: tf.tensor(filter, filterShape) }, attrs).vals;

/** Calls `kernelFunc` directly on the active backend (so the registry is left alone); checks it leaks nothing. */
function callDirect(kernelFunc: tf.KernelFunc, dy: Float32Array, dyShape: Shape4, filter: Float32Array, filterShape: Shape4, attrs: object) {
  const out = callKernel(kernelFunc, () => ({ dy: tf.tensor(dy, dyShape), filter: tf.tensor(filter, filterShape) }), attrs);
  expect(out.shape).toEqual((attrs as { inputShape: Shape4 }).inputShape);
  return out.vals;
}

// Registered before the wasm backend is first initialised, as src/shared/ml/backend.ts does at import: the stock
// kernel's setup then never runs until restoreConv2DBackpropInput runs it.
const stockWasm = tf.getKernel(tf.Conv2DBackpropInput, 'wasm')!;
registerConv2DBackpropInput('wasm');

beforeAll(async () => {
  expect(stockWasm).toBeDefined();
  await initCpuAndWasm();
  registerConv2DBackpropFilter('wasm'); // for the end-to-end gradients: stock wasm has no filter gradient
});
afterAll(() => {
  restoreConv2DBackpropInput('wasm');
  restoreConv2DBackpropFilter('wasm');
});

describe('registration', () => {
  it('restoring after the backend initialised with ours gives a working stock kernel', async () => {
    const dy = rand(2 * 5 * 5 * 3, 1);
    const filter = rand(3 * 3 * 2 * 3, 2);
    const attrs = { strides: [1, 1], pad: 'valid', dataFormat: 'NHWC', inputShape: [2, 7, 7, 2] };
    const expected = await on('cpu', () => runInputGrad(dy, [2, 5, 5, 3], filter, [3, 3, 2, 3], attrs));
    await tf.setBackend('wasm');
    restoreConv2DBackpropInput('wasm');
    try {
      expect(tf.getKernel(tf.Conv2DBackpropInput, 'wasm')).toBe(stockWasm);
      // No setBackend here: that would rerun every registered kernel's setup and hide a missing one.
      const stock = tf.tidy(() => runInputGrad(dy, [2, 5, 5, 3], filter, [3, 3, 2, 3], attrs));
      expect(maxErr(stock, expected)).toBeLessThan(1e-4);
    } finally {
      registerConv2DBackpropInput('wasm');
    }
  });

  it('is idempotent and restorable', () => {
    expectRegistrationRoundTrip(tf.Conv2DBackpropInput, registerConv2DBackpropInput, restoreConv2DBackpropInput, stockWasm);
  });
});

describe('Conv2DBackpropInput', () => {
  const shapes = [
    { n: 1, h: 13, w: 13, ci: 1, co: 4, fh: 3, fw: 3 },
    { n: 5, h: 13, w: 13, ci: 3, co: 8, fh: 5, fw: 5 },
    { n: 5, h: 28, w: 28, ci: 3, co: 8, fh: 3, fw: 3 },
    { n: 1, h: 28, w: 28, ci: 1, co: 8, fh: 5, fw: 5 },
    { n: 2, h: 13, w: 28, ci: 3, co: 4, fh: 3, fw: 3 },
    { n: 2, h: 11, w: 9, ci: 5, co: 3, fh: 3, fw: 5 },
  ];
  const cases: Array<{ n: number; h: number; w: number; ci: number; co: number; fh: number; fw: number; pad: Pad; s: number; round?: 'floor' | 'ceil' }> = [
    ...shapes.flatMap((sh) => (['valid', 'same'] as const).flatMap((pad) => [1, 2, 3].map((s) => ({ ...sh, pad, s })))),
    { n: 2, h: 13, w: 13, ci: 3, co: 4, fh: 3, fw: 3, pad: 1, s: 2 },
    { n: 2, h: 14, w: 13, ci: 3, co: 4, fh: 3, fw: 3, pad: 1, s: 2, round: 'floor' },
    { n: 2, h: 14, w: 13, ci: 3, co: 4, fh: 3, fw: 3, pad: 1, s: 2, round: 'ceil' },
    { n: 2, h: 14, w: 15, ci: 3, co: 4, fh: 3, fw: 3, pad: [[0, 0], [1, 2], [0, 1], [0, 0]], s: 2 },
    { n: 2, h: 16, w: 16, ci: 2, co: 4, fh: 3, fw: 3, pad: [[0, 0], [2, 0], [0, 2], [0, 0]], s: 3 },
    // Padding beyond fh−1 (the transposed conv then crops dy) and 1×1 filters that skip input rows.
    { n: 2, h: 9, w: 10, ci: 2, co: 3, fh: 3, fw: 3, pad: [[0, 0], [4, 3], [3, 5], [0, 0]], s: 2 },
    { n: 2, h: 9, w: 10, ci: 2, co: 3, fh: 3, fw: 3, pad: 4, s: 1 },
    { n: 2, h: 10, w: 11, ci: 3, co: 5, fh: 1, fw: 1, pad: 'valid', s: 3 },
    { n: 2, h: 10, w: 11, ci: 3, co: 5, fh: 2, fw: 2, pad: 'same', s: 2 },
    { n: 2, h: 13, w: 13, ci: 32, co: 64, fh: 3, fw: 3, pad: 'valid', s: 1 }, // CNN-S conv2
  ];

  it.each(cases.map((c) => ({ ...c, rounding: c.round ?? 'default' })))('n$n h$h w$w ci$ci co$co f$fh×$fw pad=$pad s$s rounding $rounding', async ({ n, h, w, ci, co, fh, fw, pad, s, round }) => {
    const xShape: Shape4 = [n, h, w, ci];
    const filterShape: Shape4 = [fh, fw, ci, co];
    const info = tf.backend_util.computeConv2DInfo(xShape, filterShape, [s, s], 1, pad, round);
    const dyShape = info.outShape as Shape4;
    const dy = rand(dyShape.reduce((a, b) => a * b), 1 + n * h + ci);
    const filter = rand(fh * fw * ci * co, 7 + co * s);
    const attrs = { strides: [s, s], pad, dataFormat: 'NHWC', dimRoundingMode: round, inputShape: xShape };

    const stock = await on('cpu', () => runInputGrad(dy, dyShape, filter, filterShape, attrs));

    await tf.setBackend('wasm');
    const before = liveCounts();
    const ours = await on('wasm', () => runInputGrad(dy, dyShape, filter, filterShape, attrs));
    expect(liveCounts()).toEqual(before);
    expect(maxErr(ours, stock)).toBeLessThan(1e-4);

    const stockWasmVals = await on('wasm', () => callDirect(stockWasm.kernelFunc, dy, dyShape, filter, filterShape, attrs));
    expect(maxErr(ours, stockWasmVals)).toBeLessThan(1e-4);

    // Ours assembled from cpu kernels, called directly so the stock cpu kernel stays registered.
    const oursCpu = await on('cpu', () => callDirect(makeConv2DBackpropInput('cpu'), dy, dyShape, filter, filterShape, attrs));
    expect(maxErr(oursCpu, stock)).toBeLessThan(1e-4);

    const ref = conv2dBackpropInputReference(dy, dyShape, filter, filterShape, xShape, [s, s],
      { top: info.padInfo.top, left: info.padInfo.left }, [1, 1]);
    expect(maxErr(ref, stock)).toBeLessThan(1e-4);
  });

  it('rejects NCHW with a clear error', async () => {
    await tf.setBackend('wasm');
    const attrs = { strides: [1, 1], pad: 'valid', dataFormat: 'NCHW', inputShape: [1, 1, 5, 5] };
    expect(() => tf.tidy(() => tf.engine().runKernel(tf.Conv2DBackpropInput,
      { dy: tf.zeros([1, 2, 3, 3]), filter: tf.zeros([3, 3, 1, 2]) }, attrs))).toThrow(/NCHW is not supported/);
  });

  it('rejects a dy that does not match the forward output shape', async () => {
    await tf.setBackend('wasm');
    const attrs = { strides: [1, 1], pad: 'valid', dataFormat: 'NHWC', inputShape: [1, 5, 5, 1] };
    expect(() => tf.tidy(() => tf.engine().runKernel(tf.Conv2DBackpropInput,
      { dy: tf.zeros([1, 4, 3, 2]), filter: tf.zeros([3, 3, 1, 2]) }, attrs))).toThrow(/does not match/);
  });
});

describe('end to end on wasm', () => {
  const xShape: Shape4 = [4, 13, 13, 3];
  const inputs = () => [
    tf.tensor4d(rand(4 * 13 * 13 * 3, 11), xShape),
    tf.tensor4d(rand(3 * 3 * 3 * 8, 12), [3, 3, 3, 8]),
    tf.tensor4d(rand(3 * 3 * 8 * 8, 13), [3, 3, 8, 8]),
    tf.tensor4d(rand(3 * 3 * 8 * 8, 15), [3, 3, 8, 8]),
    tf.tensor2d(rand(2 * 2 * 8 * 5, 14), [32, 5]),
  ];
  // conv(same, s1) → relu → conv(valid, s2) → relu → conv(same, s3) → dense → softmax cross-entropy; gradients
  // with respect to x too, so every conv's input gradient runs. (Not a 2×2 filter with stride 3 'same': the stock
  // wasm forward Conv2D returns zeros for 'same' with stride > filter size where no padding is needed.)
  const loss = (x: tf.Tensor, w1: tf.Tensor, w2: tf.Tensor, w3: tf.Tensor, wd: tf.Tensor) => {
    let h = tf.relu(tf.conv2d(x as tf.Tensor4D, w1 as tf.Tensor4D, 1, 'same'));
    h = tf.relu(tf.conv2d(h as tf.Tensor4D, w2 as tf.Tensor4D, 2, 'valid')); // [4, 6, 6, 8]
    h = tf.conv2d(h as tf.Tensor4D, w3 as tf.Tensor4D, 3, 'same'); // [4, 2, 2, 8]
    const logits = tf.matMul(tf.reshape(h, [4, 32]), wd as tf.Tensor2D);
    return tf.losses.softmaxCrossEntropy(tf.oneHot([0, 1, 2, 3], 5), logits);
  };

  it('tf.grads matches the cpu backend', () => expectGradsMatchCpu(loss, inputs, 5));

  it('tf.grads matches with ours registered on cpu too', async () => {
    const grads = () => gradValues(loss, inputs);
    const stock = await on('cpu', grads);
    registerConv2DBackpropInput('cpu');
    try {
      const ours = await on('cpu', grads);
      expectAllClose(ours, stock);
    } finally {
      restoreConv2DBackpropInput('cpu');
    }
  });

  it('a gradient computation in tidy leaks no tensors or backend buffers', () => expectGradsLeakNothing(loss, inputs));

  it('a tf.layers CNN trains one step on wasm like on cpu', async () => {
    const build = () => {
      const model = tf.sequential({
        layers: [
          tf.layers.conv2d({ inputShape: [12, 12, 1], filters: 4, kernelSize: 3, padding: 'valid', activation: 'relu' }),
          tf.layers.conv2d({ filters: 6, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' }),
          tf.layers.maxPooling2d({ poolSize: 2 }),
          tf.layers.flatten(),
          tf.layers.dense({ units: 3, activation: 'softmax' }),
        ],
      });
      seedWeights(model, 31); // same starting weights on both backends
      model.compile({ optimizer: tf.train.sgd(0.1), loss: 'categoricalCrossentropy' });
      return model;
    };
    await expectFitMatchesCpu(build);
  });
});

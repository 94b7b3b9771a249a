import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeBatchMatMul, registerBatchMatMul, restoreBatchMatMul } from './batch-matmul.ts';
import { registerConv2DBackpropFilter, restoreConv2DBackpropFilter } from './conv2d-backprop-filter.ts';
import {
  callKernel, expectFitMatchesCpu, expectGradsLeakNothing, expectGradsMatchCpu, expectRegistrationRoundTrip,
  initCpuAndWasm, liveCounts, maxErr, on, rand, runKernel, seedWeights,
} from './test-helpers.ts';

/** op(A)·op(B) for 2-D row-major A, B, accumulated in Float64. */
function matMulReference(a: Float32Array, aShape: number[], b: Float32Array, bShape: number[], tA: boolean, tB: boolean) {
  const [ra, ca] = aShape.slice(-2);
  const [rb, cb] = bShape.slice(-2);
  const [m, k] = tA ? [ca, ra] : [ra, ca];
  const n = tB ? rb : cb;
  const out = new Float32Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += a[tA ? p * ca + i : i * ca + p] * b[tB ? j * cb + p : p * cb + j];
      out[i * n + j] = s;
    }
  }
  return out;
}

const runMatMul = (a: Float32Array, aShape: number[], b: Float32Array, bShape: number[], attrs: object) =>
  runKernel(tf.BatchMatMul, { a: tf.tensor(a, aShape), b: tf.tensor(b, bShape) }, attrs);

// Registered before the wasm backend is first initialised, as src/shared/ml/backend.ts does at import: the engine then
// runs the stock kernel's setup through our config.
const stockWasm = tf.getKernel(tf.BatchMatMul, 'wasm')!;
registerBatchMatMul('wasm');

beforeAll(async () => {
  expect(stockWasm).toBeDefined();
  await initCpuAndWasm();
  registerConv2DBackpropFilter('wasm'); // for the CNN fit below
});
afterAll(() => {
  restoreBatchMatMul('wasm');
  restoreConv2DBackpropFilter('wasm');
});

describe('BatchMatMul', () => {
  // [m, k, n]: CNN-S dense layers at batch 32, odd sizes, vectors.
  const dims: Array<[number, number, number]> = [
    [32, 1600, 128], [32, 128, 10], [5, 7, 3], [1, 13, 9], [17, 1, 11], [9, 31, 1], [64, 33, 65],
  ];
  const cases = dims.flatMap(([m, k, n]) => [false, true].flatMap((tA) => [false, true].flatMap((tB) =>
    [2, 3].map((rank) => ({ m, k, n, tA, tB, rank })))));

  it.each(cases)('m$m k$k n$n tA=$tA tB=$tB rank $rank', async ({ m, k, n, tA, tB, rank }) => {
    const lead = rank === 3 ? [1] : [];
    const aShape = [...lead, ...(tA ? [k, m] : [m, k])];
    const bShape = [...lead, ...(tB ? [n, k] : [k, n])];
    const a = rand(m * k, 3 + m + k);
    const b = rand(k * n, 5 + n);
    const attrs = { transposeA: tA, transposeB: tB };

    const stock = await on('cpu', () => runMatMul(a, aShape, b, bShape, attrs));
    expect(stock.shape).toEqual([...lead, m, n]);

    await tf.setBackend('wasm');
    const before = liveCounts();
    const ours = await on('wasm', () => runMatMul(a, aShape, b, bShape, attrs));
    expect(liveCounts()).toEqual(before);
    expect(ours.shape).toEqual(stock.shape);
    expect(maxErr(ours.vals, stock.vals)).toBeLessThan(1e-4);

    // Ours wrapping the stock cpu kernel, called directly so the cpu registry is left alone.
    const oursCpu = await on('cpu', () => callKernel(
      makeBatchMatMul('cpu', tf.getKernel(tf.BatchMatMul, 'cpu')!.kernelFunc),
      () => ({ a: tf.tensor(a, aShape), b: tf.tensor(b, bShape) }),
      attrs,
    ));
    expect(oursCpu.shape).toEqual(stock.shape);
    expect(maxErr(oursCpu.vals, stock.vals)).toBeLessThan(1e-4);

    expect(maxErr(matMulReference(a, aShape, b, bShape, tA, tB), stock.vals)).toBeLessThan(1e-4);
  });

  it.each([
    { aShape: [3, 4, 5], bShape: [3, 5, 2], tA: false, tB: false },
    { aShape: [3, 5, 4], bShape: [3, 2, 5], tA: true, tB: true },
    { aShape: [2, 1, 4, 5], bShape: [3, 2, 5], tA: false, tB: true },
    { aShape: [1, 5, 4], bShape: [4, 5, 2], tA: true, tB: false },
  ])('batched $aShape × $bShape tA=$tA tB=$tB goes to the stock kernel', async ({ aShape, bShape, tA, tB }) => {
    const a = rand(aShape.reduce((p, d) => p * d), 1);
    const b = rand(bShape.reduce((p, d) => p * d), 2);
    const attrs = { transposeA: tA, transposeB: tB };
    const stock = await on('cpu', () => runMatMul(a, aShape, b, bShape, attrs));
    const ours = await on('wasm', () => runMatMul(a, aShape, b, bShape, attrs));
    expect(ours.shape).toEqual(stock.shape);
    expect(maxErr(ours.vals, stock.vals)).toBeLessThan(1e-4);
  });

  it.each([
    { m: 32, k: 128, n: 1600, tA: false, tB: true, swapped: true }, // dense 1600→128 input gradient
    { m: 1600, k: 32, n: 128, tA: true, tB: false, swapped: false }, // dense 1600→128 weight gradient
    { m: 32, k: 10, n: 128, tA: false, tB: true, swapped: false },
    { m: 4, k: 6, n: 5, tA: true, tB: true, swapped: true }, // Aᵀ·Bᵀ = (B·A)ᵀ: one transpose instead of two
  ])('calls the wrapped kernel untransposed only (m$m k$k n$n tA=$tA tB=$tB)', async ({ m, k, n, tA, tB, swapped }) => {
    await tf.setBackend('wasm');
    const calls: Array<{ a: number[]; b: number[]; attrs: unknown }> = [];
    const inner: tf.KernelFunc = (args) => {
      const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
      calls.push({ a: [...a.shape], b: [...b.shape], attrs: { ...args.attrs } });
      return stockWasm.kernelFunc(args);
    };
    const aShape = tA ? [k, m] : [m, k];
    const bShape = tB ? [n, k] : [k, n];
    const a = rand(m * k, 1);
    const b = rand(k * n, 2);
    const out = callKernel(makeBatchMatMul('wasm', inner), () => ({ a: tf.tensor(a, aShape), b: tf.tensor(b, bShape) }),
      { transposeA: tA, transposeB: tB });
    expect(out.shape).toEqual([m, n]);
    expect(calls).toEqual([{ a: swapped ? [n, k] : [m, k], b: swapped ? [k, m] : [k, n], attrs: { transposeA: false, transposeB: false } }]);
    expect(maxErr(out.vals, matMulReference(a, aShape, b, bShape, tA, tB))).toBeLessThan(1e-4);
  });

  it('rejects mismatched inner dimensions', async () => {
    await tf.setBackend('wasm');
    expect(() => tf.tidy(() => tf.engine().runKernel(tf.BatchMatMul, { a: tf.zeros([3, 4]), b: tf.zeros([3, 5]) },
      { transposeA: true, transposeB: true }))).toThrow(/inner shapes/);
  });

  it('registration is idempotent and restorable', () => {
    expectRegistrationRoundTrip(tf.BatchMatMul, registerBatchMatMul, restoreBatchMatMul, stockWasm);
  });
});

describe('end to end on wasm', () => {
  const inputs = () => [
    tf.tensor2d(rand(32 * 50, 11), [32, 50]),
    tf.tensor2d(rand(50 * 40, 12), [50, 40]),
    tf.tensor1d(rand(40, 13)),
    tf.tensor2d(rand(40 * 10, 14), [40, 10]),
  ];
  // dense(relu) → dense → softmax cross-entropy, gradients with respect to the input too.
  const loss = (x: tf.Tensor, w1: tf.Tensor, b1: tf.Tensor, w2: tf.Tensor) => {
    const h = tf.relu(tf.add(tf.matMul(x as tf.Tensor2D, w1 as tf.Tensor2D), b1));
    const logits = tf.matMul(h as tf.Tensor2D, w2 as tf.Tensor2D);
    return tf.losses.softmaxCrossEntropy(tf.oneHot(tf.tensor1d(Array.from({ length: 32 }, (_, i) => i % 10), 'int32'), 10), logits);
  };

  it('tf.grads matches the cpu backend', () => expectGradsMatchCpu(loss, inputs, 4));

  it('a gradient computation in tidy leaks no tensors or backend buffers', () => expectGradsLeakNothing(loss, inputs));

  it('a tf.layers CNN trains one step on wasm like on cpu', async () => {
    const build = () => {
      const model = tf.sequential({
        layers: [
          tf.layers.conv2d({ inputShape: [12, 12, 1], filters: 4, kernelSize: 3, padding: 'valid', activation: 'relu' }),
          tf.layers.maxPooling2d({ poolSize: 2 }),
          tf.layers.flatten(),
          tf.layers.dense({ units: 16, activation: 'relu' }),
          tf.layers.dense({ units: 3 }),
        ],
      });
      seedWeights(model, 31);
      model.compile({ optimizer: tf.train.sgd(0.1), loss: tf.losses.softmaxCrossEntropy });
      return model;
    };
    await expectFitMatchesCpu(build);
  });
});

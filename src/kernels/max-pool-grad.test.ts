import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeMaxPoolGrad, registerMaxPoolGrad, restoreMaxPoolGrad } from './max-pool-grad.ts';
import { maxPoolGradReference } from './max-pool-grad.reference.ts';
import { callKernel, expectGradsLeakNothing, expectRegistrationRoundTrip, initCpuAndWasm, liveCounts, maxErr, on, rand, type Shape4 } from './test-helpers.ts';

let stockWasm: tf.KernelConfig | undefined;
beforeAll(async () => {
  await initCpuAndWasm();
  stockWasm = tf.getKernel(tf.MaxPoolGrad, 'wasm');
  registerMaxPoolGrad('wasm');
});
afterAll(() => restoreMaxPoolGrad('wasm'));

/** x with ReLU-like ties: a third of the values are exactly 0, and some windows repeat their maximum. */
function tiedInput(len: number, seed: number): Float32Array {
  const x = rand(len, seed).map((v) => (v < -0.33 ? 0 : Math.round(v * 8) / 8));
  return x;
}

const pooled = (x: Float32Array, shape: Shape4, k: number, s: number) => {
  const t = tf.tensor4d(x, shape);
  const y = tf.maxPool(t, k, s, 'valid');
  const out = { y: (y.dataSync() as Float32Array).slice(), shape: y.shape as Shape4 };
  tf.dispose([t, y]);
  return out;
};

/** The stock wasm kernel through the engine, registered again for the call (its setup binds its C++ function). */
function stockOnWasm(inputs: () => tf.NamedTensorMap, attrs: object): Float32Array {
  restoreMaxPoolGrad('wasm');
  try {
    const ins = inputs();
    const out = tf.engine().runKernel(tf.MaxPoolGrad, ins, attrs as tf.NamedAttrMap) as tf.Tensor;
    // A copy: on wasm, dataSync can be a view of the heap, reused once the tensor is disposed.
    const vals = (out.dataSync() as Float32Array).slice();
    tf.dispose([out, ...Object.values(ins)]);
    return vals;
  } finally {
    registerMaxPoolGrad('wasm');
  }
}

describe('MaxPoolGrad', () => {
  const cases = [
    { n: 4, h: 26, w: 26, c: 32, k: 2 }, // CNN-S pool1
    { n: 4, h: 11, w: 11, c: 64, k: 2 }, // CNN-S pool2: the last row and column are dropped
    { n: 2, h: 9, w: 12, c: 3, k: 3 },
    { n: 1, h: 7, w: 5, c: 2, k: 2 },
  ];

  it.each(cases)('n$n h$h w$w c$c k$k: equals the direct definition and the cpu kernel, ties included', async ({ n, h, w, c, k }) => {
    const shape: Shape4 = [n, h, w, c];
    for (const [label, x] of [['random', rand(n * h * w * c, 3 + h)], ['tied', tiedInput(n * h * w * c, 5 + w)]] as const) {
      await tf.setBackend('wasm');
      const { y, shape: yShape } = pooled(x, shape, k, k);
      const dy = rand(y.length, 11 + c);
      const want = maxPoolGradReference(x, shape, dy, yShape, [k, k], [k, k]);
      const inputs = () => ({ dy: tf.tensor4d(dy, yShape), input: tf.tensor4d(x, shape), output: tf.tensor4d(y, yShape) });
      const attrs = { filterSize: [k, k], strides: [k, k], pad: 'valid' };
      const before = liveCounts();
      const ours = callKernel(makeMaxPoolGrad(stockWasm!.kernelFunc), inputs, attrs);
      expect(liveCounts()).toEqual(before);
      expect(ours.shape).toEqual(shape);
      expect(maxErr(ours.vals, want)).toBe(0);
      // tfjs-core's cpu kernel agrees; the stock wasm one does not (below).
      const cpu = await on('cpu', () => tf.engine().runKernel(tf.MaxPoolGrad, inputs(), attrs as unknown as tf.NamedAttrMap) as tf.Tensor);
      expect(maxErr(ours.vals, cpu.dataSync()), label).toBe(0);
      cpu.dispose();
    }
  });

  it("sends dy to the window's first maximum, where the stock wasm kernel does not (negative inputs, ties)", async () => {
    await tf.setBackend('wasm');
    const grad = (x: number[]) => {
      const g = tf.grad((a: tf.Tensor) => tf.sum(tf.maxPool(a as tf.Tensor4D, 2, 2, 'valid')))(tf.tensor4d(x, [1, 2, 2, 1]));
      const out = Array.from(g.dataSync());
      g.dispose();
      return out;
    };
    // Stock tfjs-backend-wasm 4.22 gives [1, 0, 0, 0] and [0, 1, 0, 0] here (measured; cpu agrees with ours).
    expect(grad([-1, 0, -3, -4])).toEqual([0, 1, 0, 0]);
    expect(grad([2, 2, 1, 0])).toEqual([1, 0, 0, 0]);
    expect(stockOnWasm(() => ({ dy: tf.tensor4d([1], [1, 1, 1, 1]), input: tf.tensor4d([-1, 0, -3, -4], [1, 2, 2, 1]), output: tf.tensor4d([0], [1, 1, 1, 1]) }), { filterSize: [2, 2], strides: [2, 2], pad: 'valid' })).not.toEqual(Float32Array.from([0, 1, 0, 0]));
  });

  it('leaves overlapping and padded pools to the stock kernel (same values)', async () => {
    await tf.setBackend('wasm');
    for (const [k, s, pad] of [[3, 2, 'valid'], [2, 2, 'same'], [2, 1, 'valid']] as const) {
      const shape: Shape4 = [2, 9, 9, 4];
      const x = rand(2 * 9 * 9 * 4, 9 + k + s);
      const t = tf.tensor4d(x, shape);
      const y = tf.maxPool(t, k, s, pad);
      const dy = tf.tensor4d(rand(y.size, 2), y.shape as Shape4);
      const inputs = () => ({ dy: dy.clone(), input: t.clone(), output: y.clone() });
      const attrs = { filterSize: [k, k], strides: [s, s], pad };
      const ours = callKernel(makeMaxPoolGrad(stockWasm!.kernelFunc), inputs, attrs);
      expect(ours.vals).toEqual(stockOnWasm(inputs, attrs));
      tf.dispose([t, y, dy]);
    }
  });

  it('is what tf.grads of maxPool uses on wasm once registered, and leaks nothing', async () => {
    const loss = (a: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(a as tf.Tensor4D, 2, 2, 'valid'), tf.range(1, 1 + 6 * 6 * 3).reshape([1, 6, 6, 3])));
    const x = rand(13 * 13 * 3, 21);
    const grad = await on('wasm', () => tf.grad(loss)(tf.tensor4d(x, [1, 13, 13, 3])));
    const dy = Float32Array.from({ length: 6 * 6 * 3 }, (_, i) => i + 1);
    expect(maxErr(grad.dataSync(), maxPoolGradReference(x, [1, 13, 13, 3], dy, [1, 6, 6, 3], [2, 2], [2, 2]))).toBe(0);
    grad.dispose();
    await expectGradsLeakNothing(loss, () => [tf.tensor4d(x, [1, 13, 13, 3])]);
  });

  it('registers and restores like the other kernels', () => {
    expectRegistrationRoundTrip(tf.MaxPoolGrad, registerMaxPoolGrad, restoreMaxPoolGrad, stockWasm);
  });
});

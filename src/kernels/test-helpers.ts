// Shared setup for the kernel tests and the model tests. Tests that use wasm import '@tensorflow/tfjs-backend-wasm'
// themselves (Node resolves it to the CJS build, which loads dist/*.wasm from disk: no setWasmPaths needed).
import * as tf from '@tensorflow/tfjs';
import { expect } from 'vitest';

export type Shape4 = [number, number, number, number];
export type Pad = 'valid' | 'same' | number | [[number, number], [number, number], [number, number], [number, number]];

/** Deterministic uniform values in [-1, 1). */
export function rand(len: number, seed: number): Float32Array {
  const out = new Float32Array(len);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < len; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

/** max |a−b| / max(1, |b|): absolute error for O(1) values, relative for large sums. */
export function maxErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]) / Math.max(1, Math.abs(b[i])));
  return m;
}

/** Expects as many arrays as `expected`, each within `tol` of its counterpart by `maxErr`. */
export function expectAllClose(actual: ArrayLike<number>[], expected: ArrayLike<number>[], tol = 1e-4): void {
  expect(actual).toHaveLength(expected.length);
  for (let i = 0; i < expected.length; i++) expect(maxErr(actual[i], expected[i])).toBeLessThan(tol);
}

/** Initialises the cpu and then the wasm backend, leaving wasm active. */
export async function initCpuAndWasm(): Promise<void> {
  expect(await tf.setBackend('cpu')).toBe(true);
  expect(await tf.setBackend('wasm')).toBe(true);
}

/**
 * Checks our `register`/`restore` for `kernelName` with ours registered on wasm: registering again is a no-op,
 * restoring (twice) gives back `stockWasm` (undefined: none), and on cpu the same round trip gives back the stock one.
 */
export function expectRegistrationRoundTrip(
  kernelName: string,
  register: (backendName: string) => void,
  restore: (backendName: string) => void,
  stockWasm: tf.KernelConfig | undefined,
): void {
  const current = (backendName: string) => tf.getKernel(kernelName, backendName);
  const k = current('wasm');
  expect(k).not.toBe(stockWasm);
  register('wasm');
  expect(current('wasm')).toBe(k);
  restore('wasm');
  expect(current('wasm')).toBe(stockWasm);
  restore('wasm');
  expect(current('wasm')).toBe(stockWasm);
  register('wasm');
  expect(current('wasm')).not.toBe(stockWasm);

  const stockCpu = current('cpu');
  register('cpu');
  expect(current('cpu')).not.toBe(stockCpu);
  register('cpu');
  restore('cpu');
  expect(current('cpu')).toBe(stockCpu);
}

/** Switches to `backend` and runs `fn` in tidy. */
export async function on<T extends tf.TensorContainer>(backend: string, fn: () => T): Promise<T> {
  await tf.setBackend(backend);
  return tf.tidy(fn);
}

/** Live tensors and backend buffers on the active backend, for leak checks. */
export const liveCounts = () => ({ tensors: tf.memory().numTensors, data: tf.engine().backend.numDataIds() });

type KernelOutput = { shape: number[]; vals: Float32Array };

/** Runs kernel `name` through the engine (so the registered kernel is used); output shape and values. */
export function runKernel(name: string, inputs: tf.NamedTensorMap, attrs: object): KernelOutput {
  const out = tf.engine().runKernel(name, inputs, attrs as tf.NamedAttrMap) as tf.Tensor;
  return { shape: out.shape, vals: out.dataSync() as Float32Array };
}

/**
 * Calls `kernelFunc` directly on the active backend (so the registry is left alone) with `inputs()`, disposes the
 * inputs and output, and expects no backend buffer left over; output shape and values.
 */
export function callKernel(kernelFunc: tf.KernelFunc, inputs: () => tf.NamedTensorMap, attrs: object): KernelOutput {
  const backend = tf.backend();
  const before = backend.numDataIds();
  const ins = inputs();
  const out = kernelFunc({ inputs: ins, backend, attrs: attrs as tf.NamedAttrMap }) as tf.TensorInfo;
  const vals = (backend.readSync(out.dataId) as Float32Array).slice();
  backend.disposeData(out.dataId);
  tf.dispose(ins);
  expect(backend.numDataIds()).toBe(before);
  return { shape: [...out.shape], vals };
}

type Loss = (...args: tf.Tensor[]) => tf.Tensor;

/** Gradients of `loss` with respect to all of fresh `inputs()` on the active backend, as arrays. */
export const gradValues = (loss: Loss, inputs: () => tf.Tensor[]): Float32Array[] =>
  tf.grads(loss)(inputs()).map((g) => g.dataSync() as Float32Array);

/** Expects `count` gradients of `loss` at `inputs()` on wasm, each close to the cpu backend's. */
export async function expectGradsMatchCpu(loss: Loss, inputs: () => tf.Tensor[], count: number): Promise<void> {
  const cpu = await on('cpu', () => gradValues(loss, inputs));
  const wasm = await on('wasm', () => gradValues(loss, inputs));
  expect(wasm).toHaveLength(count);
  expectAllClose(wasm, cpu);
}

/** Expects computing the gradients of `loss` in tidy on wasm to leave no tensors or backend buffers behind. */
export async function expectGradsLeakNothing(loss: Loss, inputs: () => tf.Tensor[]): Promise<void> {
  await tf.setBackend('wasm');
  const ins = inputs();
  const before = liveCounts();
  tf.tidy(() => {
    tf.grads(loss)(ins);
  });
  expect(liveCounts()).toEqual(before);
  tf.dispose(ins);
}

/** Sets `model`'s weights i to rand(·, seed + i)·0.3: the same start on every backend. */
export function seedWeights(model: tf.LayersModel, seed: number): void {
  const init = model.getWeights().map((w, i) => tf.tensor(rand(w.size, seed + i).map((v) => v * 0.3), w.shape));
  model.setWeights(init);
  tf.dispose(init);
}

/**
 * Fits compiled `model` (input [12, 12, 1], 3 classes) for one epoch on a fixed batch of 8 and disposes it;
 * the weights after the step and the loss.
 */
export async function fitOneStep(model: tf.LayersModel): Promise<{ weights: Float32Array[]; loss: number }> {
  const xs = tf.tensor4d(rand(8 * 12 * 12, 21), [8, 12, 12, 1]);
  const ys = tf.oneHot(tf.tensor1d([0, 1, 2, 0, 1, 2, 0, 1], 'int32'), 3);
  try {
    const h = await model.fit(xs, ys, { epochs: 1, batchSize: 8, verbose: 0 });
    return { weights: model.getWeights().map((w) => w.dataSync() as Float32Array), loss: h.history.loss[0] as number };
  } finally {
    tf.dispose([xs, ys]);
    model.dispose();
  }
}

/** Expects `fitOneStep(build())` to give the same weights on wasm as on cpu. */
export async function expectFitMatchesCpu(build: () => tf.LayersModel): Promise<void> {
  await tf.setBackend('cpu');
  const cpu = await fitOneStep(build());
  await tf.setBackend('wasm');
  const wasm = await fitOneStep(build());
  expectAllClose(wasm.weights, cpu.weights);
}

import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { registerConv2DBackpropFilter, restoreConv2DBackpropFilter } from './conv2d-backprop-filter.ts';

type Shape4 = [number, number, number, number];
export interface ConvFilterGradTiming {
  backend: string;
  impl: 'stock' | 'ours';
  shape: string;
  msPerCall: number;
}

// The two conv layers of CNN-S at batch 32 (valid padding, stride 1).
const SHAPES: Array<{ x: Shape4; filter: Shape4 }> = [
  { x: [32, 28, 28, 1], filter: [3, 3, 1, 32] },
  { x: [32, 13, 13, 32], filter: [3, 3, 32, 64] },
];

/** Median wall time of the currently registered Conv2DBackpropFilter on the active backend. */
function timeKernel(x: Shape4, filterShape: Shape4, minMs = 1000, minReps = 5): number {
  const [n, h, w] = x;
  const dyShape: Shape4 = [n, h - filterShape[0] + 1, w - filterShape[1] + 1, filterShape[3]];
  const xt = tf.randomUniform(x, -1, 1, 'float32', 1);
  const dy = tf.randomUniform(dyShape, -1, 1, 'float32', 2);
  const attrs = { strides: [1, 1], pad: 'valid', dataFormat: 'NHWC', filterShape } as unknown as tf.NamedAttrMap;
  const once = () => {
    const t0 = performance.now();
    const out = tf.engine().runKernel(tf.Conv2DBackpropFilter, { x: xt, dy }, attrs) as tf.Tensor;
    out.dataSync(); // no-op wait on cpu/wasm (synchronous kernels); a real sync on async backends
    const ms = performance.now() - t0;
    out.dispose();
    return ms;
  };
  once();
  once();
  const times: number[] = [];
  for (let total = 0; times.length < minReps || total < minMs; ) {
    times.push(once());
    total += times[times.length - 1];
  }
  tf.dispose([xt, dy]);
  times.sort((a, b) => a - b);
  return times[times.length >> 1];
}

/**
 * Times the conv2d filter gradient for CNN-S shapes: ours on wasm (no stock kernel exists there),
 * and on cpu both the stock kernel and ours built from cpu kernels. Leaves the kernel registry and
 * active backend as it found them.
 */
export async function benchConvFilterGrad(): Promise<ConvFilterGradTiming[]> {
  const original = tf.getBackend();
  const results: ConvFilterGradTiming[] = [];
  const run = (backend: string, impl: 'stock' | 'ours') => {
    for (const { x, filter } of SHAPES) {
      results.push({ backend, impl, shape: `x${JSON.stringify(x)} f${JSON.stringify(filter)}`, msPerCall: timeKernel(x, filter) });
    }
  };
  const withOurs = (backend: string, fn: () => void) => {
    const before = tf.getKernel(tf.Conv2DBackpropFilter, backend);
    registerConv2DBackpropFilter(backend);
    const alreadyOurs = tf.getKernel(tf.Conv2DBackpropFilter, backend) === before;
    try {
      fn();
    } finally {
      if (!alreadyOurs) restoreConv2DBackpropFilter(backend);
    }
  };
  try {
    if (await tf.setBackend('wasm')) withOurs('wasm', () => run('wasm', 'ours'));
    await tf.setBackend('cpu');
    run('cpu', 'stock');
    withOurs('cpu', () => run('cpu', 'ours'));
  } finally {
    if (original) await tf.setBackend(original);
  }
  return results;
}

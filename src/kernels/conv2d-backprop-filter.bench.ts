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

export interface ConvFilterGradBenchOptions {
  /** Keep timing a case until this much time was spent on timed calls (default 1000 ms). */
  minMs?: number;
  /** At least this many timed calls per case (default 5). */
  minReps?: number;
  /** Untimed calls per case before timing (default 2). */
  warmup?: number;
  /**
   * A case whose first call takes longer than this (ms) is reported from that call alone, with no further
   * warm-up or repetitions (default Infinity). The stock cpu kernel takes ~11 s per call on the larger shape.
   */
  slowMs?: number;
  /** Which cases to run (default all). `shapeIndex` is 0 for conv1's shape, 1 for conv2's. */
  include?: (c: { backend: string; impl: 'stock' | 'ours'; shapeIndex: number }) => boolean;
}

/** Median wall time of the currently registered Conv2DBackpropFilter on the active backend. */
function timeKernel(x: Shape4, filterShape: Shape4, opts: ConvFilterGradBenchOptions = {}): number {
  const { minMs = 1000, minReps = 5, warmup = 2, slowMs = Infinity } = opts;
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
  try {
    const times: number[] = [];
    if (warmup > 0 || slowMs < Infinity) {
      const first = once();
      if (first > slowMs) return first;
      if (warmup === 0) times.push(first);
      for (let i = 1; i < warmup; i++) once();
    }
    for (let total = 0; times.length < minReps || total < minMs; ) {
      times.push(once());
      total += times[times.length - 1];
    }
    times.sort((a, b) => a - b);
    return times[times.length >> 1];
  } finally {
    tf.dispose([xt, dy]);
  }
}

/**
 * Times the conv2d filter gradient for CNN-S shapes: ours on wasm (no stock kernel exists there),
 * and on cpu both the stock kernel and ours built from cpu kernels. Leaves the kernel registry and
 * active backend as it found them. With no options: 2 warm-up calls, then the median of at least 5 calls and 1 s
 * per case (~90 s in all on 2 cores, nearly all of it the stock cpu kernel); `opts` shortens that.
 */
export async function benchConvFilterGrad(opts: ConvFilterGradBenchOptions = {}): Promise<ConvFilterGradTiming[]> {
  const original = tf.getBackend();
  const results: ConvFilterGradTiming[] = [];
  const run = (backend: string, impl: 'stock' | 'ours') => {
    SHAPES.forEach(({ x, filter }, shapeIndex) => {
      if (opts.include && !opts.include({ backend, impl, shapeIndex })) return;
      results.push({ backend, impl, shape: `x${JSON.stringify(x)} f${JSON.stringify(filter)}`, msPerCall: timeKernel(x, filter, opts) });
    });
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

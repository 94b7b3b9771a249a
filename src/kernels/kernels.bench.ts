// Micro-bench of our training kernels vs the stock ones, in Node: `npx tsx src/kernels/kernels.bench.ts [--quick]`.
// Conv2DBackpropFilter, Conv2DBackpropInput and BatchMatMul at CNN-S shapes, on wasm and cpu. `npm run bench`
// (scripts/bench.ts) runs it too, in a child process, after the browser training bench.
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { registerBatchMatMul, restoreBatchMatMul } from './batch-matmul.ts';
import { registerConv2DBackpropFilter, restoreConv2DBackpropFilter } from './conv2d-backprop-filter.ts';
import { registerConv2DBackpropInput, restoreConv2DBackpropInput } from './conv2d-backprop-input.ts';
import { registerMaxPoolGrad, restoreMaxPoolGrad } from './max-pool-grad.ts';

type Shape4 = [number, number, number, number];
export type BenchedKernel = 'Conv2DBackpropFilter' | 'Conv2DBackpropInput' | 'BatchMatMul' | 'MaxPoolGrad';

export interface KernelTiming {
  kernel: BenchedKernel;
  backend: string;
  impl: 'stock' | 'ours';
  shape: string;
  /** Median of the timed calls. */
  msPerCall: number;
  /** How many calls were timed: 1 where the first call took longer than `slowMs`. */
  calls: number;
}

export interface KernelBenchOptions {
  /** Keep timing a case until this much time was spent on timed calls (default 1000 ms). */
  minMs?: number;
  /** At least this many timed calls per case (default 5). */
  minReps?: number;
  /** Untimed calls per case before timing (default 2). */
  warmup?: number;
  /**
   * A case whose first call takes longer than this (ms) is reported from that call alone, with no further warm-up
   * or repetitions (default Infinity). The stock cpu Conv2DBackpropFilter takes ~1 s (conv1) and ~11 s (conv2) a call.
   */
  slowMs?: number;
  /** Backends to time (default wasm and cpu; unavailable ones are skipped). */
  backends?: string[];
  /** Which cases to run (default all). `caseIndex` indexes that kernel's CASES entry. */
  include?: (c: { kernel: BenchedKernel; backend: string; impl: 'stock' | 'ours'; caseIndex: number }) => boolean;
}

interface BenchCase {
  shape: string;
  /** Makes the inputs; returns the call to time and a disposer. */
  setup: () => { run: () => tf.Tensor; dispose: () => void };
}

// CNN-S at batch 32 (valid padding, stride 1). Filter gradients of conv1 and conv2.
const FILTER_GRAD_CASES: Array<{ x: Shape4; filter: Shape4 }> = [
  { x: [32, 28, 28, 1], filter: [3, 3, 1, 32] },
  { x: [32, 13, 13, 32], filter: [3, 3, 32, 64] },
];
// conv2's input gradient; conv1's is never needed (its input is the data).
const INPUT_GRAD_CASES: Array<{ dy: Shape4; x: Shape4; filter: Shape4 }> = [
  { dy: [32, 11, 11, 64], x: [32, 13, 13, 32], filter: [3, 3, 32, 64] },
];
// fc1 (1600→128) forward and its two backward products, as the training step calls them.
const MATMUL_CASES: Array<{ a: number[]; b: number[]; transposeA: boolean; transposeB: boolean }> = [
  { a: [32, 1600], b: [1600, 128], transposeA: false, transposeB: false },
  { a: [32, 128], b: [1600, 128], transposeA: false, transposeB: true },
  { a: [32, 1600], b: [32, 128], transposeA: true, transposeB: false },
];

// CNN-S's two 2×2 pools at batch 32, on post-ReLU inputs (about half zeros, as in training).
const POOL_GRAD_CASES: Shape4[] = [[32, 26, 26, 32], [32, 11, 11, 64]];

const CASES: Record<BenchedKernel, BenchCase[]> = {
  Conv2DBackpropFilter: FILTER_GRAD_CASES.map(({ x, filter }) => ({
    shape: `x${JSON.stringify(x)} → f${JSON.stringify(filter)}`,
    setup: () => {
      const [n, h, w] = x;
      const dyShape: Shape4 = [n, h - filter[0] + 1, w - filter[1] + 1, filter[3]];
      const xT = tf.randomUniform(x, -1, 1, 'float32', 1);
      const dy = tf.randomUniform(dyShape, -1, 1, 'float32', 2);
      const attrs = { strides: [1, 1], pad: 'valid', dataFormat: 'NHWC', filterShape: filter } as unknown as tf.NamedAttrMap;
      return {
        run: () => tf.engine().runKernel(tf.Conv2DBackpropFilter, { x: xT, dy }, attrs) as tf.Tensor,
        dispose: () => tf.dispose([xT, dy]),
      };
    },
  })),
  Conv2DBackpropInput: INPUT_GRAD_CASES.map(({ dy, x, filter }) => ({
    shape: `dy${JSON.stringify(dy)} → x${JSON.stringify(x)} f${JSON.stringify(filter)}`,
    setup: () => {
      const dyT = tf.randomUniform(dy, -1, 1, 'float32', 1);
      const f = tf.randomUniform(filter, -1, 1, 'float32', 2);
      const attrs = { strides: [1, 1], pad: 'valid', dataFormat: 'NHWC', inputShape: x } as unknown as tf.NamedAttrMap;
      return {
        run: () => tf.engine().runKernel(tf.Conv2DBackpropInput, { dy: dyT, filter: f }, attrs) as tf.Tensor,
        dispose: () => tf.dispose([dyT, f]),
      };
    },
  })),
  BatchMatMul: MATMUL_CASES.map(({ a, b, transposeA, transposeB }) => ({
    shape: `${JSON.stringify(a)}${transposeA ? 'ᵀ' : ''} × ${JSON.stringify(b)}${transposeB ? 'ᵀ' : ''}`,
    setup: () => {
      const aT = tf.randomUniform(a, -1, 1, 'float32', 3);
      const bT = tf.randomUniform(b, -1, 1, 'float32', 4);
      return {
        run: () => tf.engine().runKernel(tf.BatchMatMul, { a: aT, b: bT }, { transposeA, transposeB }) as tf.Tensor,
        dispose: () => tf.dispose([aT, bT]),
      };
    },
  })),
  MaxPoolGrad: POOL_GRAD_CASES.map((x) => ({
    shape: `x${JSON.stringify(x)} pool 2×2`,
    setup: () => {
      const input = tf.tidy(() => tf.relu(tf.randomUniform(x, -1, 1, 'float32', 5)));
      const output = tf.maxPool(input as tf.Tensor4D, 2, 2, 'valid');
      const dy = tf.randomUniform(output.shape, -1, 1, 'float32', 6);
      const attrs = { filterSize: [2, 2], strides: [2, 2], pad: 'valid' } as unknown as tf.NamedAttrMap;
      return {
        run: () => tf.engine().runKernel(tf.MaxPoolGrad, { dy, input, output }, attrs) as tf.Tensor,
        dispose: () => tf.dispose([input, output, dy]),
      };
    },
  })),
};

const REGISTRATION: Record<BenchedKernel, { name: string; register: (b: string) => void; restore: (b: string) => void }> = {
  Conv2DBackpropFilter: { name: tf.Conv2DBackpropFilter, register: registerConv2DBackpropFilter, restore: restoreConv2DBackpropFilter },
  Conv2DBackpropInput: { name: tf.Conv2DBackpropInput, register: registerConv2DBackpropInput, restore: restoreConv2DBackpropInput },
  BatchMatMul: { name: tf.BatchMatMul, register: registerBatchMatMul, restore: restoreBatchMatMul },
  MaxPoolGrad: { name: tf.MaxPoolGrad, register: registerMaxPoolGrad, restore: restoreMaxPoolGrad },
};

/** Median wall time of `c` with whatever kernel is registered now, on the active backend, and how many calls were timed. */
function timeCase(c: BenchCase, opts: KernelBenchOptions): { msPerCall: number; calls: number } {
  const { minMs = 1000, minReps = 5, warmup = 2, slowMs = Infinity } = opts;
  const { run, dispose } = c.setup();
  const once = () => {
    const t0 = performance.now();
    const out = run();
    out.dataSync(); // no-op wait on cpu/wasm (synchronous kernels); a real sync on async backends
    const ms = performance.now() - t0;
    out.dispose();
    return ms;
  };
  try {
    const times: number[] = [];
    if (warmup > 0 || slowMs < Infinity) {
      const first = once();
      if (first > slowMs) return { msPerCall: first, calls: 1 };
      if (warmup === 0) times.push(first);
      for (let i = 1; i < warmup; i++) once();
    }
    for (let total = 0; times.length < minReps || total < minMs; ) {
      times.push(once());
      total += times[times.length - 1];
    }
    times.sort((a, b) => a - b);
    return { msPerCall: times[times.length >> 1], calls: times.length };
  } finally {
    dispose();
  }
}

/**
 * Runs `fn` with the stock or our kernel registered, then leaves the registry as it found it. Returns false, without
 * calling `fn`, for `stock` where the backend has no stock kernel (tfjs has no Conv2DBackpropFilter for wasm).
 */
function withImpl(kernel: BenchedKernel, backend: string, impl: 'stock' | 'ours', fn: () => void): boolean {
  const { name, register, restore } = REGISTRATION[kernel];
  const before = tf.getKernel(name, backend);
  register(backend);
  const wasOurs = tf.getKernel(name, backend) === before;
  if (impl === 'stock') restore(backend);
  try {
    if (!tf.getKernel(name, backend)) return false;
    fn();
    return true;
  } finally {
    if (impl === 'stock' && wasOurs) register(backend);
    if (impl === 'ours' && !wasOurs) restore(backend);
  }
}

/**
 * Times stock vs ours for Conv2DBackpropFilter (CNN-S conv1 and conv2), Conv2DBackpropInput (conv2) and BatchMatMul
 * (fc1, forward and backward) on each backend. On wasm there is no stock Conv2DBackpropFilter: only ours is timed
 * there, and `formatKernelTimings` compares it with the stock cpu kernel. Leaves the kernel registry and active backend
 * as it found them. With no options this takes ~2 min on 2 cores, nearly all of it the stock cpu filter gradient
 * (~11 s a call on conv2's shape); `kernelBenchOptions` gives the settings `npm run bench` uses.
 */
export async function benchKernels(opts: KernelBenchOptions = {}): Promise<KernelTiming[]> {
  const original = tf.getBackend();
  const results: KernelTiming[] = [];
  try {
    for (const backend of opts.backends ?? ['wasm', 'cpu']) {
      if (!(await tf.setBackend(backend).catch(() => false))) continue;
      for (const kernel of Object.keys(CASES) as BenchedKernel[]) {
        for (const impl of ['stock', 'ours'] as const) {
          CASES[kernel].forEach((c, caseIndex) => {
            if (opts.include && !opts.include({ kernel, backend, impl, caseIndex })) return;
            withImpl(kernel, backend, impl, () => {
              results.push({ kernel, backend, impl, shape: c.shape, ...timeCase(c, opts) });
            });
          });
        }
      }
    }
  } finally {
    if (original) await tf.setBackend(original);
  }
  return results;
}

/**
 * The settings of `npm run bench` and of this file's command line: ~30 s in all on 2 cores, or ~15 s `quick`.
 * A case whose first call exceeds `slowMs` is that one call (the stock cpu filter gradient on conv2's shape, ~11 s);
 * `quick` skips that case altogether.
 */
export function kernelBenchOptions(quick: boolean): KernelBenchOptions {
  return quick
    ? { minMs: 200, minReps: 3, warmup: 1, slowMs: 1500, include: (c) => !(c.kernel === 'Conv2DBackpropFilter' && c.impl === 'stock' && c.caseIndex === 1) }
    : { minMs: 500, minReps: 3, warmup: 1, slowMs: 3000 };
}

/**
 * One row per (kernel, backend, shape): stock ms, ours ms, speed-up, as a Markdown table with notes below it.
 * Where a backend has no stock kernel (Conv2DBackpropFilter on wasm), stock is the cpu one, marked (cpu).
 */
export function formatKernelTimings(results: readonly KernelTiming[]): string {
  type Cell = { ms: number; calls: number; backend: string };
  const rows = new Map<string, { kernel: string; backend: string; shape: string; stock?: Cell; ours?: Cell }>();
  for (const r of results) {
    const key = `${r.kernel}|${r.backend}|${r.shape}`;
    const row = rows.get(key) ?? { kernel: r.kernel, backend: r.backend, shape: r.shape };
    row[r.impl] = { ms: r.msPerCall, calls: r.calls, backend: r.backend };
    rows.set(key, row);
  }
  // No stock kernel on this backend: compare with stock cpu.
  for (const row of rows.values()) {
    if (!row.stock && row.backend !== 'cpu') row.stock = rows.get(`${row.kernel}|cpu|${row.shape}`)?.stock;
  }
  let crossBackend = false;
  let singleCall = false;
  const cell = (c?: Cell, backend?: string) => {
    if (!c) return 'n/a';
    const other = c.backend !== backend;
    crossBackend ||= other;
    singleCall ||= c.calls === 1;
    return `${other ? `(${c.backend}) ` : ''}${c.ms.toFixed(2)}${c.calls === 1 ? '*' : ''}`;
  };
  const speedUp = (v: number) => `${v.toFixed(v >= 100 ? 0 : v >= 10 ? 1 : 2)}×`;
  const header = ['kernel', 'backend', 'shape (batch 32)', 'stock ms', 'ours ms', 'speed-up'];
  const lines = [...rows.values()].map((r) => [
    r.kernel,
    r.backend,
    r.shape,
    cell(r.stock, r.backend),
    cell(r.ours, r.backend),
    r.stock && r.ours ? speedUp(r.stock.ms / r.ours.ms) : 'n/a',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const right = (i: number) => i >= 3;
  const line = (cells: string[]) => `| ${cells.map((c, i) => (right(i) ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (right(i) ? `${'-'.repeat(w + 1)}:` : `:${'-'.repeat(w + 1)}`)).join('|')}|`;
  const notes = [
    ...(crossBackend ? ['(cpu): tfjs has no stock kernel for that backend, so stock is the stock cpu kernel (ours on wasm vs stock cpu).'] : []),
    ...(singleCall ? ['* one call: its first call took longer than the slow-case limit, so it was not repeated.'] : []),
    ...(lines.some((l) => l[3] === 'n/a') ? ['n/a: not timed (skipped, or no kernel).'] : []),
  ];
  return [line(header), rule, ...lines.map(line), ...(notes.length ? ['', ...notes] : [])].join('\n');
}

const isMain = (() => {
  try {
    return !!process.argv[1] && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
})();
if (isMain) {
  const quick = process.argv.includes('--quick');
  const warn = console.warn;
  console.warn = (...a: unknown[]) => {
    if (!String(a[0]).includes('tfjs-node')) warn(...a);
  };
  const results = await benchKernels(kernelBenchOptions(quick));
  if (quick) console.log('--quick: the stock cpu Conv2DBackpropFilter on conv2\'s shape (~11 s a call) is skipped.\n');
  console.log(formatKernelTimings(results));
}

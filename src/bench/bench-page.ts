// bench.html: times our training loop (trainLocal) against stock tfjs model.fit, per backend, on the same
// CNN-S init, the same MNIST samples, batch size, SGD learning rate and sample count. Driven by scripts/bench.ts
// (npm run bench) through window.fedtabBench.run(opts); usable by hand from the console too.
import * as tf from '@tensorflow/tfjs';
import { useBackend } from '../client/backend';
import { loadDataset, type Dataset } from '../client/dataset-store';
import { buildModel, getFlatWeights, imagesToTensor, labelsToOneHot, setFlatWeights } from '../client/models';
import { trainLocal } from '../client/train';
import type { BackendName } from '../shared/config';

export type BenchSideName = 'ours' | 'fit';

export interface BenchRunOptions {
  /** Backends to time, in this order (default webgpu, webgl, wasm, cpu). Unavailable ones come back with available: false. */
  backends?: BackendName[];
  /** Training samples per timed run, per backend (rounded down to whole batches; at least one batch). */
  samples?: Partial<Record<BackendName, number>>;
  batchSize?: number;
  lr?: number;
  /** Samples of the untimed warm-up run each side gets first on every backend (default 2 batches). */
  warmupSamples?: number;
  /** Timed runs per side; the order alternates (ours first, then fit first, …) and the best run counts (default 2). */
  repeats?: number;
  /** Seed of our loop's shuffle (default 1); model.fit shuffles with Math.random. */
  seed?: number;
}

export interface BenchRun {
  ms: number;
  samplesPerSec: number;
  /** Mean training loss of the run (both sides: mean over equal-sized batches). */
  loss: number;
  /** tf.memory().numTensors right before and after the run (after its final readback). */
  tensorsBefore: number;
  tensorsAfter: number;
}

export interface BenchSide {
  warmupMs: number;
  runs: BenchRun[];
  /** Samples/s of the fastest timed run. */
  bestSamplesPerSec: number;
  /** Largest tensorsAfter − tensorsBefore over the warm-up and timed runs (0: no leak). */
  leakedTensors: number;
}

export interface BenchBackendResult {
  backend: BackendName;
  available: boolean;
  error?: string;
  samples?: number;
  batchSize?: number;
  steps?: number;
  lr?: number;
  repeats?: number;
  ours?: BenchSide;
  fit?: BenchSide;
  /** ours.bestSamplesPerSec / fit.bestSamplesPerSec. */
  ratio?: number;
  totalMs?: number;
}

export interface BenchResults {
  userAgent: string;
  tfjsVersion: string;
  dataset: string;
  model: 'cnn-s';
  results: BenchBackendResult[];
}

export interface FedtabBench {
  run(opts?: BenchRunOptions): Promise<BenchResults>;
  /** Default per-backend sample counts (sized for ~3–4 minutes in all on a 2-core machine with SwiftShader). */
  defaultSamples: Record<BackendName, number>;
}

declare global {
  interface Window {
    fedtabBench?: FedtabBench;
  }
}

const ALL_BACKENDS: BackendName[] = ['webgpu', 'webgl', 'wasm', 'cpu'];
const DEFAULT_SAMPLES: Record<BackendName, number> = { webgpu: 256, webgl: 512, wasm: 2048, cpu: 256 };
const MODEL = 'cnn-s' as const;

const logEl = document.getElementById('log');
function log(line: string): void {
  console.log(`[bench] ${line}`);
  if (logEl) logEl.textContent = logEl.textContent === 'Loading…' ? line : `${logEl.textContent}\n${line}`;
}

let dataset: Promise<Dataset> | undefined;
const mnist = () =>
  (dataset ??= loadDataset('mnist', { parts: ['train-images', 'train-labels'] }).then((r) => r.dataset));

/** Waits until every queued op touching the model has finished, by reading its last-updated weight. */
async function settle(model: tf.LayersModel): Promise<void> {
  const ws = model.trainableWeights;
  await ws[ws.length - 1].read().data();
}

interface Data { xs: tf.Tensor4D; ys: tf.Tensor2D }

async function timeSide(
  side: BenchSideName,
  model: tf.LayersModel,
  init: Float32Array,
  data: Data,
  opts: { batchSize: number; lr: number; seed: number },
): Promise<BenchRun> {
  setFlatWeights(model, init);
  await settle(model);
  const n = data.xs.shape[0];
  const tensorsBefore = tf.memory().numTensors;
  const t0 = performance.now();
  let loss: number;
  if (side === 'ours') {
    const r = await trainLocal(model, data.xs, data.ys, { epochs: 1, batchSize: opts.batchSize, lr: opts.lr, mu: 0, seed: opts.seed });
    loss = r.epochLosses[0];
  } else {
    const optimizer = tf.train.sgd(opts.lr);
    try {
      model.compile({ optimizer, loss: (yTrue: tf.Tensor, yPred: tf.Tensor) => tf.losses.softmaxCrossEntropy(yTrue, yPred) });
      const h = await model.fit(data.xs, data.ys, { epochs: 1, batchSize: opts.batchSize, shuffle: true, verbose: 0 });
      loss = Number(h.history.loss[0]);
    } finally {
      optimizer.dispose();
    }
  }
  await settle(model);
  const ms = performance.now() - t0;
  return { ms, samplesPerSec: (n * 1000) / ms, loss, tensorsBefore, tensorsAfter: tf.memory().numTensors };
}

function sideSummary(warmup: BenchRun, runs: BenchRun[]): BenchSide {
  return {
    warmupMs: warmup.ms,
    runs,
    bestSamplesPerSec: Math.max(...runs.map((r) => r.samplesPerSec)),
    leakedTensors: Math.max(...[warmup, ...runs].map((r) => r.tensorsAfter - r.tensorsBefore)),
  };
}

async function benchBackend(
  backend: BackendName,
  ds: Dataset,
  init: Float32Array,
  o: Required<Omit<BenchRunOptions, 'backends' | 'samples'>> & { samples: number },
): Promise<BenchBackendResult> {
  if (!(await useBackend(backend))) return { backend, available: false, error: 'not available in this browser' };
  const t0 = performance.now();
  const batches = Math.max(1, Math.floor(o.samples / o.batchSize));
  const samples = batches * o.batchSize;
  const warmupSamples = Math.max(o.batchSize, Math.floor(o.warmupSamples / o.batchSize) * o.batchSize);
  if (samples > ds.train.count) throw new Error(`${samples} samples asked for; MNIST train has ${ds.train.count}`);
  const idx = Int32Array.from({ length: samples }, (_, i) => i);
  const model = buildModel(MODEL);
  const full: Data = { xs: imagesToTensor(ds.train.images, idx), ys: labelsToOneHot(ds.train.labels, idx) };
  const warm: Data = { xs: tf.slice(full.xs, 0, warmupSamples), ys: tf.slice(full.ys, 0, warmupSamples) };
  const cfg = { batchSize: o.batchSize, lr: o.lr, seed: o.seed };
  try {
    log(`${backend}: warm-up, ${warmupSamples} samples per side`);
    const warmOurs = await timeSide('ours', model, init, warm, cfg);
    const warmFit = await timeSide('fit', model, init, warm, cfg);
    log(`${backend}: warm-up took ours ${warmOurs.ms.toFixed(0)} ms, fit ${warmFit.ms.toFixed(0)} ms`);
    const runs: Record<BenchSideName, BenchRun[]> = { ours: [], fit: [] };
    for (let rep = 0; rep < o.repeats; rep++) {
      const order: BenchSideName[] = rep % 2 === 0 ? ['ours', 'fit'] : ['fit', 'ours'];
      for (const side of order) {
        const r = await timeSide(side, model, init, full, cfg);
        runs[side].push(r);
        log(`${backend}: run ${rep + 1}/${o.repeats} ${side.padEnd(4)} ${samples} samples in ${r.ms.toFixed(0)} ms = ${r.samplesPerSec.toFixed(1)} samples/s, loss ${r.loss.toFixed(4)}, tensors ${r.tensorsBefore}→${r.tensorsAfter}`);
      }
    }
    const ours = sideSummary(warmOurs, runs.ours);
    const fit = sideSummary(warmFit, runs.fit);
    return {
      backend, available: true, samples, batchSize: o.batchSize, steps: batches, lr: o.lr, repeats: o.repeats,
      ours, fit, ratio: ours.bestSamplesPerSec / fit.bestSamplesPerSec, totalMs: performance.now() - t0,
    };
  } finally {
    model.dispose();
    tf.dispose([full.xs, full.ys, warm.xs, warm.ys]);
  }
}

let initWeights: Float32Array | undefined;

async function run(opts: BenchRunOptions = {}): Promise<BenchResults> {
  const o = { batchSize: 32, lr: 0.01, repeats: 2, seed: 1, ...opts };
  const warmupSamples = opts.warmupSamples ?? 2 * o.batchSize;
  const backends = opts.backends ?? ALL_BACKENDS;
  for (const b of backends) if (!ALL_BACKENDS.includes(b)) throw new Error(`unknown backend ${JSON.stringify(b)}`);
  if (!(o.repeats >= 1) || !(o.batchSize >= 1) || !(o.lr > 0)) throw new Error('repeats and batchSize must be ≥ 1, lr > 0');
  const ds = await mnist();
  // One init for every backend and both sides (Glorot, unseeded): built once on cpu, reused as flat weights.
  if (!initWeights) {
    if (!(await useBackend('cpu'))) throw new Error('the cpu backend failed to start');
    const m = buildModel(MODEL);
    initWeights = getFlatWeights(m);
    m.dispose();
  }
  const results: BenchBackendResult[] = [];
  for (const backend of backends) {
    const samples = opts.samples?.[backend] ?? DEFAULT_SAMPLES[backend];
    try {
      const r = await benchBackend(backend, ds, initWeights, { ...o, warmupSamples, samples });
      if (r.available) {
        log(`${backend}: ours ${r.ours!.bestSamplesPerSec.toFixed(1)} samples/s, fit ${r.fit!.bestSamplesPerSec.toFixed(1)} samples/s, ratio ${r.ratio!.toFixed(3)}`);
      } else {
        log(`${backend}: ${r.error}`);
      }
      results.push(r);
    } catch (e) {
      const error = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
      log(`${backend}: FAILED ${error}`);
      results.push({ backend, available: true, error });
    }
  }
  return { userAgent: navigator.userAgent, tfjsVersion: tf.version.tfjs, dataset: 'mnist (train split, first N samples)', model: MODEL, results };
}

window.fedtabBench = { run, defaultSamples: { ...DEFAULT_SAMPLES } };
log('ready: call fedtabBench.run({ backends: [...], samples: {...} })');

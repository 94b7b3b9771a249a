// bench.html: times our training loop (trainLocal) against stock tfjs model.fit, per backend, on the same
// CNN-S init, the same MNIST samples, batch size, SGD learning rate and sample count. Driven by scripts/bench.ts
// (npm run bench) through window.fedtabBench.run(opts); usable by hand from the console too.
import * as tf from '@tensorflow/tfjs';
import { useBackend } from '../shared/ml/backend';
import { loadDataset, type Dataset } from '../shared/data/dataset-store';
import { buildModel, getFlatWeights, imagesToTensor, labelsToOneHot, setFlatWeights } from '../shared/ml/models';
import { trainLocal } from '../shared/ml/train';
import type { BackendName } from '../shared/config';

export type BenchSideName = 'ours' | 'fit';

export interface BenchRunOptions {
  /** Backends to time, in this order (default webgpu, webgl, wasm, cpu). Unavailable ones come back with available: false. */
  backends?: BackendName[];
  /** Training samples per timed run, per backend (rounded down to whole batches; at least one batch). */
  samples?: Partial<Record<BackendName, number>>;
  /**
   * Time budget of one timed run, per backend: where the warm-up shows a run of `samples` would take over 1.25× this,
   * fewer samples are used (whole batches, at least 2). Unset: always `samples`.
   */
  targetRunMs?: Partial<Record<BackendName, number>>;
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
  medianSamplesPerSec: number;
  /** (slowest − fastest) / fastest over the timed runs: how noisy this machine was. */
  spread: number;
  /** Largest tensorsAfter − tensorsBefore over the warm-up and timed runs (0: no leak). */
  leakedTensors: number;
}

export interface BenchBackendResult {
  backend: BackendName;
  available: boolean;
  error?: string;
  samples?: number;
  /** The sample count asked for, where the time budget lowered it. */
  requestedSamples?: number;
  /** Per batch, from the faster warm-up run; what the time budget was judged by. */
  warmupMsPerStep?: number;
  batchSize?: number;
  steps?: number;
  lr?: number;
  repeats?: number;
  ours?: BenchSide;
  fit?: BenchSide;
  /** ours.bestSamplesPerSec / fit.bestSamplesPerSec. */
  ratio?: number;
  totalMs?: number;
  /** What the backend runs on (wasm SIMD/threads, WebGL version, WebGPU adapter). */
  info?: Record<string, string | number | boolean>;
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

async function backendInfo(backend: BackendName): Promise<Record<string, string | number | boolean>> {
  const env = tf.env();
  const info: Record<string, string | number | boolean> = {};
  try {
    if (backend === 'wasm') {
      info.simd = Boolean(await env.getAsync('WASM_HAS_SIMD_SUPPORT'));
      info.threads = Boolean(await env.getAsync('WASM_HAS_MULTITHREAD_SUPPORT'));
      info.crossOriginIsolated = globalThis.crossOriginIsolated === true;
    } else if (backend === 'webgl') {
      info.webglVersion = env.getNumber('WEBGL_VERSION');
    } else if (backend === 'webgpu') {
      const a = (tf.backend() as unknown as { adapterInfo?: Record<string, unknown> }).adapterInfo;
      for (const k of ['vendor', 'architecture', 'description']) if (a?.[k]) info[k] = String(a[k]);
    }
  } catch { /* informational only */ }
  return info;
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
  const rates = runs.map((r) => r.samplesPerSec).sort((a, b) => a - b);
  const mid = rates.length >> 1;
  return {
    warmupMs: warmup.ms,
    runs,
    bestSamplesPerSec: rates[rates.length - 1],
    medianSamplesPerSec: rates.length % 2 ? rates[mid] : (rates[mid - 1] + rates[mid]) / 2,
    spread: rates[rates.length - 1] / rates[0] - 1,
    leakedTensors: Math.max(...[warmup, ...runs].map((r) => r.tensorsAfter - r.tensorsBefore)),
  };
}

async function benchBackend(
  backend: BackendName,
  ds: Dataset,
  init: Float32Array,
  o: Required<Omit<BenchRunOptions, 'backends' | 'samples' | 'targetRunMs'>> & { samples: number; targetRunMs?: number },
): Promise<BenchBackendResult> {
  if (!(await useBackend(backend))) return { backend, available: false, error: 'not available in this browser' };
  const t0 = performance.now();
  const maxBatches = Math.max(1, Math.floor(o.samples / o.batchSize));
  const requestedSamples = maxBatches * o.batchSize;
  const warmupBatches = Math.max(1, Math.floor(o.warmupSamples / o.batchSize));
  const warmupSamples = warmupBatches * o.batchSize;
  const n = Math.max(requestedSamples, warmupSamples);
  if (n > ds.train.count) throw new Error(`${n} samples asked for; MNIST train has ${ds.train.count}`);
  const idx = Int32Array.from({ length: n }, (_, i) => i);
  const model = buildModel(MODEL);
  const all: Data = { xs: imagesToTensor(ds.train.images, idx), ys: labelsToOneHot(ds.train.labels, idx) };
  const slice = (k: number): Data => ({ xs: tf.slice(all.xs, 0, k), ys: tf.slice(all.ys, 0, k) });
  const owned: tf.Tensor[] = [all.xs, all.ys];
  const cfg = { batchSize: o.batchSize, lr: o.lr, seed: o.seed };
  try {
    const info = await backendInfo(backend);
    const warm = slice(warmupSamples);
    owned.push(warm.xs, warm.ys);
    log(`${backend}: warm-up, ${warmupSamples} samples per side`);
    const warmOurs = await timeSide('ours', model, init, warm, cfg);
    const warmFit = await timeSide('fit', model, init, warm, cfg);
    const warmupMsPerStep = Math.min(warmOurs.ms, warmFit.ms) / warmupBatches;
    log(`${backend}: warm-up took ours ${warmOurs.ms.toFixed(0)} ms, fit ${warmFit.ms.toFixed(0)} ms (${warmupMsPerStep.toFixed(0)} ms/step)`);
    let batches = maxBatches;
    // A 2-step warm-up is a rough estimate: only cut the count when it would overrun the budget by over 25%.
    if (o.targetRunMs && maxBatches * warmupMsPerStep > 1.25 * o.targetRunMs) {
      batches = Math.min(maxBatches, Math.max(2, Math.floor(o.targetRunMs / warmupMsPerStep)));
    }
    const samples = batches * o.batchSize;
    if (samples < requestedSamples) {
      log(`${backend}: ${samples} samples instead of ${requestedSamples}, so a run fits its ${(o.targetRunMs! / 1000).toFixed(0)} s budget`);
    }
    const full = samples === n ? all : slice(samples);
    if (full !== all) owned.push(full.xs, full.ys);
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
      backend, available: true, samples, ...(samples < requestedSamples ? { requestedSamples } : {}), warmupMsPerStep,
      batchSize: o.batchSize, steps: batches, lr: o.lr, repeats: o.repeats,
      ours, fit, ratio: ours.bestSamplesPerSec / fit.bestSamplesPerSec, totalMs: performance.now() - t0, info,
    };
  } finally {
    model.dispose();
    tf.dispose(owned);
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
      const r = await benchBackend(backend, ds, initWeights, { ...o, warmupSamples, samples, targetRunMs: opts.targetRunMs?.[backend] });
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

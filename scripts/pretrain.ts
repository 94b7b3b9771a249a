// npm run pretrain -- [--dataset mnist|fashion-mnist|all] [--epochs 1] [--samples N] [--force]
// Spec §4 (FedAlign's image encoder): CNN-S, its 10-way head included, trained centrally on one dataset (a task on
// the other one freezes its body). Seeded initWeights, Adam 1e-3, B 64, seeded subset and shuffling: the same
// settings give the same bytes on the same machine and backend (wasm, single-threaded). Writes
// public/pretrained/cnn-s-<dataset>.bin (little-endian Float32 of getFlatWeights) and cnn-s-<dataset>.json (meta);
// skips a dataset whose files exist, check out and were made with the same settings. Not run at install: the Node runtime runs it on demand (scripts/pretrained.ts loadOrPretrain).
import { existsSync, mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { DATASET_NAMES, parseManifest, partFile, type DatasetName } from '../src/shared/dataset-manifest';
import { buildModel, evaluate, getFlatWeights, imagesToTensor, labelsToOneHot, layerSpecs, setFlatWeights } from '../src/shared/ml/models';
import {
  encodePretrainedWeights,
  parsePretrainedMeta,
  PRETRAINED_FORMAT_VERSION,
  PRETRAINED_MODEL,
  pretrainedFiles,
  type PretrainedMeta,
} from '../src/shared/ml/pretrained';
import { trainLocal } from '../src/shared/ml/train';
import { createRng, deriveSeed, sampleWithoutReplacement } from '../src/shared/prng';
import { specsEqual, initWeights } from '../src/shared/weights';
import { loadDatasetFromDisk } from './node-dataset';
import { initBackend } from './node-runtime';
import { cnnSLayerSpecs, PRETRAINED_DIR, sha256Hex } from './pretrained';

/**
 * Default training images per dataset. One epoch of CNN-S on wasm runs at ~450 samples/s on an idle core, so the full
 * 60,000 would take ~2.5 min per dataset (5 min at install); 20,000 keeps both under ~2 min.
 */
export const DEFAULT_SAMPLES = 20_000;
export const DEFAULT_EPOCHS = 1;
export const PRETRAIN_SEED = 1;
export const PRETRAIN_LR = 1e-3;
export const PRETRAIN_BATCH = 64;

const DATASETS_DIR = new URL('../public/datasets/', import.meta.url).pathname;

export interface PretrainOptions {
  dataset: DatasetName;
  epochs?: number;
  /** Training images (a seeded subset of the training split); 0 = all of it. */
  samples?: number;
  seed?: number;
  /** Default public/pretrained/. */
  outDir?: string;
  /** Retrain even when the files are up to date. */
  force?: boolean;
  log?: (line: string) => void;
}

export interface PretrainResult {
  skipped: boolean;
  meta: PretrainedMeta;
  bin: string;
  json: string;
  seconds: number;
}

interface Settings {
  dataset: DatasetName;
  epochs: number;
  samples: number;
  seed: number;
  trainImagesSha256: string;
}

/** The settings a run would have, from the dataset's manifest only (cheap: no images read). */
function resolveSettings(opts: PretrainOptions): Settings & { trainCount: number; requested: number } {
  let manifest;
  try {
    manifest = parseManifest(JSON.parse(readFileSync(join(DATASETS_DIR, opts.dataset, 'manifest.json'), 'utf8')));
  } catch (e) {
    throw new Error(`cannot read ${opts.dataset}'s manifest (run \`npm run datasets\`): ${e instanceof Error ? e.message : String(e)}`);
  }
  const trainCount = manifest.splits.train.count;
  const requested = opts.samples ?? DEFAULT_SAMPLES;
  return {
    dataset: opts.dataset,
    epochs: opts.epochs ?? DEFAULT_EPOCHS,
    samples: requested > 0 ? Math.min(requested, trainCount) : trainCount,
    seed: opts.seed ?? PRETRAIN_SEED,
    trainImagesSha256: partFile(manifest, 'train-images').sha256,
    trainCount,
    requested,
  };
}

/** Why the files in `dir` can't be reused for `s`, or null when they are up to date. */
function staleReason(dir: string, s: Settings): string | null {
  const files = pretrainedFiles(s.dataset);
  if (!existsSync(join(dir, files.json))) return 'no meta';
  if (!existsSync(join(dir, files.bin))) return `${files.bin} missing`;
  let meta: PretrainedMeta;
  try {
    meta = parsePretrainedMeta(JSON.parse(readFileSync(join(dir, files.json), 'utf8')));
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
  for (const k of ['dataset', 'epochs', 'samples', 'seed', 'trainImagesSha256'] as const) {
    if (meta[k] !== s[k]) return `${k} changed (${meta[k]} → ${s[k]})`;
  }
  if (meta.lr !== PRETRAIN_LR || meta.batchSize !== PRETRAIN_BATCH) return 'optimizer settings changed';
  if (!specsEqual(meta.layers, cnnSLayerSpecs())) return 'CNN-S layers changed';
  const bin = readFileSync(join(dir, files.bin));
  if (bin.length !== meta.bytes || sha256Hex(bin) !== meta.sha256) return `${files.bin} does not match its sha256`;
  return null;
}

function progress(label: string, done: number, total: number, extra: string): void {
  if (!process.stderr.isTTY) return;
  const width = 30;
  const filled = Math.min(width, Math.round((done / total) * width));
  process.stderr.write(`\r${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${Math.min(100, Math.round((100 * done) / total))}% ${extra}   `);
}

function writeAtomic(p: string, data: Uint8Array | string): void {
  const tmp = `${p}.tmp-${process.pid}`;
  writeFileSync(tmp, data);
  renameSync(tmp, p);
}

function command(s: Settings & { requested: number }): string {
  return `npm run pretrain -- --dataset ${s.dataset} --epochs ${s.epochs} --samples ${s.requested}`;
}

export async function pretrain(opts: PretrainOptions): Promise<PretrainResult> {
  const t0 = performance.now();
  const log = opts.log ?? (() => {});
  const dir = opts.outDir ?? PRETRAINED_DIR;
  const files = pretrainedFiles(opts.dataset);
  const binPath = join(dir, files.bin);
  const jsonPath = join(dir, files.json);
  await initBackend();
  const s = resolveSettings(opts);
  if (!Number.isInteger(s.epochs) || s.epochs < 1) throw new Error(`epochs must be an integer ≥ 1, got ${s.epochs}`);
  if (!Number.isInteger(s.requested) || s.requested < 0) throw new Error(`samples must be an integer ≥ 0, got ${s.requested}`);
  const reason = opts.force ? '--force' : staleReason(dir, s);
  if (!reason) {
    log(`${opts.dataset}: up to date (${jsonPath})`);
    const meta = parsePretrainedMeta(JSON.parse(readFileSync(jsonPath, 'utf8')));
    return { skipped: true, meta, bin: binPath, json: jsonPath, seconds: (performance.now() - t0) / 1000 };
  }
  log(`${opts.dataset}: pre-training CNN-S, ${s.epochs} epoch(s) on ${s.samples} of ${s.trainCount} images, Adam ${PRETRAIN_LR}, B ${PRETRAIN_BATCH}, seed ${s.seed} (${reason})`);

  const data = loadDatasetFromDisk(opts.dataset);
  if (partFile(data.manifest, 'train-images').sha256 !== s.trainImagesSha256) throw new Error(`${opts.dataset}'s manifest changed during the run`);
  const idx =
    s.samples < data.train.count
      ? Int32Array.from(sampleWithoutReplacement(data.train.count, s.samples, createRng(deriveSeed(s.seed, 'pretrain', 'subset')))).sort()
      : Int32Array.from({ length: data.train.count }, (_, i) => i);
  const xs = imagesToTensor(data.train.images, idx);
  const ys = labelsToOneHot(data.train.labels, idx);
  const net = buildModel(PRETRAINED_MODEL);
  const optimizer = tf.train.adam(PRETRAIN_LR);
  let meta: PretrainedMeta;
  let bytes: Uint8Array;
  try {
    const layers = layerSpecs(net);
    setFlatWeights(net, initWeights(layers, s.seed));
    const totalSteps = s.epochs * Math.ceil(s.samples / PRETRAIN_BATCH);
    const te = performance.now();
    const tr = await trainLocal(net, xs, ys, {
      epochs: s.epochs,
      batchSize: PRETRAIN_BATCH,
      lr: PRETRAIN_LR,
      mu: 0,
      optimizer,
      seed: deriveSeed(s.seed, 'pretrain', 'shuffle'),
      onStep: (k) => progress(`${opts.dataset}`, k, totalSteps, `${((k * PRETRAIN_BATCH * 1000) / (performance.now() - te + 1)).toFixed(0)} samples/s`),
    });
    if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');
    const ev = await evaluate(net, data.test.images, data.test.labels);
    bytes = encodePretrainedWeights(getFlatWeights(net));
    meta = {
      formatVersion: PRETRAINED_FORMAT_VERSION,
      dataset: opts.dataset,
      model: PRETRAINED_MODEL,
      epochs: s.epochs,
      samples: s.samples,
      seed: s.seed,
      optimizer: 'adam',
      lr: PRETRAIN_LR,
      batchSize: PRETRAIN_BATCH,
      layers,
      bytes: bytes.length,
      sha256: sha256Hex(bytes),
      trainImagesSha256: s.trainImagesSha256,
      testAccuracy: ev.accuracy,
      testLoss: ev.loss,
      createdBy: command(s),
    };
    parsePretrainedMeta(meta); // what we write must read back
    log(`${opts.dataset}: train loss ${tr.epochLosses.map((l) => l.toFixed(4)).join(', ')}  test accuracy ${(ev.accuracy * 100).toFixed(2)}%  loss ${ev.loss.toFixed(4)}  ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  } finally {
    optimizer.dispose();
    net.dispose();
    tf.dispose([xs, ys]);
  }
  mkdirSync(dir, { recursive: true });
  // The meta goes first and comes back last, so an interrupted run leaves no meta pointing at a partial .bin.
  if (existsSync(jsonPath)) unlinkSync(jsonPath);
  writeAtomic(binPath, bytes);
  writeAtomic(jsonPath, `${JSON.stringify(meta, null, 2)}\n`);
  log(`${opts.dataset}: wrote ${binPath} (sha256 ${meta.sha256})`);
  return { skipped: false, meta, bin: binPath, json: jsonPath, seconds: (performance.now() - t0) / 1000 };
}

const USAGE = `usage: npm run pretrain -- [--dataset ${DATASET_NAMES.join('|')}|all] [--epochs N] [--samples N] [--force]
  --dataset D   the dataset to pre-train CNN-S on (default all)
  --epochs N    (default ${DEFAULT_EPOCHS})
  --samples N   training images, a seeded subset (default ${DEFAULT_SAMPLES}; 0 = the whole training split)
  --force       retrain even when public/pretrained/ is up to date`;

export function parseCli(argv: string[]): { datasets: DatasetName[]; epochs: number; samples: number; force: boolean } | null {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: { dataset: { type: 'string' }, epochs: { type: 'string' }, samples: { type: 'string' }, force: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) return null;
  const d = values.dataset ?? 'all';
  if (d !== 'all' && !(DATASET_NAMES as readonly string[]).includes(d)) throw new Error(`--dataset must be one of ${DATASET_NAMES.join(', ')}, all; got "${d}"`);
  const int = (flag: string, x: string | undefined, dflt: number, min: number) => {
    if (x === undefined) return dflt;
    const n = Number(x);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${flag} must be an integer ≥ ${min}, got "${x}"`);
    return n;
  };
  return {
    datasets: d === 'all' ? [...DATASET_NAMES] : [d as DatasetName],
    epochs: int('epochs', values.epochs, DEFAULT_EPOCHS, 1),
    samples: int('samples', values.samples, DEFAULT_SAMPLES, 0),
    force: values.force ?? false,
  };
}

async function main(): Promise<void> {
  let cli;
  try {
    cli = parseCli(process.argv.slice(2));
  } catch (e) {
    console.error(`${e instanceof Error ? e.message : String(e)}\n\n${USAGE}`);
    process.exit(2);
  }
  if (!cli) {
    console.log(USAGE);
    return;
  }
  for (const dataset of cli.datasets) {
    await pretrain({ dataset, epochs: cli.epochs, samples: cli.samples, force: cli.force, log: (l) => console.log(l) });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err: unknown) => {
    console.error(`pretrain: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}

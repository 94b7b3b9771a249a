// Loads pre-trained CNN-S weights (public/pretrained/cnn-s-<dataset>.{bin,json}, written by `npm run pretrain`) in
// Node: checks the meta, the .bin's sha256 and the layer specs against buildModel('cnn-s').
// Building the reference model needs a ready tfjs backend (await initBackend() first), unless `expectLayers` is given.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DatasetName } from '../src/shared/dataset-manifest';
import { buildModel, layerSpecs } from '../src/shared/ml/models';
import { parsePretrained, pretrainedFiles, PretrainedError, type Pretrained } from '../src/shared/ml/pretrained';
import { specsEqual, type LayerSpec } from '../src/shared/weights';

export const PRETRAINED_DIR = new URL('../public/pretrained/', import.meta.url).pathname;

const HINT = 'run `npm run pretrain`';

export interface LoadPretrainedOptions {
  /** Where the files are (default public/pretrained/). */
  dir?: string;
  /** The layer specs the weights must have (default: those of buildModel('cnn-s')). */
  expectLayers?: readonly LayerSpec[];
}

let cnnSSpecs: LayerSpec[] | null = null;
export function cnnSLayerSpecs(): LayerSpec[] {
  if (!cnnSSpecs) {
    const net = buildModel('cnn-s');
    try {
      cnnSSpecs = layerSpecs(net);
    } finally {
      net.dispose();
    }
  }
  return cnnSSpecs;
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The CNN-S weights pre-trained on `dataset` (for a task on the other one: pretrainedSource(task)). */
export function loadPretrained(dataset: DatasetName, opts: LoadPretrainedOptions = {}): Pretrained {
  const dir = opts.dir ?? PRETRAINED_DIR;
  const files = pretrainedFiles(dataset);
  let metaJson: unknown;
  let bin: Uint8Array;
  try {
    metaJson = JSON.parse(readFileSync(join(dir, files.json), 'utf8'));
    bin = new Uint8Array(readFileSync(join(dir, files.bin)));
  } catch (e) {
    throw new PretrainedError(`cannot read the CNN-S weights pre-trained on ${dataset} in ${dir} (${HINT}): ${e instanceof Error ? e.message : String(e)}`);
  }
  let p: Pretrained;
  try {
    p = parsePretrained(bin, metaJson);
  } catch (e) {
    throw new PretrainedError(`${files.json}/${files.bin}: ${e instanceof Error ? e.message : String(e)} (${HINT})`);
  }
  const sha = sha256Hex(bin);
  if (sha !== p.meta.sha256) throw new PretrainedError(`${files.bin} does not match its sha256 in ${files.json} (${sha} ≠ ${p.meta.sha256}); ${HINT}`);
  if (p.meta.dataset !== dataset) throw new PretrainedError(`${files.json} says it was trained on ${p.meta.dataset}, not ${dataset}; ${HINT}`);
  const expect = opts.expectLayers ?? cnnSLayerSpecs();
  if (!specsEqual(p.layers, expect)) {
    const show = (s: readonly LayerSpec[]) => s.map((l) => `${l.name}[${l.shape.join(',')}]`).join(' ');
    throw new PretrainedError(`${files.json}'s layers do not match CNN-S's (${show(p.layers)} vs ${show(expect)}); ${HINT}`);
  }
  return p;
}

/**
 * The Node runtime's loader: the files under public/pretrained/, produced first by the deterministic pre-training
 * script when they are missing or stale (about a minute per dataset on one core of this machine), so a fresh clone
 * needs no separate step.
 */
export async function loadOrPretrain(dataset: DatasetName): Promise<Pretrained> {
  const { pretrain } = await import('./pretrain');
  const r = await pretrain({ dataset, log: (l) => console.error(`pretrain: ${l}`) });
  if (!r.skipped) console.error(`pretrain: ${dataset} took ${r.seconds.toFixed(0)} s`);
  return loadPretrained(dataset);
}

// Pre-trained CNN-S weights (spec §4, FedAlign's image encoder): the whole CNN-S trained centrally on the *other*
// dataset by scripts/pretrain.ts, served as public/pretrained/cnn-s-<dataset>.bin (little-endian Float32, the
// model's flat weights in layerSpecs order) beside cnn-s-<dataset>.json (its meta). Pure: no DOM, no fs, no tfjs,
// so the browser (fetch) and Node (fs, scripts/pretrained.ts) both parse the pair with it.
import * as v from 'valibot';
import { DATASET_NAMES, type DatasetName } from '../dataset-manifest';
import { totalSize, type LayerSpec } from '../weights';

export const PRETRAINED_FORMAT_VERSION = 1;
export const PRETRAINED_MODEL = 'cnn-s';

/** The dataset whose pre-trained body a task on `taskDataset` uses: the other one (MNIST ↔ Fashion-MNIST). */
export function pretrainedSource(taskDataset: DatasetName): DatasetName {
  if (taskDataset === 'mnist') return 'fashion-mnist';
  if (taskDataset === 'fashion-mnist') return 'mnist';
  throw new PretrainedError(`no pre-training source for dataset ${JSON.stringify(taskDataset)}; expected one of ${DATASET_NAMES.join(', ')}`);
}

/** File names under public/pretrained/ (and the URL path /pretrained/<file> in the browser). */
export function pretrainedFiles(dataset: DatasetName): { bin: string; json: string } {
  return { bin: `${PRETRAINED_MODEL}-${dataset}.bin`, json: `${PRETRAINED_MODEL}-${dataset}.json` };
}

export class PretrainedError extends Error {
  override name = 'PretrainedError';
}

const int = (min: number) => v.pipe(v.number(), v.integer(), v.minValue(min));
const finite = v.pipe(v.number(), v.finite());
const sha256 = v.pipe(v.string(), v.regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits'));

const LAYER_SCHEMA = v.object({ name: v.pipe(v.string(), v.minLength(1)), shape: v.array(int(0)) });

export const PRETRAINED_META_SCHEMA = v.object({
  formatVersion: v.literal(PRETRAINED_FORMAT_VERSION),
  dataset: v.picklist(DATASET_NAMES),
  model: v.literal(PRETRAINED_MODEL),
  epochs: int(1),
  /** Training images actually used (a seeded subset when fewer than the split has). */
  samples: int(1),
  seed: int(0),
  optimizer: v.literal('adam'),
  lr: v.pipe(finite, v.gtValue(0)),
  batchSize: int(1),
  layers: v.pipe(v.array(LAYER_SCHEMA), v.minLength(1)),
  /** Size of the .bin: 4 × Σ layer sizes. */
  bytes: int(4),
  sha256,
  /** sha256 of the training images it was trained from (the dataset manifest's train-images entry). */
  trainImagesSha256: sha256,
  testAccuracy: v.pipe(finite, v.minValue(0), v.maxValue(1)),
  testLoss: v.pipe(finite, v.minValue(0)),
  createdBy: v.string(),
});

export type PretrainedMeta = v.InferOutput<typeof PRETRAINED_META_SCHEMA>;

export interface Pretrained {
  meta: PretrainedMeta;
  layers: LayerSpec[];
  weights: Float32Array;
}

/** Validates an untrusted meta object; the error names the field and what is wrong. */
export function parsePretrainedMeta(meta: unknown): PretrainedMeta {
  const r = v.safeParse(PRETRAINED_META_SCHEMA, meta);
  if (!r.success) {
    const issue = r.issues[0];
    throw new PretrainedError(`invalid pre-trained meta: ${v.getDotPath(issue) ?? '(root)'}: ${issue.message}`);
  }
  return r.output;
}

/**
 * Validates a (.bin, .json) pair and decodes the weights. The sha256 of the .bin is not checked here (the browser's
 * digest is async): the Node loader does it, and a browser caller can compare crypto.subtle's digest to meta.sha256.
 */
export function parsePretrained(bin: ArrayBuffer | Uint8Array, meta: unknown): Pretrained {
  const m = parsePretrainedMeta(meta);
  let expected: number;
  try {
    expected = totalSize(m.layers);
  } catch (e) {
    throw new PretrainedError(`invalid pre-trained meta: layers: ${e instanceof Error ? e.message : String(e)}`);
  }
  const bytes = bin instanceof Uint8Array ? bin : new Uint8Array(bin);
  if (m.bytes !== expected * 4) {
    throw new PretrainedError(`invalid pre-trained meta: bytes is ${m.bytes}, but its layers hold ${expected} floats (${expected * 4} bytes)`);
  }
  if (bytes.byteLength !== expected * 4) {
    throw new PretrainedError(`pre-trained weights have ${bytes.byteLength} bytes, the meta's layers need ${expected} floats (${expected * 4} bytes)`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const weights = new Float32Array(expected);
  for (let i = 0; i < expected; i++) {
    const x = view.getFloat32(4 * i, true);
    if (!Number.isFinite(x)) throw new PretrainedError(`pre-trained weight ${i} (${layerAt(m.layers, i)}) is ${x}, not a finite number`);
    weights[i] = x;
  }
  return { meta: m, layers: m.layers.map((l) => ({ name: l.name, shape: [...l.shape] })), weights };
}

/** Little-endian Float32 bytes of `weights` (the .bin format). */
export function encodePretrainedWeights(weights: Float32Array): Uint8Array {
  const out = new Uint8Array(weights.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < weights.length; i++) view.setFloat32(4 * i, weights[i], true);
  return out;
}

function layerAt(layers: readonly LayerSpec[], index: number): string {
  let start = 0;
  for (const l of layers) {
    const n = l.shape.reduce((a, b) => a * b, 1);
    if (index < start + n) return `layer ${l.name}`;
    start += n;
  }
  return 'past the last layer';
}

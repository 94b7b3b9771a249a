// The `mnist+fashion` dataset (issue 9, spec §5) as the rest of the code sees it: a Dataset whose training split is
// MNIST (modality 1, which the partitioners split by label) with Fashion-MNIST's training split beside it as the
// partner pool (modality 2), and whose test split is the fixed 10k-pair set, materialised two-channel. Training pairs
// are drawn per client, round and epoch (trainPixels). Images of the pair travel interleaved, channel last
// ([28, 28, 2]): pixel p of modality m at 2p + m. Pure and DOM-free.
import type { Dataset, Split } from './dataset-store';
import { pickImages } from './images';
import { MODALITIES, addGaussianNoise, fixedTestPairs, pairByLabel, type Modality } from './paired-modalities';

export const PAIRED_DATASET = 'mnist+fashion';
const PIXELS = 28 * 28;
/** The test pairing is one fixed draw for every run, so all runs score on the same 10k pairs. */
const TEST_PAIRING_SEED = 0;
const NOISE_SEED = 1;

export interface PairedDataset extends Dataset {
  /** Fashion-MNIST's training split (with the run's noise on it): the pool modality 2 is drawn from. */
  partner: Split;
}

export function isPaired(d: Dataset): d is PairedDataset {
  return (d as Partial<PairedDataset>).partner !== undefined;
}

/** Uint8 pixels with N(0, σ²) noise in [0,1] units, clipped and requantised (σ = 0: the same array). */
function noisy(images: Uint8Array, sigma: number, seed: number): Uint8Array {
  if (sigma === 0) return images;
  const f = addGaussianNoise(images, sigma, seed);
  return Uint8Array.from(f, (x) => Math.round(x * 255));
}

/** Two images per sample, interleaved channel last; a modality the holder lacks is left at zero. */
export function interleave(a: Uint8Array, ai: ArrayLike<number>, b: Uint8Array, bi: ArrayLike<number>, held: readonly Modality[] = MODALITIES): Uint8Array {
  const n = ai.length;
  const out = new Uint8Array(n * PIXELS * 2);
  const useA = held.includes('mnist');
  const useB = held.includes('fashion');
  for (let k = 0; k < n; k++) {
    const o = k * PIXELS * 2;
    const sa = ai[k] * PIXELS;
    const sb = bi[k] * PIXELS;
    for (let p = 0; p < PIXELS; p++) {
      if (useA) out[o + 2 * p] = a[sa + p];
      if (useB) out[o + 2 * p + 1] = b[sb + p];
    }
  }
  return out;
}

/**
 * `mnist+fashion` from the two loaded datasets. `noise`: σ of Gaussian noise on modality 2 (train and test alike, a
 * fixed draw per image, so the task does not change between rounds) [I].
 */
export function pairDatasets(mnist: Dataset, fashion: Dataset, noise = 0): PairedDataset {
  const partnerImages = noisy(fashion.train.images, noise, NOISE_SEED);
  const testPairs = fixedTestPairs(mnist.test.labels, fashion.test.labels, mnist.numClasses, TEST_PAIRING_SEED);
  const identity = Int32Array.from({ length: mnist.test.count }, (_, i) => i);
  const haveTest = mnist.test.images.length > 0 && fashion.test.images.length > 0;
  const testImages = haveTest ? interleave(mnist.test.images, identity, noisy(fashion.test.images, noise, NOISE_SEED + 1), testPairs) : new Uint8Array(0);
  return {
    ...mnist,
    name: PAIRED_DATASET as Dataset['name'],
    imageShape: [28, 28, 2],
    test: { count: mnist.test.count, images: testImages, labels: mnist.test.labels },
    partner: { count: fashion.train.count, images: partnerImages, labels: fashion.train.labels },
  };
}

/**
 * The pixels of training samples `indices` for one epoch: the image itself, or for the paired dataset the MNIST image
 * with a Fashion-MNIST image of the same class drawn for (seed, epoch), and zeros where the holder lacks a modality.
 */
export function trainPixels(d: Dataset, indices: Int32Array, pairing: { seed: number; epoch: number }, held: readonly Modality[] = MODALITIES): Uint8Array {
  if (!isPaired(d)) return pickImages(d.train.images, indices);
  const labels = Uint8Array.from(indices, (i) => d.train.labels[i]);
  const partners = pairByLabel(labels, d.partner.labels, d.numClasses, pairing.seed, pairing.epoch);
  return interleave(d.train.images, indices, d.partner.images, partners, held);
}

/** Image channels of a dataset's samples: 2 for the paired dataset. */
export const channelsOf = (d: Pick<Dataset, 'imageShape'>): number => d.imageShape?.[2] ?? 1;

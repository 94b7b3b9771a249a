// FedMChain's two-modality data substitute (spec §5 "Dataset substitute"): "MNIST ⊕ FMNIST paired-by-label".
// Modality 1 (primary) is an MNIST image of class c, modality 2 (secondary) a Fashion-MNIST image of the same class
// index. Training pairs are re-drawn every epoch, the test set has one fixed pairing. Pure and DOM-free.
// Our design choices are marked [I].
import { createRng, deriveSeed, shuffle, type Rng } from '../prng';

/** Chain order: the dominant modality (MNIST, ~99%) first, the weaker one (FMNIST, ~91%) second. */
export const MODALITIES = ['mnist', 'fashion'] as const;
export type Modality = (typeof MODALITIES)[number];

function fail(msg: string): never {
  throw new Error(`paired-modalities: ${msg}`);
}

function checkClasses(numClasses: number): void {
  if (!Number.isInteger(numClasses) || numClasses < 1 || numClasses > 256) fail(`numClasses must be an integer in 1..256, got ${numClasses}`);
}

/**
 * For each primary sample, a secondary index of the same label. [I] Within a class the secondary samples are dealt
 * from a shuffled deck, reshuffled when it runs out, so each is used ⌊n/len⌋ or ⌈n/len⌉ times (not i.i.d. draws, which
 * would leave ~1/e of a class unused when the class sizes match). O(n_primary + n_secondary).
 */
function pairWith(primary: Uint8Array, secondary: Uint8Array, numClasses: number, rng: Rng): Int32Array {
  checkClasses(numClasses);
  // Counting sort of the secondary indices into per-class buckets.
  const start = new Int32Array(numClasses + 1);
  for (let j = 0; j < secondary.length; j++) {
    if (secondary[j] >= numClasses) fail(`secondary label ${secondary[j]} at index ${j} is >= numClasses (${numClasses})`);
    start[secondary[j] + 1]++;
  }
  for (let c = 0; c < numClasses; c++) start[c + 1] += start[c];
  const sorted = new Int32Array(secondary.length);
  const fill = start.slice(0, numClasses);
  for (let j = 0; j < secondary.length; j++) sorted[fill[secondary[j]]++] = j;
  const decks = Array.from({ length: numClasses }, (_, c) => shuffle(sorted.subarray(start[c], start[c + 1]), rng));
  const next = new Int32Array(numClasses);
  const out = new Int32Array(primary.length);
  for (let i = 0; i < primary.length; i++) {
    const c = primary[i];
    if (c >= numClasses) fail(`primary label ${c} at index ${i} is >= numClasses (${numClasses})`);
    const deck = decks[c];
    if (deck.length === 0) fail(`class ${c} occurs in the primary set but has no secondary sample to pair with`);
    if (next[c] === deck.length) {
      shuffle(deck, rng);
      next[c] = 0;
    }
    out[i] = deck[next[c]++];
  }
  return out;
}

/**
 * Training pairing for one epoch: out[i] is an index into the secondary set with label primaryLabels[i]. The stream is
 * deriveSeed(seed, 'pairing', epoch), so each epoch re-draws and the same (seed, epoch) gives the same pairs.
 * Throws if a class present in the primary set has no secondary sample.
 */
export function pairByLabel(primaryLabels: Uint8Array, secondaryLabels: Uint8Array, numClasses: number, seed: number, epoch = 0): Int32Array {
  if (!Number.isInteger(epoch) || epoch < 0) fail(`epoch must be a non-negative integer, got ${epoch}`);
  return pairWith(primaryLabels, secondaryLabels, numClasses, createRng(deriveSeed(seed, 'pairing', epoch)));
}

/** The fixed test pairing (10k MNIST test images with FMNIST test images), independent of the epoch. */
export function fixedTestPairs(primaryTestLabels: Uint8Array, secondaryTestLabels: Uint8Array, numClasses: number, seed: number): Int32Array {
  return pairWith(primaryTestLabels, secondaryTestLabels, numClasses, createRng(deriveSeed(seed, 'test-pairing')));
}

/** Shares of clients holding both modalities, only the primary, only the secondary. There is no "neither" group. */
export interface ModalityShares {
  both: number;
  primaryOnly: number;
  secondaryOnly: number;
}
/** Spec §5: 50% both, 25% MNIST only, 25% FMNIST only. */
export const DEFAULT_MODALITY_SHARES: Readonly<ModalityShares> = { both: 0.5, primaryOnly: 0.25, secondaryOnly: 0.25 };
const GROUPS = ['both', 'primaryOnly', 'secondaryOnly'] as const;
const HOLDS: Record<(typeof GROUPS)[number], readonly Modality[]> = {
  both: Object.freeze([...MODALITIES]),
  primaryOnly: Object.freeze([MODALITIES[0]]),
  secondaryOnly: Object.freeze([MODALITIES[1]]),
};

/**
 * Exact client counts per group by largest-remainder (Hamilton) rounding: floor each quota K·share, then give the
 * leftover clients to the largest fractional parts; ties go to the earlier group (both, primaryOnly, secondaryOnly) [I].
 * E.g. K=10 → 5/3/2 (quotas 5, 2.5, 2.5), K=7 → 3/2/2 (3.5, 1.75, 1.75), K=4 → 2/1/1.
 */
export function availabilityCounts(numClients: number, shares: ModalityShares = DEFAULT_MODALITY_SHARES): ModalityShares {
  if (!Number.isInteger(numClients) || numClients < 1) fail(`numClients must be an integer >= 1, got ${numClients}`);
  let total = 0;
  for (const g of GROUPS) {
    const s = shares[g];
    if (typeof s !== 'number' || !Number.isFinite(s) || s < 0) fail(`share ${g} must be a finite number >= 0, got ${s}`);
    total += s;
  }
  if (Math.abs(total - 1) > 1e-9) fail(`shares must sum to 1 (both + primaryOnly + secondaryOnly), got ${total}`);
  // The 1e-9 keeps a quota like 10·0.3 = 2.9999999999999996 from flooring to 2.
  const quota = GROUPS.map((g) => (numClients * shares[g]) / total);
  const counts = quota.map((q) => Math.floor(q + 1e-9));
  const rem = quota.map((q, j) => q - counts[j]);
  // Remainders within 1e-9 count as tied, so rounding noise in the quotas cannot reorder them.
  const order = [0, 1, 2].sort((a, b) => (Math.abs(rem[b] - rem[a]) > 1e-9 ? rem[b] - rem[a] : a - b));
  const left = numClients - counts.reduce((a, b) => a + b, 0);
  if (left < 0 || left > 2) fail(`largest-remainder rounding left ${left} clients over (expected 0..2)`);
  for (let r = 0; r < left; r++) counts[order[r]]++;
  return { both: counts[0], primaryOnly: counts[1], secondaryOnly: counts[2] };
}

/**
 * Per client, the modalities it holds (MODALITIES order). Exact group counts from availabilityCounts, then a seeded
 * shuffle (stream deriveSeed(seed, 'modality-availability')) of which client gets which. Every client holds at least
 * one modality: the three groups are the only options.
 */
export function modalityAvailability(numClients: number, seed: number, shares: ModalityShares = DEFAULT_MODALITY_SHARES): Array<readonly Modality[]> {
  const counts = availabilityCounts(numClients, shares);
  const out: Array<readonly Modality[]> = [];
  for (const g of GROUPS) for (let i = 0; i < counts[g]; i++) out.push(HOLDS[g]);
  return shuffle(out, createRng(deriveSeed(seed, 'modality-availability')));
}

/**
 * The stronger-imbalance option for modality 2 (spec §5: σ = 0.5): pixels scaled to [0,1], plus N(0, σ²) noise in the
 * same units, clipped back to [0,1]. Stream deriveSeed(seed, 'modality-noise'); [I] the caller picks the seed, so the
 * noise is fixed per sample (one call) or fresh per epoch (seed per epoch).
 */
export function addGaussianNoise(images: Uint8Array, sigma: number, seed: number): Float32Array {
  if (!Number.isFinite(sigma) || sigma < 0) fail(`sigma must be a finite number >= 0, got ${sigma}`);
  const out = new Float32Array(images.length);
  if (sigma === 0) {
    for (let i = 0; i < images.length; i++) out[i] = images[i] / 255;
    return out;
  }
  const rng = createRng(deriveSeed(seed, 'modality-noise'));
  for (let i = 0; i < images.length; i++) out[i] = Math.min(1, Math.max(0, images[i] / 255 + sigma * rng.normal()));
  return out;
}

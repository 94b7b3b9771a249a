// Decisions both sides must make identically from the run config: who holds which data, who trains when.
import type { FederationConfig } from './config';
import { clientIndices, type PartitionParams } from './partition';
import { deriveSeed, createRng, sampleWithoutReplacement } from './prng';

export function partitionParams(cfg: FederationConfig): PartitionParams {
  return {
    scheme: cfg.partition,
    alpha: cfg.alpha,
    shardsPerClient: cfg.shardsPerClient,
    labelsPerClient: cfg.labelsPerClient,
    beta: cfg.beta,
    imbalanceFactor: cfg.imbalanceFactor,
  };
}

/** Training indices of partition `slot` of `numPartitions`, capped at cfg.maxSamples. */
export function slotIndices(trainLabels: Uint8Array, numClasses: number, cfg: FederationConfig, numPartitions: number, slot: number): Int32Array {
  return clientIndices(trainLabels, numClasses, numPartitions, partitionParams(cfg), deriveSeed(cfg.seed, 'partition'), slot, cfg.maxSamples || undefined);
}

/** The m = max(⌈C·K⌉, 1) slots that train in `round`, drawn from the slots with a live client. */
export function sampleSlots(activeSlots: readonly number[], fraction: number, seed: number, round: number): number[] {
  const sorted = [...activeSlots].sort((a, b) => a - b);
  const m = Math.min(sorted.length, Math.max(1, Math.ceil(fraction * sorted.length)));
  const rng = createRng(deriveSeed(seed, 'round', round));
  return sampleWithoutReplacement(sorted.length, m, rng).map((i) => sorted[i]).sort((a, b) => a - b);
}

/** Seed of a client's local shuffling in one round. */
export function trainSeed(cfg: FederationConfig, slot: number, round: number): number {
  return deriveSeed(cfg.seed, 'train', slot, round);
}

// Decisions both sides must make identically from the run config: who holds which data, who trains when.
import type { FederationConfig } from './config';
import { clientIndices, type PartitionParams } from './partition';
import { deriveSeed, createRng, sampleWithoutReplacement } from './prng';
import { MODALITIES, modalityAvailability, type Modality } from './data/paired-modalities';
import { strategyDefinition } from './strategies/registry';

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

/** FLTrust's root set (spec §7: 100 class-balanced training images). */
export const ROOT_SET_SIZE = 100;
/** Fed-Adaptive-Next's server validation split is taken from this many held-out images at most (spec §2.2: 500). */
export const VALIDATION_POOL_SIZE = 500;

export interface ServerHoldout {
  /** FLTrust root set. */
  root: Int32Array;
  /** Server validation split (never the test set). */
  validation: Int32Array;
  /** Every other training index, ascending: what the clients' partitions are drawn from. */
  pool: Int32Array;
  poolLabels: Uint8Array;
}

const holdoutCache = new WeakMap<Uint8Array, { seed: number; holdout: ServerHoldout }>();

/**
 * Class-balanced server data held out of every run, whatever its strategy, so that all strategies see the same client
 * data: ROOT_SET_SIZE images for FLTrust's root set and VALIDATION_POOL_SIZE for Fed-Adaptive-Next's validation term.
 */
export function serverHoldout(trainLabels: Uint8Array, numClasses: number, seed: number): ServerHoldout {
  const hit = holdoutCache.get(trainLabels);
  if (hit && hit.seed === seed) return hit.holdout;
  const rng = createRng(deriveSeed(seed, 'server-holdout'));
  const byClass: number[][] = Array.from({ length: numClasses }, () => []);
  trainLabels.forEach((y, i) => byClass[y].push(i));
  const take = (total: number, taken: Set<number>) => {
    const out: number[] = [];
    byClass.forEach((idx, c) => {
      const want = Math.floor(total / numClasses) + (c < total % numClasses ? 1 : 0);
      const free = idx.filter((i) => !taken.has(i));
      for (const j of sampleWithoutReplacement(free.length, Math.min(want, free.length), rng)) out.push(free[j]);
    });
    out.forEach((i) => taken.add(i));
    return Int32Array.from(out).sort();
  };
  const taken = new Set<number>();
  // Tiny label sets (tests) give up at most a tenth of their data to each.
  const cap = Math.floor(trainLabels.length / 10);
  const root = take(Math.min(ROOT_SET_SIZE, cap), taken);
  const validation = take(Math.min(VALIDATION_POOL_SIZE, cap), taken);
  const pool = Int32Array.from({ length: trainLabels.length - taken.size });
  let n = 0;
  for (let i = 0; i < trainLabels.length; i++) if (!taken.has(i)) pool[n++] = i;
  const holdout = { root, validation, pool, poolLabels: Uint8Array.from(pool, (i) => trainLabels[i]) };
  holdoutCache.set(trainLabels, { seed, holdout });
  return holdout;
}

const proxyCache = new WeakMap<Int32Array, { key: string; proxy: Int32Array; pool: Int32Array; labels: Uint8Array }>();

/**
 * FedDF's unlabelled proxy split (spec §6): cfg.proxySamples images drawn uniformly (seeded) from what the server
 * holdout leaves, and the pool without them, so no client ever trains on a proxy image and the test set is never used.
 */
export function proxySplit(trainLabels: Uint8Array, numClasses: number, cfg: Pick<FederationConfig, 'seed'> & { proxySamples?: number }): { proxy: Int32Array; pool: Int32Array; poolLabels: Uint8Array } {
  const held = serverHoldout(trainLabels, numClasses, cfg.seed);
  const size = cfg.proxySamples ?? 0;
  if (size <= 0) return { proxy: new Int32Array(0), pool: held.pool, poolLabels: held.poolLabels };
  const key = `${cfg.seed}|${size}`;
  const hit = proxyCache.get(held.pool);
  if (hit?.key === key) return { proxy: hit.proxy, pool: hit.pool, poolLabels: hit.labels };
  const k = Math.min(size, Math.floor(held.pool.length / 2));
  const picked = new Set(sampleWithoutReplacement(held.pool.length, k, createRng(deriveSeed(cfg.seed, 'proxy'))));
  const proxy = Int32Array.from([...picked].map((j) => held.pool[j])).sort();
  const pool = held.pool.filter((_, j) => !picked.has(j));
  const labels = Uint8Array.from(pool, (i) => trainLabels[i]);
  proxyCache.set(held.pool, { key, proxy, pool, labels });
  return { proxy, pool, poolLabels: labels };
}

const fractionCache = new WeakMap<Int32Array, { key: string; pool: Int32Array; labels: Uint8Array }>();

/**
 * The training data a run partitions: the pool left after the server's holdout and the proxy split, subsampled to cfg.dataFraction per
 * class (seeded) before partitioning, so that a partitioner's quantity and label skew survive, unlike maxSamples,
 * which truncates each client afterwards.
 */
export function runPool(trainLabels: Uint8Array, numClasses: number, cfg: Pick<FederationConfig, 'seed' | 'dataFraction'> & { proxySamples?: number }): { pool: Int32Array; poolLabels: Uint8Array } {
  const { pool, poolLabels } = proxySplit(trainLabels, numClasses, cfg);
  if (cfg.dataFraction >= 1) return { pool, poolLabels };
  const key = `${cfg.seed}|${cfg.dataFraction}`;
  const hit = fractionCache.get(pool);
  if (hit?.key === key) return { pool: hit.pool, poolLabels: hit.labels };
  const rng = createRng(deriveSeed(cfg.seed, 'data-fraction'));
  const byClass: number[][] = Array.from({ length: numClasses }, () => []);
  poolLabels.forEach((y, j) => byClass[y].push(j));
  const picked: number[] = [];
  for (const js of byClass) {
    const want = Math.round(js.length * cfg.dataFraction);
    for (const k of sampleWithoutReplacement(js.length, want, rng)) picked.push(pool[js[k]]);
  }
  const sub = Int32Array.from(picked).sort();
  const labels = Uint8Array.from(sub, (i) => trainLabels[i]);
  fractionCache.set(pool, { key, pool: sub, labels });
  return { pool: sub, poolLabels: labels };
}

/** Training indices of partition `slot` of `numPartitions` (drawn from the run's pool), capped at cfg.maxSamples. */
export function slotIndices(trainLabels: Uint8Array, numClasses: number, cfg: FederationConfig, numPartitions: number, slot: number): Int32Array {
  const { pool, poolLabels } = runPool(trainLabels, numClasses, cfg);
  const local = clientIndices(poolLabels, numClasses, numPartitions, partitionParams(cfg), deriveSeed(cfg.seed, 'partition'), slot, cfg.maxSamples || undefined);
  return local.map((j) => pool[j]);
}

/** Images of a partition of n held out for federated evaluation: ⌊n·localEval⌋, at least 1 when localEval > 0 and n ≥ 2. */
export function localEvalCount(n: number, localEval: number): number {
  if (!(localEval > 0) || n < 2) return 0;
  return Math.max(1, Math.floor(n * localEval));
}

/** A partition split into what the client trains on and its own held-out evaluation split (seeded, both ascending). */
export function slotSplit(trainLabels: Uint8Array, numClasses: number, cfg: FederationConfig, numPartitions: number, slot: number): { train: Int32Array; eval: Int32Array } {
  const all = slotIndices(trainLabels, numClasses, cfg, numPartitions, slot);
  const k = localEvalCount(all.length, cfg.localEval);
  if (k === 0) return { train: all, eval: new Int32Array(0) };
  const held = new Set(sampleWithoutReplacement(all.length, k, createRng(deriveSeed(cfg.seed, 'local-eval', slot))));
  const train: number[] = [];
  const ev: number[] = [];
  all.forEach((i, j) => (held.has(j) ? ev : train).push(i));
  return { train: Int32Array.from(train), eval: Int32Array.from(ev) };
}

/**
 * Local steps a client with n training samples runs: E·⌈n/B⌉, or the partial straggler's count. A chain strategy
 * (FedMChain) runs H cycles of E_m epochs per modality the client holds: H·E_m·|held|·⌈n/B⌉ (pass `held`).
 */
export function expectedSteps(cfg: Pick<FederationConfig, 'epochs' | 'batchSize'> & Partial<FederationConfig>, n: number, straggler: StragglerPlan | null, held = 1): number {
  if (straggler?.mode === 'partial') return straggler.steps;
  const chain = cfg.algorithm ? strategyDefinition(cfg.algorithm).client?.(cfg as never).chain : undefined;
  const epochs = chain ? chain.cycles * chain.epochs * (chain.order === 'joint' ? 1 : held) : cfg.epochs;
  return epochs * Math.ceil(n / cfg.batchSize);
}

/** mnist+fashion: the modalities each partition holds (config shares, seeded); null for a single-modality dataset. */
export function modalityPlan(cfg: FederationConfig, numPartitions: number): Array<readonly Modality[]> | null {
  if (cfg.dataset !== 'mnist+fashion' || numPartitions === 0) return null;
  const both = cfg.modalityBoth;
  const primaryOnly = cfg.modalityMnistOnly;
  return modalityAvailability(numPartitions, cfg.seed, { both, primaryOnly, secondaryOnly: Math.max(0, 1 - both - primaryOnly) });
}

/** The modalities partition `slot` holds (every one for a single-modality dataset). */
export function heldModalities(cfg: FederationConfig, numPartitions: number, slot: number): readonly Modality[] {
  return modalityPlan(cfg, numPartitions)?.[slot] ?? MODALITIES;
}

/** Seed of the modality pairs a partition draws in a round (pairs are re-drawn every epoch from it). */
export function pairingSeed(cfg: FederationConfig, slot: number, round: number): number {
  return deriveSeed(cfg.seed, 'pairs', slot, round);
}

/** The fixed set of attacker partitions (spec §7: a fixed Byzantine set); empty unless the config names an attack. */
export function attackerSlots(cfg: FederationConfig, numPartitions: number): number[] {
  if (cfg.attack === 'none' || cfg.attackers <= 0 || numPartitions === 0) return [];
  const f = Math.min(numPartitions, Math.max(1, Math.round(cfg.attackers * numPartitions)));
  return sampleWithoutReplacement(numPartitions, f, createRng(deriveSeed(cfg.seed, 'attackers', numPartitions))).sort((a, b) => a - b);
}

export type StragglerPlan = { mode: 'partial'; steps: number } | { mode: 'late' };

/**
 * Which of a round's selected slots straggle (⌊stragglers·m⌉ of them, drawn per round) and how: 'partial' runs a random
 * number of local steps in [1, fullSteps − 1] (FedProx's E' ∈ [1, E), in steps so it also works for E = 1), 'late'
 * trains fully and replies after the deadline. Client and coordinator both compute this from the round message.
 */
export function stragglerPlan(cfg: FederationConfig, selectedSlots: readonly number[], round: number, slot: number, fullSteps: number): StragglerPlan | null {
  if (cfg.stragglers <= 0 || !selectedSlots.includes(slot)) return null;
  const sorted = [...selectedSlots].sort((a, b) => a - b);
  const count = Math.round(cfg.stragglers * sorted.length);
  const rng = createRng(deriveSeed(cfg.seed, 'stragglers', round));
  const chosen = sampleWithoutReplacement(sorted.length, count, rng).map((i) => sorted[i]);
  if (!chosen.includes(slot)) return null;
  if (cfg.stragglerMode === 'late') return { mode: 'late' };
  const steps = fullSteps <= 1 ? 1 : 1 + Math.floor(createRng(deriveSeed(cfg.seed, 'straggler-steps', round, slot)).next() * (fullSteps - 1));
  return { mode: 'partial', steps };
}

/** Slots chosen as stragglers in a round (the coordinator's view; the step count does not matter here). */
export function stragglerSlots(cfg: FederationConfig, selectedSlots: readonly number[], round: number): Map<number, StragglerPlan['mode']> {
  const out = new Map<number, StragglerPlan['mode']>();
  for (const s of selectedSlots) {
    const plan = stragglerPlan(cfg, selectedSlots, round, s, 2);
    if (plan) out.set(s, plan.mode);
  }
  return out;
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

/** Rounds whose model is evaluated: every evalEvery-th, and the last. */
export function isEvalRound(cfg: Pick<FederationConfig, 'evalEvery' | 'rounds'>, round: number): boolean {
  return round >= 1 && (round % cfg.evalEvery === 0 || round === cfg.rounds);
}


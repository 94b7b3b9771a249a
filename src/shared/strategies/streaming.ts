// Streaming aggregation (issue 11): a rule that only needs a weighted sum of the updates (the FedAvg family, FedOpt
// on top of it) can fold each update in as it arrives and hold O(|w|) instead of K·|w|; the coordinator does, for
// the strategies that say `streamable`. Rules that need every update at once (Krum, median, trimmed mean,
// Fed-Adaptive-Next, SSCA…) say `needsAllUpdates: true` in their definition; updateMemory tells whether holding K
// of them fits a memory budget.
import type { StrategyDefinition } from './strategy';
import { SUM_GROUP, weightedSum } from './vector-math';

/**
 * Σ_k w_k Δ_k / Σ_k w_k over a round's updates as they arrive, in O(|w|): the same float64 additions, in the same
 * order, as the batch weightedSum over the updates sorted by slot, so a streamed round equals the batch one bit for
 * bit whatever order the clients answer in. An update that arrives before the slots ahead of it waits for them (in a
 * pool that trains slots in order, a few); updates are folded SUM_GROUP at a time (fewer passes over the sum).
 */
export interface OrderedWeightedSum {
  /** Folds in slot's update with weight w > 0 (FedAvg: n_k) once every earlier slot is in or skipped. */
  add(slot: number, delta: Float32Array, weight: number): void;
  /** The slot will send nothing that counts (it left, was late, or its partial work is dropped). */
  skip(slot: number): void;
  /** Updates added so far (folded or waiting). */
  readonly count: number;
  /** Updates held now (waiting for an earlier slot, or for their group of SUM_GROUP): what streaming costs. */
  readonly held: number;
  /** Σ w_k Δ_k / Σ w_k over everything added; slots neither added nor skipped count as skipped. Ends the sum. */
  result(): Float64Array;
}

export function orderedWeightedSum(size: number, slots: readonly number[]): OrderedWeightedSum {
  const order = [...new Set(slots)].sort((a, b) => a - b);
  const sum = new Float64Array(size);
  const waiting = new Map<number, { delta: Float32Array; weight: number } | null>();
  const group: Float32Array[] = [];
  const groupWeights: number[] = [];
  let next = 0;
  let total = 0;
  let count = 0;
  let done = false;
  const foldGroup = () => {
    if (group.length) weightedSum(group, groupWeights, sum);
    group.length = 0;
    groupWeights.length = 0;
  };
  const advance = () => {
    while (next < order.length && waiting.has(order[next])) {
      const u = waiting.get(order[next])!;
      waiting.delete(order[next++]);
      if (!u) continue;
      group.push(u.delta);
      groupWeights.push(u.weight);
      if (group.length === SUM_GROUP) foldGroup();
    }
  };
  const open = (slot: number, what: string) => {
    if (done) throw new Error(`orderedWeightedSum: ${what} after result()`);
    const at = order.indexOf(slot);
    if (at < 0) throw new Error(`orderedWeightedSum: slot ${slot} is not one of this round's`);
    if (at < next || waiting.has(slot)) throw new Error(`orderedWeightedSum: slot ${slot} was already added or skipped`);
  };
  return {
    add(slot, delta, weight) {
      open(slot, 'add');
      if (delta.length !== size) throw new Error(`orderedWeightedSum: update has ${delta.length} values, expected ${size}`);
      if (!(weight > 0) || !Number.isFinite(weight)) throw new Error(`orderedWeightedSum: weight must be a finite number > 0, got ${weight}`);
      waiting.set(slot, { delta, weight });
      total += weight;
      count++;
      advance();
    },
    skip(slot) {
      open(slot, 'skip');
      waiting.set(slot, null);
      advance();
    },
    get count() {
      return count;
    },
    get held() {
      let n = group.length;
      for (const u of waiting.values()) if (u) n++;
      return n;
    },
    result() {
      if (count === 0) throw new Error('orderedWeightedSum: no updates added');
      for (const s of order) if (!waiting.has(s) && order.indexOf(s) >= next) waiting.set(s, null);
      advance();
      foldGroup();
      done = true;
      // Divided once at the end, as fedAvgStep does: the weights are n_k, their total known only when the round closes.
      for (let i = 0; i < size; i++) sum[i] /= total;
      return sum;
    },
  };
}

export interface UpdateMemory {
  /** The rule holds all K updates at once (else O(|w|) with a streaming accumulator). */
  needsAllUpdates: boolean;
  /** Bytes the updates take while a round aggregates: K·|w|·4 when held, one float64 sum of |w| when streamed. */
  bytes: number;
  /** bytes > budgetBytes */
  exceeds: boolean;
}

/** Whether a round of K float32 updates of |w| = size values fits in budgetBytes under this rule. */
export function updateMemory(def: Pick<StrategyDefinition, 'needsAllUpdates'>, clients: number, size: number, budgetBytes: number): UpdateMemory {
  const needsAllUpdates = def.needsAllUpdates === true;
  const bytes = needsAllUpdates ? clients * size * 4 : size * 8;
  return { needsAllUpdates, bytes, exceeds: bytes > budgetBytes };
}

/** What a coordinator may hold in updates for one round before it says so: 1 GiB (a browser tab's heap is a few). */
export const UPDATE_MEMORY_BUDGET_BYTES = 2 ** 30;

/** A one-line warning when a rule that holds every update would exceed the budget this round; null when it fits. */
export function updateMemoryWarning(def: Pick<StrategyDefinition, 'name' | 'needsAllUpdates'>, clients: number, size: number, budgetBytes = UPDATE_MEMORY_BUDGET_BYTES): string | null {
  const mem = updateMemory(def, clients, size, budgetBytes);
  if (!mem.exceeds) return null;
  const mb = (b: number) => `${Math.round(b / 2 ** 20)} MB`;
  return `${def.name} holds every update of a round: ${clients} × ${size} values = ${mb(mem.bytes)}, over the ${mb(budgetBytes)} budget; select fewer clients per round or use a rule that streams (FedAvg, FedOpt)`;
}

/**
 * Whether a round of this rule streams: its strategy streams, and nothing else the round does needs the updates
 * themselves (server validation, distillation, FLTrust's root update, uploaded extras, a fallback below minUpdates).
 */
export function roundStreams(strategy: { streamable: boolean; definition: StrategyDefinition }, cfg: unknown): boolean {
  const def = strategy.definition;
  const needs = def.needs?.(cfg as never) ?? {};
  return strategy.streamable && !needs.rootUpdate && !needs.validation && !needs.distill && !def.payload?.upload?.length && (def.minUpdates?.(cfg as never) ?? 1) <= 1;
}

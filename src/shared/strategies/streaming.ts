// Streaming aggregation (issue 11): a rule that only needs a weighted sum of the updates (the FedAvg family, FedOpt
// on top of it) can fold each update in as it arrives and hold O(|w|) instead of K·|w|. Rules that need every update
// at once (Krum, median, trimmed mean, Fed-Adaptive-Next, SSCA…) say `needsAllUpdates: true` in their definition;
// updateMemory tells whether holding K of them fits a memory budget.
import type { StrategyDefinition } from './strategy';

/** Σ_k w_k Δ_k / Σ_k w_k, one update at a time, in float64. */
export interface WeightedSumAccumulator {
  /** Folds in one update with weight w > 0 (FedAvg: n_k). The delta may be reused by the caller afterwards. */
  add(delta: Float32Array, weight: number): void;
  /** Updates folded in so far. */
  readonly count: number;
  /** Σ w_k Δ_k / Σ w_k (a fresh vector; the accumulator can go on). Throws before the first add. */
  result(): Float64Array;
}

export function weightedSumAccumulator(size: number): WeightedSumAccumulator {
  const sum = new Float64Array(size);
  let total = 0;
  let count = 0;
  return {
    add(delta, weight) {
      if (delta.length !== size) throw new Error(`weightedSumAccumulator: update has ${delta.length} values, expected ${size}`);
      if (!(weight > 0) || !Number.isFinite(weight)) throw new Error(`weightedSumAccumulator: weight must be a finite number > 0, got ${weight}`);
      for (let i = 0; i < size; i++) sum[i] += weight * delta[i];
      total += weight;
      count++;
    },
    get count() {
      return count;
    },
    result() {
      if (count === 0) throw new Error('weightedSumAccumulator: no updates added');
      // Dividing once at the end, not weighting by w_k/Σw up front as batch FedAvg does: equal up to float64
      // rounding (a few ulps of the float64 step), which rounding to the float32 model almost always absorbs.
      const out = new Float64Array(size);
      const inv = 1 / total;
      for (let i = 0; i < size; i++) out[i] = sum[i] * inv;
      return out;
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

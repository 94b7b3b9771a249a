// FedAvg (McMahan et al. 2017): w_{t+1} = w_t + Σ_k (n_k / n) Δ_k with Δ_k = w_k − w_t and n = Σ_k n_k.

import type { ResolvedParams, Strategy } from './strategy';
import { applyStep, byClient, checkUpdates, validateInput } from './common';
import { weightedSum } from './vector-math';

export interface ClientUpdate {
  clientId: string;
  numSamples: number;
  delta: Float32Array;
}

/** The FedAvg server step (η_g = serverLr); the reference the other strategies' tests compare against. */
export function fedAvg(
  global: Float32Array,
  updates: readonly ClientUpdate[],
  serverLr = 1,
): { weights: Float32Array; clientWeights: Record<string, number> } {
  const n = checkUpdates('fedavg', global, updates);
  const p = updates.map((u) => u.numSamples / n);
  // weightedSum accumulates in Float64: summing many float32 deltas in float32 loses the small ones.
  const step = weightedSum(updates.map((u) => u.delta), p);
  return { weights: applyStep(global, step, serverLr), clientWeights: byClient(updates, p) };
}

// ---- Strategy wrapper (strategy.ts) ----
// FedProx changes only the client objective (μ/2‖w − w_t‖²); its server step is FedAvg's, so both names share
// this strategy. With η_g ≠ 1: w_{t+1} = w_t + η_g Σ_k (n_k/n) Δ_k.

export function fedAvgStrategy(name: 'fedavg' | 'fedprox', params: ResolvedParams): Strategy<null> {
  return {
    name,
    initState: () => null,
    aggregate(input) {
      validateInput(name, input);
      return { result: { ...fedAvg(input.global, input.updates, params.serverLr), flagged: [] }, state: null };
    },
  };
}

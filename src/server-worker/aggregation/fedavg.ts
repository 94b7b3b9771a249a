// FedAvg (McMahan et al. 2017): w_{t+1} = w_t + Σ_k (n_k / n) Δ_k with Δ_k = w_k − w_t and n = Σ_k n_k.

import type { ResolvedParams, Strategy } from './strategy';
import { applyStep, validateInput } from './common';
import { weightedSum } from './vector-math';

export interface ClientUpdate {
  clientId: string;
  numSamples: number;
  delta: Float32Array;
}

/** The FedAvg server step with η_g = 1; the reference the other strategies' tests compare against. */
export function fedAvg(
  global: Float32Array,
  updates: readonly ClientUpdate[],
  serverLr = 1,
): { weights: Float32Array; clientWeights: Record<string, number> } {
  if (updates.length === 0) throw new Error('fedavg: no client updates to aggregate');
  const seen = new Set<string>();
  let n = 0;
  for (const u of updates) {
    if (!(u.numSamples > 0) || !Number.isFinite(u.numSamples)) {
      throw new Error(`fedavg: client '${u.clientId}' has numSamples=${u.numSamples}; must be a finite number > 0`);
    }
    if (u.delta.length !== global.length) {
      throw new Error(`fedavg: client '${u.clientId}' delta has ${u.delta.length} values, global model has ${global.length}`);
    }
    if (seen.has(u.clientId)) throw new Error(`fedavg: duplicate update from client '${u.clientId}'`);
    seen.add(u.clientId);
    n += u.numSamples;
  }
  const p = updates.map((u) => u.numSamples / n);
  // weightedSum accumulates in Float64: summing many float32 deltas in float32 loses the small ones.
  const step = weightedSum(updates.map((u) => u.delta), p);
  const clientWeights: Record<string, number> = {};
  updates.forEach((u, k) => (clientWeights[u.clientId] = p[k]));
  return { weights: applyStep(global, step, serverLr), clientWeights };
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

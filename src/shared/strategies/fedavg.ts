// FedAvg (McMahan et al. 2017): Δ = Σ_k (n_k / n) Δ_k with Δ_k = w_k − w_t and n = Σ_k n_k; the server optimizer
// (sgd with η_g = 1 by default) gives w_{t+1} = w_t + η_g Δ.
import { applyStep, byClient, checkUpdates, validateInput } from './common';
import { defineStrategy, type Strategy } from './strategy';
import { weightedSum } from './vector-math';

export interface ClientUpdate {
  clientId: string;
  numSamples: number;
  delta: Float32Array;
}

/** The FedAvg step Σ_k (n_k/n) Δ_k and its weights n_k/n. */
export function fedAvgStep(global: Float32Array, updates: readonly ClientUpdate[]): { step: Float64Array; clientWeights: Record<string, number> } {
  const n = checkUpdates('fedavg', global, updates);
  // weightedSum accumulates in Float64: summing many float32 deltas in float32 loses the small ones. Weighted by n_k
  // and divided by n once at the end, exactly as the coordinator's streaming sum (streaming.ts) does as updates arrive.
  const deltas = updates.map((u) => u.delta);
  const step = weightedSum(deltas, updates.map((u) => u.numSamples), undefined, 0, global.length, n);
  return { step, clientWeights: byClient(updates, updates.map((u) => u.numSamples / n)) };
}

/** The whole FedAvg server step with η_g = serverLr; the reference the other strategies' tests compare against. */
export function fedAvg(global: Float32Array, updates: readonly ClientUpdate[], serverLr = 1): { weights: Float32Array; clientWeights: Record<string, number> } {
  const { step, clientWeights } = fedAvgStep(global, updates);
  return { weights: applyStep(global, step, serverLr), clientWeights };
}

/** FedAvg's server side under a name of its own (FedProx and the FedOpt aliases share it). */
export function fedAvgStrategy(name: string): Strategy<null> {
  return {
    name,
    streamable: true,
    initState: () => null,
    aggregate(input) {
      validateInput(name, input);
      return { result: { ...fedAvgStep(input.global, input.updates), flagged: [] }, state: null };
    },
  };
}

export const fedavg = defineStrategy({
  name: 'fedavg',
  summary: 'w + Σ (n_k/n) Δ_k (§2.3); drops partial work from stragglers, as in FedProx’s protocol',
  params: {},
  keepsPartialWork: false,
  create: () => fedAvgStrategy('fedavg'),
});

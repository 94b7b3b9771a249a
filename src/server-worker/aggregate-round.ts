// One round's aggregation, with everything that can go wrong turned into a reason: too few updates (the strategy's
// declared shortfall: skip, or a named fallback), an exception in the strategy or the server's own work, an aggregate
// that is not finite. The caller records the reason and keeps w_t; the run goes on.
import type { FederationConfig } from '../shared/config';
import { checkVector } from '../shared/protocol';
import { applyStep, byClient } from '../shared/strategies/common';
import { createStrategy, paramsOf, type ComposedResult, type ComposedState, type ComposedStrategy } from '../shared/strategies/registry';
import { modalityPlan } from '../shared/run-plan';
import type { OrderedWeightedSum } from '../shared/strategies/streaming';
import type { AggregationInput, AggregationResult, StrategyUpdate } from '../shared/strategies/strategy';
import type { Task } from './types';

export interface RoundToAggregate {
  strategy: ComposedStrategy;
  state: ComposedState;
  config: FederationConfig;
  task: Task;
  weights: Float32Array;
  round: number;
  numPartitions: number;
  /** In slot order (the coordinator sorts them): what a rule sums, it sums in one order whatever the arrival order. */
  updates: StrategyUpdate[];
  /** A streamed round's sum of these updates (their deltas are empty then). */
  streamed?: OrderedWeightedSum | null;
}

export type AggregateOutcome =
  | { weights: Float32Array; state: ComposedState; result: ComposedResult; skipped: string | null }
  | { weights: null; state: ComposedState; result: null; skipped: string };

export async function aggregateRound(r: RoundToAggregate): Promise<AggregateOutcome> {
  const { config: cfg, updates } = r;
  const none = (skipped: string): AggregateOutcome => ({ weights: null, state: r.state, result: null, skipped });
  if (updates.length === 0) return none('no updates: round skipped, w_t kept');
  const def = r.strategy.definition;
  let strategy = r.strategy;
  let state = r.state;
  let skipped: string | null = null;
  const min = def.minUpdates?.(cfg as never) ?? 1;
  if (updates.length < min) {
    const why = `${def.name} needs ${min} updates, got ${updates.length}`;
    const short = def.shortfall ?? { kind: 'skip' };
    if (short.kind === 'skip') return none(`${why}: round skipped, w_t kept`);
    strategy = createStrategy(short.strategy, paramsOf(cfg));
    state = { ...state, inner: strategy.initState().inner };
    skipped = `${why}: aggregated with ${short.strategy} instead`;
  }
  try {
    const needs = strategy.definition.needs?.(cfg as never) ?? {};
    const input: AggregationInput = { global: r.weights, layers: r.task.layers, updates, round: r.round, numClients: r.numPartitions, seed: cfg.seed, clientLr: cfg.lr, modalities: modalityPlan(cfg, r.numPartitions) };
    if (needs.rootUpdate) input.serverUpdate = checkVector(await r.task.rootUpdate(r.weights, r.round), r.weights.length, 'root update');
    if (needs.validation) {
      const losses = await r.task.validationLosses([r.weights, ...updates.map((u) => applyStep(r.weights, u.delta, 1))], needs.validation);
      const base = Math.max(losses[0], 1e-12);
      input.validationIncrease = Object.fromEntries(updates.map((u, k) => [u.clientId, (losses[k + 1] - losses[0]) / base]));
    }
    const out = r.streamed ? strategy.applyResult(r.weights, streamedResult(r.streamed, updates), state) : strategy.aggregate(input, state);
    if (needs.distill) {
      const d = await r.task.distill(out.result.weights, updates.map((u) => applyStep(r.weights, u.delta, 1)), r.round, needs.distill);
      out.result.weights = checkVector(d.weights, r.weights.length, 'distilled weights');
      out.result.distill = { steps: d.steps, bestStep: d.bestStep, validationLossBefore: d.validationLossBefore, validationLoss: d.validationLoss };
    }
    const bad = out.result.weights.findIndex((x) => !Number.isFinite(x));
    if (bad >= 0) return none(`the aggregate is not finite (w[${bad}] = ${out.result.weights[bad]}): round skipped, w_t kept`);
    // A fallback moves the server optimizer on; the strategy's own state stays as it was.
    const next = strategy === r.strategy ? out.state : { ...out.state, inner: r.state.inner };
    return { weights: out.result.weights, state: next, result: out.result, skipped };
  } catch (e) {
    return none(`aggregation failed (${e instanceof Error ? e.message : String(e)}): round skipped, w_t kept`);
  }
}

/** FedAvg's result from the streamed sum: the step, and each client's n_k / n. */
function streamedResult(sum: OrderedWeightedSum, updates: readonly StrategyUpdate[]): AggregationResult {
  const n = updates.reduce((t, u) => t + u.numSamples, 0);
  return { step: sum.result(), clientWeights: byClient(updates, updates.map((u) => u.numSamples / n)), flagged: [] };
}

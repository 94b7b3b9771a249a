// Every aggregation strategy, in the order the form, --help and the README list them. Adding one touches its file
// and this list; the config schema, the coordinator and the clients read what they need from its definition.
import * as v from 'valibot';
import { ConfigError, defined, parseFields } from '../schema/parse';
import { bulyan } from './bulyan';
import { clip } from './clip';
import { fedAdaptiveNext } from './fed-adaptive-next';
import { fedatt } from './fedatt';
import { fedavg } from './fedavg';
import { fednova } from './fednova';
import { fedadagrad, fedadam, fedavgm, fedyogi } from './fedopt';
import { evaluators, summarizeEvaluations } from './federated-eval';
import { fedakd } from './fedakd';
import { feddf } from './feddf';
import { fedmchain } from './fedmchain';
import { fedalign } from './fedalign';
import { fedavgLora } from './fedavg-lora';
import { localLora } from './local-lora';
import { fedntd } from './fedntd';
import { fedprox } from './fedprox';
import { fedavgLa } from './logit-adjust';
import { fltrust } from './fltrust';
import { krum, multiKrum } from './krum';
import { median } from './median';
import { qfedavg } from './qfedavg';
import { scaffold } from './scaffold';
import { SERVER_OPT_PARAMS, serverOptimizerParams } from './server-opt-params';
import { initServerOptimizerState, serverOptimizerStep, type ServerOptimizerState } from './server-optimizer';
import { signsgd } from './signsgd';
import type { AggregationInput, AggregationResult, Strategy, StrategyDefinition } from './strategy';
import { trimmedMean } from './trimmed-mean';

export const STRATEGIES = [
  fedavg, fedprox, scaffold, fednova, fedatt, fedAdaptiveNext,
  fedavgm, fedadam, fedyogi, fedadagrad, qfedavg,
  krum, multiKrum, bulyan, median, trimmedMean, fltrust, clip,
  fedavgLa, fedntd, fedakd, feddf,
  fedmchain, signsgd,
  fedalign, fedavgLora, localLora,
] as const;

export type StrategyName = (typeof STRATEGIES)[number]['name'];
export const STRATEGY_NAMES = STRATEGIES.map((d) => d.name) as unknown as readonly [StrategyName, ...StrategyName[]];

/** Every strategy's parameters plus the server optimizer's: the config fields the registry contributes. */
export const STRATEGY_PARAMS = {
  ...SERVER_OPT_PARAMS,
  ...fedprox.params,
  ...fedatt.params,
  ...fedAdaptiveNext.params,
  ...qfedavg.params,
  ...krum.params,
  ...multiKrum.params,
  ...bulyan.params,
  ...trimmedMean.params,
  ...clip.params,
  ...fedavgLa.params,
  ...fedntd.params,
  ...fedakd.params,
  ...fedmchain.params,
  ...signsgd.params,
  ...fedalign.params,
};
export type StrategyParams = v.InferOutput<v.ObjectSchema<typeof STRATEGY_PARAMS, undefined>>;

const byName = new Map<string, StrategyDefinition>(STRATEGIES.map((d) => [d.name, d as unknown as StrategyDefinition]));
if (byName.size !== STRATEGIES.length) throw new Error('two strategies share a name');
for (const d of STRATEGIES) {
  for (const key of Object.keys(d.params)) {
    if ((STRATEGY_PARAMS as Record<string, unknown>)[key] !== (d.params as Record<string, unknown>)[key]) {
      throw new Error(`strategy ${d.name}: parameter ${key} is missing from STRATEGY_PARAMS or defined twice differently`);
    }
  }
}

export function isStrategyName(name: string): name is StrategyName {
  return byName.has(name);
}

export function strategyDefinition(name: string): StrategyDefinition {
  const d = byName.get(name);
  if (!d) throw new ConfigError(`unknown aggregation strategy '${name}'; valid: ${STRATEGY_NAMES.join(', ')}`);
  return d;
}

/** A full parameter set (defaults filled in) from a partial one; unknown keys and bad values are ConfigErrors. */
export function strategyParams(partial: Partial<Record<keyof StrategyParams, unknown>> = {}): StrategyParams {
  return parseFields(STRATEGY_PARAMS, defined(partial), 'strategy parameter');
}

/** The strategy parameters of a run config (every other key left out). */
export function paramsOf(cfg: object): Partial<StrategyParams> {
  return Object.fromEntries(Object.entries(cfg).filter(([k]) => Object.hasOwn(STRATEGY_PARAMS, k))) as Partial<StrategyParams>;
}

/** The state createStrategy keeps: the rule's own, the server optimizer's, and the step it applied last. */
export interface ComposedState<S = unknown> {
  inner: S;
  opt: ServerOptimizerState;
  /** g_{t−1} = w_t − w_{t−1}; null before the first round. */
  prevStep: Float32Array | null;
}

export type ComposedResult = AggregationResult & {
  weights: Float32Array;
  /** FedDF's server distillation of this round, when the strategy asks for one. */
  distill?: { steps: number; bestStep: number; validationLossBefore: number; validationLoss: number };
};

export interface ComposedStrategy extends Strategy<ComposedState> {
  definition: StrategyDefinition;
  configureEvaluate: NonNullable<Strategy['configureEvaluate']>;
  aggregateEvaluate: NonNullable<Strategy['aggregateEvaluate']>;
  aggregate(input: AggregationInput, state: ComposedState | null): { result: ComposedResult; state: ComposedState };
  /** The rule streams (Strategy.streamable): its step comes from the coordinator's sum, not from aggregate(). */
  streamable: boolean;
  /** The server optimizer's part of aggregate() on a step the rule's result already holds (a streamed round). */
  applyResult(global: Float32Array, result: AggregationResult, state: ComposedState | null): { result: ComposedResult; state: ComposedState };
}

function isComposed(s: unknown): s is ComposedState {
  return typeof s === 'object' && s !== null && 'inner' in s && 'opt' in s && 'prevStep' in s;
}

/**
 * The named strategy with its server optimizer: the rule aggregates Δ_t, the optimizer (sgd η = 1 unless configured;
 * forced by the FedOpt aliases) turns it into w_{t+1}. `params` may hold any strategy's keys.
 */
export function createStrategy(name: string, params: Partial<Record<keyof StrategyParams, unknown>> = {}): ComposedStrategy {
  const definition = strategyDefinition(name);
  const p = strategyParams(params);
  const inner = definition.create(p as never) as Strategy<unknown>;
  const opt = serverOptimizerParams({ ...p, serverOpt: definition.serverOpt ?? p.serverOpt });
  const initState = (): ComposedState => ({ inner: inner.initState(), opt: initServerOptimizerState(), prevStep: null });
  return {
    name: definition.name,
    definition,
    initState,
    // A state stored by an older version is the rule's own state.
    configureRound: inner.configureRound && ((state, ctx) => inner.configureRound!(isComposed(state) ? state.inner : state, ctx)),
    modelExtras: inner.modelExtras && ((state) => inner.modelExtras!(isComposed(state) ? state.inner : state)),
    personalWeights: inner.personalWeights && ((state) => inner.personalWeights!(isComposed(state) ? state.inner : state)),
    configureEvaluate: inner.configureEvaluate ?? evaluators,
    aggregateEvaluate: inner.aggregateEvaluate ?? summarizeEvaluations,
    streamable: inner.streamable === true,
    aggregate(input, state) {
      const st = composed(state);
      const out = inner.aggregate({ ...input, previousStep: st.prevStep }, st.inner);
      return withOptimizer(input.global, out.result, st, out.state);
    },
    applyResult(global, result, state) {
      const st = composed(state);
      return withOptimizer(global, result, st, st.inner);
    },
  };
  function composed(state: ComposedState | null): ComposedState {
    return isComposed(state) ? state : state === null ? initState() : { ...initState(), inner: state };
  }
  function withOptimizer(global: Float32Array, result: AggregationResult, st: ComposedState, innerState: unknown) {
    const prevStep = new Float32Array(global.length); // the step taken, in float32: Fed-Adaptive-Next's reference
    const next = serverOptimizerStep(global, result.step, st.opt, opt, prevStep);
    return { result: { ...result, weights: next.weights }, state: { inner: innerState, opt: next.state, prevStep } };
  }
}

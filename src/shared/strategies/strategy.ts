// One interface for every server aggregation rule (spec §2 and §7). Each strategy is a pure function of
// (input, state) on flat Float32Array weight vectors with LayerSpec structure; see the per-strategy files for
// the exact equations.
import { DEFAULT_CONFIG, FAN_REFERENCES, type FanReference, type FederationConfig } from '../config';
import type { LayerSpec } from '../weights';
import { clipStrategy } from './clip';
import { fedAdaptiveNextStrategy } from './fed-adaptive-next';
import { fedAttStrategy } from './fedatt';
import { fedAvgStrategy } from './fedavg';
import { fedNovaStrategy } from './fednova';
import { fltrustStrategy } from './fltrust';
import { krumStrategy } from './krum';
import { medianStrategy } from './median';
import { scaffoldStrategy } from './scaffold';
import { trimmedMeanStrategy } from './trimmed-mean';

export interface StrategyUpdate {
  clientId: string;
  numSamples: number;
  /** w_k − w_t */
  delta: Float32Array;
  /** Mean loss of each local epoch, L^(1..E). */
  epochLosses: number[];
  /** Per-batch losses of the last local epoch. */
  batchLosses: number[];
  /** Local steps τ_k. */
  steps: number;
  /** SCAFFOLD c_k⁺ − c_k. */
  controlDelta?: Float32Array;
}

export interface AggregationInput {
  global: Float32Array;
  layers: readonly LayerSpec[];
  updates: readonly StrategyUpdate[];
  /** 1-based. */
  round: number;
  /** K, total clients/partitions (SCAFFOLD's |S|/K). */
  numClients: number;
  /** Run seed; strategies derive a per-round noise stream from (seed, strategy, round). */
  seed: number;
  /** FLTrust root-set update Δ₀, computed elsewhere. */
  serverUpdate?: Float32Array;
  /**
   * Fed-Adaptive-Next's optional server-verifiable term: per client, the relative loss increase on the server
   * validation split, (ℓ_val(w_t + Δ_k) − ℓ_val(w_t)) / ℓ_val(w_t), computed elsewhere.
   */
  validationIncrease?: Record<string, number>;
}

export interface AggregationResult {
  /** w_{t+1} */
  weights: Float32Array;
  /**
   * Effective weight of each client in the aggregate: sums to 1 over kept clients, 0 for excluded ones.
   * Per-layer methods report the size-weighted mean over layers.
   */
  clientWeights: Record<string, number>;
  /** Per-layer weights (attention methods), one entry per layer. */
  layerWeights?: Record<string, number[]>;
  /** Excluded or suspicious clients with a human-readable reason. */
  flagged: Array<{ clientId: string; reason: string }>;
  /** ρ_k after this round (Fed-Adaptive-Next). */
  reliability?: Record<string, number>;
  /** SCAFFOLD c after the update. */
  serverControl?: Float32Array;
}

export interface Strategy<S = unknown> {
  name: StrategyName;
  initState(): S;
  /** What the server sends every client with a round besides w_t (SCAFFOLD: its control variate c). */
  roundPayload?(state: S): { control?: Float32Array };
  /** Pure: never mutates input or state; returns a fresh state. */
  aggregate(input: AggregationInput, state: S): { result: AggregationResult; state: S };
}

export const STRATEGY_NAMES = [
  'fedavg',
  'fedprox',
  'scaffold',
  'fednova',
  'fedatt',
  'fed-adaptive-next',
  'krum',
  'multi-krum',
  'median',
  'trimmed-mean',
  'fltrust',
  'clip',
] as const;
export type StrategyName = (typeof STRATEGY_NAMES)[number];

export interface StrategyParams {
  /** Fed-Adaptive-Next softmax temperature τ (default 0.2); Infinity = uniform attention. */
  tau?: number;
  /** Fed-Adaptive-Next cosine gate 1[c > 0] (default true). */
  gate?: boolean;
  /** Fed-Adaptive-Next reference direction r_t (default 'previous-step'). */
  reference?: FanReference;
  /** Ablation: false = DWS only (a ≡ 1, no gate). Default true. */
  attention?: boolean;
  /** Ablation: false = attention only (ρ ≡ 1, no drops). Default true. */
  weighting?: boolean;
  /** Drop a client whose ρ_k falls below this (default 0.1). */
  reliabilityThreshold?: number;
  /** EMA decay d in ρ ← d·ρ + (1 − d)·r (default 0.7). */
  emaDecay?: number;
  /** γ_δ (default 5). */
  gammaDelta?: number;
  /** γ_v (default 1). */
  gammaV?: number;
  /** γ_n (default 1). */
  gammaN?: number;
  /** γ_val on the validation term [increase]_+ when input.validationIncrease is given (default 5). */
  gammaVal?: number;
  /** Fed-Adaptive-Next: clip Δ_k to the median norm (default true). */
  clipToMedian?: boolean;
  /** Server learning rate η_g (default 1); every rule but FedAtt (which has ε) applies w + η_g·Δ. */
  serverLr?: number;
  /** FedAtt step size ε (default 1). */
  epsilon?: number;
  /** FedAtt noise scale β (default 0.001). */
  noise?: number;
  /** Krum / Multi-Krum: assumed number of Byzantine clients f (default 1). */
  byzantine?: number;
  /** Multi-Krum: how many lowest-score updates to average (default n − f). */
  multiKrumM?: number;
  /** Trimmed mean: fraction β trimmed from each end, ⌈βn⌉ values (default 0.2). */
  trimBeta?: number;
  /** Clip: fixed norm bound M (default: median norm of the round's updates). */
  clipNorm?: number;
  /** Clip: Gaussian noise σ added to the aggregate (default 0). */
  clipNoise?: number;
}

/** Parameters after defaults; the three without a fixed default stay optional. */
export type ResolvedParams = Required<Omit<StrategyParams, 'byzantine' | 'multiKrumM' | 'clipNorm'>> &
  Pick<StrategyParams, 'byzantine' | 'multiKrumM' | 'clipNorm'>;

/** The run config's defaults are the one source of the strategies' defaults. */
export const DEFAULT_PARAMS: Readonly<ResolvedParams> = Object.freeze(paramsFromConfig(DEFAULT_CONFIG) as ResolvedParams);

type Check = (v: unknown) => string | null;
const num = (ok: (x: number) => boolean, want: string): Check => (v) =>
  typeof v === 'number' && !Number.isNaN(v) && ok(v) ? null : `must be ${want}`;
const finite = (ok: (x: number) => boolean, want: string): Check => num((x) => Number.isFinite(x) && ok(x), want);
const int = (ok: (x: number) => boolean, want: string): Check => num((x) => Number.isInteger(x) && ok(x), want);
const bool: Check = (v) => (typeof v === 'boolean' ? null : 'must be true or false');

const PARAM_CHECKS: Record<keyof StrategyParams, Check> = {
  tau: num((x) => x > 0, 'a number > 0 (Infinity allowed)'),
  gate: bool,
  reference: (v) => ((FAN_REFERENCES as readonly unknown[]).includes(v) ? null : `must be one of ${FAN_REFERENCES.join(', ')}`),
  attention: bool,
  weighting: bool,
  reliabilityThreshold: finite((x) => x >= 0 && x <= 1, 'in [0, 1]'),
  emaDecay: finite((x) => x >= 0 && x <= 1, 'in [0, 1]'),
  gammaDelta: finite((x) => x >= 0, 'a finite number >= 0'),
  gammaV: finite((x) => x >= 0, 'a finite number >= 0'),
  gammaN: finite((x) => x >= 0, 'a finite number >= 0'),
  gammaVal: finite((x) => x >= 0, 'a finite number >= 0'),
  clipToMedian: bool,
  serverLr: finite((x) => x > 0, 'a finite number > 0'),
  epsilon: finite((x) => x > 0, 'a finite number > 0'),
  noise: finite((x) => x >= 0, 'a finite number >= 0'),
  byzantine: int((x) => x >= 0, 'an integer >= 0'),
  multiKrumM: int((x) => x >= 1, 'an integer >= 1'),
  trimBeta: finite((x) => x >= 0 && x < 0.5, 'in [0, 0.5)'),
  clipNorm: finite((x) => x > 0, 'a finite number > 0'),
  clipNoise: finite((x) => x >= 0, 'a finite number >= 0'),
};

/**
 * Validate params and fill in defaults. Unknown keys are an error (typos would silently fall back to a
 * default); keys that only another strategy reads are accepted, so one params object can drive a sweep.
 * `undefined` values mean "default".
 */
export function resolveParams(params: StrategyParams = {}): ResolvedParams {
  const out: ResolvedParams = { ...DEFAULT_PARAMS };
  const errors: string[] = [];
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined) continue;
    if (!Object.hasOwn(PARAM_CHECKS, key)) {
      errors.push(`unknown parameter '${key}' (valid: ${Object.keys(PARAM_CHECKS).join(', ')})`);
      continue;
    }
    const err = PARAM_CHECKS[key as keyof StrategyParams](value);
    if (err) errors.push(`${key}=${String(value)} ${err}`);
    else (out as unknown as Record<string, unknown>)[key] = value;
  }
  if (errors.length) throw new Error(`invalid strategy params: ${errors.join('; ')}`);
  return out;
}

/** The strategy hyperparameters of a run config (0 means "default" for the three without a fixed one). */
export function paramsFromConfig(cfg: FederationConfig): StrategyParams {
  return {
    tau: cfg.tau,
    gate: cfg.gate,
    reference: cfg.reference,
    attention: cfg.attention,
    weighting: cfg.weighting,
    reliabilityThreshold: cfg.reliabilityThreshold,
    emaDecay: cfg.emaDecay,
    gammaDelta: cfg.gammaDelta,
    gammaV: cfg.gammaV,
    gammaN: cfg.gammaN,
    gammaVal: cfg.gammaVal,
    clipToMedian: cfg.clipToMedian,
    serverLr: cfg.serverLr,
    epsilon: cfg.epsilon,
    noise: cfg.noise,
    byzantine: cfg.byzantine,
    multiKrumM: cfg.multiKrumM || undefined,
    trimBeta: cfg.trimBeta,
    clipNorm: cfg.clipNorm || undefined,
    clipNoise: cfg.clipNoise,
  };
}

export function isStrategyName(name: string): name is StrategyName {
  return (STRATEGY_NAMES as readonly string[]).includes(name);
}

export function createStrategy(name: string, params?: StrategyParams): Strategy {
  if (!isStrategyName(name)) {
    throw new Error(`unknown aggregation strategy '${name}'; valid: ${STRATEGY_NAMES.join(', ')}`);
  }
  const p = resolveParams(params);
  switch (name) {
    case 'fedavg':
    case 'fedprox':
      return fedAvgStrategy(name, p);
    case 'scaffold':
      return scaffoldStrategy(p);
    case 'fednova':
      return fedNovaStrategy(p);
    case 'fedatt':
      return fedAttStrategy(p);
    case 'fed-adaptive-next':
      return fedAdaptiveNextStrategy(p);
    case 'krum':
    case 'multi-krum':
      return krumStrategy(name, p);
    case 'median':
      return medianStrategy(p);
    case 'trimmed-mean':
      return trimmedMeanStrategy(p);
    case 'fltrust':
      return fltrustStrategy(p);
    case 'clip':
      return clipStrategy(p);
  }
}

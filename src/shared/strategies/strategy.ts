// What a server aggregation rule is (spec §2, §7, §9), in the shape Flower users know: a strategy says what each
// selected client receives (configureRound), how the replies combine (aggregate) and what it needs from the server.
// Every rule is a pure function of (input, state) on flat Float32Array weight vectors with LayerSpec structure,
// declared in one file (name, parameter schema, needs, factory) and listed in registry.ts.
import type * as v from 'valibot';
import type { Modality } from '../data/paired-modalities';
import type { FeatureHead } from '../ml/feature-head';
import type { RejectReason } from '../protocol';
import type { ClientEvaluation, FederatedEvaluation } from '../status';
import type { LayerSpec } from '../weights';
import type { ServerOptimizerName } from './server-optimizer';

export interface StrategyUpdate {
  clientId: string;
  /** The client's partition; per-slot state (SCAFFOLD's c_k) is keyed by it, so it survives a reloaded tab. */
  slot: number;
  /** The coordinator's own count of the client's training samples, never the client's claim. */
  numSamples: number;
  /** w_k − w_t */
  delta: Float32Array;
  /** Mean loss of each local epoch, L^(1..E). */
  epochLosses: number[];
  /** Per-batch losses of the last local epoch. */
  batchLosses: number[];
  /** Local steps τ_k (checked by the coordinator against E·⌈n/B⌉ or the straggler plan). */
  steps: number;
  /** The client's loss on its training data at w_t, before training (q-FedAvg's F_k). */
  initialLoss?: number;
  /** Named vectors the strategy asked clients to upload (SCAFFOLD: controlDelta = c_k⁺ − c_k). */
  extras?: Readonly<Record<string, Float32Array>>;
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
  /** FLTrust root-set update Δ₀, computed by the server when the strategy needs it. */
  serverUpdate?: Float32Array;
  /**
   * Fed-Adaptive-Next's optional server-verifiable term: per client, the relative loss increase on the server
   * validation split, (ℓ_val(w_t + Δ_k) − ℓ_val(w_t)) / ℓ_val(w_t), computed by the server.
   */
  validationIncrease?: Record<string, number>;
  /** The clients' SGD learning rate η_l (q-FedAvg's L = 1/η_l). */
  clientLr?: number;
  /** mnist+fashion: the modalities each slot holds, as the coordinator computes them (null: a single-modality run). */
  modalities?: ReadonlyArray<readonly Modality[]> | null;
  /** g_{t−1} = w_t − w_{t−1}, the step the server applied last round (null in round 1); filled in by createStrategy. */
  previousStep?: Float32Array | null;
}

export interface AggregationResult {
  /** The aggregated update Δ_t (a pseudo-gradient): the server optimizer turns it into w_{t+1}. */
  step: Float32Array | Float64Array;
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
}

/** What a round sends besides w_t: extras for everyone (on the broadcast) and per slot (over each client's port). */
export interface RoundPayload {
  broadcast?: Record<string, Float32Array>;
  perSlot?: Record<number, Record<string, Float32Array>>;
}

export interface RoundContext {
  round: number;
  /** The slots selected this round. */
  slots: readonly number[];
  numClients: number;
  /** |w| */
  size: number;
}

/** A strategy's server side. */
export interface Strategy<S = unknown> {
  name: string;
  /**
   * The rule is FedAvg's step Σ (n_k/n) Δ_k and keeps no state: the coordinator may fold updates into a streaming
   * sum as they arrive (streaming.ts) instead of holding them, when nothing else of the round needs them.
   */
  streamable?: boolean;
  initState(): S;
  /** What each selected client receives with the round (SCAFFOLD: c for all, c_k per slot). */
  configureRound?(state: S, ctx: RoundContext): RoundPayload;
  /** Pure: never mutates input or state; returns a fresh state. */
  aggregate(input: AggregationInput, state: S): { result: AggregationResult; state: S };
  /** What the global model needs besides w (FedAlign: the class features z_c), for the coordinator's evaluations. */
  modelExtras?(state: S): Record<string, Float32Array>;
  /** Each slot's own model where the strategy keeps one (FedAlign, local LoRA); local accuracy scores it. */
  personalWeights?(state: S): Readonly<Record<number, Float32Array>>;
  /** Federated evaluation: which clients evaluate a round's model (slot holders → client → slot). Default: all. */
  configureEvaluate?(holders: ReadonlyArray<string | null>): Record<string, number>;
  /** Federated evaluation: what the coordinator reports of the clients' results. Default: mean, worst 10%, minimum. */
  aggregateEvaluate?(clients: readonly ClientEvaluation[], asked: number): FederatedEvaluation | null;
}

/** What clients do differently under this strategy; read by the client's local round. */
export interface ClientSide {
  /** FedProx: weight μ of the proximal term (μ/2)‖w − w_t‖² added to the local objective. */
  proximalMu?: number;
  /** SCAFFOLD: step with g − c_k + c, upload controlDelta = c_k⁺ − c_k. */
  controlVariates?: boolean;
  /** q-FedAvg: report the loss at w_t before training. */
  initialLoss?: boolean;
  /** The head every model of the run carries, the coordinator's included (FedAKD: feature attention). */
  featureHead?: FeatureHead;
  /** Distil from the frozen global model w_t of the round: FedAKD's KD (+ attention transfer) or FedNTD. */
  distill?: { kind: 'kd'; lambda: number; tau: number; attentionTransfer: number } | { kind: 'ntd'; beta: number; tau: number };
  /** Logit adjustment τ: train on z + τ·log π with the class prior the round carries. */
  logitAdjust?: number;
  /**
   * FedMChain (spec §5): train modality-wise in a chain. Each cycle visits the held modalities in
   * chainOrderFor(order, round, held) (fedmchain.ts) and trains only φ_m, h_m for `epochs` (E_m) epochs on
   * CE(h_m, y) + lambdaEc·CE(sg[z_<m] + h_m, y); a round runs `cycles` (H) chain cycles before the update is sent.
   */
  chain?: { order: ChainOrder; epochs: number; lambdaEc: number; cycles: number };
  /**
   * FedAlign and its LoRA baselines (spec §4, model cnn-s-lora): train CE of the cosine logits + mu·L_orth; with
   * `upload`, send per-class prototypes with counts and up to `featuresPerClass` correctly classified features per class.
   */
  align?: { mu: number; optimizer: LoraOptimizer; upload: { featuresPerClass: number } | null };
}

/** A named extra that is not |w| long: exactly `length` values, or whole rows of `width` values, at most `maxRows`. */
export type ExtraShape = { length: number } | { width: number; maxRows: number };

/** Why a strategy refuses an update's extras (the coordinator rejects the update with it and counts it). */
export interface UploadProblem {
  reason: RejectReason;
  detail: string;
}

/** The LoRA clients' local optimizer: Adam (fresh each round, at config.lr) or plain SGD. */
export type LoraOptimizer = 'adam' | 'sgd';

/** FedMChain's chain order: MODALITIES order (weak modality last), or the held list rotated by round − 1. */
export type ChainOrder = 'weak-last' | 'round-robin' | 'joint';

/** FedDF server distillation's budget. */
export interface DistillNeeds {
  /** Most Adam steps per round. */
  steps: number;
  /** Stop after this many steps without a better server-validation loss. */
  patience: number;
}

/** Named extra vectors a strategy exchanges with clients; each is |w| long (unless extraShapes says otherwise) and validated like an update. */
export interface PayloadSpec {
  broadcast?: readonly string[];
  perSlot?: readonly string[];
  upload?: readonly string[];
}

/** What the server must compute for the strategy, from its resolved parameters. */
export interface ServerNeeds {
  /** FLTrust's Δ₀ on the server root set. */
  rootUpdate?: boolean;
  /** Images of the server validation split to score every update on (0 = none). */
  validation?: number;
  /** FedDF: distil the aggregate on the proxy split (needs config.proxySamples > 0). */
  distill?: DistillNeeds;
  /** Send the run's global class prior with every round (logit adjustment). */
  classPrior?: boolean;
}

/** When a round has fewer updates than minUpdates: keep w_t, or aggregate with another named strategy. */
export type Shortfall = { kind: 'skip' } | { kind: 'fallback'; strategy: string };

export interface StrategyDefinition<P extends v.ObjectEntries = v.ObjectEntries, S = unknown> {
  name: string;
  /** One line: the dashboard form, --help and the README table say this. */
  summary: string;
  /** The config keys this strategy reads, with their ranges and defaults. A key two strategies share is one field. */
  params: P;
  /** A FedOpt alias (fedadam…) fixes the server optimizer; others take config.serverOpt. */
  serverOpt?: ServerOptimizerName;
  /** FedProx's protocol: FedAvg drops partial work from stragglers, everything else aggregates it. */
  keepsPartialWork: boolean;
  /**
   * The rule needs every update of a round at once (Krum, median, attention…); without it the rule is a weighted
   * sum that can be accumulated as updates arrive in O(|w|) (streaming.ts).
   */
  needsAllUpdates?: boolean;
  /** Fewest updates a round needs (default 1); a run that cannot reach it fails before round 1. */
  minUpdates?(p: v.InferOutput<v.ObjectSchema<P, undefined>>): number;
  /** What happens below minUpdates (default: skip the round). */
  shortfall?: Shortfall;
  needs?(p: v.InferOutput<v.ObjectSchema<P, undefined>>): ServerNeeds;
  client?(p: v.InferOutput<v.ObjectSchema<P, undefined>>): ClientSide;
  payload?: PayloadSpec;
  /** Lengths of the named extras that are not |w| long (FedAlign's class features, prototypes, features). */
  extraShapes?(p: v.InferOutput<v.ObjectSchema<P, undefined>>): Readonly<Record<string, ExtraShape>>;
  /** Checks an upload's extras beyond their lengths, against what the coordinator knows of the slot; null if fine. */
  checkUpload?(p: v.InferOutput<v.ObjectSchema<P, undefined>>, extras: Readonly<Record<string, Float32Array>>, slot: { samples: number; classCounts: readonly number[] }): UploadProblem | null;
  create(p: v.InferOutput<v.ObjectSchema<P, undefined>>): Strategy<S>;
}

/** Keeps a definition's parameter types tied to its factory. */
export function defineStrategy<P extends v.ObjectEntries, S>(def: StrategyDefinition<P, S>): StrategyDefinition<P, S> {
  return def;
}

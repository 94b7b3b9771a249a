import type { Modality } from '../shared/data/paired-modalities';
// The coordinator's boundaries: what it needs injected (clock, timers, broadcast, storage, the tf task) and what a
// client connection may do. Federation implements them; the SharedWorker, the Node runtime and the tests provide them.
import type { FederationConfig } from '../shared/config';
import type { BroadcastMessage, HeartbeatReply, KeyReply, RegisterReply, RejectReason } from '../shared/protocol';
import type { AttentionImage, RoundRecord, RunState } from '../shared/status';
import type { LayerSpec } from '../shared/weights';
import type { Connection } from './client-registry';

export interface EvalResult {
  accuracy: number;
  loss: number;
  recall: number[];
  /** cm[true][predicted] on the test set, for the imbalance metrics. */
  confusion: Int32Array[];
  /** Share of test images of class TARGET_SOURCE (7) classified as TARGET_LABEL (1). */
  targetedAsr: number;
  numTensors: number;
  /** mnist+fashion: each modality head's own test accuracy; null for a single-modality model. */
  unimodalAccuracy: Record<Modality, number> | null;
}

/** What the coordinator needs that depends on tf and the dataset. Calls run one at a time (one model). */
import type { DistillNeeds } from '../shared/strategies/strategy';
import type { DistillResult } from './server-distill';

export interface Task {
  numClasses: number;
  trainLabels: Uint8Array;
  layers: LayerSpec[];
  /** On the test set (its first config.evalSamples images when that is > 0), with the model extras (FedAlign's z_c). */
  evaluate(weights: Float32Array, extras?: Readonly<Record<string, Float32Array>>): Promise<EvalResult>;
  /** The attention of `weights` on a few fixed test images (one per class), for the dashboard; null without attention layers. */
  attention(weights: Float32Array): Promise<AttentionImage[] | null>;
  /** Class probabilities of `weights` on one 28×28 image (a two-modality model sees it as its MNIST image). */
  predict(weights: Float32Array, image: Uint8Array, extras?: Readonly<Record<string, Float32Array>>): Promise<number[]>;
  /** FLTrust's Δ₀: the clients' local procedure on the server root set, from `weights`. */
  rootUpdate(weights: Float32Array, round: number): Promise<Float32Array>;
  /** Mean loss on the first `samples` images of the server validation split, for each weight vector. */
  validationLosses(weights: Float32Array[], samples: number): Promise<number[]>;
  /** FedDF: distils `average` towards the clients' mean logits on the proxy split (spec §6). */
  distill(average: Float32Array, clients: Float32Array[], round: number, budget: DistillNeeds): Promise<DistillResult>;
  /** Frees the model once the calls already queued are done. */
  dispose(): void;
}

export interface PersistedRun {
  runId: string;
  config: FederationConfig;
  state: RunState;
  round: number;
  numPartitions: number;
  history: RoundRecord[];
  /** What the aggregation strategy and the server optimizer carry between rounds. */
  strategyState?: unknown;
}

export interface RunStore {
  save(run: PersistedRun, weights: Float32Array): Promise<void>;
  load(): Promise<{ run: PersistedRun; weights: Float32Array } | null>;
  clear(): Promise<void>;
}

export interface FederationDeps {
  now(): number;
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(handle: unknown): void;
  broadcast(msg: BroadcastMessage): void;
  loadTask(config: FederationConfig): Promise<Task>;
  store: RunStore;
  /** Calls onGone once the Web Lock a client holds for its life is free (its page or worker has gone). */
  watchLock(lock: string, onGone: () => void): void;
  coordinatorBackend(): string | null;
  /** Random hex for client ids and secrets (default: WebCrypto). */
  randomHex?(bytes: number): string;
  /** Clients the coordinator keeps at most (client-registry.ts MAX_CLIENTS unless given: the Node runtime's are virtual). */
  maxClients?: number;
}

export type UpdateResult = { accepted: true } | { accepted: false; reason: RejectReason; detail: string };

/** What one client connection may do. Every call names the client by the id and secret it was issued. */
export interface ClientConnection {
  readonly connection: Connection;
  register(raw: unknown): Promise<RegisterReply>;
  heartbeat(raw: unknown): HeartbeatReply;
  submitUpdate(raw: unknown): UpdateResult;
  submitEvaluation(raw: unknown): UpdateResult;
  /** This client's key for checking the run's broadcasts. */
  runKey(raw: unknown): Promise<KeyReply>;
  /** The strategy's extras for this client in this round (SCAFFOLD: its c_k). */
  roundExtras(raw: unknown): Record<string, Float32Array>;
}

import type { BrokerRound, BrokerStats } from './broker-stats';
import type { Modality } from './data/paired-modalities';
// What the coordinator reports: the dashboard, window.fedtab.status() and the run JSON all read this.
import type { BackendName, FederationConfig, StragglerMode } from './config';
import { isEvalRound } from './run-plan';
import type { BackendProbe, BroadcastDropReason, ClientKind, ClientState, RejectReason } from './protocol';

export type RunState = 'idle' | 'preparing' | 'waiting' | 'running' | 'paused' | 'done' | 'error';

export interface ClientRow {
  clientId: string;
  kind: ClientKind;
  backend: BackendName | 'pending';
  probe: BackendProbe[];
  state: ClientState | 'gone';
  /** Partition index this client trains on, or null when it holds none. */
  slot: number | null;
  numSamples: number;
  labelHistogram: number[] | null;
  lastUpdateNorm: number | null;
  lastWeight: number | null;
  /** Fed-Adaptive-Next reliability ρ after the client's last round. */
  reliability: number | null;
  samplesPerSec: number | null;
  localLoss: number | null;
  /** Local steps done of its round's total, as its last heartbeat said (every 2 s); null when not training. */
  progress: { round: number; steps: number; total: number } | null;
  numTensors: number;
  lastSeen: number;
  error: string | null;
  /** Broadcasts this client dropped (forged, unsigned, stale…), as its last heartbeat reported. */
  broadcastsDropped: Partial<Record<BroadcastDropReason, number>>;
}

export interface ClientRoundRecord {
  clientId: string;
  kind: ClientKind;
  slot: number;
  backend: BackendName;
  numSamples: number;
  weight: number;
  updateNorm: number;
  trainLoss: number;
  samplesPerSec: number;
  /** The client's own training time this round (its trainLocal), ms. */
  trainMs: number;
  numTensors: number;
  /** Local steps τ_k this round (a partial straggler does fewer). */
  steps: number;
  /** Simulated role: an attacker runs the run's attack (config.attack). */
  role: ClientRole;
  /** Set when this client straggled this round. */
  straggler: StragglerMode | null;
  /** Fed-Adaptive-Next reliability ρ_k after this round. */
  reliability: number | null;
  /** Why the strategy excluded or distrusted this update, if it did. */
  flagged: string | null;
  /** Bytes of this client's update as sent (delta encoding + extras). */
  bytesUp: number;
  /** Bytes the round sent this client (weights + extras). */
  bytesDown: number;
}

export type ClientRole = 'honest' | 'attacker';

/** A selected client whose update did not count this round. */
export interface DroppedClient {
  clientId: string;
  slot: number | null;
  /** 'deadline', 'late', 'disconnected', 'straggler: …', … */
  reason: string;
  role: ClientRole;
  straggler: StragglerMode | null;
}

/** One client's evaluation of a global model on its own held-out split. */
export interface ClientEvaluation {
  clientId: string;
  slot: number;
  numSamples: number;
  loss: number;
  accuracy: number;
}

/** Federated evaluation of one round's global model: how it does on the clients' own data, not just on the test set. */
export interface FederatedEvaluation {
  clients: ClientEvaluation[];
  /** Clients asked to evaluate. */
  asked: number;
  /** Unweighted mean over the clients that replied. */
  meanAccuracy: number;
  /** Mean over the worst 10% of those clients (at least one). */
  worst10Accuracy: number;
  minAccuracy: number;
  /** Sample-weighted mean loss. */
  meanLoss: number;
}

export interface RoundRecord {
  round: number;
  /** Test-set accuracy of the global model after this round; null when this round is not evaluated (evalEvery) or not yet. */
  accuracy: number | null;
  /** mnist+fashion: test accuracy of each modality's head alone (late fusion), the sign of modality competition. */
  unimodalAccuracy: Record<Modality, number> | null;
  /**
   * Mean over clients of each client's model (its personal one under FedAlign / local LoRA, else the global one) on
   * the test set weighted to its own label mix (server-worker/local-accuracy.ts); null when not evaluated.
   */
  localAccuracy?: number | null;
  /** The same per slot. */
  localAccuracyBySlot?: number[] | null;
  loss: number | null;
  /** cm[true][predicted] of the global model on the test set; null when not evaluated (or not yet). */
  confusion: number[][] | null;
  /** Recall of each class on the test set: where non-IID data hurts, it shows here first. */
  recall: number[] | null;
  /**
   * Spec §6 imbalance metrics on the test set, fractions of 1; null when this round is not evaluated (or not yet), and
   * where a metric has nothing to average (no mid classes). Head / mid / tail: headMidTail(CoordinatorStatus.trainClassCounts).
   */
  balancedAccuracy: number | null;
  macroF1: number | null;
  headRecall: number | null;
  midRecall: number | null;
  tailRecall: number | null;
  worstClassRecall: number | null;
  /** From the round's broadcast until its aggregate was applied (evaluation runs beside the next round). */
  seconds: number;
  /** The slowest participant's own training time, ms. */
  maxTrainMs: number;
  /** Share of the round that is not the slowest client's training: 1 − maxTrainMs / (seconds·1000). */
  overheadShare: number;
  /** Time the test-set evaluation took (off the round's critical path), ms; null until done. */
  evalMs: number | null;
  federatedEval: FederatedEvaluation | null;
  /** Why the strategy did not aggregate as usual: a skipped round (w_t kept) or a fallback, with the reason. */
  skipped: string | null;
  participants: string[];
  dropped: DroppedClient[];
  clients: ClientRoundRecord[];
  /** Updates the strategy excluded or distrusted, with its reason. */
  flagged: Array<{ clientId: string; reason: string }>;
  /** Targeted attacks (targeted-label-flip, scaling): share of test 7s classified as 1. Null otherwise. */
  attackSuccessRate: number | null;
  /** Time the server spent on its own work this round: FLTrust root update, validation losses, aggregation (ms). */
  /** FedDF's server distillation of this round (feddf, fedakd --serverDistill), else null. */
  serverDistill: { steps: number; bestStep: number; validationLossBefore: number; validationLoss: number } | null;
  /** Classroom over a broker: the teacher's bytes from and to the broker from this round's broadcast until the next one's, and the broker round trip; null without a room. */
  broker: BrokerRound | null;
  aggregateMs: number;
  /** Uplink bytes of the round's updates (vector payloads, as encoded by config.compress). */
  bytesUp: number;
  /** Bytes sent to the round's participants: w_t and the strategy's extras, to each of them. */
  bytesDown: number;
  /** What the same updates would have cost as dense float32 deltas (uncompressed FedAvg). */
  denseBytesUp: number;
  /** tf.memory().numTensors in the coordinator after evaluating this round (null: not evaluated). */
  coordinatorTensors: number | null;
}

/** One attention layer's gate on one image: ca*: [C] channel weights, sa* and apool: [H, W] maps, fatt: [d] feature weights. */
export interface AttentionGate {
  layer: string;
  shape: number[];
  /** Row-major, 3 significant digits (the picture needs no more). */
  values: number[];
}

/** What the global model's attention does on one fixed test image. */
export interface AttentionImage {
  testIndex: number;
  label: number;
  /** 28×28 grey levels 0–255, row-major. */
  pixels: number[];
  predicted: number;
  /** Softmax probability of the predicted class. */
  probability: number;
  gates: AttentionGate[];
}

/** The attention of the global model after `round` on the same few test images every time. */
export interface AttentionSnapshot {
  round: number;
  images: AttentionImage[];
}

export interface Rejection {
  at: number;
  clientId: string | null;
  round: number;
  reason: RejectReason;
  detail: string;
}

export interface CoordinatorStatus {
  /** The classroom hub's latest broker report; null without a room. */
  broker: BrokerStats | null;
  state: RunState;
  message: string;
  runId: string | null;
  round: number;
  config: FederationConfig | null;
  numPartitions: number;
  /** Mean total-variation distance of client label histograms from the global one. */
  heterogeneityTV: number | null;
  /** Per class, the training samples of all partitions together (the run's global training distribution); null before partitioning. */
  trainClassCounts: number[] | null;
  /** Partitions held by simulated attackers (empty without an attack). */
  attackerSlots: number[];
  coordinatorBackend: string | null;
  history: RoundRecord[];
  /** How many rounds of `history` are stored (IndexedDB): closing every tab now loses none of them. */
  savedRounds: number;
  clients: ClientRow[];
  rejections: { total: number; byReason: Partial<Record<RejectReason, number>>; recent: Rejection[] };
  /** Registrations the coordinator refused (too many clients, or too many from one connection). */
  registrationsRefused: number;
  /** Broadcasts the clients dropped, summed over their heartbeats, by reason. */
  broadcastsDropped: Partial<Record<BroadcastDropReason, number>>;
  /** The latest evaluated global model's attention on a few fixed test images; null for a model without attention layers. */
  attention: AttentionSnapshot | null;
  error: string | null;
}

/**
 * How many leading rounds of the history are settled enough to print: a round's test accuracy lands beside the next
 * round, so a runner waits for it (rounds that are not evaluated, and every round once the run is done, count).
 */
export function settledRounds(s: Pick<CoordinatorStatus, 'history' | 'config' | 'state'>): number {
  if (s.state === 'done' || !s.config) return s.history.length;
  let n = 0;
  while (n < s.history.length && (s.history[n].accuracy !== null || !isEvalRound(s.config, s.history[n].round))) n++;
  return n;
}


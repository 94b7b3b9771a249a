// What the coordinator reports: the dashboard, window.fedtab.status() and the run JSON all read this.
import type { BackendName, FederationConfig, StragglerMode } from './config';
import type { BackendProbe, ClientKind, ClientState, RejectReason } from './protocol';

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
  numTensors: number;
  lastSeen: number;
  error: string | null;
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

export interface RoundRecord {
  round: number;
  accuracy: number;
  loss: number;
  /** Recall of each class on the test set: where non-IID data hurts, it shows here first. */
  recall: number[];
  seconds: number;
  evalMs: number;
  participants: string[];
  dropped: DroppedClient[];
  clients: ClientRoundRecord[];
  /** Updates the strategy excluded or distrusted, with its reason. */
  flagged: Array<{ clientId: string; reason: string }>;
  /** Targeted attacks (targeted-label-flip, scaling): share of test 7s classified as 1. Null otherwise. */
  attackSuccessRate: number | null;
  /** Time the server spent on its own work this round: FLTrust root update, validation losses, aggregation (ms). */
  aggregateMs: number;
  /** tf.memory().numTensors in the coordinator after the round. */
  coordinatorTensors: number;
}

export interface Rejection {
  at: number;
  clientId: string | null;
  round: number;
  reason: RejectReason;
  detail: string;
}

export interface CoordinatorStatus {
  state: RunState;
  message: string;
  runId: string | null;
  round: number;
  config: FederationConfig | null;
  numPartitions: number;
  /** Mean total-variation distance of client label histograms from the global one. */
  heterogeneityTV: number | null;
  /** Partitions held by simulated attackers (empty without an attack). */
  attackerSlots: number[];
  coordinatorBackend: string | null;
  history: RoundRecord[];
  clients: ClientRow[];
  rejections: { total: number; byReason: Partial<Record<RejectReason, number>>; recent: Rejection[] };
  error: string | null;
}

// What the coordinator reports: the dashboard, window.fedtab.status() and the run JSON all read this.
import type { BackendName, FederationConfig } from './config';
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
  dropped: Array<{ clientId: string; reason: string }>;
  clients: ClientRoundRecord[];
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
  coordinatorBackend: string | null;
  history: RoundRecord[];
  clients: ClientRow[];
  rejections: { total: number; byReason: Partial<Record<RejectReason, number>>; recent: Rejection[] };
  error: string | null;
}

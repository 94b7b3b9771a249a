// The coordinator's surface. A port is a client's or a dashboard's: a client port may only speak the client
// protocol, and ports handed to Web Worker clients are client ports for good.
import type { HeartbeatReply, KeyReply, RegisterReply } from '../shared/protocol';
import type { CoordinatorStatus } from '../shared/status';
import type { UpdateResult } from './types';

export interface ClientApi {
  register(msg: unknown): Promise<RegisterReply>;
  heartbeat(msg: unknown): Promise<HeartbeatReply>;
  submitUpdate(msg: unknown): Promise<UpdateResult>;
  submitEvaluation(msg: unknown): Promise<UpdateResult>;
  runKey(msg: unknown): Promise<KeyReply>;
  roundExtras(msg: unknown): Promise<Record<string, Float32Array>>;
}

export interface DashboardApi {
  status(): Promise<CoordinatorStatus>;
  /** Starts a new run with this (partial) config, or resumes a paused one when config is omitted. */
  start(config?: unknown): Promise<void>;
  pause(): Promise<void>;
  reset(): Promise<void>;
  /**
   * The current global model on one 28×28 image (784 bytes, 0–255, white on black like MNIST): class probabilities,
   * and the round the model came out of; null before a run has a model.
   */
  predict(image: unknown): Promise<Prediction | null>;
  /** The classroom hub's broker report (bytes, round trip, devices); parsed like any message. */
  reportBroker(stats: unknown): Promise<void>;
  /** A tab hands over a port for one of its Web Worker clients (workers cannot open a SharedWorker), or its classroom hub one per student device. */
  connectWorkerPort(port: MessagePort): Promise<void>;
}

export const CLIENT_METHODS = ['register', 'heartbeat', 'submitUpdate', 'submitEvaluation', 'runKey', 'roundExtras'] as const satisfies ReadonlyArray<keyof ClientApi>;
export interface Prediction {
  round: number;
  probabilities: number[];
}

export const DASHBOARD_METHODS = ['status', 'start', 'pause', 'reset', 'predict', 'reportBroker', 'connectWorkerPort'] as const satisfies ReadonlyArray<keyof DashboardApi>;

export type { UpdateResult };

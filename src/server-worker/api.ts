// The coordinator's surface, exposed with comlink on every port that connects to it.
import type { CoordinatorStatus } from '../shared/status';

export type UpdateResult = { accepted: true } | { accepted: false; reason: string; detail: string };

export interface CoordinatorApi {
  register(msg: unknown): Promise<{ clientId: string }>;
  heartbeat(msg: unknown): void;
  submitUpdate(msg: unknown): Promise<UpdateResult>;
  status(): Promise<CoordinatorStatus>;
  /** Starts a new run with this (partial) config, or resumes a paused one when config is omitted. */
  start(config?: unknown): Promise<void>;
  pause(): Promise<void>;
  reset(): Promise<void>;
  /** A tab hands over a port for one of its Web Worker clients (workers cannot open a SharedWorker). */
  connectPort(port: MessagePort): void;
}

// What a virtual client's job needs besides its state, and how a model runs it: the same code in the Node runtime's
// own thread and in its worker threads (client-thread.ts). A job carries everything the client knows (its round
// message, its slot, its uplink encoder's state); the model and the slot's tensors are the runner's, borrowed for
// the job and given back, so a client costs its state and nothing else.
import * as tf from '@tensorflow/tfjs';
import { attackColludes, type Colluders } from '../src/client/attacks';
import { evaluateLocal, runLocalRound, slotData, type LocalEvaluation } from '../src/client/local-round';
import { UplinkEncoder, type UplinkState } from '../src/shared/compression/uplink';
import type { FederationConfig } from '../src/shared/config';
import type { Dataset } from '../src/shared/data/dataset-store';
import type { EvaluateMessage, RoundMessage, UpdateMessage } from '../src/shared/protocol';
import { collectGarbageIfGrown } from './collect-garbage';

export interface FitJob {
  msg: RoundMessage;
  slot: number;
  clientId: string;
  secret: string;
  /** The client's own extras for the round, fetched over its port (SCAFFOLD's c_k). */
  perClient?: Record<string, Float32Array>;
  uplink: UplinkState;
}

export interface FitResult {
  update: UpdateMessage;
  /** Send no earlier than this (ms since epoch). */
  sendAt: number;
  /** The encoder's state after the round (Top-K's residual): the client keeps it for its next job. */
  uplink: UplinkState;
}

export interface EvalJob {
  msg: RoundMessage | EvaluateMessage;
  slot: number;
}

/** Runs jobs on models it owns; one job per model at a time. */
export interface JobRunner {
  fit(job: FitJob, colluders: Colluders | null): Promise<FitResult>;
  evaluate(job: EvalJob): Promise<LocalEvaluation>;
  /** Models built so far (what memory grows with). */
  modelsBuilt(): number;
  close(): Promise<void>;
}

/** One round of one client on `net`: its slot's tensors are made for the job and freed after it. */
export async function fitOn(net: tf.LayersModel, dataset: Dataset, job: FitJob, colluders: Colluders | null): Promise<FitResult> {
  const { msg, slot } = job;
  const d = slotData(dataset, msg.config, msg.numPartitions, slot);
  try {
    const uplink = UplinkEncoder.restore(job.uplink);
    const { update, sendAt } = await runLocalRound({
      msg,
      slot,
      clientId: job.clientId,
      secret: job.secret,
      net,
      xs: d.xs,
      ys: d.ys,
      count: d.count,
      held: d.held,
      epochInputs: d.epochInputs,
      backend: 'wasm',
      ...(job.perClient ? { perClient: job.perClient } : {}),
      colluders,
      uplink,
      numTensors: () => tf.memory().numTensors,
    });
    return { update, sendAt, uplink: uplink.save() };
  } finally {
    tf.dispose([d.xs, d.ys]);
  }
}

/** A federated evaluation of the broadcast's model on the slot's held-out split. */
export async function evaluateOn(net: tf.LayersModel, dataset: Dataset, job: EvalJob): Promise<LocalEvaluation> {
  const d = slotData(dataset, job.msg.config, job.msg.numPartitions, job.slot);
  try {
    return await evaluateLocal(net, job.msg.weights, d.evalImages, d.evalLabels, dataset.numClasses);
  } finally {
    tf.dispose([d.xs, d.ys]);
  }
}

/**
 * Jobs on this thread: at most `maxModels` models, lent one per job (a round's participants train at once, so
 * colluding attackers can wait for each other); a job beyond that waits for one. Every job sets the weights it
 * starts from, so a model keeps nothing of the job before.
 */
export function inThreadRunner(dataset: Dataset, build: () => tf.LayersModel, maxModels: number): JobRunner {
  const free: tf.LayersModel[] = [];
  const all: tf.LayersModel[] = [];
  const waiting: Array<(net: tf.LayersModel) => void> = [];
  const borrow = (): Promise<tf.LayersModel> => {
    const net = free.pop();
    if (net) return Promise.resolve(net);
    if (all.length < maxModels) {
      const built = build();
      all.push(built);
      return Promise.resolve(built);
    }
    return new Promise((resolve) => waiting.push(resolve));
  };
  const giveBack = (net: tf.LayersModel) => {
    const next = waiting.shift();
    if (next) next(net);
    else free.push(net);
  };
  async function lend<T>(fn: (net: tf.LayersModel) => Promise<T>): Promise<T> {
    const net = await borrow();
    try {
      return await fn(net);
    } finally {
      giveBack(net);
      collectGarbageIfGrown();
    }
  }
  return {
    fit: (job, colluders) => lend((net) => fitOn(net, dataset, job, colluders)),
    evaluate: (job) => lend((net) => evaluateOn(net, dataset, job)),
    modelsBuilt: () => all.length,
    close: async () => {
      for (const net of all) net.dispose();
    },
  };
}

/** Why a config cannot train on worker threads, or null: ALIE's colluders must train at once and wait for each other. */
export function threadsRefusal(cfg: Pick<FederationConfig, 'attack'>): string | null {
  return attackColludes(cfg.attack) ? "alie's colluding attackers wait for each other's updates, so they train on one thread, each with its own model" : null;
}

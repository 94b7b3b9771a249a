// One client's part of one round, the same in a tab, a worker and the Node runtime: set w_t, train (honestly, as a
// straggler, or as a simulated attacker), and build the update message.
import * as tf from '@tensorflow/tfjs';
import type { BackendName } from '../shared/config';
import { PROTOCOL_VERSION, type RoundMessage, type UpdateMessage } from '../shared/protocol';
import { deriveSeed } from '../shared/prng';
import { attackerSlots, slotIndices, stragglerPlan, trainSeed, type StragglerPlan } from '../shared/run-plan';
import { subtract, unpackWeights } from '../shared/weights';
import { attackScale, craftUpdate, forgeLosses, poisonedLabelMap, type Colluders } from './attacks';
import type { Dataset } from '../shared/data/dataset-store';
import { getFlatWeights, imagesToTensor, labelsToOneHot, layerSpecs, setFlatWeights } from '../shared/ml/models';
import { trainLocal } from '../shared/ml/train';

/** A late straggler replies this long after the deadline. */
export const LATE_REPLY_MS = 500;

export interface LocalRoundInput {
  msg: RoundMessage;
  slot: number;
  clientId: string;
  net: tf.LayersModel;
  xs: tf.Tensor;
  /** One-hot labels [n, classes]. */
  ys: tf.Tensor;
  count: number;
  backend: BackendName;
  /** SCAFFOLD client control variates c_k, kept by the client across rounds, keyed by run and slot. */
  controls: Map<string, Float32Array>;
  /** How ALIE attackers share updates; null where no attack can run. */
  colluders: Colluders | null;
  numTensors(): number;
  onEpoch?: (epoch: number, loss: number, samplesPerSec: number) => void;
}

export interface LocalRoundResult {
  update: UpdateMessage;
  attacker: boolean;
  straggler: StragglerPlan | null;
  /** Send no earlier than this (ms since epoch); 0 = at once. */
  sendAt: number;
  /** Call once the coordinator accepted the update: SCAFFOLD's c_k moves to c_k⁺ only then, as the server's c does. */
  accepted(): void;
}

/** The training data of partition `slot` in this round's run, as tensors the caller disposes. */
export function slotData(dataset: Dataset, msg: RoundMessage, slot: number): { indices: Int32Array; xs: tf.Tensor; ys: tf.Tensor; count: number } {
  const indices = slotIndices(dataset.train.labels, dataset.numClasses, msg.config, msg.numPartitions, slot);
  return { indices, xs: imagesToTensor(dataset.train.images, indices), ys: labelsToOneHot(dataset.train.labels, indices), count: indices.length };
}

export async function runLocalRound(inp: LocalRoundInput): Promise<LocalRoundResult> {
  const { msg, slot, net } = inp;
  const cfg = msg.config;
  const selected = Object.values(msg.assignments);
  const attacker = attackerSlots(cfg, msg.numPartitions).includes(slot);
  const fullSteps = cfg.epochs * Math.ceil(inp.count / cfg.batchSize);
  const straggler = stragglerPlan(cfg, selected, msg.round, slot, fullSteps);

  setFlatWeights(net, msg.weights);
  const labelMap = attacker ? poisonedLabelMap(cfg.attack, inp.ys.shape[1]!) : null;
  const ys = labelMap ? relabel(inp.ys, labelMap) : inp.ys;

  const controlKey = `${msg.runId}|${slot}`;
  const scaffold = cfg.algorithm === 'scaffold';
  const c = msg.control ?? new Float32Array(msg.weights.length);
  const ck = inp.controls.get(controlKey) ?? new Float32Array(msg.weights.length);
  let result;
  try {
    result = await trainLocal(net, inp.xs, ys, {
      epochs: cfg.epochs,
      batchSize: cfg.batchSize,
      lr: cfg.lr,
      mu: cfg.algorithm === 'fedprox' ? cfg.mu : 0,
      seed: trainSeed(cfg, slot, msg.round),
      maxSteps: straggler?.mode === 'partial' ? straggler.steps : undefined,
      correction: scaffold ? unpackWeights(subtract(c, ck), layerSpecs(net)) : undefined,
      onEpoch: inp.onEpoch,
    });
  } finally {
    if (ys !== inp.ys) ys.dispose();
  }
  let delta = subtract(getFlatWeights(net), msg.weights);

  let controlDelta: Float32Array | undefined;
  let nextControl: Float32Array | null = null;
  if (scaffold) {
    // Option II: c_k⁺ = c_k − c + (w_t − y)/(τ η_l) = c_k − c − Δ/(τ η_l), so c_k⁺ − c_k = −c − Δ/(τ η_l).
    const inv = 1 / (Math.max(1, result.steps) * cfg.lr);
    controlDelta = new Float32Array(delta.length);
    nextControl = new Float32Array(delta.length);
    for (let i = 0; i < delta.length; i++) {
      controlDelta[i] = -c[i] - delta[i] * inv;
      nextControl[i] = ck[i] + controlDelta[i];
    }
  }

  let { epochLosses, batchLosses } = result;
  if (attacker) {
    const key = `${msg.runId}|${msg.round}`;
    const colludingSlots = attackerSlots(cfg, msg.numPartitions).filter((s) => selected.includes(s));
    const colluders =
      cfg.attack === 'alie' && inp.colluders
        ? await inp.colluders.exchange(key, slot, delta, colludingSlots, Math.max(1000, Math.min(30_000, msg.deadline - Date.now() - 1000)))
        : undefined;
    delta = craftUpdate({
      attack: cfg.attack,
      scale: attackScale(cfg, selected.length),
      own: delta,
      seed: deriveSeed(cfg.seed, 'attack', msg.round, slot),
      colluders,
    });
    if (cfg.forgeLosses) ({ epochLosses, batchLosses } = forgeLosses(epochLosses, batchLosses));
  }

  const update: UpdateMessage = {
    v: PROTOCOL_VERSION,
    type: 'update',
    clientId: inp.clientId,
    runId: msg.runId,
    round: msg.round,
    numSamples: inp.count,
    layers: msg.layers,
    delta,
    epochLosses,
    batchLosses,
    steps: result.steps,
    trainMs: result.trainMs,
    samplesPerSec: result.samplesPerSec,
    backend: inp.backend,
    numTensors: inp.numTensors(),
    ...(controlDelta ? { controlDelta } : {}),
  };
  return {
    update,
    attacker,
    straggler,
    sendAt: straggler?.mode === 'late' ? msg.deadline + LATE_REPLY_MS : 0,
    accepted: () => {
      if (nextControl) inp.controls.set(controlKey, nextControl);
    },
  };
}

/** One-hot labels with every class y moved to map[y]. */
function relabel(ys: tf.Tensor, map: readonly number[]): tf.Tensor {
  return tf.tidy(() => {
    const k = map.length;
    const m = new Float32Array(k * k);
    map.forEach((to, from) => (m[from * k + to] = 1));
    return tf.matMul(ys as tf.Tensor2D, tf.tensor2d(m, [k, k]));
  });
}

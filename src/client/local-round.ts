// One client's part of one round, the same in a tab, a worker and the Node runtime: set w_t, train (honestly, as a
// straggler, or as a simulated attacker), and build the update message; and its federated evaluation of a global model.
import * as tf from '@tensorflow/tfjs';
import type { BackendName, FederationConfig } from '../shared/config';
import type { UplinkEncoder } from '../shared/compression/uplink';
import type { Dataset } from '../shared/data/dataset-store';
import { evaluate, getFlatWeights, imagesToTensor, labelsToOneHot, layerSpecs, setFlatWeights } from '../shared/ml/models';
import { trainLocal } from '../shared/ml/train';
import { deriveSeed } from '../shared/prng';
import { PROTOCOL_VERSION, checkExtras, type EvaluateMessage, type EvaluationMessage, type RoundMessage, type UpdateMessage } from '../shared/protocol';
import { attackerSlots, expectedSteps, heldModalities, pairingSeed, slotSplit, stragglerPlan, trainSeed, type StragglerPlan } from '../shared/run-plan';
import { channelsOf, isPaired, trainPixels } from '../shared/data/paired-dataset';
import { MODALITIES, type Modality } from '../shared/data/paired-modalities';
import { isMultimodal, trainableOf } from '../shared/ml/architectures/multimodal';
import { trainChain } from './chain-training';
import { alignObjective, alignUpload } from './align-client';
import { applyModelExtras, isLoraModel } from '../shared/ml/architectures/cnn-s-lora';
import { ogmGeHook } from './ogm-ge';
import { strategyDefinition } from '../shared/strategies/registry';
import { subtract, unpackWeights } from '../shared/weights';
import { localObjective, teacherNeeds, teacherTargets } from './local-objective';
import { attackColludes, attackScale, craftUpdate, forgeLosses, poisonedLabelMap, type Colluders } from './attacks';

/** A late straggler replies this long after the deadline. */
export const LATE_REPLY_MS = 500;

/** What a broadcast asks of one client: train the round in a slot, or evaluate a global model on a slot's split. */
export type ClientJob =
  | { kind: 'fit'; msg: RoundMessage; slot: number }
  | { kind: 'eval'; msg: RoundMessage | EvaluateMessage; slot: number; round: number };

/** The client's job in a round or evaluate broadcast, or null if it names the client for neither. */
export function jobFor(msg: RoundMessage | EvaluateMessage, clientId: string): ClientJob | null {
  if (msg.type === 'round') {
    const slot = msg.assignments[clientId];
    if (slot !== undefined) return { kind: 'fit', msg, slot };
  }
  return evaluationJob(msg, clientId);
}

/** The federated evaluation a broadcast asks of the client; a client that trains the round runs it after its update. */
export function evaluationJob(msg: RoundMessage | EvaluateMessage, clientId: string): Extract<ClientJob, { kind: 'eval' }> | null {
  const slot = msg.evaluate?.slots[clientId];
  return slot !== undefined && msg.evaluate ? { kind: 'eval', msg, slot, round: msg.evaluate.round } : null;
}

export interface LocalRoundInput {
  msg: RoundMessage;
  slot: number;
  clientId: string;
  secret: string;
  net: tf.LayersModel;
  xs: tf.Tensor;
  /** One-hot labels [n, classes]. */
  ys: tf.Tensor;
  count: number;
  backend: BackendName;
  /** This client's own extras for the round, fetched over its port (SCAFFOLD: its c_k). */
  perClient?: Readonly<Record<string, Float32Array>>;
  /** How ALIE attackers share updates; null where no attack can run. */
  colluders: Colluders | null;
  /** This client's uplink encoder: Top-K's error-feedback residual lives in it, per run. */
  uplink: UplinkEncoder;
  /** mnist+fashion: the modalities the partition holds and its per-epoch inputs (SlotData). */
  held?: readonly Modality[];
  epochInputs?: SlotData['epochInputs'];
  numTensors(): number;
  onEpoch?: (epoch: number, loss: number, samplesPerSec: number) => void;
  /** Local steps done so far this round (every few steps). */
  onStep?: (steps: number) => void;
}

export interface LocalRoundResult {
  update: UpdateMessage;
  attacker: boolean;
  straggler: StragglerPlan | null;
  /** Send no earlier than this (ms since epoch); 0 = at once. */
  sendAt: number;
}

export interface SlotData {
  indices: Int32Array;
  xs: tf.Tensor;
  ys: tf.Tensor;
  count: number;
  /** The held-out split for federated evaluation, as raw images and labels (evaluated in batches). */
  evalImages: Uint8Array;
  evalLabels: Uint8Array;
  /** The modalities this partition holds (mnist+fashion; every one otherwise). */
  held: readonly Modality[];
  /** mnist+fashion: the round's training inputs for its k-th epoch, pairs re-drawn; null for an image dataset. */
  epochInputs: ((round: number, epoch: number) => tf.Tensor) | null;
}

/** The training tensors and the evaluation split of partition `slot` in a run; the caller disposes xs and ys. */
export function slotData(dataset: Dataset, cfg: FederationConfig, numPartitions: number, slot: number): SlotData {
  const { train, eval: held } = slotSplit(dataset.train.labels, dataset.numClasses, cfg, numPartitions, slot);
  const modalities = heldModalities(cfg, numPartitions, slot);
  const channels = channelsOf(dataset);
  // The evaluation split keeps one pairing (round 0) so that its score changes only with the model.
  const fixed = { seed: pairingSeed(cfg, slot, 0), epoch: 0 };
  return {
    indices: train,
    xs: imagesToTensor(trainPixels(dataset, train, fixed, modalities), undefined, channels),
    ys: labelsToOneHot(dataset.train.labels, train),
    count: train.length,
    evalImages: trainPixels(dataset, held, fixed, modalities),
    evalLabels: Uint8Array.from(held, (i) => dataset.train.labels[i]),
    held: modalities,
    epochInputs: isPaired(dataset)
      ? (round, epoch) => imagesToTensor(trainPixels(dataset, train, { seed: pairingSeed(cfg, slot, round), epoch }, modalities), undefined, channels)
      : null,
  };
}

export async function runLocalRound(inp: LocalRoundInput): Promise<LocalRoundResult> {
  const { msg, slot, net } = inp;
  const cfg = msg.config;
  const selected = Object.values(msg.assignments);
  const attacker = attackerSlots(cfg, msg.numPartitions).includes(slot);
  const held = inp.held ?? MODALITIES;
  const fullSteps = expectedSteps(cfg, inp.count, null, held.length);
  const straggler = stragglerPlan(cfg, selected, msg.round, slot, fullSteps);

  const def = strategyDefinition(cfg.algorithm);
  const side = def.client?.(cfg as never) ?? {};
  // What came over the port is checked like an update: only the strategy's named vectors, model-sized and finite.
  if (inp.perClient) checkExtras(inp.perClient, (def.payload?.perSlot ?? []).filter((k) => Object.hasOwn(inp.perClient!, k)), msg.weights.length, 'round extras');
  // FedAlign and local LoRA: a client with a model of its own trains from it, and Δ is taken against it.
  const start = inp.perClient?.ownWeights ?? msg.weights;
  setFlatWeights(net, start);
  if (isLoraModel(net)) applyModelExtras(net, msg.extras);
  const labelMap = attacker ? poisonedLabelMap(cfg.attack, inp.ys.shape[1]!) : null;
  const ys = labelMap ? relabel(inp.ys, labelMap) : inp.ys;

  const scaffold = side.controlVariates === true;
  const c = msg.extras?.control ?? new Float32Array(msg.weights.length);
  const ck = inp.perClient?.clientControl ?? new Float32Array(msg.weights.length);
  // q-FedAvg's F_k: the loss on the training data at w_t, before any step.
  const initialLoss = side.initialLoss ? await lossOn(net, inp.xs, ys) : undefined;
  // FedAKD / FedNTD: the frozen teacher w_t's outputs, taken while the model still holds w_t.
  const needs = teacherNeeds(side);
  if (msg.classCounts && msg.classCounts.length !== inp.ys.shape[1]) {
    throw new Error(`the round's class counts cover ${msg.classCounts.length} classes, the data has ${inp.ys.shape[1]}`);
  }
  const teacher = needs.logits ? await teacherTargets(net, inp.xs, needs.attention) : null;
  let local: ReturnType<typeof localObjective> | null = null;
  // LoRA clients may train with Adam, fresh each round (no moments carried between rounds) [I].
  const optimizer = side.align?.optimizer === 'adam' ? tf.train.adam(cfg.lr) : undefined;
  let result;
  try {
    local = localObjective(side, teacher, msg.classCounts ?? null);
    // Two modalities: pairs are re-drawn every epoch, and a modality the client lacks is never trained.
    let epoch = 0;
    const inputsForEpoch = inp.epochInputs ? () => inp.epochInputs!(msg.round, epoch++) : undefined;
    const common = {
      batchSize: cfg.batchSize,
      lr: cfg.lr,
      mu: side.proximalMu ?? 0,
      seed: trainSeed(cfg, slot, msg.round),
      maxSteps: straggler?.mode === 'partial' ? straggler.steps : undefined,
      inputsForEpoch,
      onEpoch: inp.onEpoch,
      onStep: inp.onStep,
    };
    result = side.chain
      ? await trainChain(net, inp.xs, ys, { ...common, chain: side.chain, round: msg.round, held })
      : await trainLocal(net, inp.xs, ys, {
          ...common,
          epochs: cfg.epochs,
          correction: scaffold ? unpackWeights(subtract(c, ck), layerSpecs(net)) : undefined,
          objective: side.align ? alignObjective(side.align.mu) : local.objective,
          optimizer,
          variables: inp.held && isMultimodal(net) ? trainableOf(net, held, true) : undefined,
          // OGM-GE balances two modalities trained together [I]: a client holding one has nothing to balance against.
          transformGrads: cfg.ogmAlpha > 0 && held.length === MODALITIES.length ? ogmGeHook(net, cfg.ogmAlpha, trainSeed(cfg, slot, msg.round)) : undefined,
        });
  } finally {
    if (ys !== inp.ys) ys.dispose();
    local?.dispose();
    optimizer?.dispose();
    if (teacher) tf.dispose([teacher.logits, ...(teacher.attention ? [teacher.attention] : [])]);
  }
  let delta = subtract(getFlatWeights(net), start);
  const upload = side.align?.upload;
  const alignExtras = upload ? await alignUpload(net, inp.xs, labelsOf(inp.ys), inp.ys.shape[1]!, upload.featuresPerClass, deriveSeed(cfg.seed, 'align-features', msg.round, slot)) : undefined;

  let controlDelta: Float32Array | undefined;
  if (scaffold) {
    // Option II: c_k⁺ = c_k − c + (w_t − y)/(τ η_l) = c_k − c − Δ/(τ η_l), so c_k⁺ − c_k = −c − Δ/(τ η_l).
    const inv = 1 / (Math.max(1, result.steps) * cfg.lr);
    controlDelta = new Float32Array(delta.length);
    for (let i = 0; i < delta.length; i++) controlDelta[i] = -c[i] - delta[i] * inv;
  }

  let { epochLosses, batchLosses } = result;
  if (attacker) {
    const key = `${msg.runId}|${msg.round}`;
    const colludingSlots = attackerSlots(cfg, msg.numPartitions).filter((s) => selected.includes(s));
    const colluders =
      attackColludes(cfg.attack) && inp.colluders
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
    secret: inp.secret,
    runId: msg.runId,
    round: msg.round,
    numSamples: inp.count,
    layers: msg.layers,
    delta: inp.uplink.encode(delta, msg.layers, cfg, msg.runId, held),
    epochLosses,
    batchLosses,
    steps: result.steps,
    trainMs: result.trainMs,
    samplesPerSec: result.samplesPerSec,
    backend: inp.backend,
    numTensors: inp.numTensors(),
    ...(controlDelta ? { extras: { controlDelta } } : {}),
    ...(alignExtras ? { extras: alignExtras } : {}),
    ...(initialLoss !== undefined ? { initialLoss } : {}),
  };
  return {
    update,
    attacker,
    straggler,
    sendAt: straggler?.mode === 'late' ? msg.deadline + LATE_REPLY_MS : 0,
  };
}

/** Class indices of one-hot labels. */
function labelsOf(ys: tf.Tensor): Int32Array {
  return tf.tidy(() => tf.argMax(ys, 1).dataSync() as Int32Array).slice();
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

/** Mean cross-entropy of `net` on (xs, ys), batched. */
async function lossOn(net: tf.LayersModel, xs: tf.Tensor, ys: tf.Tensor, batch = 500): Promise<number> {
  const n = xs.shape[0];
  let sum = 0;
  for (let s = 0; s < n; s += batch) {
    const size = Math.min(batch, n - s);
    const l = tf.tidy(() => {
      const x = tf.slice(xs, s, size);
      const y = tf.slice(ys, s, size);
      return tf.losses.softmaxCrossEntropy(y, net.predict(x) as tf.Tensor, undefined, undefined, tf.Reduction.SUM);
    });
    sum += (await l.data())[0];
    l.dispose();
  }
  return n ? sum / n : 0;
}

export interface LocalEvaluation {
  numSamples: number;
  loss: number;
  classCounts: number[];
  classCorrect: number[];
}

/** The global model `weights` (with the round's model extras: FedAlign's z_c) on this client's held-out split: federated evaluation. */
export async function evaluateLocal(
  net: tf.LayersModel,
  weights: Float32Array,
  images: Uint8Array,
  labels: Uint8Array,
  numClasses: number,
  extras?: Readonly<Record<string, Float32Array>>,
): Promise<LocalEvaluation> {
  const classCounts = new Array<number>(numClasses).fill(0);
  const classCorrect = new Array<number>(numClasses).fill(0);
  if (labels.length === 0) return { numSamples: 0, loss: 0, classCounts, classCorrect };
  setFlatWeights(net, weights);
  if (isLoraModel(net)) applyModelExtras(net, extras);
  const r = await evaluate(net, images, labels);
  r.confusion.forEach((row, y) => {
    classCounts[y] = row.reduce((a, b) => a + b, 0);
    classCorrect[y] = row[y];
  });
  return { numSamples: labels.length, loss: r.loss, classCounts, classCorrect };
}

export function evaluationMessage(e: LocalEvaluation, who: { clientId: string; secret: string }, runId: string, round: number): EvaluationMessage {
  return { v: PROTOCOL_VERSION, type: 'evaluation', clientId: who.clientId, secret: who.secret, runId, round, ...e };
}


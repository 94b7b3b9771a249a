// One federated client, the same code in a tab and in a dedicated Web Worker. It registers over its own port and
// gets an id and a secret; rounds arrive on the BroadcastChannel and count only once the coordinator's signature for
// this client checks out (broadcast-inbox.ts); updates and evaluations go back over the port.
import * as tf from '@tensorflow/tfjs';
import * as Comlink from 'comlink';
import { runModelHead, type BackendChoice, type BackendName, type FederationConfig } from '../shared/config';
import { loadDataset, type Dataset } from '../shared/data/dataset-store';
import { buildRunModel, getFlatWeights, imagesToTensor, inputChannels, pickImages, setFlatWeights } from '../shared/ml/models';
import { ensureRunModel } from '../shared/ml/pretrained-store';
import { labelHistogram } from '../shared/partition';
import {
  CHANNEL_NAME,
  PROTOCOL_VERSION,
  type BackendProbe,
  type BroadcastMessage,
  type ClientKind,
  type ClientState,
  type EvaluateMessage,
  type RoundMessage,
} from '../shared/protocol';
import type { UpdateResult } from '../server-worker/federation';
import type { ClientApi } from '../server-worker/api';
import { channelColluders } from './attacks';
import { selectBackend } from './backend';
import { BroadcastInbox } from './broadcast-inbox';
import { UplinkEncoder, vectorBytes, wireBuffers, wireBytes } from '../shared/compression/uplink';
import { imageAsInput } from '../shared/data/images';
import { formatBytes } from '../shared/format-bytes';
import { loadRunDataset } from '../shared/data/run-dataset';
import { expectedSteps } from '../shared/run-plan';
import { evaluateLocal, evaluationJob, evaluationMessage, jobFor, runLocalRound, slotData, type ClientJob, type SlotData } from './local-round';

export const HEARTBEAT_MS = 2000;
/** Where simulated ALIE attackers share their honest updates (attacks.ts). */
const COLLUDER_CHANNEL = `${CHANNEL_NAME}/colluders`;

export interface ClientView {
  clientId: string | null;
  /** The dataset of the run this client last worked on. */
  dataset: string | null;
  kind: ClientKind;
  state: ClientState;
  backend: BackendName | 'pending';
  probe: BackendProbe[];
  round: number | null;
  slot: number | null;
  numSamples: number;
  labelHistogram: number[] | null;
  /**
   * A few of this client's own training images (28×28 bytes each, its MNIST image on mnist+fashion) with their labels,
   * for its own page; nothing of it goes to the coordinator.
   */
  sampleImages: { pixels: Uint8Array; labels: number[] } | null;
  /** Local steps done of the current round's total while training; null otherwise. */
  progress: { round: number; steps: number; total: number } | null;
  localLoss: number | null;
  lossHistory: Array<{ round: number; loss: number }>;
  /** Federated evaluation of the global model on this client's held-out split, per round evaluated. */
  evalHistory: Array<{ round: number; accuracy: number }>;
  samplesPerSec: number | null;
  numTensors: number;
  lastResult: UpdateResult | null;
  /** 'honest', or the simulated attack this client runs. */
  role: string;
  straggler: 'partial' | 'late' | null;
  /** Broadcasts dropped (unsigned, forged, replayed…) by reason. */
  broadcastsDropped: BroadcastInbox['dropped'];
  error: string | null;
  message: string;
}

export interface ClientHandle {
  view(): ClientView;
  /** The id and secret the coordinator issued (for drivers of this page: Playwright, research scripts). */
  identity(): { clientId: string; secret: string } | null;
  coordinator: Comlink.Remote<ClientApi>;
  /**
   * The drawing pad's answers on 784 MNIST-style pixels: the last global model this client received and its own
   * model after its last local training (personalisation and drift); null before its first round.
   */
  predict(pixels: Uint8Array): Promise<Array<{ label: string; round: number | null; probabilities: number[] }> | null>;
  /** The next image of this client's own held-out split (its MNIST image on mnist+fashion), in turn; null without one. */
  nextOwnImage(): { pixels: Uint8Array; label: number } | null;
  stop(): void;
}

export interface ClientOptions {
  kind: ClientKind;
  port: MessagePort;
  /** The client's own backend choice; `auto` defers to the run config. */
  backend: BackendChoice;
  /** Where the coordinator's broadcasts arrive: its own channel, or a classroom room's (remote-link.ts). */
  channelName?: string;
  onView?: (view: ClientView) => void;
}

/** Images a client shows of its own data. */
const SAMPLE_IMAGES = 12;

/** Its first SAMPLE_IMAGES training images, spread over the partition (every ⌈n/12⌉-th). */
function sampleImages(dataset: Dataset, indices: Int32Array): ClientView['sampleImages'] {
  const n = Math.min(SAMPLE_IMAGES, indices.length);
  if (n === 0) return null;
  const step = Math.max(1, Math.floor(indices.length / n));
  const picked = Array.from({ length: n }, (_, k) => indices[k * step]);
  return { pixels: pickImages(dataset.train.images, picked), labels: picked.map((i) => dataset.train.labels[i]) };
}

/** Tensor count, or 0 before any backend is up (tf.memory() would try to start the highest-priority one). */
function numTensors(): number {
  try {
    return tf.memory().numTensors;
  } catch {
    return 0;
  }
}

/**
 * Held for the client's whole life: the coordinator learns of a closed tab when it can take this lock. Another page
 * can steal it (the request then rejects); the client takes it back, and its heartbeats show it never left.
 */
async function holdLifeLock(name: string): Promise<void> {
  const locks = (globalThis.navigator as Navigator | undefined)?.locks;
  if (!locks) return;
  await new Promise<void>((acquired) => {
    const take = () =>
      void locks
        .request(name, () => {
          acquired();
          return new Promise<void>(() => {});
        })
        .catch(() => setTimeout(take, 1000));
    take();
  });
}

export async function startClient(opts: ClientOptions): Promise<ClientHandle> {
  const coordinator = Comlink.wrap<ClientApi>(opts.port);
  // getRandomValues, not randomUUID: a classroom device on http is not a secure context.
  const lock = `fedtab-client-${Array.from(crypto.getRandomValues(new Uint8Array(12)), (b) => b.toString(16).padStart(2, '0')).join('')}`;
  let identity: { clientId: string; secret: string } | null = null;
  const inbox = new BroadcastInbox({
    identity: () => identity,
    fetchKey: async (runId) => {
      if (!identity) throw new Error('not registered');
      return (await coordinator.runKey({ v: PROTOCOL_VERSION, type: 'key', ...identity, runId })).key;
    },
  });
  const view: ClientView = {
    clientId: null,
    dataset: null,
    kind: opts.kind,
    state: 'starting',
    backend: 'pending',
    probe: [],
    round: null,
    slot: null,
    numSamples: 0,
    labelHistogram: null,
    sampleImages: null,
    progress: null,
    localLoss: null,
    lossHistory: [],
    evalHistory: [],
    samplesPerSec: null,
    numTensors: 0,
    lastResult: null,
    role: 'honest',
    straggler: null,
    broadcastsDropped: inbox.dropped,
    error: null,
    message: 'connecting',
  };
  const changed = (patch: Partial<ClientView>) => {
    Object.assign(view, patch, { numTensors: numTensors(), broadcastsDropped: { ...inbox.dropped } });
    opts.onView?.({ ...view });
  };

  let dataset: Dataset | null = null;
  /** Which dataset (and modality noise) `dataset` holds. */
  let loadedDataset = '';
  let local: (SlotData & { key: string }) | null = null;
  let model: { key: string; net: tf.LayersModel } | null = null;
  let busy = false;
  /** Work that arrived while busy: the newest round of the run (an older one's deadline has passed) and evaluations. */
  let pending: ClientJob[] = [];
  let stoppedRunId: string | null = null;
  const colluders = channelColluders(new BroadcastChannel(COLLUDER_CHANNEL));
  const uplink = new UplinkEncoder();

  async function register(): Promise<void> {
    identity = await coordinator.register({
      v: PROTOCOL_VERSION,
      type: 'register',
      kind: opts.kind,
      backend: view.backend,
      probe: view.probe,
      userAgent: globalThis.navigator?.userAgent ?? '',
      lock,
    });
    changed({ clientId: identity.clientId, state: 'idle', message: 'registered; waiting for a round' });
  }

  const heartbeat = async () => {
    if (!identity) return;
    try {
      const reply = await coordinator.heartbeat({
        v: PROTOCOL_VERSION,
        type: 'heartbeat',
        ...identity,
        state: view.state,
        backend: view.backend,
        probe: view.probe,
        samplesPerSec: view.samplesPerSec,
        localLoss: view.localLoss,
        progress: view.progress,
        numTensors: numTensors(),
        error: view.error,
        broadcastsDropped: { ...inbox.dropped },
      });
      // Evicted (say, a frozen tab missed its heartbeats): come back as a new client.
      if (!reply.registered) await register();
      // Without a slot the coordinator says why this client waits; show it instead of a bare "waiting".
      else if (reply.waiting && view.state === 'idle' && view.message !== reply.waiting) changed({ message: reply.waiting });
    } catch {
      // The next beat tries again.
    }
  };

  // Backend changes are serialised: the start-up probe and a round's request never race.
  let backendTask: Promise<void> = Promise.resolve();
  function ensureBackend(cfg: Pick<FederationConfig, 'backend' | 'model'>): Promise<void> {
    backendTask = backendTask.then(async () => {
      const wanted = opts.backend !== 'auto' ? opts.backend : cfg.backend;
      if (view.backend !== 'pending' && (wanted === 'auto' || wanted === view.backend)) return;
      const before = view.state;
      changed({ state: 'loading', message: wanted === 'auto' ? 'probing backends' : `starting ${wanted}` });
      disposeModelAndData();
      const sel = await selectBackend(wanted, cfg.model, opts.kind);
      changed({ state: before, backend: sel.backend, probe: sel.probe, message: `backend ${sel.backend}` });
      void heartbeat();
    });
    return backendTask;
  }

  function disposeModelAndData(): void {
    model?.net.dispose();
    model = null;
    if (local) tf.dispose([local.xs, local.ys]);
    local = null;
  }

  async function prepare(msg: RoundMessage | EvaluateMessage, slot: number): Promise<{ data: SlotData; net: tf.LayersModel }> {
    const cfg = msg.config;
    await ensureBackend(cfg);
    const datasetKey = `${cfg.dataset}|${cfg.modalityNoise}`;
    if (!dataset || datasetKey !== loadedDataset) {
      changed({ state: 'loading', message: `loading ${cfg.dataset}` });
      dataset = await loadRunDataset(cfg, async (name) => (await loadDataset(name, { parts: ['train-images', 'train-labels'] })).dataset);
      loadedDataset = datasetKey;
    }
    const dataKey = `${msg.runId}|${slot}|${msg.numPartitions}|${view.backend}`;
    if (local?.key !== dataKey) {
      if (local) tf.dispose([local.xs, local.ys]);
      local = { key: dataKey, ...slotData(dataset, cfg, msg.numPartitions, slot) };
      changed({ numSamples: local.count, labelHistogram: labelHistogram(dataset.train.labels, local.indices, dataset.numClasses), sampleImages: sampleImages(dataset, local.indices) });
    }
    // cnn-s-lora's frozen body depends on the dataset (it is the other one's).
    const modelKey = `${cfg.model}|${runModelHead(cfg)}|${view.backend}|${cfg.dataset}`;
    if (model?.key !== modelKey) {
      await ensureRunModel(cfg);
      model?.net.dispose();
      model = { key: modelKey, net: buildRunModel(cfg) };
    }
    return { data: local, net: model.net };
  }

  async function evaluate(msg: RoundMessage | EvaluateMessage, slot: number, round: number): Promise<void> {
    if (!identity || msg.runId === stoppedRunId) return;
    const { data, net } = await prepare(msg, slot);
    changed({ state: 'evaluating', message: `evaluating the round ${round} model on this client's own split` });
    let e;
    try {
      e = await evaluateLocal(net, msg.weights, data.evalImages, data.evalLabels, dataset!.numClasses, msg.type === 'round' ? msg.extras : undefined);
    } catch (err) {
      // An evaluation is extra: the client keeps training; the coordinator closes the evaluation without it.
      return changed({ state: 'idle', error: `evaluation of round ${round} failed: ${err instanceof Error ? err.message : String(err)}`, message: 'evaluation failed' });
    }
    // Not awaited: the next round's training need not wait for the coordinator's answer.
    const correct = e.classCorrect.reduce((a, b) => a + b, 0);
    changed({ state: 'idle', message: `round ${round} model: ${e.numSamples ? ((100 * correct) / e.numSamples).toFixed(1) : '–'}% on this client's own split` });
    void coordinator.submitEvaluation(evaluationMessage(e, identity, msg.runId, round)).then((res) => {
      if (res.accepted && e.numSamples > 0) changed({ evalHistory: [...view.evalHistory, { round, accuracy: correct / e.numSamples }].slice(-200) });
    }, () => undefined);
  }

  async function fit(msg: RoundMessage, slot: number): Promise<void> {
    const me = identity;
    if (!me) return;
    const { data, net } = await prepare(msg, slot);
    const perClient = msg.perClient.includes(me.clientId)
      ? await coordinator.roundExtras({ v: PROTOCOL_VERSION, type: 'extras', ...me, runId: msg.runId, round: msg.round })
      : undefined;
    changed({ state: 'training', round: msg.round, slot, dataset: msg.config.dataset, message: `training round ${msg.round}` });
    remember('global', msg, msg.weights, msg.round - 1);
    const { update, attacker, straggler, sendAt } = await runLocalRound({
      msg,
      slot,
      clientId: me.clientId,
      secret: me.secret,
      net,
      xs: data.xs,
      ys: data.ys,
      count: data.count,
      held: data.held,
      epochInputs: data.epochInputs,
      backend: view.backend as BackendName,
      perClient,
      colluders,
      uplink,
      numTensors,
      onEpoch: (_e, loss, sps) => changed({ localLoss: loss, samplesPerSec: sps }),
      onStep: (steps) => {
        const total = expectedSteps(msg.config, data.count, null, data.held.length);
        view.progress = { round: msg.round, steps: Math.min(steps, total), total };
      },
    });
    remember('local', msg, getFlatWeights(net), msg.round);
    if (msg.runId === stoppedRunId) {
      disposeModelAndData();
      return changed({ state: 'idle', message: 'run stopped' });
    }
    changed({ role: attacker ? `attacker (${msg.config.attack})` : 'honest', straggler: straggler?.mode ?? null });
    if (sendAt > Date.now()) {
      changed({ state: 'uploading', message: `straggling: replying after the round ${msg.round} deadline` });
      await new Promise((r) => setTimeout(r, sendAt - Date.now()));
    }
    changed({ state: 'uploading', samplesPerSec: update.samplesPerSec });
    const sent = wireBytes(update.delta) + vectorBytes(update.extras);
    const buffers = [...wireBuffers(update.delta), ...Object.values(update.extras ?? {}).map((x) => x.buffer)];
    const res = await coordinator.submitUpdate(Comlink.transfer(update, buffers as ArrayBuffer[]));
    const loss = update.epochLosses[update.epochLosses.length - 1];
    changed({
      state: 'idle',
      progress: null,
      lastResult: res,
      lossHistory: [...view.lossHistory, { round: msg.round, loss }].slice(-200),
      message: res.accepted ? `round ${msg.round} update accepted (${formatBytes(sent)} sent)` : `round ${msg.round} update rejected: ${res.reason} (${res.detail})`,
    });
    // The model this round started from is the previous round's result: evaluate it now that the update is in.
    const ev = evaluationJob(msg, me.clientId);
    if (ev) await evaluate(ev.msg, ev.slot, ev.round);
  }

  async function work(job: ClientJob): Promise<void> {
    busy = true;
    try {
      if (job.kind === 'fit') await fit(job.msg, job.slot);
      else await evaluate(job.msg, job.slot, job.round);
    } catch (e) {
      changed({ state: 'error', error: e instanceof Error ? e.message : String(e), message: 'error' });
    } finally {
      busy = false;
      if (view.state !== 'error') changed({ state: 'idle' });
      void heartbeat();
      const next = pending.shift();
      if (next) void work(next);
    }
  }

  function enqueue(job: ClientJob): void {
    if (!busy) return void work(job);
    // A newer round of the same run replaces an older queued one: the coordinator has moved on from it.
    if (job.kind === 'fit') pending = pending.filter((j) => !(j.kind === 'fit' && j.msg.runId === job.msg.runId));
    pending.push(job);
  }

  function handle(msg: BroadcastMessage): void {
    const me = identity?.clientId;
    if (!me) return;
    if (msg.type === 'stop') {
      pending = pending.filter((j) => j.msg.runId !== msg.runId);
      stoppedRunId = msg.runId;
      // A round in training finishes on its own tensors and is then dropped (see fit).
      if (!busy) disposeModelAndData();
      changed({ state: busy ? view.state : 'idle', slot: null, round: null, message: 'run stopped' });
      return;
    }
    const job = jobFor(msg, me);
    if (job) enqueue(job);
  }

  // The two models the drawing pad shows, kept as vectors: the training model is busy and changes under it.
  const models: { config?: FederationConfig; global?: { round: number; weights: Float32Array }; local?: { round: number; weights: Float32Array } } = {};
  let predictor: { key: string; net: tf.LayersModel } | null = null;
  let ownImage = 0;
  function remember(which: 'global' | 'local', msg: RoundMessage, weights: Float32Array, round: number): void {
    if (models.config && models.config !== msg.config && JSON.stringify(models.config) !== JSON.stringify(msg.config)) delete models.local;
    models.config = msg.config;
    models[which] = { round, weights: weights.slice() };
  }
  async function predict(pixels: Uint8Array): Promise<Array<{ label: string; round: number | null; probabilities: number[] }> | null> {
    if (!(pixels instanceof Uint8Array) || pixels.length !== 784) throw new Error('predict needs 784 pixels (0–255)');
    const cfg = models.config;
    if (!cfg || !models.global) return null;
    const key = `${cfg.model}|${runModelHead(cfg)}|${cfg.dataset}`;
    if (predictor?.key !== key) {
      await ensureRunModel(cfg);
      predictor?.net.dispose();
      predictor = { key, net: buildRunModel(cfg) };
    }
    const channels = inputChannels(predictor.net);
    const input = imageAsInput(pixels, channels);
    const out: Array<{ label: string; round: number | null; probabilities: number[] }> = [];
    for (const [label, m] of [['global model', models.global], ['my own model', models.local]] as const) {
      if (!m) continue;
      setFlatWeights(predictor.net, m.weights);
      const p = tf.tidy(() => tf.softmax(predictor!.net.predict(imagesToTensor(input, undefined, channels)) as tf.Tensor2D));
      out.push({ label, round: m.round, probabilities: Array.from(await p.data()) });
      p.dispose();
    }
    return out;
  }

  const channel = new BroadcastChannel(opts.channelName ?? CHANNEL_NAME);
  channel.onmessage = (ev: MessageEvent) => {
    void inbox.receive(ev.data).then((msg) => {
      if (msg) handle(msg);
      else changed({ message: view.message });
    });
  };

  await holdLifeLock(lock);
  await register();
  const timer = setInterval(() => void heartbeat(), HEARTBEAT_MS);
  void heartbeat();
  // Pick the backend now so the dashboard can show it before the first round.
  ensureBackend({ backend: opts.backend, model: 'cnn-s' }).catch((e: unknown) =>
    changed({ state: 'error', error: e instanceof Error ? e.message : String(e), message: 'backend failed' }),
  );

  return {
    view: () => ({ ...view }),
    identity: () => (identity ? { ...identity } : null),
    coordinator,
    predict,
    nextOwnImage: () => {
      const d = local;
      if (!d || d.evalLabels.length === 0) return null;
      const i = ownImage++ % d.evalLabels.length;
      const channels = d.evalImages.length / d.evalLabels.length / 784;
      const pixels = new Uint8Array(784);
      for (let p = 0; p < 784; p++) pixels[p] = d.evalImages[(i * 784 + p) * channels];
      return { pixels, label: d.evalLabels[i] };
    },
    stop: () => {
      clearInterval(timer);
      predictor?.net.dispose();
      channel.close();
      colluders.close();
      disposeModelAndData();
    },
  };
}

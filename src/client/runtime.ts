// One federated client, the same code in a tab and in a dedicated Web Worker.
// Rounds arrive over BroadcastChannel; updates go back over this client's own MessagePort (comlink).
import * as tf from '@tensorflow/tfjs';
import * as Comlink from 'comlink';
import type { BackendChoice, BackendName, FederationConfig } from '../shared/config';
import { labelHistogram } from '../shared/partition';
import {
  CHANNEL_NAME,
  PROTOCOL_VERSION,
  parseBroadcast,
  type BackendProbe,
  type ClientKind,
  type ClientState,
  type RoundMessage,
} from '../shared/protocol';
import type { CoordinatorApi, UpdateResult } from '../server-worker/api';
import { selectBackend } from './backend';
import { loadDataset, type Dataset } from '../shared/data/dataset-store';
import { channelColluders } from './attacks';
import { runLocalRound, slotData } from './local-round';
import { buildModel } from '../shared/ml/models';

export const HEARTBEAT_MS = 2000;
/** Where simulated ALIE attackers share their honest updates (attacks.ts). */
const COLLUDER_CHANNEL = `${CHANNEL_NAME}/colluders`;

export interface ClientView {
  clientId: string;
  kind: ClientKind;
  state: ClientState;
  backend: BackendName | 'pending';
  probe: BackendProbe[];
  round: number | null;
  slot: number | null;
  numSamples: number;
  labelHistogram: number[] | null;
  localLoss: number | null;
  lossHistory: Array<{ round: number; loss: number }>;
  samplesPerSec: number | null;
  numTensors: number;
  lastResult: UpdateResult | null;
  /** 'honest', or the simulated attack this client runs. */
  role: string;
  straggler: 'partial' | 'late' | null;
  error: string | null;
  message: string;
}

export interface ClientHandle {
  view(): ClientView;
  coordinator: Comlink.Remote<CoordinatorApi>;
  stop(): void;
}

export interface ClientOptions {
  kind: ClientKind;
  port: MessagePort;
  /** The client's own backend choice; `auto` defers to the run config. */
  backend: BackendChoice;
  onView?: (view: ClientView) => void;
}

interface LocalData {
  key: string;
  xs: tf.Tensor;
  ys: tf.Tensor;
  count: number;
}

/** Tensor count, or 0 before any backend is up (tf.memory() would try to start the highest-priority one). */
function numTensors(): number {
  try {
    return tf.memory().numTensors;
  } catch {
    return 0;
  }
}

/** Held for the client's whole life: the coordinator learns of a closed tab when it can take this lock. */
async function holdLifeLock(clientId: string): Promise<void> {
  const locks = (globalThis.navigator as Navigator | undefined)?.locks;
  if (!locks) return;
  await new Promise<void>((acquired) => {
    void locks.request(`fedtab-client-${clientId}`, () => {
      acquired();
      return new Promise<void>(() => {});
    });
  });
}

export async function startClient(opts: ClientOptions): Promise<ClientHandle> {
  const clientId = `${opts.kind}-${crypto.randomUUID().slice(0, 8)}`;
  const coordinator = Comlink.wrap<CoordinatorApi>(opts.port);
  const view: ClientView = {
    clientId,
    kind: opts.kind,
    state: 'starting',
    backend: 'pending',
    probe: [],
    round: null,
    slot: null,
    numSamples: 0,
    labelHistogram: null,
    localLoss: null,
    lossHistory: [],
    samplesPerSec: null,
    numTensors: 0,
    lastResult: null,
    role: 'honest',
    straggler: null,
    error: null,
    message: 'connecting',
  };
  const changed = (patch: Partial<ClientView>) => {
    Object.assign(view, patch, { numTensors: numTensors() });
    opts.onView?.({ ...view });
  };

  let dataset: Dataset | null = null;
  let local: LocalData | null = null;
  let model: { key: string; net: tf.LayersModel } | null = null;
  let busy = false;
  /** A round that arrived while this client was still training an earlier one (it missed that deadline). */
  let queued: { msg: RoundMessage; slot: number } | null = null;
  let stoppedRunId: string | null = null;
  /** SCAFFOLD c_k per run and slot. */
  const controls = new Map<string, Float32Array>();
  const colluders = channelColluders(new BroadcastChannel(COLLUDER_CHANNEL));

  const heartbeat = () =>
    coordinator
      .heartbeat({
        v: PROTOCOL_VERSION,
        type: 'heartbeat',
        clientId,
        state: view.state,
        backend: view.backend,
        probe: view.probe,
        samplesPerSec: view.samplesPerSec,
        localLoss: view.localLoss,
        numTensors: numTensors(),
        error: view.error,
      })
      .catch(() => undefined);

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
      heartbeat();
    });
    return backendTask;
  }

  function disposeModelAndData(): void {
    model?.net.dispose();
    model = null;
    if (local) tf.dispose([local.xs, local.ys]);
    local = null;
  }

  async function prepare(msg: RoundMessage, slot: number): Promise<{ data: LocalData; net: tf.LayersModel }> {
    const cfg = msg.config;
    await ensureBackend(cfg);
    if (!dataset || dataset.name !== cfg.dataset) {
      changed({ state: 'loading', message: `loading ${cfg.dataset}` });
      dataset = (await loadDataset(cfg.dataset, { parts: ['train-images', 'train-labels'] })).dataset;
    }
    const dataKey = `${msg.runId}|${slot}|${msg.numPartitions}|${view.backend}`;
    if (local?.key !== dataKey) {
      if (local) tf.dispose([local.xs, local.ys]);
      const { indices, xs, ys, count } = slotData(dataset, msg, slot);
      local = { key: dataKey, xs, ys, count };
      changed({ numSamples: count, labelHistogram: labelHistogram(dataset.train.labels, indices, dataset.numClasses) });
    }
    const modelKey = `${cfg.model}|${view.backend}`;
    if (model?.key !== modelKey) {
      model?.net.dispose();
      model = { key: modelKey, net: buildModel(cfg.model) };
    }
    return { data: local, net: model.net };
  }

  async function runRound(msg: RoundMessage, slot: number): Promise<void> {
    busy = true;
    try {
      const { data, net } = await prepare(msg, slot);
      changed({ state: 'training', round: msg.round, slot, message: `training round ${msg.round}` });
      const { update, attacker, straggler, sendAt, accepted } = await runLocalRound({
        msg,
        slot,
        clientId,
        net,
        xs: data.xs,
        ys: data.ys,
        count: data.count,
        backend: view.backend as BackendName,
        controls,
        colluders,
        numTensors,
        onEpoch: (_e, loss, sps) => changed({ localLoss: loss, samplesPerSec: sps }),
      });
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
      const buffers = [update.delta.buffer, ...(update.controlDelta ? [update.controlDelta.buffer] : [])];
      const res = await coordinator.submitUpdate(Comlink.transfer(update, buffers));
      if (res.accepted) accepted();
      const loss = update.epochLosses[update.epochLosses.length - 1];
      changed({
        state: 'idle',
        lastResult: res,
        lossHistory: [...view.lossHistory, { round: msg.round, loss }].slice(-200),
        message: res.accepted ? `round ${msg.round} update accepted` : `round ${msg.round} update rejected: ${res.reason} (${res.detail})`,
      });
    } catch (e) {
      changed({ state: 'error', error: e instanceof Error ? e.message : String(e), message: 'error' });
    } finally {
      busy = false;
      heartbeat();
      const next = queued;
      queued = null;
      if (next && next.msg.deadline > Date.now()) void runRound(next.msg, next.slot);
    }
  }

  const channel = new BroadcastChannel(CHANNEL_NAME);
  channel.onmessage = (ev: MessageEvent) => {
    let msg;
    try {
      msg = parseBroadcast(ev.data);
    } catch (e) {
      changed({ message: `ignored a broadcast: ${e instanceof Error ? e.message : String(e)}` });
      return;
    }
    if (msg.type === 'stop') {
      queued = null;
      stoppedRunId = msg.runId;
      for (const key of controls.keys()) if (key.startsWith(`${msg.runId}|`)) controls.delete(key);
      // A round in training finishes on its own tensors and is then dropped (see runRound).
      if (!busy) disposeModelAndData();
      changed({ state: 'idle', slot: null, round: null, message: 'run stopped' });
      return;
    }
    const slot = msg.assignments[clientId];
    if (slot === undefined) return;
    if (busy) queued = { msg, slot };
    else void runRound(msg, slot);
  };

  await holdLifeLock(clientId);
  await coordinator.register({
    v: PROTOCOL_VERSION,
    type: 'register',
    clientId,
    kind: opts.kind,
    backend: 'pending',
    probe: [],
    userAgent: globalThis.navigator?.userAgent ?? '',
  });
  changed({ state: 'idle', message: 'registered; waiting for a round' });
  const timer = setInterval(heartbeat, HEARTBEAT_MS);
  heartbeat();
  // Pick the backend now so the dashboard can show it before the first round.
  ensureBackend({ backend: opts.backend, model: 'cnn-s' }).catch((e: unknown) =>
    changed({ state: 'error', error: e instanceof Error ? e.message : String(e), message: 'backend failed' }),
  );

  return {
    view: () => ({ ...view }),
    coordinator,
    stop: () => {
      clearInterval(timer);
      channel.close();
      colluders.close();
      disposeModelAndData();
    },
  };
}

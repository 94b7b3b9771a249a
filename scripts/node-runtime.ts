// The in-process Node runtime: the same coordinator state machine (Federation), client round (runLocalRound) and
// server tf work (createTask) as the browser, with virtual clients instead of tabs. tfjs runs on wasm with our
// kernels, like the browser's wasm backend. For experiment grids too large for real tabs on a small machine.
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { registerBatchMatMul } from '../src/kernels/batch-matmul';
import { registerConv2DBackpropFilter } from '../src/kernels/conv2d-backprop-filter';
import { registerConv2DBackpropInput } from '../src/kernels/conv2d-backprop-input';
import { registerMaxPoolGrad } from '../src/kernels/max-pool-grad';
import { channelColluders, type Colluders } from '../src/client/attacks';
import { BroadcastInbox } from '../src/client/broadcast-inbox';
import { UplinkEncoder } from '../src/shared/compression/uplink';
import { evaluateLocal, evaluationJob, evaluationMessage, jobFor, runLocalRound, slotData, type SlotData } from '../src/client/local-round';
import { buildRunModel } from '../src/shared/ml/models';
import type { FederationConfig } from '../src/shared/config';
import { CHANNEL_NAME, PROTOCOL_VERSION, type BroadcastMessage, type EvaluateMessage, type RoundMessage } from '../src/shared/protocol';
import { settledRounds, type CoordinatorStatus, type RoundRecord } from '../src/shared/status';
import { createTask } from '../src/server-worker/eval-task';
import { Federation, type ClientConnection, type RunStore } from '../src/server-worker/federation';
import { MAX_VIRTUAL_CLIENTS } from '../src/server-worker/client-registry';
import { loadDatasetFromDisk } from './node-dataset';
import { loadRunDataset } from '../src/shared/data/run-dataset';
import { ensureRunModel, setPretrainedLoader } from '../src/shared/ml/pretrained-store';
import { loadOrPretrain } from './pretrained';

export interface InProcessOptions {
  config: FederationConfig;
  clients: number;
  timeoutMs: number;
  log?: (line: string) => void;
  onRound?: (round: RoundRecord, status: CoordinatorStatus) => void;
}

let backendReady: Promise<void> | null = null;
export function initBackend(): Promise<void> {
  backendReady ??= (async () => {
    registerConv2DBackpropFilter('wasm');
    registerConv2DBackpropInput('wasm');
    registerBatchMatMul('wasm');
    registerMaxPoolGrad('wasm');
    // Single-threaded, like the browser (no cross-origin isolation there); grids run one process per core instead.
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    if (!(await tf.setBackend('wasm'))) throw new Error('the tfjs wasm backend did not start in Node');
    await tf.ready();
  })();
  return backendReady;
}

const noStore: RunStore = { save: async () => {}, load: async () => null, clear: async () => {} };

/**
 * A virtual client is state, not a model: its connection (as a tab's port), its own inbox for the signed broadcasts,
 * its uplink encoder (Top-K's error-feedback residual) and its colluders' channel. A job borrows a model from the
 * run's pool and builds its slot's tensors, and gives both back when done, so memory grows with the jobs running at
 * once (the round's participants), not with the clients.
 */
interface VirtualClient {
  conn: ClientConnection;
  id: { clientId: string; secret: string };
  inbox: BroadcastInbox;
  colluders: Colluders;
  uplink: UplinkEncoder;
  /** One job at a time, in arrival order, as a tab's client runs them. */
  queue: Promise<void>;
}

export async function runInProcess(opts: InProcessOptions): Promise<{ status: CoordinatorStatus; wallSeconds: number; modelsBuilt: number }> {
  await initBackend();
  setPretrainedLoader(loadOrPretrain);
  await ensureRunModel(opts.config);
  const { config } = opts;
  const dataset = await loadRunDataset(config, loadDatasetFromDisk);
  const t0 = Date.now();
  const timers = new Set<ReturnType<typeof setTimeout>>();
  const clients: VirtualClient[] = [];
  let fed: Federation | null = null;
  let failure: string | null = null;

  // Models lent to jobs, at most as many as a round has participants (they train at once: colluding attackers wait
  // for each other); other jobs (federated evaluations) wait for one. Every job sets the weights it starts from, so a
  // model keeps nothing of the job before.
  const maxModels = Math.max(1, Math.ceil(config.fraction * opts.clients));
  const freeModels: tf.LayersModel[] = [];
  const allModels: tf.LayersModel[] = [];
  const waiting: Array<(net: tf.LayersModel) => void> = [];
  const borrow = (): Promise<tf.LayersModel> => {
    const free = freeModels.pop();
    if (free) return Promise.resolve(free);
    if (allModels.length < maxModels) {
      const net = buildRunModel(config);
      allModels.push(net);
      return Promise.resolve(net);
    }
    return new Promise((resolve) => waiting.push(resolve));
  };
  const giveBack = (net: tf.LayersModel) => {
    const next = waiting.shift();
    if (next) next(net);
    else freeModels.push(net);
  };
  async function withModelAndData<T>(msg: RoundMessage | EvaluateMessage, slot: number, fn: (net: tf.LayersModel, d: SlotData) => Promise<T>): Promise<T> {
    const net = await borrow();
    let d: SlotData | null = null;
    try {
      d = slotData(dataset, msg.config, msg.numPartitions, slot);
      return await fn(net, d);
    } finally {
      if (d) tf.dispose([d.xs, d.ys]);
      giveBack(net);
    }
  }

  async function evaluate(c: VirtualClient, msg: RoundMessage | EvaluateMessage, slot: number, round: number): Promise<void> {
    const e = await withModelAndData(msg, slot, (net, d) => evaluateLocal(net, msg.weights, d.evalImages, d.evalLabels, dataset.numClasses));
    c.conn.submitEvaluation(evaluationMessage(e, c.id, msg.runId, round));
  }

  // Runs one client's round and submits it, as a tab would; an error marks the run failed instead of hanging it.
  async function clientRound(c: VirtualClient, msg: RoundMessage, slot: number): Promise<void> {
    const { update, sendAt } = await withModelAndData(msg, slot, (net, d) => trainRound(c, msg, slot, net, d));
    if (sendAt > Date.now()) await new Promise((r) => setTimeout(r, sendAt - Date.now()));
    c.conn.submitUpdate(update);
    const ev = evaluationJob(msg, c.id.clientId);
    if (ev) await evaluate(c, ev.msg, ev.slot, ev.round);
  }

  function trainRound(c: VirtualClient, msg: RoundMessage, slot: number, net: tf.LayersModel, d: SlotData) {
    const perClient = msg.perClient.includes(c.id.clientId)
      ? c.conn.roundExtras({ v: PROTOCOL_VERSION, type: 'extras', ...c.id, runId: msg.runId, round: msg.round })
      : undefined;
    return runLocalRound({
      msg,
      slot,
      clientId: c.id.clientId,
      secret: c.id.secret,
      net,
      xs: d.xs,
      ys: d.ys,
      count: d.count,
      held: d.held,
      epochInputs: d.epochInputs,
      backend: 'wasm',
      perClient,
      colluders: c.colluders,
      uplink: c.uplink,
      numTensors: () => tf.memory().numTensors,
    });
  }

  function handle(c: VirtualClient, msg: BroadcastMessage): Promise<void> | null {
    const job = msg.type === 'stop' ? null : jobFor(msg, c.id.clientId);
    if (!job) return null;
    return job.kind === 'fit' ? clientRound(c, job.msg, job.slot) : evaluate(c, job.msg, job.slot, job.round);
  }

  function deliver(raw: BroadcastMessage): void {
    for (const c of clients) {
      // Only the clients a broadcast asks for work check it: the others would only drop it (a stop asks nothing).
      if (raw.type === 'stop' || !jobFor(raw, c.id.clientId)) continue;
      // A BroadcastChannel hands each client its own structured clone; so do we.
      c.queue = c.queue
        .then(async () => {
          const msg = await c.inbox.receive(structuredClone(raw));
          if (msg) await handle(c, msg);
        })
        .catch((e: unknown) => void (failure ??= `client ${c.id.clientId}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`));
    }
  }

  fed = new Federation({
    now: () => Date.now(),
    setTimer: (fn, ms) => {
      const h = setTimeout(() => {
        timers.delete(h);
        fn();
      }, ms);
      timers.add(h);
      return h;
    },
    clearTimer: (h) => {
      clearTimeout(h as ReturnType<typeof setTimeout>);
      timers.delete(h as ReturnType<typeof setTimeout>);
    },
    broadcast: (msg) => setImmediate(() => deliver(msg)),
    loadTask: async (cfg) => createTask(dataset, cfg),
    store: noStore,
    watchLock: () => {},
    coordinatorBackend: () => 'wasm',
    maxClients: MAX_VIRTUAL_CLIENTS,
  });
  const heartbeat = setInterval(() => {
    for (const c of clients) {
      c.conn.heartbeat({ v: PROTOCOL_VERSION, type: 'heartbeat', ...c.id, state: 'idle', backend: 'wasm', numTensors: tf.memory().numTensors, broadcastsDropped: { ...c.inbox.dropped } });
    }
  }, 2000);

  try {
    await fed.start({ ...config, clients: opts.clients });
    for (let i = 0; i < opts.clients; i++) {
      const conn = fed.connect();
      const id = await conn.register({ v: PROTOCOL_VERSION, type: 'register', kind: 'node', backend: 'wasm', probe: [], userAgent: `node ${process.version}`, lock: `fedtab-client-node-${String(i).padStart(4, '0')}` });
      const inbox = new BroadcastInbox({ identity: () => id, fetchKey: async (runId) => (await conn.runKey({ v: PROTOCOL_VERSION, type: 'key', ...id, runId })).key });
      clients.push({ conn, id, inbox, colluders: channelColluders(new BroadcastChannel(`${CHANNEL_NAME}/colluders`)), uplink: new UplinkEncoder(), queue: Promise.resolve() });
    }
    let printed = 0;
    for (;;) {
      const status = fed.status();
      for (const ready = settledRounds(status); printed < ready; printed++) opts.onRound?.(status.history[printed], status);
      if (failure) throw new Error(failure);
      if (status.state === 'error') throw new Error(`coordinator error: ${status.error ?? status.message}`);
      if (status.state === 'done') return { status, wallSeconds: (Date.now() - t0) / 1000, modelsBuilt: allModels.length };
      if (Date.now() - t0 > opts.timeoutMs) throw new Error(`timed out after ${Math.round(opts.timeoutMs / 1000)} s`);
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    clearInterval(heartbeat);
    fed.dispose();
    for (const h of timers) clearTimeout(h);
    for (const net of allModels) net.dispose();
    for (const c of clients) c.colluders.close();
  }
}

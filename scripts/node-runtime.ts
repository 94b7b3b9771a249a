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

/** A virtual client: its connection (as a tab's port), its own inbox for the signed broadcasts, a model and its data. */
interface VirtualClient {
  conn: ClientConnection;
  id: { clientId: string; secret: string };
  inbox: BroadcastInbox;
  net: tf.LayersModel;
  data: (SlotData & { key: string }) | null;
  colluders: Colluders;
  uplink: UplinkEncoder;
  /** One job at a time, in arrival order, as a tab's client runs them. */
  queue: Promise<void>;
}

export async function runInProcess(opts: InProcessOptions): Promise<{ status: CoordinatorStatus; wallSeconds: number }> {
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

  function dataFor(c: VirtualClient, msg: RoundMessage | EvaluateMessage, slot: number): SlotData {
    const key = `${msg.runId}|${slot}|${msg.numPartitions}`;
    if (c.data?.key !== key) {
      if (c.data) tf.dispose([c.data.xs, c.data.ys]);
      c.data = { key, ...slotData(dataset, msg.config, msg.numPartitions, slot) };
    }
    return c.data;
  }

  async function evaluate(c: VirtualClient, msg: RoundMessage | EvaluateMessage, slot: number, round: number): Promise<void> {
    const d = dataFor(c, msg, slot);
    const e = await evaluateLocal(c.net, msg.weights, d.evalImages, d.evalLabels, dataset.numClasses);
    c.conn.submitEvaluation(evaluationMessage(e, c.id, msg.runId, round));
  }

  // Runs one client's round and submits it, as a tab would; an error marks the run failed instead of hanging it.
  async function clientRound(c: VirtualClient, msg: RoundMessage, slot: number): Promise<void> {
    const d = dataFor(c, msg, slot);
    const perClient = msg.perClient.includes(c.id.clientId)
      ? c.conn.roundExtras({ v: PROTOCOL_VERSION, type: 'extras', ...c.id, runId: msg.runId, round: msg.round })
      : undefined;
    const { update, sendAt } = await runLocalRound({
      msg,
      slot,
      clientId: c.id.clientId,
      secret: c.id.secret,
      net: c.net,
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
    if (sendAt > Date.now()) await new Promise((r) => setTimeout(r, sendAt - Date.now()));
    c.conn.submitUpdate(update);
    const ev = evaluationJob(msg, c.id.clientId);
    if (ev) await evaluate(c, ev.msg, ev.slot, ev.round);
  }

  function handle(c: VirtualClient, msg: BroadcastMessage): Promise<void> | null {
    const job = msg.type === 'stop' ? null : jobFor(msg, c.id.clientId);
    if (!job) return null;
    return job.kind === 'fit' ? clientRound(c, job.msg, job.slot) : evaluate(c, job.msg, job.slot, job.round);
  }

  function deliver(raw: BroadcastMessage): void {
    for (const c of clients) {
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
      clients.push({ conn, id, inbox, net: buildRunModel(config), data: null, colluders: channelColluders(new BroadcastChannel(`${CHANNEL_NAME}/colluders`)), uplink: new UplinkEncoder(), queue: Promise.resolve() });
    }
    let printed = 0;
    for (;;) {
      const status = fed.status();
      for (const ready = settledRounds(status); printed < ready; printed++) opts.onRound?.(status.history[printed], status);
      if (failure) throw new Error(failure);
      if (status.state === 'error') throw new Error(`coordinator error: ${status.error ?? status.message}`);
      if (status.state === 'done') return { status, wallSeconds: (Date.now() - t0) / 1000 };
      if (Date.now() - t0 > opts.timeoutMs) throw new Error(`timed out after ${Math.round(opts.timeoutMs / 1000)} s`);
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    clearInterval(heartbeat);
    fed.dispose();
    for (const h of timers) clearTimeout(h);
    for (const c of clients) {
      c.net.dispose();
      if (c.data) tf.dispose([c.data.xs, c.data.ys]);
      c.colluders.close();
    }
  }
}

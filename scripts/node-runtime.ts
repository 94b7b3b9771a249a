// The Node runtime: the same coordinator state machine (Federation), client round (runLocalRound) and server tf work
// (createTask) as the browser, with virtual clients instead of tabs. tfjs runs on wasm with our kernels, like the
// browser's wasm backend. A virtual client is state; its jobs run on a model in the coordinator's own thread and on
// a pool of client threads beside it (one model each; one per core besides the coordinator's by default).
import * as tf from '@tensorflow/tfjs';
import { attackColludes, channelColluders, type Colluders } from '../src/client/attacks';
import { BroadcastInbox } from '../src/client/broadcast-inbox';
import type { UplinkState } from '../src/shared/compression/uplink';
import { evaluationJob, evaluationMessage, jobFor } from '../src/client/local-round';
import { buildRunModel } from '../src/shared/ml/models';
import type { FederationConfig } from '../src/shared/config';
import type { Dataset } from '../src/shared/data/dataset-store';
import type { DatasetName } from '../src/shared/dataset-manifest';
import { CHANNEL_NAME, PROTOCOL_VERSION, type BroadcastMessage, type EvaluateMessage, type RoundMessage } from '../src/shared/protocol';
import { settledRounds, type CoordinatorStatus, type RoundRecord } from '../src/shared/status';
import { createTask } from '../src/server-worker/eval-task';
import { Federation, type ClientConnection, type RunStore } from '../src/server-worker/federation';
import { MAX_VIRTUAL_CLIENTS } from '../src/server-worker/client-registry';
import { loadDatasetFromDisk } from './node-dataset';
import { loadRunDataset } from '../src/shared/data/run-dataset';
import { ensureRunModel, setPretrainedLoader } from '../src/shared/ml/pretrained-store';
import { loadOrPretrain } from './pretrained';
import { inThreadRunner, threadsRefusal, type JobRunner } from './client-jobs';
import { threadPoolRunner } from './client-thread-pool';
import { initBackend } from './wasm-backend';

export { initBackend };

export interface InProcessOptions {
  config: FederationConfig;
  clients: number;
  timeoutMs: number;
  /** Client threads (worker_threads) beside the coordinator's thread, which trains too; 0 = only it. Default 0. */
  threads?: number;
  log?: (line: string) => void;
  onRound?: (round: RoundRecord, status: CoordinatorStatus) => void;
}

const HEARTBEAT_SHARDS = 10;

const noStore: RunStore = { save: async () => {}, load: async () => null, clear: async () => {} };

/**
 * A virtual client is state, not a model: its connection (as a tab's port), its own inbox for the signed broadcasts,
 * its uplink encoder's state (Top-K's error-feedback residual) and its colluders' channel. Its jobs borrow a model
 * and build their slot's tensors for the job only, so memory grows with the models (threads, or the round's
 * participants on one thread), not with the clients.
 */
interface VirtualClient {
  conn: ClientConnection;
  id: { clientId: string; secret: string };
  inbox: BroadcastInbox;
  /** Only ALIE's colluding attackers talk over it (an ALIE run trains on the coordinator's thread). */
  colluders: Colluders | null;
  uplink: UplinkState;
  /** One job at a time, in arrival order, as a tab's client runs them. */
  queue: Promise<void>;
}

export interface InProcessResult {
  status: CoordinatorStatus;
  wallSeconds: number;
  modelsBuilt: number;
  /** Client threads the run used beside the coordinator's thread (0: that thread only). */
  threads: number;
  /** The final global model. */
  weights: Float32Array;
}

export async function runInProcess(opts: InProcessOptions): Promise<InProcessResult> {
  await initBackend();
  setPretrainedLoader(loadOrPretrain);
  await ensureRunModel(opts.config);
  const { config } = opts;
  const used: Partial<Record<DatasetName, Dataset>> = {};
  const dataset = await loadRunDataset(config, (name) => (used[name] = loadDatasetFromDisk(name)));
  const refusal = threadsRefusal(config);
  let threads = Math.min(opts.threads ?? 0, opts.clients - 1);
  if (threads > 0 && refusal) {
    opts.log?.(`client threads: none (${refusal})`);
    threads = 0;
  }
  const t0 = Date.now();
  const timers = new Set<ReturnType<typeof setTimeout>>();
  const clients: VirtualClient[] = [];
  const byId = new Map<string, VirtualClient>();
  let fed: Federation | null = null;
  let failure: string | null = null;
  // On one thread, one model: jobs take turns. ALIE's colluders wait for each other's updates, so they get one model
  // per participant of a round.
  const inThreadModels = attackColludes(config.attack) ? Math.max(1, Math.ceil(config.fraction * opts.clients)) : 1;
  const local = inThreadRunner(dataset, () => buildRunModel(config), threads > 0 ? 1 : inThreadModels);
  const runner: JobRunner = threads > 0 ? await threadPoolRunner(threads, used, local) : local;
  opts.log?.(`node runtime: ${opts.clients} virtual clients, trained on the coordinator's thread${threads ? ` and ${threads} client thread${threads > 1 ? 's' : ''}` : ''}`);

  async function evaluate(c: VirtualClient, msg: RoundMessage | EvaluateMessage, slot: number, round: number): Promise<void> {
    const e = await runner.evaluate({ msg, slot });
    c.conn.submitEvaluation(evaluationMessage(e, c.id, msg.runId, round));
  }

  // Runs one client's round and submits it, as a tab would; an error marks the run failed instead of hanging it.
  async function clientRound(c: VirtualClient, msg: RoundMessage, slot: number): Promise<void> {
    const perClient = msg.perClient.includes(c.id.clientId)
      ? c.conn.roundExtras({ v: PROTOCOL_VERSION, type: 'extras', ...c.id, runId: msg.runId, round: msg.round })
      : undefined;
    const { update, sendAt, uplink } = await runner.fit({ msg, slot, ...c.id, ...(perClient ? { perClient } : {}), uplink: c.uplink }, c.colluders);
    c.uplink = uplink;
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
    // Only the clients a broadcast asks for work check it: the others would only drop it (a stop asks nothing).
    // In slot order, so the pool takes jobs in the order the coordinator's streaming sum folds them.
    if (raw.type === 'stop') return;
    // Looked up by id from the broadcast's own lists: O(asked), not O(clients).
    const asked = new Set([...(raw.type === 'round' ? Object.keys(raw.assignments) : []), ...Object.keys(raw.evaluate?.slots ?? {})]);
    const addressed = [...asked].flatMap((id) => {
      const c = byId.get(id);
      const job = c ? jobFor(raw, id) : null;
      return c && job ? [{ c, slot: job.slot }] : [];
    });
    addressed.sort((a, b) => a.slot - b.slot);
    for (const { c } of addressed) {
      // One message for all, read-only (a tab gets a structured clone of its own; a clone per client here would hold
      // a copy of w_t for every job waiting its turn). Client threads get theirs with the job; the tests compare
      // threads and no threads bit for bit, so a client that wrote into it would show.
      c.queue = c.queue
        .then(async () => {
          const msg = await c.inbox.receive(raw);
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
  // Each client every 20 s (the coordinator's timeout is 70 s), a tenth of them every 2 s: 10,000 clients' heartbeats
  // at once would stall the coordinator's thread for a moment every time.
  let beat = 0;
  const heartbeat = setInterval(() => {
    const n = tf.memory().numTensors;
    for (let i = beat++ % HEARTBEAT_SHARDS; i < clients.length; i += HEARTBEAT_SHARDS) {
      const c = clients[i];
      c.conn.heartbeat({ v: PROTOCOL_VERSION, type: 'heartbeat', ...c.id, state: 'idle', backend: 'wasm', numTensors: n, broadcastsDropped: { ...c.inbox.dropped } });
    }
  }, 2000);

  try {
    await fed.start({ ...config, clients: opts.clients });
    for (let i = 0; i < opts.clients; i++) {
      const conn = fed.connect();
      const id = await conn.register({ v: PROTOCOL_VERSION, type: 'register', kind: 'node', backend: 'wasm', probe: [], userAgent: `node ${process.version}`, lock: `fedtab-client-node-${String(i).padStart(4, '0')}` });
      const inbox = new BroadcastInbox({ identity: () => id, fetchKey: async (runId) => (await conn.runKey({ v: PROTOCOL_VERSION, type: 'key', ...id, runId })).key });
      // Open before any round: a colluder's update posted before another's channel is open would be lost.
      const colluders = attackColludes(config.attack) ? channelColluders(new BroadcastChannel(`${CHANNEL_NAME}/colluders`)) : null;
      const client: VirtualClient = { conn, id, inbox, colluders, uplink: { runId: null, residual: null }, queue: Promise.resolve() };
      clients.push(client);
      byId.set(id.clientId, client);
    }
    let printed = 0;
    for (;;) {
      const status = fed.status();
      for (const ready = settledRounds(status); printed < ready; printed++) opts.onRound?.(status.history[printed], status);
      if (failure) throw new Error(failure);
      if (status.state === 'error') throw new Error(`coordinator error: ${status.error ?? status.message}`);
      if (status.state === 'done') return { status, wallSeconds: (Date.now() - t0) / 1000, modelsBuilt: runner.modelsBuilt(), threads, weights: fed.globalWeights()! };
      if (Date.now() - t0 > opts.timeoutMs) throw new Error(`timed out after ${Math.round(opts.timeoutMs / 1000)} s`);
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    clearInterval(heartbeat);
    fed.dispose();
    for (const h of timers) clearTimeout(h);
    await runner.close();
    for (const c of clients) c.colluders?.close();
  }
}

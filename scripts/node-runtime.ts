// The in-process Node runtime: the same coordinator state machine (Federation), client round (runLocalRound) and
// server tf work (createTask) as the browser, with virtual clients instead of tabs. tfjs runs on wasm with our
// kernels, like the browser's wasm backend. For experiment grids too large for real tabs on a small machine.
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { registerBatchMatMul } from '../src/kernels/batch-matmul';
import { registerConv2DBackpropFilter } from '../src/kernels/conv2d-backprop-filter';
import { registerConv2DBackpropInput } from '../src/kernels/conv2d-backprop-input';
import { channelColluders, type Colluders } from '../src/client/attacks';
import { runLocalRound, slotData } from '../src/client/local-round';
import { buildModel } from '../src/shared/ml/models';
import type { FederationConfig } from '../src/shared/config';
import { CHANNEL_NAME, PROTOCOL_VERSION, parseBroadcast, type BroadcastMessage, type RoundMessage } from '../src/shared/protocol';
import type { CoordinatorStatus, RoundRecord } from '../src/shared/status';
import { createTask } from '../src/server-worker/eval-task';
import { Federation, type RunStore } from '../src/server-worker/federation';
import { loadDatasetFromDisk } from './node-dataset';

export interface InProcessOptions {
  config: FederationConfig;
  clients: number;
  timeoutMs: number;
  log?: (line: string) => void;
  onRound?: (round: RoundRecord, status: CoordinatorStatus) => void;
}

let backendReady: Promise<void> | null = null;
function initBackend(): Promise<void> {
  backendReady ??= (async () => {
    registerConv2DBackpropFilter('wasm');
    registerConv2DBackpropInput('wasm');
    registerBatchMatMul('wasm');
    // Single-threaded, like the browser (no cross-origin isolation there); grids run one process per core instead.
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    if (!(await tf.setBackend('wasm'))) throw new Error('the tfjs wasm backend did not start in Node');
    await tf.ready();
  })();
  return backendReady;
}

const noStore: RunStore = { save: async () => {}, load: async () => null, clear: async () => {} };

interface VirtualClient {
  id: string;
  net: tf.LayersModel;
  data: { key: string; xs: tf.Tensor; ys: tf.Tensor; count: number } | null;
  controls: Map<string, Float32Array>;
  colluders: Colluders;
}

export async function runInProcess(opts: InProcessOptions): Promise<{ status: CoordinatorStatus; wallSeconds: number }> {
  await initBackend();
  const { config } = opts;
  const dataset = loadDatasetFromDisk(config.dataset);
  const t0 = Date.now();
  const timers = new Set<ReturnType<typeof setTimeout>>();
  const clients: VirtualClient[] = [];
  let fed: Federation | null = null;
  let failure: string | null = null;

  // Runs one client's round and submits it, as a tab would; an error marks the run failed instead of hanging it.
  async function clientRound(c: VirtualClient, msg: RoundMessage, slot: number): Promise<void> {
    const key = `${msg.runId}|${slot}|${msg.numPartitions}`;
    if (c.data?.key !== key) {
      if (c.data) tf.dispose([c.data.xs, c.data.ys]);
      const { xs, ys, count } = slotData(dataset, msg, slot);
      c.data = { key, xs, ys, count };
    }
    const { update, sendAt, accepted } = await runLocalRound({
      msg,
      slot,
      clientId: c.id,
      net: c.net,
      xs: c.data.xs,
      ys: c.data.ys,
      count: c.data.count,
      backend: 'wasm',
      controls: c.controls,
      colluders: c.colluders,
      numTensors: () => tf.memory().numTensors,
    });
    if (sendAt > Date.now()) await new Promise((r) => setTimeout(r, sendAt - Date.now()));
    if (fed?.submitUpdate(update).accepted) accepted();
  }

  function deliver(raw: BroadcastMessage): void {
    // A BroadcastChannel hands each client its own structured clone; so do we.
    const msg = parseBroadcast(structuredClone(raw));
    if (msg.type !== 'round') return;
    for (const c of clients) {
      const slot = msg.assignments[c.id];
      if (slot === undefined) continue;
      clientRound(c, msg, slot).catch((e: unknown) => (failure ??= `client ${c.id}: ${e instanceof Error ? e.stack ?? e.message : String(e)}`));
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
    watchClient: () => {},
    coordinatorBackend: () => 'wasm',
  });
  const heartbeat = setInterval(() => {
    for (const c of clients) {
      fed?.heartbeat({
        v: PROTOCOL_VERSION, type: 'heartbeat', clientId: c.id, state: 'idle', backend: 'wasm', probe: [],
        samplesPerSec: null, localLoss: null, numTensors: tf.memory().numTensors, error: null,
      });
    }
  }, 2000);

  try {
    await fed.start({ ...config, clients: opts.clients });
    for (let i = 0; i < opts.clients; i++) {
      const id = `node-${i}`;
      clients.push({ id, net: buildModel(config.model), data: null, controls: new Map(), colluders: channelColluders(new BroadcastChannel(`${CHANNEL_NAME}/colluders`)) });
      fed.register({ v: PROTOCOL_VERSION, type: 'register', clientId: id, kind: 'node', backend: 'wasm', probe: [], userAgent: `node ${process.version}` });
    }
    let printed = 0;
    for (;;) {
      const status = fed.status();
      // Not `onRound?.(history[printed++])`: an optional call skips its arguments, so printed would never move.
      for (; printed < status.history.length; printed++) opts.onRound?.(status.history[printed], status);
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

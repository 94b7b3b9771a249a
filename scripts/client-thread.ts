// One of the Node runtime's client threads (client-thread-pool.ts): a wasm backend, one model, the run's datasets
// shared with the other threads (SharedArrayBuffer, never copied), and one job at a time from the pool.
import * as tf from '@tensorflow/tfjs';
import { parentPort, workerData } from 'node:worker_threads';
import type { FederationConfig } from '../src/shared/config';
import type { Dataset } from '../src/shared/data/dataset-store';
import { loadRunDataset } from '../src/shared/data/run-dataset';
import type { DatasetName } from '../src/shared/dataset-manifest';
import { buildRunModel } from '../src/shared/ml/models';
import { ensureRunModel, setPretrainedLoader } from '../src/shared/ml/pretrained-store';
import { evaluateOn, fitOn } from './client-jobs';
import { collectGarbageIfGrown } from './collect-garbage';
import type { ThreadReply, ThreadRequest } from './client-thread-pool';
import { loadOrPretrain } from './pretrained';
import { initBackend } from './wasm-backend';

const port = parentPort!;
const shared = (workerData as { datasets: Partial<Record<DatasetName, Dataset>> }).datasets;
let current: { key: string; net: tf.LayersModel; dataset: Dataset } | null = null;

/** The run's model and dataset, made when the first job of a run comes (a run has one config). */
async function forRun(cfg: FederationConfig): Promise<{ net: tf.LayersModel; dataset: Dataset }> {
  const key = JSON.stringify(cfg);
  if (current?.key === key) return current;
  await ensureRunModel(cfg);
  const dataset = await loadRunDataset(cfg, (name) => {
    const d = shared[name];
    if (!d) throw new Error(`client thread: dataset ${name} was not shared with it`);
    return d;
  });
  current?.net.dispose();
  current = { key, net: buildRunModel(cfg), dataset };
  return current;
}

async function handle(req: ThreadRequest): Promise<ThreadReply> {
  try {
    const { net, dataset } = await forRun(req.job.msg.config);
    if (req.kind === 'fit') {
      const result = await fitOn(net, dataset, req.job, null);
      return { id: req.id, ok: true, kind: 'fit', result };
    }
    return { id: req.id, ok: true, kind: 'eval', result: await evaluateOn(net, dataset, req.job) };
  } catch (e) {
    return { id: req.id, ok: false, error: e instanceof Error ? (e.stack ?? e.message) : String(e) };
  }
}

setPretrainedLoader(loadOrPretrain);
await initBackend();
let queue = Promise.resolve();
port.on('message', (req: ThreadRequest) => {
  queue = queue.then(async () => {
    const reply = await handle(req);
    port.postMessage(reply);
    collectGarbageIfGrown();
  });
});
port.postMessage({ ready: true });

// Where the Node runtime's peak memory goes on disco-compare's task:
//   npx tsx --expose-gc --max-semi-space-size=2 scripts/disco/memory-probe.ts [K] [client threads beside the coordinator's]
// (the young generation `npm run federate` runs with). Samples process.memoryUsage() and the wasm heap every 100 ms during one federation (the same config as
// disco-compare's fedtab row) and prints each stage's numbers and the peaks. Diagnostic only: it is not timed.
import * as tf from '@tensorflow/tfjs';
import { resolveConfig } from '../../src/shared/config';
import { initBackend, runInProcess } from '../node-runtime';
import { loadDatasetFromDisk } from '../node-dataset';

const K = Number(process.argv[2] ?? 4);
const threads = Number(process.argv[3] ?? 0);
const MB = (b: number) => (b / 2 ** 20).toFixed(0).padStart(5);
const wasmHeap = (): number => {
  try {
    const b = tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } };
    return b.wasm?.HEAPU8?.byteLength ?? 0;
  } catch {
    return 0;
  }
};
const snap = () => ({ ...process.memoryUsage(), wasm: wasmHeap() });
type Snap = ReturnType<typeof snap>;
const line = (what: string, s: Snap) =>
  console.log(`${what.padEnd(34)} rss ${MB(s.rss)}  heapUsed ${MB(s.heapUsed)}  heapTotal ${MB(s.heapTotal)}  external ${MB(s.external)}  arrayBuffers ${MB(s.arrayBuffers)}  wasm heap ${MB(s.wasm)} MB`);

line('after imports', snap());
await initBackend();
line('after initBackend (wasm)', snap());
loadDatasetFromDisk('mnist');
line('after loading MNIST from disk', snap());
globalThis.gc?.();
line('  … after a full GC (--expose-gc)', snap());

const peak: Snap = snap();
const timer = setInterval(() => {
  const s = snap();
  for (const k of Object.keys(peak) as Array<keyof Snap>) peak[k] = Math.max(peak[k], s[k]);
}, 100);
const config = resolveConfig({
  dataset: 'mnist', model: 'cnn-s', partition: 'iid', maxSamples: 1500, localEval: 0.1, rounds: 5, epochs: 1, batchSize: 32, lr: 0.1,
  seed: 1, evalSamples: 2000, evalEvery: 5, clients: K,
});
const r = await runInProcess({ config, clients: K, timeoutMs: 30 * 60_000, threads });
clearInterval(timer);
line('at the end of the federation', snap());
line(`peaks during it (K = ${K})`, peak);
console.log(`process.resourceUsage().maxRSS ${MB(process.resourceUsage().maxRSS * 1024)} MB; tf.memory() ${MB(tf.memory().numBytes)} MB in ${tf.memory().numTensors} tensors; ` +
  `final accuracy ${r.status.history.at(-1)?.accuracy?.toFixed(4)}; ${r.wallSeconds.toFixed(1)} s; models built ${r.modelsBuilt}`);
process.exit(0);

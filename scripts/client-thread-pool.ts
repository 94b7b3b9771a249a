// The Node runtime's worker_threads pool: N threads, each with one model, and the coordinator's own thread with one
// more, train and evaluate whichever virtual clients the rounds select, one job at a time each, in the order jobs
// come. A job's result depends only on the job (its weights, slot, seed), and the coordinator aggregates in slot
// order, so a seeded run gives the same bits with 1 thread or 8.
import { mkdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { LocalEvaluation } from '../src/client/local-round';
import type { Dataset } from '../src/shared/data/dataset-store';
import type { DatasetName } from '../src/shared/dataset-manifest';
import type { EvalJob, FitJob, FitResult, JobRunner } from './client-jobs';

export type ThreadRequest = { id: number; kind: 'fit'; job: FitJob } | { id: number; kind: 'eval'; job: EvalJob };
export type ThreadReply =
  | { id: number; ok: true; kind: 'fit'; result: FitResult }
  | { id: number; ok: true; kind: 'eval'; result: LocalEvaluation }
  | { id: number; ok: false; error: string };

/**
 * The thread's code as one plain JS file (our TypeScript bundled, packages left to node_modules): worker threads do
 * not inherit tsx's loader, and registering it in each thread costs every thread a loader thread of its own. Written
 * one level under the repository root, so the `../public/…` paths the modules resolve from import.meta.url hold;
 * one file per process, so runs side by side do not overwrite each other's.
 */
async function bundleClientThread(): Promise<URL> {
  const dir = new URL('../.cache/', import.meta.url);
  mkdirSync(dir, { recursive: true });
  const out = new URL(`client-thread-${process.pid}.mjs`, dir);
  const { build } = await import('esbuild');
  await build({
    entryPoints: [new URL('./client-thread.ts', import.meta.url).pathname],
    bundle: true,
    platform: 'node',
    format: 'esm',
    packages: 'external',
    plugins: [slimTfjs],
    // The bundled tfjs is CommonJS and requires its other packages: give the ES module a require.
    banner: { js: "import { createRequire as __fedtabRequire } from 'node:module'; const require = __fedtabRequire(import.meta.url);" },
    outfile: out.pathname,
    logLevel: 'warning',
  });
  return out;
}

/**
 * tfjs without the parts a client thread never runs: `@tensorflow/tfjs` (its Node build, which registers the
 * gradients and chained ops) is bundled, and the WebGL backend, the graph-model converter and tfjs-data it requires
 * become empty modules. About 20 MB less per thread; core, layers and the cpu backend (which wasm builds on) stay.
 */
const SLIM = /^@tensorflow\/tfjs-(backend-webgl|converter|data)$/;
const slimTfjs: import('esbuild').Plugin = {
  name: 'slim-tfjs',
  setup(b) {
    b.onResolve({ filter: /^@tensorflow\/tfjs$/ }, () => ({ path: createRequire(import.meta.url).resolve('@tensorflow/tfjs') }));
    b.onResolve({ filter: SLIM }, (a) => ({ path: a.path, namespace: 'slim-tfjs' }));
    b.onLoad({ filter: /.*/, namespace: 'slim-tfjs' }, () => ({ contents: 'module.exports = {};', loader: 'js' }));
  },
};

/**
 * The threads' young generation, in MB (V8's default is 16–48): a client thread's short-lived objects are small, its
 * tensors live in the wasm heap, and a big nursery is only resident memory (measured on disco-compare's task at K = 4:
 * the default costs a thread about 30 MB more, at no gain in speed).
 */
const YOUNG_MB = 6;

interface Pending {
  req: ThreadRequest;
  resolve: (r: FitResult | LocalEvaluation) => void;
  reject: (e: Error) => void;
}

/** Something that runs one job at a time: a client thread, or the coordinator's thread. */
type Trainer = (req: ThreadRequest) => Promise<FitResult | LocalEvaluation>;

/**
 * Starts `threads` client threads over the datasets a run uses, beside `local`, the coordinator's thread's runner
 * (one model), which takes jobs too: a thread costs 60–100 MB (its V8 heap, tfjs, its wasm heap), so N cores need
 * only N − 1 of them. The datasets' bytes must live in SharedArrayBuffers (node-dataset.ts loads them so): every
 * thread reads the same memory, nothing is copied.
 */
export async function threadPoolRunner(threads: number, datasets: Partial<Record<DatasetName, Dataset>>, local: JobRunner): Promise<JobRunner> {
  for (const [name, d] of Object.entries(datasets)) {
    for (const part of [d.train.images, d.train.labels, d.test.images, d.test.labels]) {
      if (!(part.buffer instanceof SharedArrayBuffer)) throw new Error(`client threads: ${name}'s bytes are not shared (load it with loadDatasetFromDisk)`);
    }
  }
  const entry = await bundleClientThread();
  const queue: Pending[] = [];
  const idle: Trainer[] = [];
  let failure: Error | null = null;
  let nextId = 1;
  let closing = false;

  const pump = () => {
    while (idle.length && queue.length && !failure) {
      const run = idle.shift()!;
      const p = queue.shift()!;
      run(p.req).then(p.resolve, p.reject).finally(() => {
        idle.push(run);
        pump();
      });
    }
  };
  const fail = (e: Error) => {
    failure ??= e;
    for (const p of queue) p.reject(failure);
    queue.length = 0;
  };
  const workers = await Promise.all(
    Array.from({ length: threads }, (_, i) => {
      const w = new Worker(entry, { workerData: { datasets }, name: `fedtab client thread ${i + 1}`, resourceLimits: { maxYoungGenerationSizeMb: YOUNG_MB } });
      return new Promise<Worker>((resolve, reject) => {
        w.once('message', () => resolve(w)); // its first message says it is ready
        w.once('error', reject);
      });
    }),
  );
  for (const w of workers) {
    // One job at a time per thread, so the reply that comes is the job's; a thread that dies fails the job it holds.
    let current: { resolve: Pending['resolve']; reject: Pending['reject'] } | null = null;
    const died = (e: Error) => {
      current?.reject(e);
      current = null;
      fail(e);
    };
    w.on('message', (r: ThreadReply) => {
      const p = current;
      current = null;
      if (!p) return;
      if (r.ok) p.resolve(r.result);
      else p.reject(new Error(`client thread: ${r.error}`));
    });
    w.on('error', (e) => died(e instanceof Error ? e : new Error(String(e))));
    w.on('exit', (code) => void (closing || died(new Error(`a client thread exited (code ${code})`))));
    idle.push((req) =>
      new Promise((resolve, reject) => {
        if (failure) return reject(failure);
        current = { resolve, reject };
        w.postMessage(req);
      }),
    );
  }
  // ALIE's colluders cannot run in the pool (threadsRefusal), so the coordinator's thread trains without them too.
  idle.push((req) => (req.kind === 'fit' ? local.fit(req.job, null) : local.evaluate(req.job)));
  const submit = <T extends FitResult | LocalEvaluation>(req: ThreadRequest): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      if (failure) return reject(failure);
      queue.push({ req, resolve: resolve as Pending['resolve'], reject });
      pump();
    });
  return {
    fit: (job) => submit<FitResult>({ id: nextId++, kind: 'fit', job }),
    evaluate: (job) => submit<LocalEvaluation>({ id: nextId++, kind: 'eval', job }),
    modelsBuilt: () => workers.length + local.modelsBuilt(),
    close: async () => {
      closing = true;
      await Promise.all(workers.map((w) => w.terminate()));
      await local.close();
      rmSync(entry, { force: true });
    },
  };
}

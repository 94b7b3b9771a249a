// The Node runtime's worker_threads pool: N threads (one per core by default), each with one model, train and
// evaluate whichever virtual clients the rounds select, one job at a time each, in the order jobs come. A job's
// result depends only on the job (its weights, slot, seed), and the coordinator aggregates in slot order, so a seeded
// run gives the same bits with 1 thread or 8.
import { mkdirSync, rmSync } from 'node:fs';
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
  await build({ entryPoints: [new URL('./client-thread.ts', import.meta.url).pathname], bundle: true, platform: 'node', format: 'esm', packages: 'external', outfile: out.pathname, logLevel: 'warning' });
  return out;
}

interface Pending {
  req: ThreadRequest;
  resolve: (r: FitResult | LocalEvaluation) => void;
  reject: (e: Error) => void;
}

/**
 * Starts `threads` client threads over the datasets a run uses. Their bytes must live in SharedArrayBuffers
 * (node-dataset.ts loads them so): every thread reads the same memory, nothing is copied.
 */
export async function threadPoolRunner(threads: number, datasets: Partial<Record<DatasetName, Dataset>>): Promise<JobRunner> {
  for (const [name, d] of Object.entries(datasets)) {
    for (const part of [d.train.images, d.train.labels, d.test.images, d.test.labels]) {
      if (!(part.buffer instanceof SharedArrayBuffer)) throw new Error(`client threads: ${name}'s bytes are not shared (load it with loadDatasetFromDisk)`);
    }
  }
  const entry = await bundleClientThread();
  const queue: Pending[] = [];
  const idle: Worker[] = [];
  const busy = new Map<Worker, Pending>();
  let failure: Error | null = null;
  let nextId = 1;
  let closing = false;

  const pump = () => {
    while (idle.length && queue.length) {
      const w = idle.shift()!;
      const p = queue.shift()!;
      busy.set(w, p);
      w.postMessage(p.req);
    }
  };
  const fail = (e: Error) => {
    failure ??= e;
    for (const p of [...queue, ...busy.values()]) p.reject(failure);
    queue.length = 0;
    busy.clear();
  };
  const workers = await Promise.all(
    Array.from({ length: threads }, (_, i) => {
      const w = new Worker(entry, { workerData: { datasets }, name: `fedtab client thread ${i + 1}` });
      return new Promise<Worker>((resolve, reject) => {
        w.once('message', () => resolve(w)); // its first message says it is ready
        w.once('error', reject);
      }).then((ready) => {
        ready.on('message', (r: ThreadReply) => {
          const p = busy.get(ready);
          busy.delete(ready);
          idle.push(ready);
          if (p) {
            if (r.ok) p.resolve(r.result);
            else p.reject(new Error(`client thread: ${r.error}`));
          }
          pump();
        });
        ready.on('error', (e) => fail(e instanceof Error ? e : new Error(String(e))));
        ready.on('exit', (code) => void (closing || fail(new Error(`a client thread exited (code ${code})`))));
        idle.push(ready);
        return ready;
      });
    }),
  );
  const submit = <T extends FitResult | LocalEvaluation>(req: ThreadRequest): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      if (failure) return reject(failure);
      queue.push({ req, resolve: resolve as Pending['resolve'], reject });
      pump();
    });
  return {
    // ALIE's colluders cannot run here (threadsRefusal): the pool trains every job without them.
    fit: (job) => submit<FitResult>({ id: nextId++, kind: 'fit', job }),
    evaluate: (job) => submit<LocalEvaluation>({ id: nextId++, kind: 'eval', job }),
    modelsBuilt: () => workers.length,
    close: async () => {
      closing = true;
      await Promise.all(workers.map((w) => w.terminate()));
      rmSync(entry, { force: true });
    },
  };
}

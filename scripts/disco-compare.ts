// npm run disco-compare -- [--disco DIR] [options]: fedtab's Node runtime against DISCO (epfml/disco) on the same
// federated task, side by side and interleaved, each run its own child process under GNU time. See
// scripts/disco/README.md for what the patch changes, the mapping of settings and the numbers.
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveConfig } from '../src/shared/config';
import { slotSplit } from '../src/shared/run-plan';
import { loadDatasetFromDisk } from './node-dataset';
import {
  DISCO_COMMIT, USAGE, arrangeForDisco, formatTable, parseCompareArgs, parseGnuTime, splitArgs, summarize,
  type CompareOptions, type DiscoModel, type RunRecord,
} from './disco/compare-lib';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const PATCH = join(ROOT, 'scripts/disco/disco-wasm.patch');
const TSX = join(ROOT, 'node_modules/.bin/tsx');
const KERNELS = ['kernel-registry.ts', 'conv2d-backprop-filter.ts', 'conv2d-backprop-input.ts', 'batch-matmul.ts', 'max-pool-grad.ts'];
const say = (s: string) => console.log(`[disco-compare] ${s}`);

function sh(cmd: string, args: string[], cwd: string, what: string): void {
  say(`${what}: ${cmd} ${args.join(' ')}  (in ${cwd})`);
  const r = spawnSync(cmd, args, { cwd, stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`${what} failed (exit ${r.status}): ${cmd} ${args.join(' ')}`);
}
const git = (dir: string, ...args: string[]) => spawnSync('git', ['-C', dir, ...args], { encoding: 'utf8' });

/** A DISCO checkout at the pinned commit (cloned into the cache when --disco is not given), patched, installed, built. */
function prepareDisco(opts: CompareOptions): string {
  const dir = resolve(opts.disco ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'fedtab', `disco-${DISCO_COMMIT.slice(0, 10)}`));
  if (!existsSync(join(dir, '.git'))) {
    if (opts.disco) throw new Error(`--disco ${dir} is not a git checkout of DISCO`);
    mkdirSync(dirname(dir), { recursive: true });
    sh('git', ['clone', opts.discoRepo, dir], ROOT, `cloning DISCO into ${dir}`);
  }
  const head = git(dir, 'rev-parse', 'HEAD').stdout.trim();
  if (head !== DISCO_COMMIT) {
    if (opts.disco) say(`warning: ${dir} is at ${head.slice(0, 10)}, the patch is written for ${DISCO_COMMIT.slice(0, 10)}`);
    else sh('git', ['checkout', '--quiet', DISCO_COMMIT], dir, 'checking out the pinned commit');
  }
  // Idempotent: a patch that reverses cleanly is already applied.
  let applied = false;
  if (git(dir, 'apply', '--reverse', '--check', PATCH).status === 0) say('patch already applied');
  else {
    sh('git', ['apply', PATCH], dir, 'applying scripts/disco/disco-wasm.patch');
    applied = true;
  }
  // fedtab's wasm training kernels and DISCO's side of the comparison, copied in (git-ignored there by the patch).
  const kdir = join(dir, 'cli/src/fedtab-kernels');
  mkdirSync(kdir, { recursive: true });
  for (const k of KERNELS) copyFileSync(join(ROOT, 'src/kernels', k), join(kdir, k));
  copyFileSync(join(ROOT, 'scripts/disco/disco-side.ts'), join(dir, 'cli/src/fedtab-disco-side.ts'));

  const installed = existsSync(join(dir, 'node_modules/@tensorflow/tfjs-backend-wasm/package.json'));
  const built = ['discojs', 'discojs-node', 'server'].every((p) => existsSync(join(dir, p, 'dist/index.js')));
  if (!installed || !built || applied) {
    if (!opts.install) throw new Error(`${dir} is not installed and built; run without --no-install`);
    if (!installed) {
      say('installing DISCO\'s dependencies from the npm registry (needs network; offline, this step fails: run it where the registry is reachable)');
      // --ignore-scripts: @koush/wrtc, node-datachannel and sharp 0.32 download prebuilt binaries in their install scripts.
      sh('npm', ['install', '--ignore-scripts', '--no-audit', '--no-fund'], dir, 'npm install');
      // DISCO's lock keeps sharp 0.32.6 (binary download) under transformers.js despite the patch's override; without
      // it transformers.js resolves the 0.33.5 that discojs-node uses, prebuilt from the registry.
      rmSync(join(dir, 'node_modules/@xenova/transformers/node_modules/sharp'), { recursive: true, force: true });
    }
    for (const p of ['discojs', 'discojs-node', 'server']) sh('npm', ['run', 'build', '-w', p], dir, `building ${p}`);
  }
  return dir;
}

/** fedtab's partitions (its own slotSplit), written as DISCO's side reads them, in an order DISCO's split respects. */
function writeDiscoData(opts: CompareOptions, clients: number, dir: string): { ratio: number } {
  const ds = loadDatasetFromDisk('mnist');
  const cfg = resolveConfig({ dataset: 'mnist', partition: 'iid', maxSamples: opts.maxSamples, localEval: opts.localEval, seed: opts.seed, clients });
  const px = 28 * 28;
  let ratio = opts.localEval;
  for (let k = 0; k < clients; k++) {
    const { train, eval: held } = slotSplit(ds.train.labels, ds.numClasses, cfg, clients, k);
    const arranged = arrangeForDisco([...train], [...held]);
    ratio = arranged.ratio;
    const images = new Uint8Array(arranged.order.length * px);
    arranged.order.forEach((idx, i) => images.set(ds.train.images.subarray(idx * px, (idx + 1) * px), i * px));
    writeFileSync(join(dir, `client-${k}-images.u8`), images);
    writeFileSync(join(dir, `client-${k}-labels.u8`), Uint8Array.from(arranged.order, (idx) => ds.train.labels[idx]!));
  }
  writeFileSync(join(dir, 'test-images.u8'), ds.test.images.subarray(0, opts.evalSamples * px));
  writeFileSync(join(dir, 'test-labels.u8'), ds.test.labels.subarray(0, opts.evalSamples));
  return { ratio };
}

/** Runs one child under GNU time; its output goes to logFile. */
function timed(cmd: string, args: string[], cwd: string, logFile: string, timeoutMs: number): Promise<{ code: number; maxRssBytes: number; elapsedSeconds: number }> {
  return new Promise((resolveRun, reject) => {
    const timeFile = `${logFile}.time`;
    const child = spawn('/usr/bin/time', ['-v', '-o', timeFile, cmd, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => chunks.push(b));
    child.stderr.on('data', (b: Buffer) => chunks.push(b));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      writeFileSync(logFile, Buffer.concat(chunks));
      const t = existsSync(timeFile) ? parseGnuTime(readFileSync(timeFile, 'utf8')) : null;
      if (!t) return reject(new Error(`no GNU time report for ${cmd} (see ${logFile})`));
      resolveRun({ code: code ?? -1, ...t });
    });
  });
}

async function main(): Promise<number> {
  let opts: CompareOptions | null;
  try {
    opts = parseCompareArgs(process.argv.slice(2));
  } catch (e) {
    console.error(`error: ${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (!opts) {
    console.log(USAGE);
    return 0;
  }
  if (opts.summarize.length) {
    const inputs = opts.summarize.map((f) => ({ file: f, ...(JSON.parse(readFileSync(f, 'utf8')) as { runs: RunRecord[]; command?: string; createdAt?: string; options?: unknown; discoCommit?: string; node?: string }) }));
    const runs = inputs.flatMap((i) => i.runs);
    const rows = summarize(runs);
    console.log(formatTable(rows));
    const sources = inputs.map(({ file, command, createdAt, options, discoCommit, node }) => ({ file, command, createdAt, discoCommit, node, options }));
    if (opts.out) writeFileSync(opts.out, JSON.stringify({ tool: 'disco-compare', sources, runs, summary: rows, table: formatTable(rows) }, null, 2));
    return 0;
  }
  if (!existsSync('/usr/bin/time')) throw new Error('needs GNU time at /usr/bin/time (apt-get install time)');
  const disco = prepareDisco(opts);
  const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
  const out = resolve(opts.out ?? join(ROOT, `results/disco-compare-${stamp}.json`));
  const logDir = out.replace(/\.json$/i, '') + '-logs';
  mkdirSync(logDir, { recursive: true });
  const tmp = mkdtempSync(join(tmpdir(), 'fedtab-disco-'));
  const timeoutMs = opts.timeoutMin * 60_000;
  const runs: RunRecord[] = [];
  const o = opts;
  say(`DISCO at ${disco}; logs in ${logDir}; data for DISCO in ${tmp} (removed at the end)`);
  try {
    const ratios = new Map<number, number>();
    for (const k of o.clients) {
      const dir = join(tmp, `k${k}`);
      mkdirSync(dir);
      ratios.set(k, writeDiscoData(o, k, dir).ratio);
    }
    const fedtabRun = async (k: number, variant: string, repeat: number) => {
      const file = join(logDir, `fedtab-k${k}-${variant.replace(/[^\w]+/g, '_') || 'default'}-r${repeat}.json`);
      const args = [
        'run', '-s', 'federate', '--', '--runtime', 'node', '--clients', String(k), '--dataset', 'mnist', '--model', 'cnn-s',
        '--partition', 'iid', '--max-samples', String(o.maxSamples), '--local-eval', String(o.localEval), '--rounds', String(o.rounds),
        '--epochs', String(o.epochs), '--batch-size', String(o.batchSize), '--lr', String(o.lr), '--seed', String(o.seed),
        '--eval-samples', String(o.evalSamples), '--eval-every', String(o.rounds), '--algorithm', 'fedavg', '--out', file,
        ...splitArgs(variant),
      ];
      const t = await timed('npm', args, ROOT, file.replace(/\.json$/, '.log'), timeoutMs);
      if (t.code !== 0) throw new Error(`fedtab run failed (exit ${t.code}), see ${file.replace(/\.json$/, '.log')}`);
      const j = JSON.parse(readFileSync(file, 'utf8')) as { summary: { wallSeconds: number; finalAccuracy: number } };
      return { federationSeconds: j.summary.wallSeconds, finalTestAccuracy: j.summary.finalAccuracy, ...t };
    };
    const discoRun = async (k: number, model: DiscoModel, repeat: number) => {
      const file = join(logDir, `disco-k${k}-${model}-r${repeat}.json`);
      const specFile = join(tmp, `spec-k${k}-${model}-r${repeat}.json`);
      writeFileSync(specFile, JSON.stringify({
        dataDir: join(tmp, `k${k}`), clients: k, rounds: o.rounds, epochs: o.epochs, batchSize: o.batchSize, lr: o.lr,
        validationSplit: ratios.get(k), model, out: file,
      }));
      const t = await timed(TSX, ['src/fedtab-disco-side.ts', specFile], join(disco, 'cli'), file.replace(/\.json$/, '.log'), timeoutMs);
      if (t.code !== 0) throw new Error(`DISCO run failed (exit ${t.code}), see ${file.replace(/\.json$/, '.log')}`);
      const j = JSON.parse(readFileSync(file, 'utf8')) as { federationSeconds: number; finalTestAccuracy: number };
      return { federationSeconds: j.federationSeconds, finalTestAccuracy: j.finalTestAccuracy, ...t };
    };
    for (let r = 0; r < o.repeats; r++) {
      for (const k of o.clients) {
        // Interleaved, and which system goes first alternates with the repeat.
        const jobs: Array<() => Promise<void>> = [];
        for (const v of o.fedtabArgs) jobs.push(async () => {
          const x = await fedtabRun(k, v, r);
          runs.push({ system: 'fedtab', variant: v, clients: k, repeat: r, federationSeconds: x.federationSeconds, processSeconds: x.elapsedSeconds, maxRssBytes: x.maxRssBytes, finalTestAccuracy: x.finalTestAccuracy });
        });
        const discoJobs = o.discoModels.map((m) => async () => {
          const x = await discoRun(k, m, r);
          runs.push({ system: 'disco', variant: m, clients: k, repeat: r, federationSeconds: x.federationSeconds, processSeconds: x.elapsedSeconds, maxRssBytes: x.maxRssBytes, finalTestAccuracy: x.finalTestAccuracy });
        });
        const order = r % 2 === 0 ? [...jobs, ...discoJobs] : [...discoJobs, ...jobs];
        for (const job of order) {
          await job();
          const last = runs.at(-1)!;
          say(`repeat ${r + 1}/${o.repeats} K=${k} ${last.system} ${last.variant || 'node runtime'}: federation ${last.federationSeconds.toFixed(1)} s, process ${last.processSeconds.toFixed(1)} s, peak ${(last.maxRssBytes / 2 ** 20).toFixed(0)} MB, test acc ${last.finalTestAccuracy.toFixed(4)}`);
          writeFileSync(out, JSON.stringify({ partial: true, options: o, runs }, null, 2));
        }
      }
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  const rows = summarize(runs);
  const table = formatTable(rows);
  console.log(`\nmedians over ${o.repeats} repeats; MNIST IID, ${o.maxSamples} images per client (${o.localEval} held out), ${o.rounds} rounds, E=${o.epochs}, B=${o.batchSize}, lr ${o.lr}, single-threaded wasm; ratios fedtab/DISCO\n`);
  console.log(table);
  writeFileSync(out, JSON.stringify({
    tool: 'disco-compare',
    createdAt: new Date().toISOString(),
    command: `npm run disco-compare -- ${process.argv.slice(2).join(' ')}`.trim(),
    discoCommit: DISCO_COMMIT,
    node: process.version,
    peakMemory: 'max RSS of the child process tree\'s largest process, from GNU time -v (/usr/bin/time)',
    federationTime: 'fedtab: summary.wallSeconds of its run JSON; DISCO: after backend start-up and data loading to the final test evaluation included',
    options: o,
    runs,
    summary: rows,
    table,
  }, null, 2));
  say(`wrote ${out}`);
  return 0;
}

process.exitCode = await main();

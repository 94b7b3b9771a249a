// npm run bench [-- --backends webgpu,wasm] [--quick] [--samples wasm=4096] [--repeats N] [--no-kernel] [--no-aggregation]
//                [--no-auth] [--no-scale] [--only browser,kernel,aggregation,auth,scale]
// Builds the app if its sources changed, serves it with vite preview on 127.0.0.1, and in headless Chromium times
// CNN-S training on MNIST per backend: our trainLocal vs stock model.fit (bench.html, src/bench/bench-page.ts).
// Then, in a Node child process, times our training kernels (Conv2DBackpropFilter, Conv2DBackpropInput, BatchMatMul)
// against the stock ones (src/kernels/kernels.bench.ts), and in another one every aggregation strategy for K = 8, 32 and 128
// clients on CNN-S and CNN-M against a plain copy of the same bytes (src/shared/strategies/aggregation.bench.ts), and in
// a third signing and verifying a round broadcast against one client's training of a default round (scripts/auth.bench.ts).
// Last, whole Node-runtime federations of 1,000 and 10,000 virtual clients, each in a fresh process (scripts/scale.bench.ts).
// Prints the tables and writes everything to results/bench-<timestamp>.json.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from '@playwright/test';
import type { BenchBackendResult, BenchResults, BenchRunOptions } from '../src/bench/bench-page.ts';
import type { KernelTiming } from '../src/kernels/kernels.bench.ts';
import type { BenchOptions as AggregationBenchOptions, BenchRow as AggregationRow } from '../src/shared/strategies/aggregation.bench.ts';
import type { AuthBenchReport } from './auth.bench.ts';
import { formatScaleTable, runScaleBench, type ScaleResult } from './scale.bench.ts';
import type { BackendName } from '../src/shared/config.ts';
import { launchOptions } from './browser.ts';
import { ensureBuilt, serveDist } from './serve.ts';

const ROOT = new URL('..', import.meta.url).pathname;
const ALL: BackendName[] = ['webgpu', 'webgl', 'wasm', 'cpu'];
// Sample counts per timed run, and a time budget per timed run: where the warm-up shows a backend is slower than
// expected (a busy machine), the page uses fewer samples, so the whole bench stays within ~3–4 minutes on 2 cores.
// Each backend costs about 2 warm-up runs + 2 × repeats timed runs.
const SAMPLES: Record<BackendName, number> = { webgpu: 256, webgl: 512, wasm: 2048, cpu: 256 };
const TARGET_RUN_MS: Record<BackendName, number> = { webgpu: 10_000, webgl: 8_000, wasm: 10_000, cpu: 8_000 };
const QUICK_SAMPLES: Record<BackendName, number> = { webgpu: 64, webgl: 128, wasm: 512, cpu: 64 };
const QUICK_TARGET_RUN_MS: Record<BackendName, number> = { webgpu: 5_000, webgl: 3_000, wasm: 3_000, cpu: 2_000 };
const PAGE_TIMEOUT_MS = 15 * 60_000;

class BenchError extends Error {}

const PARTS = ['browser', 'kernel', 'aggregation', 'auth', 'scale'] as const;
type Part = (typeof PARTS)[number];

interface Args {
  backends: BackendName[];
  quick: boolean;
  browser: boolean;
  kernel: boolean;
  aggregation: boolean;
  auth: boolean;
  scale: boolean;
  repeats: number;
  samples: Partial<Record<BackendName, number>>;
}

/** Models and client counts of the aggregation bench. */
const AGGREGATION_MODELS = ['cnn-s', 'cnn-m'] as const;
const AGGREGATION_CLIENTS = [8, 32, 128];
/**
 * Timed rounds per strategy and case: `repeats` on CNN-S, scaled down by size on CNN-M (at least `minRepeats`),
 * and more where the calls are fast, until `minMs`. ~4 min in all on an idle 2-core machine, most of it at K = 128
 * on CNN-M, where Krum, Multi-Krum and Bulyan take 2.6–4.8 s a call (pairs of clients: O(K²·|w|)). At least 4
 * calls a cell: with 2, the CNN-M cells moved by up to ±50% between runs.
 */
function aggregationBenchOptions(quick: boolean): AggregationBenchOptions {
  return quick ? { repeats: 2, minRepeats: 1, minMs: 0 } : { repeats: 8, minRepeats: 4, minMs: 200, maxRepeats: 16 };
}

function usage(): string {
  return [
    'usage: npm run bench -- [--backends webgpu,webgl,wasm,cpu] [--quick] [--samples wasm=4096,...] [--repeats N] [--no-kernel]',
    '                        [--no-aggregation] [--only browser,kernel,aggregation]',
    '  --backends   which backends to time (default: all four; unavailable ones are reported as n/a)',
    `  --quick      smaller sample counts (${ALL.map((b) => `${b} ${QUICK_SAMPLES[b]}`).join(', ')}), a shorter kernel bench`,
    '               and fewer timed rounds in the aggregation bench',
    `  --samples    exact sample counts per backend (default ${ALL.map((b) => `${b} ${SAMPLES[b]}`).join(', ')}, lowered when`,
    '               the warm-up shows a run would overrun its time budget; counts given here are never lowered)',
    '  --repeats N  timed runs per side, alternating which side goes first; the best counts (default 2)',
    '  --no-kernel  skip the Node kernel micro-bench (Conv2DBackpropFilter, Conv2DBackpropInput, BatchMatMul)',
    '  --no-aggregation  skip the Node aggregation bench (every strategy, K = 8, 32 and 128, CNN-S and CNN-M, vs a copy)',
    '  --no-auth    skip the broadcast signing bench (sign + verify vs one client\'s training of a default round)',
    '  --no-scale   skip the scale bench (Node-runtime federations of 1,000 and 10,000 clients, ~3 min)',
    '  --only P,... run only these parts: browser (training in Chromium), kernel, aggregation, auth, scale',
  ].join('\n');
}

function parseArgs(argv: string[]): Args {
  const args: Args = { backends: [...ALL], quick: false, browser: true, kernel: true, aggregation: true, auth: true, scale: true, repeats: 2, samples: {} };
  let only: Part[] | undefined;
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split(/=(.*)/s, 2);
    const value = () => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new BenchError(`${flag} needs a value\n${usage()}`);
      return v;
    };
    if (flag === '--backends') {
      const list = value().split(',').map((s) => s.trim()).filter(Boolean);
      const bad = list.filter((b) => !ALL.includes(b as BackendName));
      if (bad.length || !list.length) throw new BenchError(`--backends: unknown backend ${bad.join(', ') || '(none)'}; choose from ${ALL.join(', ')}`);
      args.backends = [...new Set(list)] as BackendName[];
    } else if (flag === '--samples') {
      for (const item of value().split(',').filter(Boolean)) {
        const [b, v] = item.split('=');
        const k = Number(v);
        if (!ALL.includes(b as BackendName) || !Number.isInteger(k) || k < 32) {
          throw new BenchError(`--samples: expected backend=count (count ≥ 32, e.g. wasm=4096), got ${JSON.stringify(item)}`);
        }
        args.samples[b as BackendName] = k;
      }
    } else if (flag === '--quick') args.quick = true;
    else if (flag === '--no-kernel') args.kernel = false;
    else if (flag === '--no-aggregation') args.aggregation = false;
    else if (flag === '--no-auth') args.auth = false;
    else if (flag === '--no-scale') args.scale = false;
    else if (flag === '--only') {
      const list = value().split(',').map((s) => s.trim()).filter(Boolean);
      const bad = list.filter((p) => !PARTS.includes(p as Part));
      if (bad.length || !list.length) throw new BenchError(`--only: unknown part ${bad.join(', ') || '(none)'}; choose from ${PARTS.join(', ')}`);
      only = list as Part[];
    } else if (flag === '--repeats') {
      args.repeats = Number(value());
      if (!Number.isInteger(args.repeats) || args.repeats < 1) throw new BenchError('--repeats must be a positive integer');
    } else if (flag === '--help' || flag === '-h') {
      console.log(usage());
      process.exit(0);
    } else throw new BenchError(`unknown argument ${argv[i]}\n${usage()}`);
  }
  if (only) for (const part of PARTS) args[part] &&= only.includes(part);
  if (!args.browser && !args.kernel && !args.aggregation && !args.auth && !args.scale) throw new BenchError('nothing to run: every part is switched off');
  return args;
}

const elapsed = (t0: number) => `${((performance.now() - t0) / 1000).toFixed(1)} s`;
const fmt = (v: number | undefined, digits = 1) => (v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(digits));

function table(header: string[], rows: string[][], rightAlign: boolean[]): string {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const line = (cells: string[]) =>
    `| ${cells.map((s, c) => (rightAlign[c] ? s.padStart(widths[c]) : s.padEnd(widths[c]))).join(' | ')} |`;
  const rule = `|${widths.map((w, c) => (rightAlign[c] ? `${'-'.repeat(w + 1)}:` : `:${'-'.repeat(w + 1)}`)).join('|')}|`;
  return [line(header), rule, ...rows.map(line)].join('\n');
}

function trainingTable(results: BenchBackendResult[]): string {
  const rows = results.map((r) => {
    if (!r.available) return [r.backend, '–', 'n/a', 'n/a', '–', '–', '–', r.error ?? 'not available'];
    if (r.error || !r.ours || !r.fit) return [r.backend, String(r.samples ?? '–'), 'ERROR', 'ERROR', '–', '–', '–', r.error ?? 'no result'];
    const leak = r.ours.leakedTensors > 0 ? `ours LEAKS ${r.ours.leakedTensors}` : 'ours 0';
    const fitLeak = r.fit.leakedTensors !== 0 ? `fit ${r.fit.leakedTensors > 0 ? '+' : ''}${r.fit.leakedTensors}` : 'fit 0';
    const losses = `loss ${fmt(r.ours.runs[0]?.loss, 3)} / ${fmt(r.fit.runs[0]?.loss, 3)}`;
    const spread = Math.max(r.ours.spread, r.fit.spread);
    const verdict = r.ratio! >= 1 ? '' : withinNoise(r) ? ' (<1, within noise)' : ' (<1!)';
    return [
      r.backend,
      `${r.samples}${r.requestedSamples ? ` (of ${r.requestedSamples})` : ''}`,
      fmt(r.ours.bestSamplesPerSec),
      fmt(r.fit.bestSamplesPerSec),
      `${fmt(r.ratio, 2)}${verdict}`,
      `${fmt((1000 * r.samples!) / r.ours.bestSamplesPerSec / r.steps!, 0)} / ${fmt((1000 * r.samples!) / r.fit.bestSamplesPerSec / r.steps!, 0)}`,
      `${fmt(100 * spread, 0)}%`,
      `${losses}; Δtensors ${leak}, ${fitLeak}`,
    ];
  });
  return table(
    ['backend', 'samples', 'ours samples/s', 'model.fit samples/s', 'ratio ours/fit', 'ms/step ours / fit', 'run spread', 'notes (ours / fit)'],
    rows,
    [false, true, true, true, true, true, true, false],
  );
}

/** Whether the gap between the sides is smaller than the run-to-run spread of either side. */
function withinNoise(r: BenchBackendResult): boolean {
  return Math.abs(1 - r.ratio!) <= Math.max(r.ours!.spread, r.fit!.spread);
}

/** What the kernel bench's child process reports: the timings, and their table (formatted there, so tfjs stays out of this process). */
interface KernelBenchReport { timings: KernelTiming[]; table: string }

/** What the aggregation bench's child process reports: its rows and their table, and the models' layer specs. */
interface AggregationBenchReport {
  rows: AggregationRow[];
  table: string;
  models: Array<{ id: string; params: number; layers: number }>;
  options: AggregationBenchOptions;
}

/**
 * Runs one Node bench in a fresh process (this script with --kernel-child or --aggregation-child, and --expose-gc):
 * in this process, after vite and Playwright, the allocation-heavy stock cpu kernels ran up to 4× slower than on
 * their own (V8 heap state), which would inflate the stock/ours ratios; the aggregation strategies allocate as much.
 * The child prints its report as one `<tag> {json}` line on stdout; its stderr (progress) goes to ours.
 */
function runBenchInChild<T>(what: string, flag: string, tag: string, quick: boolean): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', ...process.execArgv, fileURLToPath(import.meta.url), flag, ...(quick ? ['--quick'] : [])], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      const line = out.split('\n').find((l) => l.startsWith(`${tag} `));
      if (code !== 0 || !line) reject(new Error(`${what} process failed (${signal ?? `exit ${code}`})${out ? `: ${out.slice(-500)}` : ''}`));
      else resolve(JSON.parse(line.slice(tag.length + 1)) as T);
    });
  });
}

/** Drops tfjs's "install tfjs-node" banner while `fn` runs; every other warning still shows. */
async function quietTfjs<T>(fn: () => Promise<T>): Promise<T> {
  const warn = console.warn;
  console.warn = (...a: unknown[]) => {
    if (!String(a[0]).includes('tfjs-node')) warn(...a);
  };
  try {
    return await fn();
  } finally {
    console.warn = warn;
  }
}

async function runKernelBench(quick: boolean): Promise<KernelBenchReport> {
  return quietTfjs(async () => {
    const { benchKernels, formatKernelTimings, kernelBenchOptions } = await import('../src/kernels/kernels.bench.ts');
    // The stock cpu Conv2DBackpropFilter takes ~1 s (conv1 shape) and ~11 s (conv2 shape) per call here: these
    // options time the conv2 case on a single call, and with --quick skip it (~30 s in all, ~15 s with --quick).
    const timings = await benchKernels(kernelBenchOptions(quick));
    return { timings, table: formatKernelTimings(timings) };
  });
}

/**
 * The aggregation bench on the models' real layer specs, `layerSpecs(buildModel(id))` (tfjs cpu backend, models
 * disposed before the timing starts), checked against the aggregation bench's own hard-coded `benchLayers`.
 */
async function runAuthBench(quick: boolean): Promise<AuthBenchReport & { table: string }> {
  return quietTfjs(async () => {
    const { benchAuth, formatAuthTable } = await import('./auth.bench.ts');
    const r = await benchAuth(quick ? { clients: [4, 20], repeats: 3, steps: 6 } : {});
    return { ...r, table: formatAuthTable(r) };
  });
}

async function runAggregationBench(quick: boolean): Promise<AggregationBenchReport> {
  const models = await quietTfjs(async () => {
    const tf = await import('@tensorflow/tfjs');
    const { buildModel, layerSpecs } = await import('../src/shared/ml/models.ts');
    await tf.setBackend('cpu');
    return AGGREGATION_MODELS.map((id) => {
      const model = buildModel(id);
      try {
        return { id, layers: layerSpecs(model), params: model.countParams() };
      } finally {
        model.dispose();
      }
    });
  });
  const { benchAggregation, benchLayers, formatBenchTable } = await import('../src/shared/strategies/aggregation.bench.ts');
  for (const m of models) {
    if (JSON.stringify(benchLayers(m.params)) !== JSON.stringify(m.layers)) {
      throw new BenchError(`aggregation.bench.ts benchLayers(${m.params}) no longer matches layerSpecs(buildModel('${m.id}')): ` +
        `${JSON.stringify(m.layers)}`);
    }
  }
  const options = aggregationBenchOptions(quick);
  // benchAggregation reports a case's rows together, once the case is done.
  let last = '';
  let t = performance.now();
  const rows = benchAggregation({
    ...options,
    models: models.map(({ id, layers }) => ({ id, layers })),
    clients: AGGREGATION_CLIENTS,
    onRow: (r) => {
      const key = `${r.model} K=${r.clients}`;
      if (key === last) return;
      last = key;
      console.error(`  aggregation: ${key} (${r.size.toLocaleString('en-US')} params) done in ${elapsed(t)}`);
      t = performance.now();
    },
  });
  return { rows, table: formatBenchTable(rows), models: models.map((m) => ({ id: m.id, params: m.params, layers: m.layers.length })), options };
}

async function runBrowserBench(
  args: Args,
  log: (s: string) => void,
): Promise<{ results: BenchResults; pageErrors: string[]; browserVersion: string }> {
  if (!existsSync(join(ROOT, 'public/datasets/mnist/manifest.json'))) {
    throw new BenchError('public/datasets/mnist is missing: run `npm run datasets` first');
  }
  let server: Awaited<ReturnType<typeof serveDist>> | undefined;
  let browser: Browser | undefined;
  try {
    let t = performance.now();
    await ensureBuilt(log);
    if (!existsSync(join(ROOT, 'dist/bench.html'))) throw new BenchError('vite build did not emit bench.html (check build.rolldownOptions.input in vite.config.ts)');
    log(`build ready in ${elapsed(t)}`);
    server = await serveDist();
    const url = `${server.url}bench.html`;

    let executable = "Playwright's bundled Chromium";
    try {
      const opts = launchOptions();
      executable = opts.executablePath ?? executable;
      browser = await chromium.launch(opts);
    } catch (e) {
      throw new BenchError(`cannot launch Chromium (${executable}): ${e instanceof Error ? e.message.split('\n')[0] : e}\n` +
        'Install Debian chromium (apt-get install chromium) or set CHROMIUM_PATH, or run `npx playwright install chromium`.');
    }
    const browserVersion = browser.version();
    log(`browser: Chromium ${browserVersion}`);
    const page: Page = await browser.newPage();
    const pageErrors: string[] = [];
    let crashed = false;
    page.on('pageerror', (e) => {
      pageErrors.push(e.message);
      log(`page error: ${e.message}`);
    });
    page.on('crash', () => {
      crashed = true;
      log('page crashed');
    });
    page.on('console', (m) => {
      const text = m.text();
      if (text.startsWith('[bench] ')) log(text.slice(8));
      else if (m.type() === 'error' || m.type() === 'warning') log(`page ${m.type()}: ${text}`);
    });

    t = performance.now();
    const res = await page.goto(url);
    if (!res?.ok()) throw new BenchError(`GET ${url}: HTTP ${res?.status()}`);
    await page.waitForFunction(() => !!window.fedtabBench, undefined, { timeout: 60_000 }).catch(() => {
      throw new BenchError(`bench.html did not set window.fedtabBench within 60 s${pageErrors.length ? `: ${pageErrors[0]}` : ''}`);
    });

    const counts = args.quick ? QUICK_SAMPLES : SAMPLES;
    const targets = args.quick ? QUICK_TARGET_RUN_MS : TARGET_RUN_MS;
    const all: BenchResults = { userAgent: '', tfjsVersion: '', dataset: '', model: 'cnn-s', results: [] };
    // One backend per evaluate, so a failure or a crash still leaves the earlier rows.
    for (const backend of args.backends) {
      if (crashed) {
        all.results.push({ backend, available: true, error: 'page crashed earlier' });
        continue;
      }
      const fixed = args.samples[backend];
      const opts: BenchRunOptions = {
        backends: [backend],
        samples: { [backend]: fixed ?? counts[backend] },
        targetRunMs: fixed ? {} : { [backend]: targets[backend] },
        repeats: args.repeats,
        batchSize: 32,
        lr: 0.01,
      };
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new BenchError(`${backend}: no result within ${PAGE_TIMEOUT_MS / 60_000} min`)), PAGE_TIMEOUT_MS);
      });
      try {
        const r = await Promise.race([page.evaluate((o) => window.fedtabBench!.run(o), opts), timeout]);
        Object.assign(all, { ...r, results: [...all.results, ...r.results] });
      } catch (e) {
        const error = e instanceof Error ? e.message.split('\n')[0] : String(e);
        log(`${backend}: ${error}`);
        all.results.push({ backend, available: true, error });
        if (e instanceof BenchError) break;
      } finally {
        clearTimeout(timer);
      }
    }
    log(`browser bench done in ${elapsed(t)}`);
    return { results: all, pageErrors, browserVersion };
  } finally {
    await browser?.close().catch(() => undefined);
    await server?.close().catch(() => undefined);
  }
}

/** CPU ticks from /proc/stat (Linux): busy (user … softirq) and steal; null elsewhere. */
function cpuTicks(): { busy: number; steal: number } | null {
  try {
    const [user, nice, system, , , irq, softirq, steal] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    return { busy: user + nice + system + irq + softirq, steal };
  } catch {
    return null;
  }
}

/**
 * 1-minute load average, sampled every 5 s while the bench runs (the bench itself keeps ~2 cores busy), and on a VM
 * the CPU time its host took back (steal) as a share of the time the guest ran: 20% of it was seen here in runs
 * whose compute-bound cells came out 1.5× slower than an hour before.
 */
function watchLoad(): { stop: () => { start: number; max: number; cores: number; stealShare: number | null } } {
  const start = loadavg()[0];
  const ticks0 = cpuTicks();
  let max = start;
  const timer = setInterval(() => (max = Math.max(max, loadavg()[0])), 5000);
  timer.unref();
  const stealShare = () => {
    const ticks1 = cpuTicks();
    if (!ticks0 || !ticks1) return null;
    const steal = ticks1.steal - ticks0.steal;
    const busy = ticks1.busy - ticks0.busy;
    return busy + steal > 0 ? steal / (busy + steal) : 0;
  };
  return { stop: () => (clearInterval(timer), { start, max, cores: availableParallelism(), stealShare: stealShare() }) };
}

async function main(): Promise<number> {
  const t0 = performance.now();
  const load = watchLoad();
  const args = parseArgs(process.argv.slice(2));
  const log = (s: string) => console.error(`[${elapsed(t0).padStart(7)}] ${s}`);
  if (args.browser) log(`bench: CNN-S on MNIST, batch 32, SGD lr 0.01, backends ${args.backends.join(', ')}${args.quick ? ' (quick)' : ''}`);
  else log(`bench: ${[args.kernel && 'kernel', args.aggregation && 'aggregation', args.auth && 'auth', args.scale && 'scale'].filter(Boolean).join(' and ')} only${args.quick ? ' (quick)' : ''}`);

  const { results, pageErrors, browserVersion } = args.browser
    ? await runBrowserBench(args, log)
    : { results: undefined, pageErrors: [] as string[], browserVersion: undefined };
  let kernel: KernelBenchReport | undefined;
  let kernelError: string | undefined;
  if (args.kernel) {
    const t = performance.now();
    log('Node kernel micro-bench (Conv2DBackpropFilter, Conv2DBackpropInput, BatchMatMul)…');
    try {
      kernel = await runBenchInChild<KernelBenchReport>('kernel bench', '--kernel-child', 'KERNEL_JSON', args.quick);
      log(`kernel bench done in ${elapsed(t)}`);
    } catch (e) {
      kernelError = e instanceof Error ? e.message : String(e);
      log(`kernel bench FAILED: ${kernelError}`);
    }
  }
  let aggregation: AggregationBenchReport | undefined;
  let aggregationError: string | undefined;
  if (args.aggregation) {
    const t = performance.now();
    log(`Node aggregation bench (every strategy, K = ${AGGREGATION_CLIENTS.join(' and ')}, ${AGGREGATION_MODELS.join(' and ')}, vs a copy)…`);
    try {
      aggregation = await runBenchInChild<AggregationBenchReport>('aggregation bench', '--aggregation-child', 'AGGREGATION_JSON', args.quick);
      log(`aggregation bench done in ${elapsed(t)}`);
    } catch (e) {
      aggregationError = e instanceof Error ? e.message : String(e);
      log(`aggregation bench FAILED: ${aggregationError}`);
    }
  }

  let auth: AuthBenchReport & { table: string } | undefined;
  let authError: string | undefined;
  if (args.auth) {
    const t = performance.now();
    log('Node broadcast signing bench (sign + verify a round, vs one client\'s training of a default round)…');
    try {
      auth = await runBenchInChild<AuthBenchReport & { table: string }>('auth bench', '--auth-child', 'AUTH_JSON', args.quick);
      log(`auth bench done in ${elapsed(t)}`);
    } catch (e) {
      authError = e instanceof Error ? e.message : String(e);
      log(`auth bench FAILED: ${authError}`);
    }
  }
  let scale: ScaleResult[] | undefined;
  let scaleError: string | undefined;
  if (args.scale) {
    const t = performance.now();
    log('Node-runtime scale bench (2NN, MNIST, C = 0.01, 3 rounds; 1,000 and 10,000 clients; each case in a fresh process)…');
    try {
      scale = await runScaleBench(log);
      log(`scale bench done in ${elapsed(t)}`);
    } catch (e) {
      scaleError = e instanceof Error ? e.message : String(e);
      log(`scale bench FAILED: ${scaleError}`);
    }
  }

  const loadInfo = load.stop();
  const rows = results?.results ?? [];
  const failed = rows.filter((r) => r.error && r.available);
  const timed = rows.filter((r) => r.available && !r.error);
  const total = elapsed(t0);

  if (results) printTraining(results, browserVersion!, args.repeats, timed);
  const busy = loadInfo.max > loadInfo.cores + 1;
  console.log(`${results ? '' : '\n'}${busy ? 'WARNING: the machine was busy' : 'Machine load'}: 1-min load average ${loadInfo.start.toFixed(1)} at start, up to ` +
    `${loadInfo.max.toFixed(1)} during the run, on ${loadInfo.cores} cores (the bench itself accounts for ~2)` +
    `${busy ? ': other processes competed for the CPU, so the timings (and ratios near 1) are noisy; re-run when idle.' : '.'}` +
    (loadInfo.stealShare === null ? '' : ` CPU steal (time the VM's host took back): ${(100 * loadInfo.stealShare).toFixed(0)}% of the busy time.`));
  if (kernel) {
    console.log(`\nTraining kernels in Node, own process: stock tfjs kernel vs ours, median ms per call (src/kernels/kernels.bench.ts)` +
      `${args.quick ? ';\n--quick skips the stock cpu Conv2DBackpropFilter on conv2\'s shape (~11 s a call)' : ''}:\n`);
    console.log(kernel.table);
  }
  if (aggregation) {
    const o = aggregation.options;
    const rounds = aggregation.rows.map((r) => r.rounds);
    console.log(`\nAggregation in Node, own process (src/shared/strategies/aggregation.bench.ts): fastest aggregate() ` +
      `call in ms and, in brackets, its\nratio to copying the same K client updates (each into a preallocated buffer; fastest of ` +
      `one copy per timed call, in alternation with them; medians in the JSON).\nModels: ${aggregation.models.map((m) => `${m.id.toUpperCase()} ${m.params.toLocaleString('en-US')} params in ${m.layers} tensors`).join(', ')} ` +
      `(layerSpecs(buildModel)). Synthetic updates: a common direction plus\nper-client noise, one client 10× larger; SCAFFOLD gets control ` +
      `deltas and FLTrust a server update. One warm-up call, then ${Math.min(...rounds)}–${Math.max(...rounds)} timed call(s) per cell` +
      `${o.minMs ? ` (≥ ${o.minMs} ms of calls where fast)` : ''}.\n`);
    console.log(aggregation.table);
  }
  if (auth) {
    console.log(`\nSigned broadcasts in Node, own process (scripts/auth.bench.ts): median ms to sign a round message (SHA-256 of the ` +
      `header and weights, then one HMAC-SHA-256\nper client) and to verify one client's MAC, and their sum as a share of one client's ` +
      `training of a default round (CNN-S, E = 1, B = 16, 1,350 samples:\n${auth.roundTrainMs.toFixed(0)} ms, ${auth.stepMs.toFixed(1)} ms a step, ` +
      `timed in the same process on wasm). CNN-M rounds train ~7× longer, so its shares are overstated.\n`);
    console.log(auth.table);
  }
  if (scale) {
    console.log(`\nScale: whole federations in the Node runtime (scripts/scale.bench.ts), each in a fresh process: 2NN on MNIST, IID over all` +
      `\n60,000 training images (60 a client at 1,000, 6 at 10,000), C = 0.01 (10 or 100 clients a round), E = 1, B = 10, 3 rounds, test` +
      `\naccuracy on the first 1,000 test images; peak RSS of the whole process (every thread), RSS as each round's record came in.\n`);
    console.log(formatScaleTable(scale));
  }

  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  mkdirSync(join(ROOT, 'results'), { recursive: true });
  const file = join(ROOT, 'results', `bench-${stamp}.json`);
  writeFileSync(file, `${JSON.stringify({
    date: new Date().toISOString(), args, load: loadInfo, totalSeconds: (performance.now() - t0) / 1000, browserVersion, browser: results, pageErrors,
    kernel: kernel?.timings ?? [], kernelError,
    aggregation: aggregation ? { models: aggregation.models, options: aggregation.options, rows: aggregation.rows } : undefined, aggregationError,
    auth: auth ? { roundTrainMs: auth.roundTrainMs, stepMs: auth.stepMs, rows: auth.rows } : undefined, authError,
    scale, scaleError,
  }, null, 2)}\n`);
  console.log(`\nresults: ${file.slice(ROOT.length)}   total time: ${total}`);

  if (args.browser && !timed.length && !failed.length) {
    console.error('bench: none of the requested backends is available in this browser');
    return 1;
  }
  if (failed.length || pageErrors.length || kernelError || aggregationError || authError || scaleError) {
    const why = [
      ...failed.map((r) => `${r.backend}: ${r.error}`),
      ...pageErrors.map((e) => `page error: ${e}`),
      ...(kernelError ? [`kernel bench: ${kernelError}`] : []),
      ...(aggregationError ? [`aggregation bench: ${aggregationError}`] : []),
      ...(authError ? [`auth bench: ${authError}`] : []),
      ...(scaleError ? [`scale bench: ${scaleError}`] : []),
    ];
    console.error(`bench: FAILED: ${why.join('; ')}`);
    return 1;
  }
  return 0;
}

function printTraining(results: BenchResults, browserVersion: string, repeats: number, timed: BenchBackendResult[]): void {
  const rows = results.results;
  console.log(`\nTraining throughput, CNN-S on MNIST (headless Chromium ${browserVersion}, tfjs ${results.tfjsVersion || '?'})`);
  console.log(`Same init, same first-N MNIST train samples, batch 32, SGD lr 0.01, 1 epoch; fit: shuffle, verbose 0, softmaxCrossEntropy on logits.`);
  console.log(`Each side: one warm-up run (64 samples), then ${repeats} timed run(s) alternating which side goes first; best run shown.`);
  console.log(`run spread: (slowest − fastest)/fastest over one side's timed runs, the larger of the two sides.\n`);
  console.log(trainingTable(rows));
  for (const r of timed) {
    if (r.ours!.leakedTensors > 0) console.log(`WARNING: ${r.backend}: our loop left ${r.ours!.leakedTensors} more tensors after a run than before it (leak)`);
    if (r.ratio! < 1) {
      console.log(`NOTE: ${r.backend}: model.fit was faster than our loop (ratio ${r.ratio!.toFixed(3)}; runs of one side differed by up to ` +
        `${(100 * Math.max(r.ours!.spread, r.fit!.spread)).toFixed(0)}%${withinNoise(r) ? ', so the gap is within noise' : ''})`);
    }
  }
}

const childQuick = process.argv.includes('--quick');
(process.argv.includes('--kernel-child')
  ? runKernelBench(childQuick).then((r) => (console.log(`KERNEL_JSON ${JSON.stringify(r)}`), 0))
  : process.argv.includes('--aggregation-child')
    ? runAggregationBench(childQuick).then((r) => (console.log(`AGGREGATION_JSON ${JSON.stringify(r)}`), 0))
    : process.argv.includes('--auth-child')
      ? runAuthBench(childQuick).then((r) => (console.log(`AUTH_JSON ${JSON.stringify(r)}`), 0))
      : main()
).then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(`bench: ${e instanceof BenchError ? e.message : e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    process.exit(1);
  },
);

// npm run experiment -- <experiments/NAME.json> [options]: a grid of federated runs (strategies × axes × seeds),
// one JSON per run, then a summary (Markdown, CSV, SVG) with mean ± std over seeds and paired differences to the
// baseline. Runs already on disk with the same config are reused, so an interrupted grid resumes where it stopped.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { resolveConfig } from '../src/shared/config';
import type { RoundRecord } from '../src/shared/status';
import { MAX_THREADS } from './thread-count';
import { parseSpec, planRuns, type ExperimentSpec, type PlannedRun } from './experiment/grid';
import { checkClaims, claimsMarkdown } from './experiment/claims';
import { IMBALANCE_KEYS, TRAFFIC_KEYS, plotSvg, summarize, toCsv, toMarkdown, trafficSvg, type RunRecord } from './experiment/summary';

export interface RunFile {
  id: string;
  cell: string;
  group: string;
  strategy: string;
  seed: number;
  labels: Record<string, string>;
  runtime: 'node' | 'browser';
  config: PlannedRun['config'];
  clients: number;
  wallSeconds: number;
  /** The run's global training class counts (which classes are head and tail); absent in runs from before it was stored. */
  trainClassCounts?: number[] | null;
  history: RoundRecord[];
}

type RunOutcome = Pick<RunFile, 'history' | 'wallSeconds' | 'trainClassCounts'>;

const USAGE = `usage: npm run experiment -- <experiment.json> [options]
  --jobs N          runs in parallel, each in its own process (default: min(2, cores); browser runtime: 1)
  --runtime R       override the file's runtime: node (in-process virtual clients) or browser (headless Chromium tabs)
  --threads N       node runtime: client threads per run beside its coordinator's thread, which trains too
                    (default 0: --jobs runs side by side use the cores; results are the same bits either way)
  --runs DIR        per-run JSON folder (default results/experiments/<name>)
  --summary DIR     where summary.md, summary.csv, plot.svg and curves.json go (default docs/results/<name>)
  --only TEXT       run only the runs whose id contains TEXT (the summary still covers every run on disk)
  --summary-only    do not run anything; summarise the runs on disk
  --shard K/N       (internal) run every N-th planned run starting at K`;

async function runOne(spec: ExperimentSpec, run: PlannedRun, runtime: 'node' | 'browser', threads: number): Promise<RunOutcome> {
  const timeoutMs = (spec.timeoutMin ?? 30) * 60_000;
  const r =
    runtime === 'node'
      ? await (await import('./node-runtime')).runInProcess({ config: run.config, clients: spec.clients, timeoutMs, threads })
      : await (await import('./federation-runner')).runFederation({ config: run.config, tabs: spec.clients, workers: 0, timeoutMs, log: () => {} });
  return { history: r.status.history, wallSeconds: r.wallSeconds, trainClassCounts: r.status.trainClassCounts };
}

function readRun(file: string): RunFile | null {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as RunFile;
  } catch {
    return null;
  }
}

/** A stored run counts as done when its config resolves to the planned one (keys added since take their defaults). */
function sameConfig(stored: unknown, planned: unknown): boolean {
  try {
    return JSON.stringify(resolveConfig(stored)) === JSON.stringify(planned);
  } catch {
    return false;
  }
}

/** Test accuracy per round; a round not evaluated (evalEvery > 1) carries the last evaluated value, so rounds-to-target and the final mean read the model the run had. */
function carriedAccuracy(history: readonly RoundRecord[]): number[] {
  let last = 0;
  return history.map((h) => (last = h.accuracy ?? last));
}

function describeRun(r: RunFile): string {
  const last = r.history.at(-1);
  const asr = last?.attackSuccessRate;
  const worst = last?.federatedEval?.worst10Accuracy;
  return `final ${(100 * (last?.accuracy ?? NaN)).toFixed(1)}%${worst !== undefined ? ` (worst 10% of clients ${(100 * worst).toFixed(1)}%)` : ''}${asr !== null && asr !== undefined ? `, ASR ${(100 * asr).toFixed(1)}%` : ''} in ${r.wallSeconds.toFixed(0)} s`;
}

async function runShard(spec: ExperimentSpec, runs: PlannedRun[], runsDir: string, runtime: 'node' | 'browser', threads: number, label: string): Promise<number> {
  let failed = 0;
  for (const [i, run] of runs.entries()) {
    const file = join(runsDir, `${run.id}.json`);
    const old = existsSync(file) ? readRun(file) : null;
    if (old && sameConfig(old.config, run.config) && old.runtime === runtime) continue;
    const t0 = Date.now();
    try {
      const { history, wallSeconds, trainClassCounts } = await runOne(spec, run, runtime, threads);
      const out: RunFile = { ...run, runtime, clients: spec.clients, wallSeconds, trainClassCounts, history };
      writeFileSync(file, `${JSON.stringify(out)}\n`);
      console.log(`${label}[${i + 1}/${runs.length}] ${run.id}: ${describeRun(out)}`);
    } catch (e) {
      failed++;
      console.error(`${label}[${i + 1}/${runs.length}] ${run.id} FAILED after ${((Date.now() - t0) / 1000).toFixed(0)} s: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  return failed;
}

function spawnShard(file: string, args: string[], k: number, n: number): Promise<number> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [...process.execArgv, process.argv[1], file, ...args, '--shard', `${k}/${n}`], { stdio: 'inherit' });
    child.on('exit', (code) => done(code ?? 1));
  });
}

function writeSummary(spec: ExperimentSpec, plan: PlannedRun[], runsDir: string, summaryDir: string, command: string): void {
  const wanted = new Map(plan.map((r) => [r.id, r]));
  const files = readdirSync(runsDir).filter((f) => f.endsWith('.json'));
  const runs = files.map((f) => readRun(join(runsDir, f))).filter((r): r is RunFile => r !== null && wanted.has(r.id) && sameConfig(r.config, wanted.get(r.id)!.config));
  if (runs.length === 0) throw new Error(`no finished runs of ${spec.name} in ${runsDir}`);
  const records: RunRecord[] = runs.map((r) => ({
    id: r.id,
    cell: r.cell,
    group: r.group,
    strategy: r.strategy,
    seed: r.seed,
    accuracy: carriedAccuracy(r.history),
    attackSuccessRate: r.history.map((h) => h.attackSuccessRate ?? null),
    clientWorst10: r.history.map((h) => h.federatedEval?.worst10Accuracy ?? null),
    // Runs stored before the imbalance metrics have none (undefined): the summary shows "—" for them.
    imbalance: Object.fromEntries(IMBALANCE_KEYS.map((k) => [k, r.history.map((h) => h[k] ?? null)])) as RunRecord['imbalance'],
    evaluatedAccuracy: r.history.map((h) => h.accuracy),
    // JSON writes a NaN loss as null: an evaluated round (accuracy set) with a null loss had a non-finite one.
    testLoss: r.history.map((h) => (h.accuracy === null ? null : (h.loss ?? NaN))),
    // Bytes per round; runs stored before they were counted have none (null): the summary leaves them out of the traffic columns.
    traffic: Object.fromEntries(TRAFFIC_KEYS.map((k) => [k, r.history.map((h) => (h as Partial<RoundRecord>)[k] ?? null)])) as RunRecord['traffic'],
    // mnist+fashion: each modality head's accuracy alone; null where not evaluated, in single-modality runs, and in runs stored before it.
    unimodal: {
      mnist: r.history.map((h) => (h as Partial<RoundRecord>).unimodalAccuracy?.mnist ?? null),
      fashion: r.history.map((h) => (h as Partial<RoundRecord>).unimodalAccuracy?.fashion ?? null),
    },
    localAccuracy: r.history.map((h) => h.localAccuracy ?? null),
  }));
  const opts = { targets: spec.targets, lastRounds: spec.lastRounds, baseline: spec.baseline, seed: 1, extraColumns: spec.extraColumns };
  const rows = summarize(records, opts);
  mkdirSync(summaryDir, { recursive: true });
  const missing = plan.length - runs.length;
  const scale = `${spec.scale} Runtime: ${runs[0].runtime}; ${runs.length} of ${plan.length} planned runs finished${missing ? ` (${missing} missing)` : ''}; wall time ${(runs.reduce((s, r) => s + r.wallSeconds, 0) / 60).toFixed(1)} min of run time in total.`;
  const claims = spec.claims?.length ? checkClaims(records, spec.claims, spec.lastRounds) : null;
  writeFileSync(join(summaryDir, 'summary.md'), toMarkdown(rows, opts, { title: spec.title, command, scale }) + (claims ? `\n${claimsMarkdown(claims)}` : ''));
  writeFileSync(join(summaryDir, 'summary.csv'), toCsv(rows));
  writeFileSync(join(summaryDir, 'plot.svg'), plotSvg(records, opts));
  const traffic = rows.some((r) => r.traffic) ? trafficSvg(records, opts) : null;
  if (traffic) writeFileSync(join(summaryDir, 'traffic.svg'), traffic);
  // The curves behind the table, small enough to commit: accuracy (and ASR) per round per run.
  const curves = runs
    .sort((a, b) => a.id.localeCompare(b.id))
    .map((r) => ({
      id: r.id,
      cell: r.cell,
      seed: r.seed,
      accuracy: r.history.map((h) => (h.accuracy === null ? null : +h.accuracy.toFixed(4))),
      ...(r.history.some((h) => h.federatedEval) ? { clientWorst10: r.history.map((h) => (h.federatedEval ? +h.federatedEval.worst10Accuracy.toFixed(4) : null)) } : {}),
      ...(r.history.some((h) => h.attackSuccessRate !== null) ? { asr: r.history.map((h) => (h.attackSuccessRate === null ? null : +h.attackSuccessRate.toFixed(4))) } : {}),
      flagged: r.history.map((h) => h.flagged.length),
      dropped: r.history.map((h) => h.dropped.length),
    }));
  writeFileSync(join(summaryDir, 'curves.json'), `${JSON.stringify(curves)}\n`);
  console.log(`summary of ${runs.length} runs: ${join(summaryDir, 'summary.md')}`);
}

async function main(): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: process.argv.slice(2),
      allowPositionals: true,
      options: {
        jobs: { type: 'string' }, runtime: { type: 'string' }, runs: { type: 'string' }, summary: { type: 'string' },
        only: { type: 'string' }, 'summary-only': { type: 'boolean' }, shard: { type: 'string' }, threads: { type: 'string' }, help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    console.error(`error: ${e instanceof Error ? e.message : String(e)}\n\n${USAGE}`);
    return 2;
  }
  const v = parsed.values;
  if (v.help || parsed.positionals.length !== 1) {
    console[v.help ? 'log' : 'error'](USAGE);
    return v.help ? 0 : 2;
  }
  const file = parsed.positionals[0];
  let spec: ExperimentSpec;
  let plan: PlannedRun[];
  try {
    spec = parseSpec(JSON.parse(readFileSync(file, 'utf8')));
    if (v.runtime !== undefined) {
      if (v.runtime !== 'node' && v.runtime !== 'browser') throw new Error('--runtime must be node or browser');
      spec.runtime = v.runtime;
    }
    plan = planRuns(spec);
  } catch (e) {
    console.error(`error in ${file}: ${e instanceof Error ? e.message : String(e)}`);
    return 2;
  }
  const runsDir = resolve(v.runs ?? `results/experiments/${spec.name}`);
  const summaryDir = resolve(v.summary ?? `docs/results/${spec.name}`);
  mkdirSync(runsDir, { recursive: true });
  const selected = v.only ? plan.filter((r) => r.id.includes(v.only!)) : plan;
  const threads = Number(v.threads ?? 0);
  if (!Number.isInteger(threads) || threads < 0 || threads > MAX_THREADS) {
    console.error(`error: --threads must be an integer from 0 to ${MAX_THREADS}`);
    return 2;
  }

  if (v.shard) {
    const [k, n] = v.shard.split('/').map(Number);
    return (await runShard(spec, selected.filter((_, i) => i % n === k), runsDir, spec.runtime, threads, `[shard ${k + 1}/${n}] `)) ? 1 : 0;
  }
  let failed = 0;
  if (!v['summary-only']) {
    const jobs = spec.runtime === 'browser' ? 1 : Number(v.jobs ?? Math.min(2, availableParallelism()));
    if (!Number.isInteger(jobs) || jobs < 1 || jobs > 32) {
      console.error('error: --jobs must be an integer from 1 to 32');
      return 2;
    }
    console.log(`${spec.name}: ${selected.length} runs (${spec.runtime} runtime, ${jobs} job${jobs > 1 ? 's' : ''}); per-run JSON in ${runsDir}`);
    const passOn = ['--runs', runsDir, '--runtime', spec.runtime, '--threads', String(threads), ...(v.only ? ['--only', v.only] : [])];
    if (jobs === 1) failed = await runShard(spec, selected, runsDir, spec.runtime, threads, '');
    else failed = (await Promise.all(Array.from({ length: jobs }, (_, k) => spawnShard(file, passOn, k, jobs)))).filter((c) => c !== 0).length;
  }
  try {
    writeSummary(spec, plan, runsDir, summaryDir, `npm run experiment -- ${file}`);
  } catch (e) {
    console.error(`error: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }
  return failed ? 1 : 0;
}

process.exitCode = await main();

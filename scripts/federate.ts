// npm run federate -- [options]: a whole federation headless, one line per round, JSON + SVG under results/.
import { MAX_VIRTUAL_CLIENTS } from '../src/server-worker/client-registry';
import { formatBytes } from '../src/shared/format-bytes';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError, CONFIG_FIELDS, CONFIG_KEYS, DEFAULT_CONFIG, resolveConfig, type FederationConfig } from '../src/shared/config';
import { headMidTail, roundsToTarget } from '../src/shared/metrics';
import { roundsChart } from '../src/ui/chart-svg';
import { weightHeatmapSvg } from '../src/ui/heatmap-svg';
import type { RoundRecord } from '../src/shared/status';
// The browser runner (Playwright, vite) is imported only for --runtime browser: it costs ~140 MB of RSS.
import { RunnerError } from './runner-error';
import { DEFAULT_THREADS, MAX_THREADS } from './thread-count';

/** 4 tab clients; with DEFAULT_CONFIG this takes about two minutes on 2 CPU cores and reaches ≥ 95% on MNIST. */
const RUNNER_DEFAULTS = { tabs: 4, workers: 0 };
const ACCURACY_TARGETS = [0.9, 0.95, 0.97, 0.99];

/** Every config key is a flag, kebab-cased (--shards-per-client, --attack-scale…); `clients` is --clients below. */
const FLAG_NAMES: Partial<Record<keyof FederationConfig, string>> = { roundDeadlineMs: 'deadline-ms' };
const CONFIG_FLAGS: Record<string, keyof FederationConfig> = Object.fromEntries(
  CONFIG_KEYS.filter((k) => k !== 'clients').map((k) => [FLAG_NAMES[k] ?? k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`), k]),
);

function usage(): string {
  const lines = Object.entries(CONFIG_FLAGS).map(([flag, key]) => {
    const rule = CONFIG_FIELDS[key];
    const values = rule.values ? ` (${rule.values.join('|')})` : '';
    return `  --${flag.padEnd(22)} ${rule.help}${values} [default ${DEFAULT_CONFIG[key]}]`;
  });
  return [
    'usage: npm run federate -- [options]',
    `  --clients N          tab clients (default ${RUNNER_DEFAULTS.tabs})`,
    `  --workers M          Web Worker clients inside the dashboard page (default ${RUNNER_DEFAULTS.workers})`,
    '  --runtime R          browser (default: real tabs in headless Chromium) or node (the same client and coordinator',
    `                       code in one process, virtual clients; --clients of them, up to ${MAX_VIRTUAL_CLIENTS})`,
    `  --threads N          node runtime: client threads training virtual clients beside the coordinator's thread, which`,
    `                       trains too (default ${DEFAULT_THREADS}: one per core besides it; 0 = that thread only); the same bits for any N`,
    ...lines,
    '  --out FILE           where to write the run JSON (default results/run-<time>.json; the chart goes next to it as .svg, the aggregation-weight heatmap as .heatmap.svg)',
    '  --timeout-min N      give up after N minutes (default 30)',
  ].join('\n');
}

function parseCli(argv: string[]) {
  const options = Object.fromEntries(
    [...Object.keys(CONFIG_FLAGS), 'clients', 'workers', 'threads', 'out', 'timeout-min', 'runtime'].map((k) => [k, { type: 'string' as const }]),
  );
  const parsed = parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, strict: true });
  if (parsed.values.help) return null;
  const values = parsed.values as Record<string, string | undefined>;
  const runtimeFlag = values.runtime ?? 'browser';
  // Real tabs cost a renderer each; the Node runtime's virtual clients are state (scripts/node-runtime.ts).
  const int = (flag: string, v: string | undefined, dflt: number, min: number, max = 64) => {
    if (v === undefined) return dflt;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) throw new ConfigError(`--${flag} must be an integer from ${min} to ${max}${max === 64 ? ' (up to ' + MAX_VIRTUAL_CLIENTS + ' with --runtime node)' : ''}, got "${v}"`);
    return n;
  };
  const tabs = int('clients', values.clients, RUNNER_DEFAULTS.tabs, 0, runtimeFlag === 'node' ? MAX_VIRTUAL_CLIENTS : 64);
  const workers = int('workers', values.workers, RUNNER_DEFAULTS.workers, 0);
  if (tabs + workers === 0) throw new ConfigError('need at least one client: --clients or --workers must be > 0');
  const partial: Record<string, unknown> = {};
  for (const [flag, key] of Object.entries(CONFIG_FLAGS)) if (values[flag] !== undefined) partial[key] = values[flag];
  let config: FederationConfig;
  try {
    config = resolveConfig({ ...partial, clients: tabs + workers });
  } catch (e) {
    // Name the flag the user typed, not the config key.
    const flag = Object.entries(CONFIG_FLAGS).find(([, k]) => (e as Error).message.includes(`invalid ${k} `))?.[0];
    throw new ConfigError(flag ? `--${flag}: ${(e as Error).message}` : (e as Error).message);
  }
  const timeoutMin = Number(values['timeout-min'] ?? 30);
  if (!(timeoutMin > 0)) throw new ConfigError('--timeout-min must be a positive number');
  const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
  const out = resolve(values.out ?? `results/run-${stamp}.json`);
  const runtime = runtimeFlag;
  if (runtime !== 'browser' && runtime !== 'node') throw new ConfigError(`--runtime must be browser or node, got "${runtime}"`);
  if (runtime === 'node' && workers > 0) throw new ConfigError('--workers needs the browser runtime; use --clients with --runtime node (and --threads for its cores)');
  if (runtime !== 'node' && values.threads !== undefined) throw new ConfigError('--threads needs --runtime node (in the browser each tab or worker is a client of its own)');
  const threads = int('threads', values.threads, DEFAULT_THREADS, 0, MAX_THREADS);
  return { config, tabs, workers, threads, out, timeoutMs: timeoutMin * 60_000, runtime };
}

async function main(): Promise<number> {
  let cli;
  try {
    cli = parseCli(process.argv.slice(2));
  } catch (e) {
    console.error(`error: ${e instanceof Error ? e.message : String(e)}\n\n${usage()}`);
    return 2;
  }
  if (!cli) {
    console.log(usage());
    return 0;
  }
  const { config, tabs, workers, threads, out, timeoutMs, runtime } = cli;
  const log = (s: string) => console.log(s);
  const t0 = Date.now();
  try {
    const onRound = (r: RoundRecord) =>
      log(
        `round ${String(r.round).padStart(3)}/${config.rounds}  acc ${r.accuracy?.toFixed(4) ?? '  –   '}  loss ${r.loss?.toFixed(4) ?? '  –   '}  ` +
          (r.unimodalAccuracy ? `alone: mnist ${r.unimodalAccuracy.mnist.toFixed(3)} fashion ${r.unimodalAccuracy.fashion.toFixed(3)}  ` : '') +
          (r.balancedAccuracy !== null ? `bal.acc ${r.balancedAccuracy.toFixed(4)} tail ${r.tailRecall?.toFixed(3) ?? '–'}  ` : '') +
          (config.compress !== 'none' ? `up ${formatBytes(r.bytesUp)} (${((100 * r.bytesUp) / Math.max(1, r.denseBytesUp)).toFixed(0)}% of dense)  ` : '') +
          `clients ${r.clients.length}/${r.participants.length}${r.dropped.length ? ` (dropped ${r.dropped.map((d) => d.reason).join(', ')})` : ''}  ` +
          (r.flagged.length ? `flagged ${r.flagged.length}  ` : '') +
          (r.attackSuccessRate !== null ? `ASR ${r.attackSuccessRate.toFixed(4)}  ` : '') +
          (r.federatedEval ? `clients mean ${r.federatedEval.meanAccuracy.toFixed(3)} worst10% ${r.federatedEval.worst10Accuracy.toFixed(3)}  ` : '') +
          (r.skipped ? `SKIPPED: ${r.skipped}  ` : '') +
          `${r.seconds.toFixed(1)} s (slowest client trained ${(r.maxTrainMs / 1000).toFixed(1)} s; overhead ${(100 * r.overheadShare).toFixed(0)}%)`,
      );
    if (config.attack !== 'none') log(`simulating attackers: ${config.attack} on ${Math.max(1, Math.round(config.attackers * (tabs + workers)))} of ${tabs + workers} clients`);
    const result =
      runtime === 'node'
        ? { ...(await (await import('./node-runtime')).runInProcess({ config, clients: tabs, timeoutMs, threads, log, onRound })), userAgent: `node ${process.version}` }
        : await (await import('./federation-runner')).runFederation({ config, tabs, workers, timeoutMs, log, onRound });
    const { status } = result;
    const evaluated = status.history.filter((h) => h.accuracy !== null);
    const accs = evaluated.map((h) => h.accuracy!);
    if (accs.length === 0) throw new RunnerError('the run finished without a global test accuracy');
    const final = evaluated.at(-1)!;
    const groups = headMidTail(status.trainClassCounts ?? []);
    const later = status.history.slice(1).map((h) => h.overheadShare).sort((a, b) => a - b);
    const summary = {
      rounds: status.history.length,
      finalAccuracy: accs.at(-1)!,
      finalClientAccuracy: status.history.at(-1)!.federatedEval?.meanAccuracy ?? null,
      finalWorst10ClientAccuracy: status.history.at(-1)!.federatedEval?.worst10Accuracy ?? null,
      /** Median over rounds 2… of the share of a round that is not the slowest client's training (round 1 loads data and probes backends). */
      medianOverheadShare: later.length ? later[Math.floor(later.length / 2)] : null,
      bestAccuracy: Math.max(...accs),
      finalLoss: final.loss!,
      /** Spec §6 on the test set, last evaluated round; head / mid / tail from trainClassCounts. */
      finalImbalance: {
        balancedAccuracy: final.balancedAccuracy,
        macroF1: final.macroF1,
        headRecall: final.headRecall,
        midRecall: final.midRecall,
        tailRecall: final.tailRecall,
        worstClassRecall: final.worstClassRecall,
        headClasses: groups.head,
        midClasses: groups.mid,
        tailClasses: groups.tail,
      },
      wallSeconds: result.wallSeconds,
      heterogeneityTV: status.heterogeneityTV,
      backends: Object.fromEntries(status.clients.map((c) => [c.clientId, c.backend])),
      rejections: status.rejections.total,
      attackerSlots: status.attackerSlots,
      finalAttackSuccessRate: status.history.at(-1)!.attackSuccessRate,
      flaggedUpdates: status.history.reduce((n, h) => n + h.flagged.length, 0),
      skippedRounds: status.history.filter((h) => h.skipped !== null).length,
      droppedUpdates: status.history.reduce((n, h) => n + h.dropped.length, 0),
      /** First round whose best-so-far accuracy reached each target (null: never). */
      roundsToTarget: Object.fromEntries(ACCURACY_TARGETS.map((t) => [t, roundsToTarget(status.history.map((h) => h.accuracy), t)])),
    };
    const json = {
      tool: 'fedtab',
      createdAt: new Date(t0).toISOString(),
      command: `npm run federate -- ${process.argv.slice(2).join(' ')}`.trim(),
      userAgent: result.userAgent,
      config: status.config,
      clients: status.clients.map(({ clientId, kind, backend, probe, slot, numSamples, labelHistogram }) => ({
        clientId, kind, backend, probe, slot, numSamples, labelHistogram,
      })),
      coordinatorBackend: status.coordinatorBackend,
      trainClassCounts: status.trainClassCounts,
      rounds: status.history,
      rejections: status.rejections,
      summary,
    };
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, JSON.stringify(json, null, 2));
    const svg = out.replace(/\.json$/i, '') + '.svg';
    writeFileSync(svg, roundsChart(status.history, `${config.algorithm} on ${config.dataset} (${config.partition}), ${tabs + workers} clients`));
    // Who counted how much, round by round: the dashboard's aggregation-weight heatmap.
    const heatmap = out.replace(/\.json$/i, '') + '.heatmap.svg';
    writeFileSync(heatmap, weightHeatmapSvg(status.history, { attackerSlots: status.attackerSlots ?? [], title: `aggregation weights: ${config.algorithm}, clients × rounds` }));
    const probes = status.clients.find((c) => c.probe.length)?.probe;
    log(
      `done: ${summary.rounds} rounds in ${summary.wallSeconds.toFixed(0)} s; final accuracy ${summary.finalAccuracy.toFixed(4)} ` +
        `(best ${summary.bestAccuracy.toFixed(4)}), loss ${summary.finalLoss.toFixed(4)}; heterogeneity TV ${status.heterogeneityTV?.toFixed(3)}`,
    );
    const im = summary.finalImbalance;
    const pct = (x: number | null) => (x === null ? '–' : `${(100 * x).toFixed(1)}%`);
    log(
      `imbalance: balanced accuracy ${pct(im.balancedAccuracy)}, macro-F1 ${pct(im.macroF1)}; recall head ${pct(im.headRecall)} (classes ${im.headClasses.join(' ')}), ` +
        `mid ${pct(im.midRecall)}, tail ${pct(im.tailRecall)} (classes ${im.tailClasses.join(' ')}), worst class ${pct(im.worstClassRecall)}`,
    );
    log(`backends: ${[...new Set(status.clients.map((c) => `${c.kind}:${c.backend}`))].join(', ')}` +
      (probes ? `  (probe, samples/s: ${probes.map((p) => `${p.backend} ${p.ok ? p.samplesPerSec : 'n/a'}`).join(', ')})` : ''));
    if (summary.medianOverheadShare !== null) log(`overhead beside the slowest client's training: median ${(100 * summary.medianOverheadShare).toFixed(1)}% of a round (rounds 2–${summary.rounds})`);
    if (status.rejections.total) log(`rejected messages: ${JSON.stringify(status.rejections.byReason)}`);
    log(`wrote ${out}, ${svg} and ${heatmap}`);
    return 0;
  } catch (e) {
    console.error(`federate failed: ${e instanceof RunnerError || e instanceof ConfigError ? e.message : e instanceof Error ? e.stack : String(e)}`);
    return 1;
  }
}

process.exitCode = await main();

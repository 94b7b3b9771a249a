// The scale part of `npm run bench` (issue 11): whole Node-runtime federations of 2NN on MNIST at C = 0.01 for 3
// rounds, 1,000 and 10,000 virtual clients, on the coordinator's thread and on client threads, each in a fresh
// process so its peak memory is its own. Per case: peak RSS, RSS after each round (flat when clients are state),
// seconds per round, and the accuracy reached (the same for every thread count: the runs are bit-identical).
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { resolveConfig } from '../src/shared/config';

export interface ScaleCase {
  clients: number;
  threads: number;
}

export interface ScaleResult extends ScaleCase {
  /** Peak resident set of the whole process (every thread), MB. */
  peakRssMb: number;
  /** RSS when each round's record came in, MB. */
  rssAfterRoundMb: number[];
  secondsPerRound: number[];
  /** From the first round's broadcast to the last record: registration and setup excluded. */
  federationSeconds: number;
  finalAccuracy: number;
}

export const SCALE_CASES: readonly ScaleCase[] = [
  { clients: 1_000, threads: 0 },
  { clients: 10_000, threads: 0 },
  { clients: 1_000, threads: 1 },
  { clients: 10_000, threads: 1 },
];

const ROUNDS = 3;
const mb = (bytes: number) => Math.round(bytes / 2 ** 20);

/** One case in this process (the child side). */
export async function runScaleCase(c: ScaleCase): Promise<ScaleResult> {
  const { runInProcess } = await import('./node-runtime');
  const config = resolveConfig({ model: '2nn', dataset: 'mnist', partition: 'iid', fraction: 0.01, rounds: ROUNDS, epochs: 1, batchSize: 10, lr: 0.05, localEval: 0, evalSamples: 1000, seed: 1, clients: c.clients });
  const rss: number[] = [];
  const r = await runInProcess({ config, clients: c.clients, timeoutMs: 20 * 60_000, threads: c.threads, onRound: () => void rss.push(mb(process.memoryUsage().rss)) });
  const history = r.status.history;
  return {
    ...c,
    threads: r.threads,
    peakRssMb: mb(process.resourceUsage().maxRSS * 1024),
    rssAfterRoundMb: rss,
    secondsPerRound: history.map((h) => h.seconds),
    federationSeconds: history.reduce((s, h) => s + h.seconds, 0),
    finalAccuracy: history.at(-1)?.accuracy ?? NaN,
  };
}

/** Every case, each in its own child process, one after another. */
export async function runScaleBench(log: (s: string) => void): Promise<ScaleResult[]> {
  const out: ScaleResult[] = [];
  for (const c of SCALE_CASES) {
    log(`  ${c.clients.toLocaleString('en-US')} clients, the coordinator's thread${c.threads ? ` and ${c.threads} client thread${c.threads > 1 ? 's' : ''}` : ''}…`);
    out.push(await child(c));
  }
  return out;
}

function child(c: ScaleCase): Promise<ScaleResult> {
  return new Promise((resolve, reject) => {
    // With the young-generation size `npm run federate` runs with (package.json).
    const p = spawn(process.execPath, [...process.execArgv, '--max-semi-space-size=2', fileURLToPath(import.meta.url), '--scale-child', String(c.clients), String(c.threads)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let text = '';
    p.stdout.setEncoding('utf8').on('data', (d: string) => (text += d));
    p.once('error', reject);
    p.once('exit', (code) => {
      const line = text.split('\n').find((l) => l.startsWith('SCALE_JSON '));
      if (code !== 0 || !line) reject(new Error(`scale case ${c.clients}/${c.threads} failed (exit ${code}): ${text.slice(-300)}`));
      else resolve(JSON.parse(line.slice('SCALE_JSON '.length)) as ScaleResult);
    });
  });
}

export function formatScaleTable(rows: readonly ScaleResult[]): string {
  const head = '| clients | client threads beside the coordinator\'s | peak RSS | RSS after rounds 1 / 2 / 3 | s per round 1 / 2 / 3 | accuracy after 3 rounds |';
  const sep = '|---:|---:|---:|---|---|---:|';
  const body = rows.map((r) =>
    `| ${r.clients.toLocaleString('en-US')} | ${r.threads} | ${r.peakRssMb} MB | ${r.rssAfterRoundMb.map((x) => `${x}`).join(' / ')} MB | ${r.secondsPerRound.map((s) => s.toFixed(1)).join(' / ')} | ${(100 * r.finalAccuracy).toFixed(1)}% |`,
  );
  const ratio = (t: number) => {
    const a = rows.find((r) => r.clients === 1_000 && r.threads === t);
    const b = rows.find((r) => r.clients === 10_000 && r.threads === t);
    return a && b ? `${t ? `${t + 1} threads` : 'one thread'}: 10,000 clients take ${(b.peakRssMb / a.peakRssMb).toFixed(2)}× the peak memory of 1,000` : null;
  };
  return [head, sep, ...body, '', ...[0, 1].map(ratio).filter(Boolean)].join('\n');
}

if (process.argv[2] === '--scale-child') {
  const [clients, threads] = process.argv.slice(3).map(Number);
  runScaleCase({ clients, threads }).then(
    (r) => {
      console.log(`SCALE_JSON ${JSON.stringify(r)}`);
      process.exit(0);
    },
    (e: unknown) => {
      console.error(e instanceof Error ? (e.stack ?? e.message) : String(e));
      process.exit(1);
    },
  );
}

// Pure helpers of scripts/disco-compare.ts (fedtab's Node runtime against DISCO on the same task): argument parsing,
// the order DISCO needs its samples in so its own train/validation split lands on fedtab's, GNU time's report,
// and the medians and ratios of the table.
import { parseArgs } from 'node:util';

/** The DISCO commit the patch (scripts/disco/disco-wasm.patch) is written for. */
export const DISCO_COMMIT = '10b4be700c6e8f0af58a2c792e8a4c4db7096c0d';
export const DISCO_REPO = 'https://github.com/epfml/disco';

export type DiscoModel = 'cnn-s' | 'disco-mnist';

export interface CompareOptions {
  disco: string | null;
  /** Where to clone DISCO from when --disco is not given (a mirror, for a machine that cannot reach GitHub). */
  discoRepo: string;
  clients: number[];
  repeats: number;
  rounds: number;
  epochs: number;
  batchSize: number;
  maxSamples: number;
  localEval: number;
  evalSamples: number;
  lr: number;
  seed: number;
  /** One fedtab row per entry: extra flags for `npm run federate` ('' = none). */
  fedtabArgs: string[];
  discoModels: DiscoModel[];
  install: boolean;
  out: string | null;
  timeoutMin: number;
  /** Result JSONs to merge and summarize again instead of running anything. */
  summarize: string[];
}

export const USAGE = `usage: npm run disco-compare -- [options]
  --disco DIR          a DISCO checkout to use (default: clone ${DISCO_REPO} at ${DISCO_COMMIT.slice(0, 10)} into ~/.cache/fedtab/)
  --disco-repo URL     clone from there instead of ${DISCO_REPO} (a mirror or a local git directory)
  --clients LIST       client counts, comma-separated (default 4,8)
  --repeats N          repeats of every row, interleaved (default 3)
  --rounds N           communication rounds (default 5)
  --epochs N           local epochs per round (default 1)
  --batch-size N       local batch size (default 32)
  --max-samples N      images per client before the held-out split (default 1500)
  --local-eval F       share of each client's images held out (fedtab --local-eval, DISCO validationSplit; default 0.1)
  --eval-samples N     first N test images the final model is evaluated on, once at the end (default 2000)
  --lr X               client SGD learning rate (default 0.1)
  --seed N             fedtab's seed: partitions, initialisation, shuffling (default 1)
  --fedtab-args STR    extra flags for npm run federate, e.g. "--threads 2"; repeat it for several fedtab rows
  --disco-model LIST   cnn-s (fedtab's CNN-S rebuilt in DISCO) and/or disco-mnist (DISCO's own MNIST model) (default cnn-s)
  --no-install         do not run npm install / tsc in the DISCO checkout (fail if it is not ready)
  --out FILE           result JSON (default results/disco-compare-<time>.json)
  --timeout-min N      give up on one run after N minutes (default 30)
  --summarize FILE     merge the runs of earlier result JSONs (repeat it) and print their table; runs nothing`;

const posInt = (flag: string, v: string, min = 1): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${flag} must be an integer ≥ ${min}, got "${v}"`);
  return n;
};

/** null for --help. Throws with a message naming the flag on a bad value. */
export function parseCompareArgs(argv: string[]): CompareOptions | null {
  const str = { type: 'string' as const };
  // node's parseArgs refuses a value that starts with '--' unless it is written --fedtab-args=…: join it here.
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--fedtab-args' && i + 1 < argv.length) args.push(`--fedtab-args=${argv[++i]}`);
    else args.push(argv[i]!);
  }
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      disco: str, 'disco-repo': str, clients: str, repeats: str, rounds: str, epochs: str, 'batch-size': str, 'max-samples': str,
      'local-eval': str, 'eval-samples': str, lr: str, seed: str, 'disco-model': str, out: str, 'timeout-min': str,
      'fedtab-args': { type: 'string', multiple: true },
      summarize: { type: 'string', multiple: true },
      'no-install': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return null;
  const clients = (values.clients ?? '4,8').split(',').map((s) => posInt('clients', s.trim()));
  const localEval = Number(values['local-eval'] ?? '0.1');
  if (!(localEval >= 0 && localEval < 1)) throw new Error(`--local-eval must be in [0, 1), got "${values['local-eval']}"`);
  const lr = Number(values.lr ?? '0.1');
  if (!(lr > 0)) throw new Error(`--lr must be positive, got "${values.lr}"`);
  const timeoutMin = Number(values['timeout-min'] ?? '30');
  if (!(timeoutMin > 0)) throw new Error(`--timeout-min must be positive, got "${values['timeout-min']}"`);
  const discoModels = (values['disco-model'] ?? 'cnn-s').split(',').map((s) => s.trim());
  for (const m of discoModels) if (m !== 'cnn-s' && m !== 'disco-mnist') throw new Error(`--disco-model must be cnn-s or disco-mnist, got "${m}"`);
  return {
    disco: values.disco ?? null,
    discoRepo: values['disco-repo'] ?? DISCO_REPO,
    clients,
    repeats: posInt('repeats', values.repeats ?? '3'),
    rounds: posInt('rounds', values.rounds ?? '5'),
    epochs: posInt('epochs', values.epochs ?? '1'),
    batchSize: posInt('batch-size', values['batch-size'] ?? '32'),
    maxSamples: posInt('max-samples', values['max-samples'] ?? '1500', 2),
    localEval,
    evalSamples: posInt('eval-samples', values['eval-samples'] ?? '2000'),
    lr,
    seed: posInt('seed', values.seed ?? '1', 0),
    fedtabArgs: values['fedtab-args']?.length ? values['fedtab-args'].map((s) => s.trim()) : [''],
    discoModels: [...new Set(discoModels)] as DiscoModel[],
    install: !values['no-install'],
    out: values.out ?? null,
    timeoutMin,
    summarize: values.summarize ?? [],
  };
}

/** Splits "--workers 2 --lr 0.05" into argv words (no quoting: fedtab's flag values have no spaces). */
export const splitArgs = (s: string): string[] => s.split(/\s+/).filter(Boolean);

/**
 * DISCO's Dataset.split(ratio) (discojs/src/dataset/dataset.ts at the pinned commit), deterministic and
 * order-based: element i goes to the validation side when (validation so far)/(i + 1) < ratio. true = validation.
 */
export function discoSplitMask(n: number, ratio: number): boolean[] {
  const mask: boolean[] = [];
  let other = 0;
  for (let i = 0; i < n; i++) {
    const total = i + 1;
    if (other / total >= ratio) mask.push(false);
    else {
      mask.push(true);
      other++;
    }
  }
  return mask;
}

/**
 * The ratio to give DISCO and the order to feed it a client's images in, so that DISCO's split yields exactly
 * fedtab's training images (in fedtab's order) and its held-out ones. Throws if no ratio near
 * heldOut/(train + heldOut) gives that count.
 */
export function arrangeForDisco<T>(train: readonly T[], heldOut: readonly T[]): { order: T[]; ratio: number } {
  const n = train.length + heldOut.length;
  const base = heldOut.length / n;
  // DISCO's rule puts ⌈n·ratio⌉ or so on the validation side; nudge the ratio down until the count matches.
  for (const ratio of [base, base - 1e-9, base - 0.5 / n, base + 0.5 / n]) {
    if (!(ratio >= 0 && ratio <= 1)) continue;
    const mask = discoSplitMask(n, ratio);
    if (mask.filter(Boolean).length !== heldOut.length) continue;
    let t = 0;
    let h = 0;
    const order = mask.map((isVal) => (isVal ? heldOut[h++]! : train[t++]!));
    return { order, ratio };
  }
  throw new Error(`no DISCO validation ratio gives ${heldOut.length} of ${n} held out`);
}

/** GNU time -v's report: peak RSS of the largest process of the tree (kB → bytes) and the elapsed wall time. */
export function parseGnuTime(stderr: string): { maxRssBytes: number; elapsedSeconds: number } | null {
  const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(stderr);
  const el = /Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([\d:.]+)/.exec(stderr);
  if (!rss || !el) return null;
  const parts = el[1]!.split(':').map(Number);
  const elapsedSeconds = parts.reduce((acc, p) => acc * 60 + p, 0);
  return { maxRssBytes: Number(rss[1]) * 1024, elapsedSeconds };
}

export interface RunRecord {
  system: 'fedtab' | 'disco';
  /** fedtab: its extra flags ('' = none); DISCO: the model. */
  variant: string;
  clients: number;
  repeat: number;
  /** The federation alone: after backend start-up and data loading, to the final test evaluation included. */
  federationSeconds: number;
  /** The child process from spawn to exit (GNU time). */
  processSeconds: number;
  maxRssBytes: number;
  finalTestAccuracy: number;
}

export const median = (xs: readonly number[]): number => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

export interface SummaryRow {
  clients: number;
  fedtab: string;
  disco: string;
  repeats: number;
  fedtabFederationS: number;
  discoFederationS: number;
  /** [min, max] over the repeats. */
  fedtabFederationRange: [number, number];
  discoFederationRange: [number, number];
  wallRatio: number;
  /** fedtab/DISCO per repeat (the two runs of a repeat are adjacent in time, so they share the machine's load). */
  pairedWallRatios: number[];
  fedtabProcessS: number;
  discoProcessS: number;
  processRatio: number;
  fedtabPeakMB: number;
  discoPeakMB: number;
  memoryRatio: number;
  fedtabAccuracy: number;
  discoAccuracy: number;
  /** Target of issue 11: ≤ 0.5× DISCO's wall time at equal or lower peak memory. */
  targetMet: boolean;
}

/** Medians over repeats, one row per (client count, fedtab variant, DISCO model); ratios are fedtab / DISCO. */
export function summarize(runs: readonly RunRecord[]): SummaryRow[] {
  const rows: SummaryRow[] = [];
  const ks = [...new Set(runs.map((r) => r.clients))].sort((a, b) => a - b);
  for (const k of ks) {
    const of = (system: RunRecord['system']) => runs.filter((r) => r.clients === k && r.system === system);
    const variants = (rs: RunRecord[]) => [...new Set(rs.map((r) => r.variant))];
    for (const fv of variants(of('fedtab'))) {
      for (const dv of variants(of('disco'))) {
        const f = of('fedtab').filter((r) => r.variant === fv);
        const d = of('disco').filter((r) => r.variant === dv);
        const m = (rs: RunRecord[], key: keyof RunRecord) => median(rs.map((r) => r[key] as number));
        const range = (rs: RunRecord[]): [number, number] => [Math.min(...rs.map((r) => r.federationSeconds)), Math.max(...rs.map((r) => r.federationSeconds))];
        const fedtabFederationS = m(f, 'federationSeconds');
        const discoFederationS = m(d, 'federationSeconds');
        const fedtabPeakMB = m(f, 'maxRssBytes') / 2 ** 20;
        const discoPeakMB = m(d, 'maxRssBytes') / 2 ** 20;
        const wallRatio = fedtabFederationS / discoFederationS;
        const memoryRatio = fedtabPeakMB / discoPeakMB;
        rows.push({
          clients: k, fedtab: fv, disco: dv, repeats: Math.min(f.length, d.length),
          fedtabFederationS, discoFederationS, fedtabFederationRange: range(f), discoFederationRange: range(d), wallRatio,
          pairedWallRatios: f.flatMap((x) => {
            const y = d.find((z) => z.repeat === x.repeat);
            return y ? [x.federationSeconds / y.federationSeconds] : [];
          }),
          fedtabProcessS: m(f, 'processSeconds'), discoProcessS: m(d, 'processSeconds'),
          processRatio: m(f, 'processSeconds') / m(d, 'processSeconds'),
          fedtabPeakMB, discoPeakMB, memoryRatio,
          fedtabAccuracy: m(f, 'finalTestAccuracy'), discoAccuracy: m(d, 'finalTestAccuracy'),
          targetMet: wallRatio <= 0.5 && memoryRatio <= 1,
        });
      }
    }
  }
  return rows;
}

/** A Markdown table of the summary rows (the README's form). */
export function formatTable(rows: readonly SummaryRow[]): string {
  const head = '| K | fedtab | DISCO | n | fedtab federation s (min–max) | DISCO federation s (min–max) | wall ratio | paired ratios | fedtab process s | DISCO process s | fedtab peak MB | DISCO peak MB | memory ratio | fedtab acc | DISCO acc | target |';
  const sep = '|---:|---|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---|';
  const f1 = (x: number) => x.toFixed(1);
  const f2 = (x: number) => x.toFixed(2);
  const lines = rows.map((r) =>
    `| ${r.clients} | ${r.fedtab || 'node runtime'} | ${r.disco} | ${r.repeats} | ${f1(r.fedtabFederationS)} (${r.fedtabFederationRange.map(f1).join('–')}) | ` +
    `${f1(r.discoFederationS)} (${r.discoFederationRange.map(f1).join('–')}) | ${f2(r.wallRatio)} | ${r.pairedWallRatios.map(f2).join(', ')} | ` +
    `${f1(r.fedtabProcessS)} | ${f1(r.discoProcessS)} | ${r.fedtabPeakMB.toFixed(0)} | ${r.discoPeakMB.toFixed(0)} | ${f2(r.memoryRatio)} | ` +
    `${r.fedtabAccuracy.toFixed(4)} | ${r.discoAccuracy.toFixed(4)} | ${r.targetMet ? 'met' : 'not met'} |`,
  );
  return [head, sep, ...lines].join('\n');
}

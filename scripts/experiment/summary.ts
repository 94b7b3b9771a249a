// Experiment summaries: a set of federated runs (one per cell × seed) → per-cell statistics, paired comparisons
// against a baseline strategy, and Markdown / CSV / SVG renderings. Pure and DOM-free.
import { MODALITIES, type Modality } from '../../src/shared/data/paired-modalities';
import { roundsToTarget } from '../../src/shared/metrics';
import { createRng, deriveSeed } from '../../src/shared/prng';
import { divergingRounds, lastRoundsStd, meanAbsChange, stabilityWindow } from '../../src/shared/stability';
import { lineChartSvg, type Series } from '../../src/ui/chart-svg';

export interface RunRecord {
  /** Unique run id. */
  id: string;
  /** Grouping key: everything but the seed, e.g. "mnist | dirichlet α=0.1 | none | fed-adaptive-next". */
  cell: string;
  /** Label of the method, e.g. 'fedavg', 'fed-adaptive-next', 'fan (attention only)'. */
  strategy: string;
  /** The cell without the strategy (e.g. "mnist | dirichlet α=0.1 | none"): the unit of paired comparison. */
  group: string;
  seed: number;
  /** Global test accuracy per round (round 1 first), in [0, 1]. */
  accuracy: number[];
  /** Per round, for targeted attacks (fraction of test 7s predicted as 1); null where not measured. */
  attackSuccessRate?: Array<number | null>;
  /** Per round, federated evaluation: mean accuracy of the worst 10% of clients on their own data; null where not measured. */
  clientWorst10?: Array<number | null>;
  /** Per round, spec §6 imbalance metrics on the test set; null where not evaluated (or a run from before they existed). */
  imbalance?: Record<ImbalanceKey, Array<number | null>>;
  /** Per round, the test accuracy as measured, null where not evaluated (stability; `accuracy` carries values over). */
  evaluatedAccuracy?: Array<number | null>;
  /** Per round, the global test loss: null where not evaluated, NaN where it was not a finite number. */
  testLoss?: Array<number | null>;
  /**
   * Per round, bytes as the coordinator counted them (RoundRecord fields of the same names): the uplink as encoded by
   * config.compress, the downlink to the round's participants, and the uplink as dense float32; null where missing
   * (runs stored before they existed).
   */
  traffic?: Record<TrafficKey, Array<number | null>>;
  /**
   * Per round, on mnist+fashion: the test accuracy of each modality's head alone (RoundRecord.unimodalAccuracy); null
   * where not evaluated, in single-modality runs, and in runs stored before it was measured.
   */
  unimodal?: Record<Modality, Array<number | null>>;
  /** Per round, the mean over clients of each client's model on its own label mix (RoundRecord.localAccuracy); null where not evaluated. */
  localAccuracy?: Array<number | null>;
}

/** The per-round byte counts a traffic summary reads. */
export const TRAFFIC_KEYS = ['bytesUp', 'bytesDown', 'denseBytesUp'] as const;
export type TrafficKey = (typeof TRAFFIC_KEYS)[number];

/** 1 MB = 10^6 bytes (decimal, as network traffic is counted). */
export const BYTES_PER_MB = 1e6;

/** The imbalance metrics a summary reports (RoundRecord fields of the same names). */
export const IMBALANCE_KEYS = ['balancedAccuracy', 'macroF1', 'headRecall', 'tailRecall', 'worstClassRecall'] as const;
export type ImbalanceKey = (typeof IMBALANCE_KEYS)[number];

/** Column sets a table shows only when asked for, so tables made before them regenerate unchanged. */
export const EXTRA_COLUMNS = ['imbalance', 'stability', 'traffic', 'modalities', 'local'] as const;
export type ExtraColumns = (typeof EXTRA_COLUMNS)[number];

export interface SummaryOptions {
  /** Accuracy targets for rounds-to-target, e.g. [0.9, 0.95]. */
  targets: number[];
  /** Final accuracy = mean of the last N rounds (spec: 10; at small scale e.g. 3). */
  lastRounds: number;
  /** Strategy label to compare against, e.g. 'fedavg'. */
  baseline: string;
  /** Bootstrap resamples for the rounds-to-target reduction CI (default 2000). */
  bootstrapSamples?: number;
  /** Bootstrap seed (default 0). */
  seed?: number;
  /**
   * 'imbalance': final-round balanced accuracy, macro-F1, head / tail / worst-class recall; 'stability': spec §3's oscillation
   * and divergence; 'traffic': uplink / downlink MB per round, uplink share of dense float32, uplink MB to each target;
   * 'modalities': final-round test accuracy of each modality's head alone (mnist+fashion); 'local': final local accuracy.
   */
  extraColumns?: ExtraColumns[];
}

export interface MeanStd {
  mean: number;
  /** Sample standard deviation (n − 1); 0 when n = 1. */
  std: number;
  n: number;
}

/** Rounds-to-target over the seeds of one cell. */
export interface RoundsStat {
  /**
   * Median R over all seeds, a seed that never reached the target counted as R = its rounds + 1;
   * null when fewer than half the seeds reached it (shown as "> T (k/n)").
   */
  median: number | null;
  /** Seeds that reached the target. */
  reached: number;
  n: number;
}

export interface TargetStat {
  target: number;
  /** R: first round at which the best-so-far accuracy ≥ target. */
  best: RoundsStat;
  /** R̃: first round at which the 3-round trailing moving average ≥ target. */
  smoothed: RoundsStat;
}

export interface ReductionStat {
  target: number;
  /** 1 − median R_method / median R_baseline over the paired seeds; null if the baseline never reached the target. */
  estimate: number | null;
  /** Seeded percentile-bootstrap 95% CI over seed pairs; null with fewer than 2 pairs or when estimate is null. */
  ci: [number, number] | null;
}

export interface BaselineComparison {
  baselineCell: string;
  /** Seeds present in both cells, ascending. */
  pairedSeeds: number[];
  /** Mean over pairs of final_acc(method) − final_acc(baseline); null with no pairs. */
  diffMean: number | null;
  /** Student-t 95% CI (n − 1 df); null with fewer than 2 pairs. */
  diffCi: [number, number] | null;
  reductions: ReductionStat[];
}

export interface SummaryRow {
  cell: string;
  group: string;
  strategy: string;
  isBaseline: boolean;
  seeds: number[];
  n: number;
  /** T: the largest number of rounds among the cell's runs. */
  rounds: number;
  finalAccuracy: MeanStd;
  /** Mean over seeds of each run's best accuracy. */
  bestAccuracy: number;
  targets: TargetStat[];
  /** Final attack success rate (mean of the last `lastRounds` measured rounds) over the runs that have one. */
  finalAsr: MeanStd | null;
  /** Worst-10% client accuracy (federated evaluation), the same way as finalAsr; null when no run measured it. */
  finalClientWorst10: MeanStd | null;
  /** Null for baseline rows and for cells whose group has no baseline cell. */
  vsBaseline: BaselineComparison | null;
  /** Each run's last measured value, mean ± std over the seeds that have one; null unless asked for and some run measured it. */
  imbalance: Record<ImbalanceKey, MeanStd | null> | null;
  /** Null unless asked for. */
  stability: StabilityStat | null;
  /** Null unless asked for and some run of the cell has byte counts. */
  traffic: TrafficStat | null;
  /**
   * Each modality head's accuracy alone: each run's last measured value, mean ± std over the seeds that have one;
   * null unless asked for and some run of the cell measured it.
   */
  modalities: Record<Modality, MeanStd | null> | null;
  /** Local accuracy (each client's model on its own label mix): each run's last measured value, mean ± std; null unless asked for. */
  local: MeanStd | null;
}

export interface TrafficStat {
  /** Uplink MB per round: each run's mean over its rounds, then mean ± std over the seeds with byte counts. */
  upPerRound: MeanStd;
  /** Downlink MB per round, the same way; null when no run reports downlink bytes. */
  downPerRound: MeanStd | null;
  /** Σ uplink bytes / Σ dense float32 uplink bytes over the cell's runs and rounds (e.g. 0.2); null when the dense total is 0. */
  upShareOfDense: number | null;
  /** Cumulative uplink MB through round R (the rounds-to-target R, best-so-far accuracy ≥ target), per target. */
  upToTarget: UplinkToTarget[];
}

export interface UplinkToTarget {
  target: number;
  /**
   * Median over the seeds with byte counts, a seed that never reached the target counted as its total uplink plus one
   * more mean round (as R counts it as T + 1); null when fewer than half of them reached it.
   */
  medianMB: number | null;
  /** Seeds (with byte counts) that reached the target. */
  reached: number;
  /** Seeds with byte counts. */
  n: number;
}

export interface StabilityStat {
  /** N: the same for every row, min(20, ⌊half the evaluated rounds of the table's shortest run⌋). */
  window: number;
  /** Std of test accuracy over each run's last N evaluated rounds, mean ± std over seeds; null when no run has an evaluated round. */
  accuracyStd: MeanStd | null;
  /** Mean |acc_t − acc_{t−1}| over each run's evaluated rounds, over the seeds with at least 2 of them; null with none. */
  meanAbsChange: MeanStd | null;
  /** Rounds with a non-finite test loss or one above 10× the first evaluated round's, summed over the seeds that report losses. */
  divergingRounds: number;
  /** Seeds with at least one such round, and seeds that report losses. */
  divergingSeeds: number;
  seedsWithLoss: number;
}

export interface SummaryMeta {
  title: string;
  /** The exact command that produced the runs. */
  command: string;
  /** The scale the experiment ran at (clients, rounds, seeds, samples…). */
  scale: string;
}

// ---------------------------------------------------------------------------------------------------------------
// Statistics helpers (exported for tests and reuse).

export function mean(xs: number[]): number {
  if (xs.length === 0) throw new Error('mean: empty input');
  let s = 0;
  for (const x of xs) s += x;
  return s / xs.length;
}

/** Mean and sample standard deviation (n − 1; 0 when n = 1). */
export function meanStd(xs: number[]): MeanStd {
  const m = mean(xs);
  if (xs.length < 2) return { mean: m, std: 0, n: xs.length };
  let ss = 0;
  for (const x of xs) ss += (x - m) * (x - m);
  return { mean: m, std: Math.sqrt(ss / (xs.length - 1)), n: xs.length };
}

export function median(xs: number[]): number {
  if (xs.length === 0) throw new Error('median: empty input');
  const s = [...xs].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2;
}

/** Quantile with linear interpolation between order statistics (R type 7); `sorted` must be ascending. */
function quantileSorted(sorted: number[], p: number): number {
  const pos = (sorted.length - 1) * p;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/** Two-sided 95% Student t quantiles t_{0.975, df} for df = 1..30. */
const T_975 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11,
  2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];

/** t_{0.975, df} from the table for df ≤ 30, 1.96 above. */
export function tQuantile975(df: number): number {
  if (!Number.isInteger(df) || df < 1) throw new Error(`tQuantile975: df must be a positive integer, got ${df}`);
  return df <= 30 ? T_975[df - 1] : 1.96;
}

/** Mean of paired differences with a Student-t 95% CI (n − 1 df); the CI is null for n < 2. */
export function pairedTCi(diffs: number[]): { mean: number; ci: [number, number] | null } {
  const { mean: m, std, n } = meanStd(diffs);
  if (n < 2) return { mean: m, ci: null };
  const half = (tQuantile975(n - 1) * std) / Math.sqrt(n);
  return { mean: m, ci: [m - half, m + half] };
}

/** First 1-based round at which the 3-round trailing moving average (fewer rounds while < 3 exist) ≥ target, or null. */
export function smoothedRoundsToTarget(accuracies: number[], target: number): number | null {
  for (let i = 0; i < accuracies.length; i++) {
    const w = accuracies.slice(Math.max(0, i - 2), i + 1);
    if (mean(w) >= target) return i + 1;
  }
  return null;
}

/** Mean of the last `lastRounds` rounds (all rounds when the run is shorter). */
export function finalAccuracy(accuracies: number[], lastRounds: number): number {
  return mean(accuracies.slice(-lastRounds));
}

/** Mean of the measured (non-null, finite) values among the last `lastRounds` rounds; null if none. */
function finalAsrOf(asr: Array<number | null> | undefined, lastRounds: number): number | null {
  if (!asr) return null;
  const vals = asr.slice(-lastRounds).filter((v): v is number => v !== null && Number.isFinite(v));
  return vals.length ? mean(vals) : null;
}

// ---------------------------------------------------------------------------------------------------------------
// Validation.

interface Cell {
  cell: string;
  group: string;
  strategy: string;
  runs: RunRecord[]; // sorted by seed
}

function validateOptions(opts: SummaryOptions): void {
  if (!Number.isInteger(opts.lastRounds) || opts.lastRounds < 1) {
    throw new Error(`summary: lastRounds must be an integer ≥ 1, got ${opts.lastRounds}`);
  }
  if (!Array.isArray(opts.targets)) throw new Error('summary: targets must be an array of accuracies');
  for (const t of opts.targets) {
    if (!Number.isFinite(t) || t <= 0 || t > 1) throw new Error(`summary: accuracy target must be in (0, 1], got ${t}`);
  }
  if (new Set(opts.targets).size !== opts.targets.length) throw new Error(`summary: duplicate accuracy targets ${opts.targets.join(', ')}`);
  if (typeof opts.baseline !== 'string' || opts.baseline === '') throw new Error('summary: baseline strategy label is required');
  for (const c of opts.extraColumns ?? []) {
    if (!(EXTRA_COLUMNS as readonly string[]).includes(c)) throw new Error(`summary: unknown extra columns "${c}"; valid: ${EXTRA_COLUMNS.join(', ')}`);
  }
  const b = opts.bootstrapSamples;
  if (b !== undefined && (!Number.isInteger(b) || b < 1)) throw new Error(`summary: bootstrapSamples must be an integer ≥ 1, got ${b}`);
  if (opts.seed !== undefined && !Number.isFinite(opts.seed)) throw new Error(`summary: seed must be finite, got ${opts.seed}`);
}

/** Checks the runs and groups them into cells (first-appearance order; runs sorted by seed). */
function groupCells(runs: RunRecord[]): Cell[] {
  if (!Array.isArray(runs) || runs.length === 0) throw new Error('summary: no runs to summarize');
  const ids = new Set<string>();
  const cells = new Map<string, Cell>();
  const seen = new Map<string, string>(); // cell + seed → id
  for (const r of runs) {
    const name = `run "${r.id}" (cell "${r.cell}", seed ${r.seed})`;
    if (typeof r.id !== 'string' || r.id === '') throw new Error(`summary: a run has no id (cell "${r.cell}", seed ${r.seed})`);
    if (ids.has(r.id)) throw new Error(`summary: duplicate run id "${r.id}"`);
    ids.add(r.id);
    if (!Number.isFinite(r.seed)) throw new Error(`summary: ${name} has a non-finite seed`);
    if (!Array.isArray(r.accuracy) || r.accuracy.length === 0) throw new Error(`summary: ${name} has no accuracy values`);
    r.accuracy.forEach((a, i) => {
      if (typeof a !== 'number' || !Number.isFinite(a) || a < 0 || a > 1) {
        throw new Error(`summary: ${name} has accuracy ${a} in round ${i + 1}, expected a number in [0, 1]`);
      }
    });
    r.attackSuccessRate?.forEach((a, i) => {
      if (a !== null && (typeof a !== 'number' || !Number.isFinite(a) || a < 0 || a > 1)) {
        throw new Error(`summary: ${name} has attack success rate ${a} in round ${i + 1}, expected null or a number in [0, 1]`);
      }
    });
    if (r.traffic !== undefined) {
      for (const k of TRAFFIC_KEYS) {
        const xs = r.traffic[k];
        if (!Array.isArray(xs) || xs.length !== r.accuracy.length) {
          throw new Error(`summary: ${name} has ${Array.isArray(xs) ? xs.length : 'no'} ${k} values for ${r.accuracy.length} rounds`);
        }
        xs.forEach((b, i) => {
          if (b !== null && (typeof b !== 'number' || !Number.isFinite(b) || b < 0)) {
            throw new Error(`summary: ${name} has ${k} ${b} in round ${i + 1}, expected null or a number ≥ 0`);
          }
        });
      }
    }
    if (r.unimodal !== undefined) {
      for (const m of MODALITIES) {
        const xs = r.unimodal[m];
        if (!Array.isArray(xs) || xs.length !== r.accuracy.length) {
          throw new Error(`summary: ${name} has ${Array.isArray(xs) ? xs.length : 'no'} ${m} unimodal accuracy values for ${r.accuracy.length} rounds`);
        }
        xs.forEach((a, i) => {
          if (a !== null && (typeof a !== 'number' || !Number.isFinite(a) || a < 0 || a > 1)) {
            throw new Error(`summary: ${name} has ${m} unimodal accuracy ${a} in round ${i + 1}, expected null or a number in [0, 1]`);
          }
        });
      }
    }
    const key = JSON.stringify([r.cell, r.seed]);
    const prev = seen.get(key);
    if (prev !== undefined) throw new Error(`summary: duplicate runs for cell "${r.cell}" seed ${r.seed} (ids "${prev}" and "${r.id}")`);
    seen.set(key, r.id);
    const c = cells.get(r.cell);
    if (!c) cells.set(r.cell, { cell: r.cell, group: r.group, strategy: r.strategy, runs: [r] });
    else if (c.group !== r.group || c.strategy !== r.strategy) {
      throw new Error(
        `summary: cell "${r.cell}" mixes group/strategy ("${c.group}"/"${c.strategy}" vs "${r.group}"/"${r.strategy}" in run "${r.id}")`,
      );
    } else c.runs.push(r);
  }
  const out = [...cells.values()];
  for (const c of out) c.runs.sort((a, b) => a.seed - b.seed);
  return out;
}

/** Cells ordered by group (first appearance), the baseline first within a group, then first appearance. */
function orderCells(cells: Cell[], baseline: string): Cell[] {
  const groupOrder = new Map<string, number>();
  cells.forEach((c) => groupOrder.has(c.group) || groupOrder.set(c.group, groupOrder.size));
  return cells
    .map((c, i) => ({ c, i }))
    .sort(
      (a, b) =>
        groupOrder.get(a.c.group)! - groupOrder.get(b.c.group)! ||
        Number(b.c.strategy === baseline) - Number(a.c.strategy === baseline) ||
        a.i - b.i,
    )
    .map(({ c }) => c);
}

// ---------------------------------------------------------------------------------------------------------------
// Summary.

/** R with a run that never reached the target counted as its number of rounds + 1. */
function censoredR(r: number | null, rounds: number): number {
  return r ?? rounds + 1;
}

function roundsStat(runs: RunRecord[], target: number, fn: (acc: number[], t: number) => number | null): RoundsStat {
  const rs = runs.map((r) => fn(r.accuracy, target));
  const reached = rs.filter((r) => r !== null).length;
  const n = runs.length;
  const med = median(rs.map((r, i) => censoredR(r, runs[i].accuracy.length)));
  return { median: 2 * reached < n ? null : med, reached, n };
}

function compare(method: Cell, base: Cell, opts: SummaryOptions): BaselineComparison {
  const baseBySeed = new Map(base.runs.map((r) => [r.seed, r]));
  const pairs = method.runs.filter((r) => baseBySeed.has(r.seed)).map((r) => ({ m: r, b: baseBySeed.get(r.seed)! }));
  const pairedSeeds = pairs.map((p) => p.m.seed);
  const empty = { baselineCell: base.cell, pairedSeeds, diffMean: null, diffCi: null };
  if (pairs.length === 0) return { ...empty, reductions: opts.targets.map((target) => ({ target, estimate: null, ci: null })) };
  const diffs = pairs.map((p) => finalAccuracy(p.m.accuracy, opts.lastRounds) - finalAccuracy(p.b.accuracy, opts.lastRounds));
  const { mean: diffMean, ci: diffCi } = pairedTCi(diffs);

  // Censored R per pair and target.
  const rm = opts.targets.map((t) => pairs.map((p) => censoredR(roundsToTarget(p.m.accuracy, t), p.m.accuracy.length)));
  const rbRaw = opts.targets.map((t) => pairs.map((p) => roundsToTarget(p.b.accuracy, t)));
  const rb = rbRaw.map((rs) => rs.map((r, i) => censoredR(r, pairs[i].b.accuracy.length)));
  const estimable = rbRaw.map((rs) => rs.some((r) => r !== null));
  const reduction = (k: number, idx: number[]) => 1 - median(idx.map((i) => rm[k][i])) / median(idx.map((i) => rb[k][i]));
  const all = pairs.map((_, i) => i);

  // One resample of seed pairs serves every target; the stream depends only on the seed and the cell.
  const B = opts.bootstrapSamples ?? 2000;
  const boot: number[][] = opts.targets.map(() => []);
  if (pairs.length >= 2 && estimable.some(Boolean)) {
    const rng = createRng(deriveSeed(opts.seed ?? 0, 'summary-bootstrap', method.cell, base.cell));
    const idx = new Array<number>(pairs.length);
    for (let s = 0; s < B; s++) {
      for (let i = 0; i < pairs.length; i++) idx[i] = rng.int(pairs.length);
      opts.targets.forEach((_, k) => estimable[k] && boot[k].push(reduction(k, idx)));
    }
  }
  const reductions = opts.targets.map((target, k): ReductionStat => {
    if (!estimable[k]) return { target, estimate: null, ci: null };
    const sorted = boot[k].sort((a, b) => a - b);
    return {
      target,
      estimate: reduction(k, all),
      ci: sorted.length ? [quantileSorted(sorted, 0.025), quantileSorted(sorted, 0.975)] : null,
    };
  });
  return { baselineCell: base.cell, pairedSeeds, diffMean, diffCi, reductions };
}

/** The last measured value of a per-round series; null if none. */
export function lastMeasured(xs: Array<number | null> = []): number | null {
  for (let i = xs.length - 1; i >= 0; i--) {
    const x = xs[i];
    if (x !== null && Number.isFinite(x)) return x;
  }
  return null;
}

const meanStdOrNull = (xs: Array<number | null>): MeanStd | null => {
  const ok = xs.filter((x): x is number => x !== null && Number.isFinite(x));
  return ok.length ? meanStd(ok) : null;
};

function imbalanceStat(runs: RunRecord[]): SummaryRow['imbalance'] {
  const stats = Object.fromEntries(IMBALANCE_KEYS.map((k) => [k, meanStdOrNull(runs.map((r) => lastMeasured(r.imbalance?.[k])))])) as Record<ImbalanceKey, MeanStd | null>;
  return Object.values(stats).some((m) => m !== null) ? stats : null;
}

function modalitiesStat(runs: RunRecord[]): SummaryRow['modalities'] {
  const stats = Object.fromEntries(MODALITIES.map((m) => [m, meanStdOrNull(runs.map((r) => lastMeasured(r.unimodal?.[m])))])) as Record<Modality, MeanStd | null>;
  return Object.values(stats).some((s) => s !== null) ? stats : null;
}

export const evaluatedOf = (r: RunRecord) => r.evaluatedAccuracy ?? r.accuracy;

/** The table's stability window: stabilityWindow of its shortest run's evaluated rounds. */
export const tableStabilityWindow = (runs: RunRecord[]) => stabilityWindow(Math.min(...runs.map((r) => evaluatedOf(r).filter((a) => a !== null).length)));

function stabilityStat(runs: RunRecord[], window: number): StabilityStat {
  const losses = runs.flatMap((r) => (r.testLoss ? [r.testLoss] : []));
  const diverging = losses.map(divergingRounds);
  return {
    window,
    accuracyStd: meanStdOrNull(runs.map((r) => lastRoundsStd(evaluatedOf(r), window))),
    meanAbsChange: meanStdOrNull(runs.map((r) => meanAbsChange(evaluatedOf(r)))),
    divergingRounds: diverging.reduce((a, b) => a + b, 0),
    divergingSeeds: diverging.filter((d) => d > 0).length,
    seedsWithLoss: losses.length,
  };
}

/** A run's uplink bytes per round when it has any (null rounds as 0), else null: runs from before byte counts existed. */
function uplinkOf(r: RunRecord): number[] | null {
  const up = r.traffic?.bytesUp;
  return up && up.some((b) => b !== null) ? up.map((b) => b ?? 0) : null;
}

const finiteOf = (xs: Array<number | null> | undefined) => (xs ?? []).filter((x): x is number => x !== null);

/** Cumulative uplink MB after each round (a run's up bytes, null rounds as 0). */
function cumulativeMB(up: number[]): number[] {
  let s = 0;
  return up.map((b) => (s += b) / BYTES_PER_MB);
}

function trafficStat(runs: RunRecord[], targets: number[]): TrafficStat | null {
  const withBytes = runs.flatMap((r) => {
    const up = uplinkOf(r);
    return up ? [{ r, up }] : [];
  });
  if (withBytes.length === 0) return null;
  const perRound = (xs: number[]) => mean(xs) / BYTES_PER_MB;
  let up = 0;
  let dense = 0;
  for (const { r } of withBytes) {
    r.accuracy.forEach((_, i) => {
      const u = r.traffic!.bytesUp[i];
      const d = r.traffic!.denseBytesUp[i];
      if (u !== null && d !== null) [up, dense] = [up + u, dense + d];
    });
  }
  return {
    upPerRound: meanStd(withBytes.map(({ r }) => perRound(finiteOf(r.traffic!.bytesUp)))),
    downPerRound: meanStdOrNull(withBytes.map(({ r }) => {
      const down = finiteOf(r.traffic!.bytesDown);
      return down.length ? perRound(down) : null;
    })),
    upShareOfDense: dense > 0 ? up / dense : null,
    upToTarget: targets.map((target): UplinkToTarget => {
      const mb = withBytes.map(({ r, up }) => {
        const R = roundsToTarget(r.accuracy, target);
        const cum = cumulativeMB(up);
        // Never reached: what the run spent plus one more round at its mean rate, like R = T + 1.
        return { reached: R !== null, mb: R !== null ? cum[R - 1] : cum[cum.length - 1] * (1 + 1 / cum.length) };
      });
      const reached = mb.filter((x) => x.reached).length;
      const n = mb.length;
      return { target, medianMB: 2 * reached < n ? null : median(mb.map((x) => x.mb)), reached, n };
    }),
  };
}

/** Per-cell statistics and paired comparisons against `opts.baseline`, one row per cell. */
export function summarize(runs: RunRecord[], opts: SummaryOptions): SummaryRow[] {
  validateOptions(opts);
  const cells = orderCells(groupCells(runs), opts.baseline);
  const extra = new Set(opts.extraColumns ?? []);
  // One N for the whole table, so that its header can say it; every run has at least that many evaluated rounds.
  const window = tableStabilityWindow(runs);
  const baselineOf = new Map<string, Cell>();
  for (const c of cells) {
    if (c.strategy !== opts.baseline) continue;
    const prev = baselineOf.get(c.group);
    if (prev) throw new Error(`summary: group "${c.group}" has two baseline cells ("${prev.cell}" and "${c.cell}")`);
    baselineOf.set(c.group, c);
  }
  return cells.map((c): SummaryRow => {
    const asr = c.runs.map((r) => finalAsrOf(r.attackSuccessRate, opts.lastRounds)).filter((v): v is number => v !== null);
    const worst = c.runs.map((r) => finalAsrOf(r.clientWorst10, opts.lastRounds)).filter((v): v is number => v !== null);
    const isBaseline = c.strategy === opts.baseline;
    const base = baselineOf.get(c.group);
    return {
      cell: c.cell,
      group: c.group,
      strategy: c.strategy,
      isBaseline,
      seeds: c.runs.map((r) => r.seed),
      n: c.runs.length,
      rounds: Math.max(...c.runs.map((r) => r.accuracy.length)),
      finalAccuracy: meanStd(c.runs.map((r) => finalAccuracy(r.accuracy, opts.lastRounds))),
      bestAccuracy: mean(c.runs.map((r) => Math.max(...r.accuracy))),
      targets: opts.targets.map((target) => ({
        target,
        best: roundsStat(c.runs, target, roundsToTarget),
        smoothed: roundsStat(c.runs, target, smoothedRoundsToTarget),
      })),
      finalAsr: asr.length ? meanStd(asr) : null,
      finalClientWorst10: worst.length ? meanStd(worst) : null,
      vsBaseline: !isBaseline && base ? compare(c, base, opts) : null,
      imbalance: extra.has('imbalance') ? imbalanceStat(c.runs) : null,
      stability: extra.has('stability') ? stabilityStat(c.runs, window) : null,
      traffic: extra.has('traffic') ? trafficStat(c.runs, opts.targets) : null,
      modalities: extra.has('modalities') ? modalitiesStat(c.runs) : null,
      local: extra.has('local') ? meanStdOrNull(c.runs.map((r) => lastMeasured(r.localAccuracy))) : null,
    };
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Rendering.

const pct = (x: number) => (100 * x).toFixed(1);
const signedPct = (x: number) => `${x >= 0 ? '+' : '−'}${pct(Math.abs(x))}`;
const pctLabel = (t: number) => `${+(100 * t).toFixed(2)}%`;
const fmtRounds = (r: number) => (Number.isInteger(r) ? String(r) : r.toFixed(1));

/** "97.3 ± 0.4" (percent, one decimal by default). */
export function formatMeanStd(m: MeanStd, digits = 1): string {
  return `${(100 * m.mean).toFixed(digits)} ± ${(100 * m.std).toFixed(digits)}`;
}

/** A mean ± std over the seeds that have the value, "(k/n)" when that is not all of them; "—" when none has it. */
const formatSome = (m: MeanStd | null, n: number, digits = 1) => (m ? `${formatMeanStd(m, digits)}${m.n < n ? ` (${m.n}/${n})` : ''}` : '—');

const IMBALANCE_HEADERS: Record<ImbalanceKey, string> = {
  balancedAccuracy: 'Balanced acc %',
  macroF1: 'Macro-F1 %',
  headRecall: 'Head recall %',
  tailRecall: 'Tail recall %',
  worstClassRecall: 'Worst-class recall %',
};

const MODALITY_HEADERS: Record<Modality, string> = { mnist: 'MNIST alone %', fashion: 'Fashion alone %' };

/** MB with 3 significant digits (at most 6 decimals), the std with as many decimals as the mean. */
function mbDigits(x: number): number {
  return x === 0 || !Number.isFinite(x) ? 0 : Math.min(6, Math.max(0, 2 - Math.floor(Math.log10(Math.abs(x)))));
}
export const formatMB = (x: number) => x.toFixed(mbDigits(x));
const formatMBStd = (m: MeanStd | null, n: number) => {
  if (!m) return '—';
  const d = mbDigits(m.mean);
  return `${m.mean.toFixed(d)} ± ${m.std.toFixed(d)}${m.n < n ? ` (${m.n}/${n})` : ''}`;
};
const formatShare = (x: number | null) => (x === null ? '—' : `${(100 * x).toFixed(x < 0.01 ? 2 : 1)}%`);
function formatUpToTarget(u: UplinkToTarget | undefined): string {
  if (!u) return '—';
  return `${u.medianMB === null ? 'not reached' : formatMB(u.medianMB)} (${u.reached}/${u.n})`;
}

function formatDiverging(s: StabilityStat): string {
  if (s.seedsWithLoss === 0) return '—';
  return s.divergingRounds ? `${s.divergingRounds} (${s.divergingSeeds}/${s.seedsWithLoss} seeds)` : '0';
}

/** "7 (3/3)", or "> T (k/n)" when fewer than half the seeds reached the target. */
export function formatRounds(s: RoundsStat, rounds: number): string {
  return `${s.median === null ? `> ${rounds}` : fmtRounds(s.median)} (${s.reached}/${s.n})`;
}

function formatDiff(c: BaselineComparison | null, isBaseline: boolean): string {
  if (isBaseline) return 'baseline';
  if (!c) return 'no baseline';
  if (c.diffMean === null) return 'no paired seeds';
  return `${signedPct(c.diffMean)} [${c.diffCi ? `${signedPct(c.diffCi[0])}, ${signedPct(c.diffCi[1])}` : 'n/a'}] (n=${c.pairedSeeds.length})`;
}

function formatReduction(r: ReductionStat | undefined, c: BaselineComparison | null, isBaseline: boolean): string {
  if (isBaseline) return '—';
  if (!c || c.pairedSeeds.length === 0 || !r || r.estimate === null) return 'n/a';
  return `${signedPct(r.estimate)}% [${r.ci ? `${signedPct(r.ci[0])}%, ${signedPct(r.ci[1])}%` : 'n/a'}]`;
}

const mdCell = (s: string) => s.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');

/** A fenced code block whose fence is longer than any backtick run inside `text`. */
function fenced(text: string, lang: string): string {
  const longest = Math.max(2, ...(text.match(/`+/g) ?? []).map((m) => m.length));
  const fence = '`'.repeat(longest + 1);
  return `${fence}${lang}\n${text}\n${fence}`;
}

/** Markdown report: heading, the exact command and the scale, the table, footnotes. */
export function toMarkdown(rows: SummaryRow[], opts: SummaryOptions, meta: SummaryMeta): string {
  validateOptions(opts);
  const hasAsr = rows.some((r) => r.finalAsr !== null);
  const hasWorst = rows.some((r) => r.finalClientWorst10 !== null);
  const hasImbalance = rows.some((r) => r.imbalance !== null);
  const stabilityWindowN = rows.find((r) => r.stability)?.stability?.window ?? null;
  const hasTraffic = rows.some((r) => r.traffic !== null);
  const hasModalities = rows.some((r) => r.modalities !== null);
  const hasLocal = rows.some((r) => r.local !== null);
  const B = opts.bootstrapSamples ?? 2000;
  const header = ['Group', 'Strategy', 'n', `Final acc % (last ${opts.lastRounds})`, 'Best acc %'];
  if (hasWorst) header.push('Worst-10% client acc % ⁶');
  if (hasImbalance) header.push(...IMBALANCE_KEYS.map((k) => `${IMBALANCE_HEADERS[k]} ⁷`));
  if (hasModalities) header.push(...MODALITIES.map((m) => `${MODALITY_HEADERS[m]} ¹⁰`));
  if (hasLocal) header.push('Local acc % ¹¹');
  for (const t of opts.targets) header.push(`R@${pctLabel(t)} ¹`, `R̃@${pctLabel(t)} ²`);
  if (hasAsr) header.push('Final ASR % ³');
  if (stabilityWindowN !== null) header.push(`Acc std (last ${stabilityWindowN}) pp ⁸`, 'Mean |Δacc| pp ⁸', 'Diverging rounds ⁸');
  if (hasTraffic) header.push('Up MB/round ⁹', 'Down MB/round ⁹', 'Up vs dense ⁹', ...opts.targets.map((t) => `Up MB to ${pctLabel(t)} ⁹`));
  header.push(`Δ final acc vs ${opts.baseline} (pp) [95% CI] ⁴`);
  for (const t of opts.targets) header.push(`R@${pctLabel(t)} reduction [95% CI] ⁵`);

  const lines = [`| ${header.map(mdCell).join(' | ')} |`, `|${header.map((_, i) => (i < 2 ? ' --- ' : ' ---: ')).join('|')}|`];
  for (const r of rows) {
    const cells = [r.group, r.strategy, String(r.n), formatMeanStd(r.finalAccuracy), pct(r.bestAccuracy)];
    if (hasWorst) cells.push(r.finalClientWorst10 ? formatMeanStd(r.finalClientWorst10) : '—');
    if (hasImbalance) cells.push(...IMBALANCE_KEYS.map((k) => formatSome(r.imbalance?.[k] ?? null, r.n)));
    if (hasModalities) cells.push(...MODALITIES.map((m) => formatSome(r.modalities?.[m] ?? null, r.n)));
    if (hasLocal) cells.push(formatSome(r.local, r.n));
    opts.targets.forEach((t) => {
      const s = r.targets.find((x) => x.target === t);
      cells.push(s ? formatRounds(s.best, r.rounds) : 'n/a', s ? formatRounds(s.smoothed, r.rounds) : 'n/a');
    });
    if (hasAsr) cells.push(r.finalAsr ? `${formatMeanStd(r.finalAsr)}${r.finalAsr.n < r.n ? ` (${r.finalAsr.n}/${r.n})` : ''}` : '—');
    if (stabilityWindowN !== null) {
      const st = r.stability;
      cells.push(st ? formatSome(st.accuracyStd, r.n, 2) : '—', st ? formatSome(st.meanAbsChange, r.n, 2) : '—', st ? formatDiverging(st) : '—');
    }
    if (hasTraffic) {
      const tr = r.traffic;
      cells.push(formatMBStd(tr?.upPerRound ?? null, r.n), formatMBStd(tr?.downPerRound ?? null, r.n), formatShare(tr?.upShareOfDense ?? null));
      cells.push(...opts.targets.map((t) => formatUpToTarget(tr?.upToTarget.find((u) => u.target === t))));
    }
    cells.push(formatDiff(r.vsBaseline, r.isBaseline));
    opts.targets.forEach((t) => cells.push(formatReduction(r.vsBaseline?.reductions.find((x) => x.target === t), r.vsBaseline, r.isBaseline)));
    lines.push(`| ${cells.map(mdCell).join(' | ')} |`);
  }

  const notes = [
    `Final accuracy: mean of each run's last ${opts.lastRounds} rounds, then mean ± sample standard deviation (n − 1) over seeds; ` +
      'best accuracy: mean over seeds of each run\'s best round. Percentages with one decimal.',
    '¹ R: first round at which the best-so-far test accuracy reached the target; median over seeds (reached/n). ' +
      'A seed that never reached it counts as R = T + 1 (T = its number of rounds) in the median; ' +
      '"> T (k/n)" when fewer than half the seeds reached it.',
    '² R̃: the same with the 3-round trailing moving average of accuracy (rounds 1–2 average the rounds that exist).',
    ...(hasAsr
      ? [`³ Attack success rate (share of test 7s predicted as 1): mean of the last ${opts.lastRounds} measured rounds, mean ± std over the seeds that report it.`]
      : []),
    `⁴ Paired by seed within each group against ${opts.baseline}: mean of final_acc(method) − final_acc(${opts.baseline}) in percentage points, ` +
      '95% CI from Student t with n − 1 df (n = paired seeds); n/a with fewer than 2 pairs.',
    `⁵ 1 − median R_method / median R_${opts.baseline} over the paired seeds (positive: fewer rounds than the baseline); ` +
      `95% CI: percentile bootstrap over seed pairs resampled with replacement (${B} resamples, seed ${opts.seed ?? 0}). ` +
      'A run that never reached the target counts as R = its number of rounds + 1, which understates the rounds of runs that never got there. ' +
      'n/a when the baseline never reached the target in any paired seed; CI n/a with fewer than 2 pairs.',
  ];
  if (hasWorst) {
    notes.push(
      `⁶ Federated evaluation: each client evaluates the global model on its own held-out split; per round, the mean accuracy of the worst 10% of clients (at least one); ` +
        `then the mean of the last ${opts.lastRounds} measured rounds, mean ± std over seeds.`,
    );
  }
  if (hasImbalance) {
    notes.push(
      '⁷ On the test set, in the last evaluated round of each run, then mean ± std over the seeds that report it: balanced accuracy = mean per-class recall; ' +
        'macro-F1 = mean per-class F1; head / tail recall = mean recall of the 3 most frequent / 3 rarest classes of the run\'s global training data; ' +
        'worst-class recall = the lowest per-class recall (spec §6).',
    );
  }
  if (stabilityWindowN !== null) {
    notes.push(
      `⁸ Spec §3, over evaluated rounds: sample std of test accuracy over each run's last ${stabilityWindowN} (min(20, half the evaluated rounds of the shortest run)), ` +
        'and mean |acc_t − acc_{t−1}|, both in percentage points, mean ± std over seeds; diverging rounds: test loss NaN, infinite or above 10× the first evaluated round\'s, ' +
        'summed over seeds (seeds with any).',
    );
  }
  if (hasTraffic) {
    notes.push(
      '⁹ Bytes as the coordinator counted them (vector payloads, headers excluded), MB = 10^6 bytes: uplink = the round\'s updates as encoded by the run\'s compression, ' +
        'downlink = what the round sent its participants; per round: mean over each run\'s rounds, then mean ± std over seeds. ' +
        'Up vs dense: total uplink / total uplink the same updates would cost as dense float32, over the cell\'s runs. ' +
        'Up MB to a target: cumulative uplink through round R (¹), median over seeds (reached/n); a seed that never reached it counts as its total uplink ' +
        'plus one more round at its mean rate, "not reached" when fewer than half the seeds reached it. "—": runs stored before byte counts existed.',
    );
  }
  if (hasModalities) {
    notes.push(
      '¹⁰ mnist+fashion: test accuracy of each modality\'s head alone (its own logits, the other modality left out of the late fusion), ' +
        'in the last evaluated round of each run, then mean ± std over the seeds that report it; a head far below its single-modality accuracy is ' +
        'the sign of modality competition. "—": single-modality runs and runs stored before it was measured.',
    );
  }
  if (hasLocal) {
    notes.push(
      '¹¹ Local accuracy: each client\'s model (its personal one under fedalign and local-lora, the global one otherwise) scored on the ' +
        'test set weighted to that client\'s own label mix, Σ_c p_{k,c}·recall_c, mean over clients; last evaluated round, mean ± std over seeds.',
    );
  }
  const noBaseline = rows.filter((r) => !r.isBaseline && !r.vsBaseline).map((r) => r.group);
  if (noBaseline.length) notes.push(`No ${opts.baseline} runs in group(s): ${[...new Set(noBaseline)].join('; ')}.`);

  return [
    `# ${meta.title}`,
    '',
    'Command (exact):',
    '',
    fenced(meta.command, 'sh'),
    '',
    `Scale: ${meta.scale}`,
    '',
    ...(new Set(rows.map((r) => r.strategy)).size > 1 && new Set(rows.map((r) => r.group)).size > 1 ? ['At a glance:', '', glanceTable(rows), '', 'In full:', ''] : []),
    ...lines,
    '',
    ...notes.map((n) => `- ${n}`),
    '',
  ].join('\n');
}

/** Groups × strategies, each cell the final accuracy mean (and the attack success rate where measured). */
export function glanceTable(rows: SummaryRow[]): string {
  const strategies = [...new Set(rows.map((r) => r.strategy))];
  const groups = [...new Set(rows.map((r) => r.group))];
  const hasAsr = rows.some((r) => r.finalAsr !== null);
  const head = ['Group', ...strategies];
  const out = [`| ${head.map(mdCell).join(' | ')} |`, `|${head.map((_, i) => (i === 0 ? ' --- ' : ' ---: ')).join('|')}|`];
  for (const g of groups) {
    const cells = strategies.map((st) => {
      const r = rows.find((x) => x.group === g && x.strategy === st);
      if (!r) return '—';
      return pct(r.finalAccuracy.mean) + (r.finalAsr ? ` (ASR ${pct(r.finalAsr.mean)})` : '');
    });
    out.push(`| ${[g, ...cells].map(mdCell).join(' | ')} |`);
  }
  if (hasAsr) out.push('', 'Final accuracy %, mean over seeds; ASR: attack success rate % where the attack is targeted.');
  else out.push('', 'Final accuracy %, mean over seeds.');
  return out.join('\n');
}

/** RFC 4180 field: quoted when it contains a comma, a double quote, CR or LF; inner quotes doubled. */
export function csvField(value: string | number | boolean | null | undefined): string {
  const s = value === null || value === undefined ? '' : String(value);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** One CSV line per row (RFC 4180: CRLF line breaks, header first); fractions as raw numbers, empty for n/a. */
export function toCsv(rows: SummaryRow[]): string {
  const targets = rows[0]?.targets.map((t) => t.target) ?? [];
  const header = [
    'cell', 'group', 'strategy', 'is_baseline', 'n', 'seeds', 'rounds',
    'final_acc_mean', 'final_acc_std', 'best_acc_mean',
    ...targets.flatMap((t) => [`r_median@${t}`, `r_reached@${t}`, `r_smoothed_median@${t}`, `r_smoothed_reached@${t}`]),
    'final_asr_mean', 'final_asr_std', 'final_asr_n',
    'final_client_worst10_mean', 'final_client_worst10_std',
    'baseline_cell', 'paired_seeds', 'diff_mean', 'diff_ci_low', 'diff_ci_high',
    ...targets.flatMap((t) => [`r_reduction@${t}`, `r_reduction_ci_low@${t}`, `r_reduction_ci_high@${t}`]),
  ];
  // Extra columns go last, so that the columns of tables made before them keep their positions.
  const hasImbalance = rows.some((r) => r.imbalance !== null);
  const hasStability = rows.some((r) => r.stability !== null);
  const snake = (k: string) => k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
  if (hasImbalance) header.push(...IMBALANCE_KEYS.flatMap((k) => [`final_${snake(k)}_mean`, `final_${snake(k)}_std`, `final_${snake(k)}_n`]));
  const hasTraffic = rows.some((r) => r.traffic !== null);
  if (hasStability) header.push('stability_window', 'acc_std_last_n_mean', 'acc_std_last_n_std', 'mean_abs_delta_acc_mean', 'mean_abs_delta_acc_std', 'diverging_rounds', 'diverging_seeds');
  if (hasTraffic) {
    header.push('up_mb_per_round_mean', 'up_mb_per_round_std', 'up_mb_per_round_n', 'down_mb_per_round_mean', 'down_mb_per_round_std', 'up_share_of_dense');
    header.push(...targets.flatMap((t) => [`up_mb_to_target_median@${t}`, `up_mb_to_target_reached@${t}`, `up_mb_to_target_n@${t}`]));
  }
  const hasModalities = rows.some((r) => r.modalities !== null);
  if (hasModalities) header.push(...MODALITIES.flatMap((m) => [`${m}_alone_mean`, `${m}_alone_std`, `${m}_alone_n`]));
  const hasLocal = rows.some((r) => r.local !== null);
  if (hasLocal) header.push('local_acc_mean', 'local_acc_std', 'local_acc_n');
  const lines = [header.map(csvField).join(',')];
  for (const r of rows) {
    const c = r.vsBaseline;
    const fields: Array<string | number | boolean | null> = [
      r.cell, r.group, r.strategy, r.isBaseline, r.n, r.seeds.join(' '), r.rounds,
      r.finalAccuracy.mean, r.finalAccuracy.std, r.bestAccuracy,
      ...targets.flatMap((t) => {
        const s = r.targets.find((x) => x.target === t);
        return s ? [s.best.median, s.best.reached, s.smoothed.median, s.smoothed.reached] : [null, null, null, null];
      }),
      r.finalAsr?.mean ?? null, r.finalAsr?.std ?? null, r.finalAsr?.n ?? null,
      r.finalClientWorst10?.mean ?? null, r.finalClientWorst10?.std ?? null,
      c?.baselineCell ?? null, c ? c.pairedSeeds.join(' ') : null, c?.diffMean ?? null, c?.diffCi?.[0] ?? null, c?.diffCi?.[1] ?? null,
      ...targets.flatMap((t) => {
        const x = c?.reductions.find((y) => y.target === t);
        return [x?.estimate ?? null, x?.ci?.[0] ?? null, x?.ci?.[1] ?? null];
      }),
    ];
    if (hasImbalance) fields.push(...IMBALANCE_KEYS.flatMap((k) => [r.imbalance?.[k]?.mean ?? null, r.imbalance?.[k]?.std ?? null, r.imbalance?.[k]?.n ?? null]));
    const st = r.stability;
    if (hasStability) {
      fields.push(
        st?.window ?? null, st?.accuracyStd?.mean ?? null, st?.accuracyStd?.std ?? null, st?.meanAbsChange?.mean ?? null, st?.meanAbsChange?.std ?? null,
        st && st.seedsWithLoss ? st.divergingRounds : null, st && st.seedsWithLoss ? st.divergingSeeds : null,
      );
    }
    const tr = r.traffic;
    if (hasTraffic) {
      fields.push(
        tr?.upPerRound.mean ?? null, tr?.upPerRound.std ?? null, tr?.upPerRound.n ?? null,
        tr?.downPerRound?.mean ?? null, tr?.downPerRound?.std ?? null, tr?.upShareOfDense ?? null,
        ...targets.flatMap((t) => {
          const u = tr?.upToTarget.find((x) => x.target === t);
          return [u?.medianMB ?? null, u?.reached ?? null, u?.n ?? null];
        }),
      );
    }
    if (hasModalities) fields.push(...MODALITIES.flatMap((m) => [r.modalities?.[m]?.mean ?? null, r.modalities?.[m]?.std ?? null, r.modalities?.[m]?.n ?? null]));
    if (hasLocal) fields.push(r.local?.mean ?? null, r.local?.std ?? null, r.local?.n ?? null);
    lines.push(fields.map(csvField).join(','));
  }
  return lines.join('\r\n') + '\r\n';
}

/** A strategy's colour, the same in every panel and plot: the baseline first, then first appearance. */
function strategyColors(cells: Cell[], baseline: string): (strategy: string) => string {
  const strategies: string[] = [];
  for (const c of cells) if (!strategies.includes(c.strategy)) strategies.push(c.strategy);
  strategies.sort((a, b) => Number(b === baseline) - Number(a === baseline));
  return (s) => PALETTE[strategies.indexOf(s) % PALETTE.length];
}

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

/**
 * Mean test accuracy per round over seeds: small multiples, one panel per group, one line per strategy
 * (the baseline first; a strategy keeps its colour across panels). One standalone SVG.
 */
export function plotSvg(runs: RunRecord[], opts: SummaryOptions): string {
  validateOptions(opts);
  const cells = orderCells(groupCells(runs), opts.baseline);
  const color = strategyColors(cells, opts.baseline);
  const groups = [...new Set(cells.map((c) => c.group))];
  const perPanel = Math.max(...groups.map((g) => cells.filter((c) => c.group === g).length));
  // lineChartSvg spaces legend labels 150 px apart from x = 56; widen the panels so they all fit.
  const W = Math.max(640, 56 + 150 * perPanel + 16);
  const H = 300;
  const panels = groups.map((g, gi) => {
    const series: Series[] = cells
      .filter((c) => c.group === g)
      .map((c) => {
        const T = Math.max(...c.runs.map((r) => r.accuracy.length));
        const values = Array.from({ length: T }, (_, i) => {
          const v = c.runs.map((r) => r.accuracy[i]).filter((a): a is number => a !== undefined);
          return v.length ? mean(v) : null;
        });
        return { label: `${c.strategy} (n=${c.runs.length})`, color: color(c.strategy), values };
      });
    const svg = lineChartSvg(series, { width: W, height: H, title: `${g}: mean test accuracy over seeds`, xLabel: 'round' });
    return `<g transform="translate(0,${gi * H})">${svg}</g>`;
  });
  const total = H * groups.length;
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${total}" width="${W}" height="${total}">` +
    panels.join('') +
    '</svg>'
  );
}

const escXml = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
const f1 = (x: number) => x.toFixed(1);

/** Tick values 1, 2, 5 × 10^k in [10^lo, 10^hi]; only the powers of ten when that spans more than 4 decades. */
function logTicks(lo: number, hi: number): number[] {
  const out: number[] = [];
  for (let k = lo; k <= hi; k++) for (const m of hi - lo > 4 ? [1] : [1, 2, 5]) if (k < hi || m === 1) out.push(+(m * 10 ** k).toPrecision(1));
  return out;
}

/**
 * Mean test accuracy (fixed 0–100% axis) against mean cumulative uplink MB (log axis), both over seeds per round:
 * one panel per group, one line per strategy with its plot.svg colour, the legend right of the plot. Only runs with
 * byte counts are drawn; null when no run has them. One standalone SVG.
 */
export function trafficSvg(runs: RunRecord[], opts: SummaryOptions): string | null {
  validateOptions(opts);
  const all = orderCells(groupCells(runs), opts.baseline);
  const color = strategyColors(all, opts.baseline);
  const cells = all.map((c) => ({ ...c, runs: c.runs.filter((r) => uplinkOf(r) !== null) })).filter((c) => c.runs.length > 0);
  if (cells.length === 0) return null;
  const groups = [...new Set(cells.map((c) => c.group))];
  const lines = cells.map((c) => {
    const cum = c.runs.map((r) => cumulativeMB(uplinkOf(r)!));
    const T = Math.max(...c.runs.map((r) => r.accuracy.length));
    const points = Array.from({ length: T }, (_, i) => {
      const idx = c.runs.flatMap((r, k) => (i < r.accuracy.length ? [k] : []));
      return { x: mean(idx.map((k) => cum[k][i])), y: mean(idx.map((k) => c.runs[k].accuracy[i])) };
    }).filter((p) => p.x > 0);
    return { group: c.group, label: `${c.strategy} (n=${c.runs.length})`, color: color(c.strategy), points };
  });
  const xs = lines.flatMap((l) => l.points.map((p) => p.x));
  // Decades around every point, the same for all panels so that they compare.
  let lo = xs.length ? Math.floor(Math.log10(Math.min(...xs))) : 0;
  let hi = xs.length ? Math.ceil(Math.log10(Math.max(...xs))) : 1;
  if (hi <= lo) hi = lo + 1;
  const m = { l: 64, t: 30, b: 48 };
  const PW = 520;
  const PH = 260;
  const legendX = m.l + PW + 16;
  const legendW = 34 + 6.5 * Math.max(...lines.map((l) => l.label.length));
  const W = Math.ceil(legendX + legendW + 8);
  const perPanel = Math.max(...groups.map((g) => lines.filter((l) => l.group === g).length));
  const H = Math.max(m.t + PH + m.b, m.t + 16 * perPanel + 8);
  const X = (v: number) => m.l + ((Math.log10(v) - lo) / (hi - lo)) * PW;
  const Y = (a: number) => m.t + (1 - a) * PH;
  const panels = groups.map((g, gi) => {
    const p: string[] = [`<g transform="translate(0,${gi * H})">`, `<rect width="${W}" height="${H}" fill="#fff"/>`];
    p.push(`<text x="${m.l + PW / 2}" y="18" text-anchor="middle" font-size="13">${escXml(`${g}: test accuracy against uplink traffic`)}</text>`);
    for (let k = 0; k <= 10; k++) {
      const y = f1(Y(k / 10));
      p.push(`<line x1="${m.l}" y1="${y}" x2="${m.l + PW}" y2="${y}" stroke="#e4e4e4"/>`);
      if (k % 2 === 0) p.push(`<text x="${m.l - 6}" y="${f1(Y(k / 10) + 4)}" text-anchor="end" fill="#444">${k * 10}</text>`);
    }
    for (const v of logTicks(lo, hi)) {
      const x = f1(X(v));
      p.push(`<line x1="${x}" y1="${m.t}" x2="${x}" y2="${m.t + PH}" stroke="#e4e4e4"/>`);
      p.push(`<text x="${x}" y="${m.t + PH + 15}" text-anchor="middle" fill="#444">${v}</text>`);
    }
    p.push(`<rect x="${m.l}" y="${m.t}" width="${PW}" height="${PH}" fill="none" stroke="#888"/>`);
    p.push(`<text x="${m.l + PW / 2}" y="${m.t + PH + 36}" text-anchor="middle">cumulative uplink MB (10^6 bytes, log scale), mean over seeds</text>`);
    p.push(`<text transform="translate(16,${m.t + PH / 2}) rotate(-90)" text-anchor="middle">test accuracy %, mean over seeds</text>`);
    lines
      .filter((l) => l.group === g)
      .forEach((l, li) => {
        const pts = l.points.map((q) => `${f1(X(q.x))},${f1(Y(q.y))}`);
        if (pts.length > 1) p.push(`<polyline fill="none" stroke="${l.color}" stroke-width="2" points="${pts.join(' ')}"/>`);
        for (const q of pts) {
          const [cx, cy] = q.split(',');
          p.push(`<circle cx="${cx}" cy="${cy}" r="2.5" fill="${l.color}"/>`);
        }
        const ly = m.t + 8 + 16 * li;
        p.push(`<line x1="${legendX}" y1="${ly}" x2="${legendX + 22}" y2="${ly}" stroke="${l.color}" stroke-width="2"/>`);
        p.push(`<text x="${legendX + 28}" y="${ly + 4}" fill="${l.color}">${escXml(l.label)}</text>`);
      });
    p.push('</g>');
    return p.join('');
  });
  const total = H * groups.length;
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${total}" width="${W}" height="${total}" font-family="sans-serif" font-size="11">` +
    panels.join('') +
    '</svg>'
  );
}

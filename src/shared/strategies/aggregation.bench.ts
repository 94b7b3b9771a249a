// Timing of every aggregation strategy against the cost of merely copying the same client bytes (every client
// update into a preallocated buffer of its own, `dst.set(src)`), timed call by call next to each other. Not a vitest file;
// `npm run bench` runs it (scripts/bench.ts, with the real CNN-S / CNN-M layer specs from buildModel), or e.g.
//   npx tsx --eval "import('./src/shared/strategies/aggregation.bench.ts').then((m) => {
//     console.log(m.formatBenchTable(m.benchAggregation({ sizes: [225034, 1663370], clients: [8, 32], repeats: 5 }))) })"
import { createRng } from '../prng';
import { totalSize, type LayerSpec } from '../weights';
import { createStrategy, type StrategyName, type StrategyParams } from './registry';
import type { AggregationInput, StrategyUpdate } from './strategy';

export interface BenchRow {
  strategy: StrategyName;
  /** The non-default params, as JSON ('' when none). */
  params: string;
  /** Model id ('cnn-s', 'cnn-m') or `flat-<size>` for a single-layer vector. */
  model: string;
  size: number;
  clients: number;
  /**
   * Fastest timed aggregate() call (state carried over rounds; the first round is warm-up): other load on the
   * machine only ever adds time, so the best call is the steadiest estimate on a shared machine.
   */
  msPerRound: number;
  /** Median of the timed aggregate() calls. */
  msMedian: number;
  /**
   * Fastest copy of every client update once: one copy per timed aggregate() call of every strategy of this
   * (model, clients) case, in alternation with them (so the same value in each row of a case).
   */
  copyMs: number;
  /** Median of those copies. */
  copyMsMedian: number;
  /** msPerRound / copyMs */
  ratio: number;
  /** Timed aggregate() calls. */
  rounds: number;
}

export interface BenchModel {
  id: string;
  layers: LayerSpec[];
}

export interface BenchOptions {
  /** Flat sizes (layers from `benchLayers`); ignored when `models` is given. */
  sizes?: number[];
  /** Models with their layer specs, e.g. `layerSpecs(buildModel('cnn-m'))`. */
  models?: BenchModel[];
  clients?: number[];
  /** Timed rounds at the smallest size; larger sizes get proportionally fewer (at least `minRepeats`). */
  repeats?: number;
  /** Default min(2, repeats). */
  minRepeats?: number;
  /** Keep timing rounds until the aggregate() calls took this long in all (default 0), up to `maxRepeats`. */
  minMs?: number;
  /** Default 4 × repeats. */
  maxRepeats?: number;
  /** Default: every strategy with default params, plus Fed-Adaptive-Next's DWS-only ablation. */
  strategies?: Array<{ name: StrategyName; params?: Partial<StrategyParams> }>;
  /** Called after each row (progress). */
  onRow?: (row: BenchRow) => void;
}

export const DEFAULT_BENCH_STRATEGIES: Array<{ name: StrategyName; params?: Partial<StrategyParams> }> = [
  { name: 'fedavg' },
  { name: 'fedprox' },
  { name: 'scaffold' },
  { name: 'fednova' },
  { name: 'fedatt' },
  { name: 'fed-adaptive-next' },
  { name: 'fed-adaptive-next', params: { attention: false } },
  { name: 'fedadam' },
  { name: 'qfedavg' },
  { name: 'krum' },
  { name: 'multi-krum' },
  { name: 'bulyan' },
  { name: 'median' },
  { name: 'trimmed-mean' },
  { name: 'fltrust' },
  { name: 'clip' },
];

/**
 * CNN-S (225,034) and CNN-M (1,663,370) of spec §0.1, as `layerSpecs(buildModel(id))` gives them (npm run bench
 * checks that they still agree); any other size is a single layer.
 */
export function benchLayers(size: number): LayerSpec[] {
  const conv = (k: number, cin: number, cout: number, i: number): LayerSpec[] => [
    { name: `conv${i}/kernel`, shape: [k, k, cin, cout] },
    { name: `conv${i}/bias`, shape: [cout] },
  ];
  const dense = (a: number, b: number, name: string): LayerSpec[] => [
    { name: `${name}/kernel`, shape: [a, b] },
    { name: `${name}/bias`, shape: [b] },
  ];
  if (size === 225034) return [...conv(3, 1, 32, 1), ...conv(3, 32, 64, 2), ...dense(1600, 128, 'fc1'), ...dense(128, 10, 'out')];
  if (size === 1663370) return [...conv(5, 1, 32, 1), ...conv(5, 32, 64, 2), ...dense(3136, 512, 'fc1'), ...dense(512, 10, 'out')];
  return [{ name: 'flat', shape: [size] }];
}

/** Clients share a common direction plus private noise (so cosines and norms are not degenerate). */
function makeInput(layers: LayerSpec[], clients: number, seed: number): AggregationInput {
  const size = totalSize(layers);
  const rng = createRng(seed);
  const common = new Float32Array(size);
  for (let i = 0; i < size; i++) common[i] = (rng.next() - 0.5) * 0.02;
  const updates: StrategyUpdate[] = [];
  for (let k = 0; k < clients; k++) {
    const delta = new Float32Array(size);
    const control = new Float32Array(size);
    const scale = k === clients - 1 ? 10 : 1; // one large-norm client
    for (let i = 0; i < size; i++) {
      delta[i] = scale * (common[i] + (rng.next() - 0.5) * 0.02);
      control[i] = delta[i] * 0.1;
    }
    updates.push({
      clientId: `client-${k}`,
      slot: k,
      numSamples: 100 + 10 * k,
      delta,
      epochLosses: [1, 0.8, 0.7],
      batchLosses: [0.7, 0.75, 0.65, 0.7 + 0.01 * k],
      steps: 20 + k,
      initialLoss: 1 + 0.01 * k,
      extras: { controlDelta: control },
    });
  }
  const serverUpdate = common.slice();
  return { global: new Float32Array(size), layers, updates, round: 1, numClients: clients, seed, serverUpdate, clientLr: 0.05 };
}

/**
 * Wall time of copying every client update once into `dst` (preallocated, one buffer per client): the bytes
 * moved, without the allocator's or the GC's state (a fresh `new Float32Array(src)` costs from 1× to 3× that,
 * depending on whether its pages are still mapped).
 */
function timeCopy(updates: readonly StrategyUpdate[], dst: readonly Float32Array[]): number {
  let sink = 0;
  const t0 = performance.now();
  for (let k = 0; k < updates.length; k++) {
    dst[k].set(updates[k].delta);
    sink += dst[k][dst[k].length - 1];
  }
  const ms = performance.now() - t0;
  if (Number.isNaN(sink)) throw new Error('unreachable'); // keeps the copies observable
  return ms;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * A full collection, outside the timed region, before each strategy where node runs with --expose-gc (npm run bench
 * does): otherwise one strategy's garbage (up to hundreds of MB at K=32, CNN-M) is collected inside another's calls.
 * A strategy's own garbage from one round to the next is its own cost and stays in.
 */
const collect = () => (globalThis as { gc?: () => void }).gc?.();

export function benchAggregation(opts: BenchOptions = {}): BenchRow[] {
  const models = opts.models ?? (opts.sizes ?? [225034, 1663370]).map((size) => ({ id: `flat-${size}`, layers: benchLayers(size) }));
  const clientCounts = opts.clients ?? [8, 32];
  const baseRepeats = opts.repeats ?? 5;
  const minRepeats = Math.max(1, opts.minRepeats ?? Math.min(2, baseRepeats));
  const maxRepeats = Math.max(baseRepeats, opts.maxRepeats ?? 4 * baseRepeats);
  const minMs = opts.minMs ?? 0;
  const strategies = opts.strategies ?? DEFAULT_BENCH_STRATEGIES;
  const minSize = Math.min(...models.map((m) => totalSize(m.layers)));
  const rows: BenchRow[] = [];
  for (const model of models) {
    const size = totalSize(model.layers);
    const reps = Math.max(minRepeats, Math.round((baseRepeats * minSize) / size));
    for (const clients of clientCounts) {
      let input: AggregationInput | undefined = makeInput(model.layers, clients, 1234 + clients);
      const dst = input.updates.map((u) => new Float32Array(u.delta.length));
      const copy = () => timeCopy(input!.updates, dst);
      copy(); // warm-up (and maps dst's pages)
      // One copy per timed call, in alternation with them across every strategy of this case; the ratio divides by
      // the best of all of them, so every strategy of a case is compared with the same (well-sampled) copy time.
      const copyMs: number[] = [];
      const timed: Array<Omit<BenchRow, 'copyMs' | 'copyMsMedian' | 'ratio'>> = [];
      for (const { name, params } of strategies) {
        const s = createStrategy(name, params);
        collect();
        let state = s.initState();
        state = s.aggregate(input, state).state; // round 1: warm-up (and Fed-Adaptive-Next's median reference)
        let global = input.global;
        const aggMs: number[] = [];
        let spent = 0;
        for (let r = 0; aggMs.length < reps || (spent < minMs && aggMs.length < maxRepeats); r++) {
          if (r % 2 === 0) copyMs.push(copy());
          const t0 = performance.now();
          const out = s.aggregate({ ...input, global, round: r + 2 }, state);
          const ms = performance.now() - t0;
          aggMs.push(ms);
          spent += ms;
          state = out.state;
          global = out.result.weights;
          if (r % 2 === 1) copyMs.push(copy());
        }
        timed.push({ strategy: name, params: params ? JSON.stringify(params) : '', model: model.id, size, clients, msPerRound: Math.min(...aggMs), msMedian: median(aggMs), rounds: aggMs.length });
      }
      while (copyMs.length < 5) copyMs.push(copy());
      const copyBest = Math.min(...copyMs);
      const copyMedian = median(copyMs);
      for (const t of timed) {
        const row: BenchRow = { ...t, copyMs: copyBest, copyMsMedian: copyMedian, ratio: t.msPerRound / copyBest };
        rows.push(row);
        opts.onRow?.(row);
      }
      input = undefined;
    }
  }
  return rows;
}

/**
 * Issue 11's kernel targets, as a ratio to the copy: FedAvg ≤ 1.5× in every case; the robust rules (median, trimmed
 * mean, Krum, Multi-Krum, Bulyan, Fed-Adaptive-Next with default params) ≤ 10× at K = 32.
 */
export function benchTarget(strategy: string, params: string, clients: number): number | null {
  if (strategy === 'fedavg' && !params) return 1.5;
  const robust = ['median', 'trimmed-mean', 'krum', 'multi-krum', 'bulyan', 'fed-adaptive-next'];
  return robust.includes(strategy) && !params && clients === 32 ? 10 : null;
}

const modelLabel = (id: string) => (/^cnn-|^2nn$/.test(id) ? id.toUpperCase() : id);
const ms = (v: number) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
const strategyLabel = (x: { strategy: string; params: string }) =>
  x.params ? `${x.strategy} (${Object.entries(JSON.parse(x.params) as Record<string, unknown>).map(([k, v]) => `${k}: ${v}`).join(', ')})` : x.strategy;

/** A Markdown table, columns padded, the first left-aligned and the others right-aligned. */
function markdownTable(header: string[], body: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => (i ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (i ? `${'-'.repeat(w + 1)}:` : `:${'-'.repeat(w + 1)}`)).join('|')}|`;
  return [line(header), rule, ...body.map(line)].join('\n');
}

/**
 * One row per strategy, one column per (model, K): "best ms per aggregate() (ratio to the copy)", with a first row
 * giving the copy's best ms and a second its rate, as Markdown; a cell with a target (benchTarget) ends in ✓ (met)
 * or ✗ (not met), and a line under the table counts them.
 */
export function formatBenchTable(rows: readonly BenchRow[]): string {
  // Every row of a case carries the case's copy time.
  const cases = [...new Map(rows.map((r) => [`${r.model}|${r.clients}`, { model: r.model, size: r.size, clients: r.clients, copyMs: r.copyMs }])).values()];
  const strategies = [...new Map(rows.map((r) => [`${r.strategy}|${r.params}`, { strategy: r.strategy, params: r.params }])).values()];
  let met = 0, missed = 0;
  const cell = (r: BenchRow | undefined) => {
    if (!r) return '–';
    const target = benchTarget(r.strategy, r.params, r.clients);
    const ok = target !== null && r.ratio <= target;
    if (target !== null) ok ? met++ : missed++;
    return `${ms(r.msPerRound)} (${r.ratio.toFixed(1)}×)${target === null ? '' : ok ? ' ✓' : ' ✗'}`;
  };
  const header = ['strategy', ...cases.map((c) => `${modelLabel(c.model)} K=${c.clients}`)];
  const body: string[][] = [
    ['copy of the K updates', ...cases.map((c) => ms(c.copyMs))],
    // The copy's rate tells hosts apart: the ratios move with it (L3-resident at K = 8 on CNN-S, memory-bound above).
    ['copy rate, GB/s', ...cases.map((c) => ((c.clients * c.size * 4) / (c.copyMs * 1e6)).toFixed(1))],
    ...strategies.map((x) => [
      strategyLabel(x),
      ...cases.map((c) => cell(rows.find((r) => r.strategy === x.strategy && r.params === x.params && r.model === c.model && r.clients === c.clients))),
    ]),
  ];
  const note = met + missed ? [``, `Targets (issue 11): FedAvg ≤ 1.5× the copy; median, trimmed mean, Krum, Multi-Krum, Bulyan, Fed-Adaptive-Next ≤ 10× at K = 32: ${met} met (✓), ${missed} not (✗).`] : [];
  return [markdownTable(header, body), ...note].join('\n');
}

/** Median of a non-empty list (even length: the mean of the two middle values). */
const medianOf = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/**
 * Several runs of the bench side by side, since a single run's cells move by up to ±40% on a shared host: per
 * (model, K), the median ratio to the copy and its range, "median× (min–max)", with the copy's ms and GB/s above.
 * A cell with a target ends in ✓ (met in every run), ~ (in some) or ✗ (in none); a cell missing from some runs
 * says in how many it was timed. Markdown, as formatBenchTable.
 */
export function summarizeBenchRuns(runs: readonly (readonly BenchRow[])[]): string {
  if (runs.length === 0) throw new Error('summarizeBenchRuns: no runs');
  const all = runs.flat();
  const cases = [...new Map(all.map((r) => [`${r.model}|${r.clients}`, { model: r.model, size: r.size, clients: r.clients }])).values()];
  const strategies = [...new Map(all.map((r) => [`${r.strategy}|${r.params}`, { strategy: r.strategy, params: r.params }])).values()];
  const counts = { every: 0, some: 0, none: 0 };
  const range = (xs: number[], f: (v: number) => string, unit = '') =>
    xs.length === 1 ? `${f(xs[0])}${unit}` : `${f(medianOf(xs))}${unit} (${f(Math.min(...xs))}–${f(Math.max(...xs))})`;
  const inCase = (rs: readonly BenchRow[], c: (typeof cases)[number]) => rs.filter((r) => r.model === c.model && r.clients === c.clients);
  // One copy time per run and case (every row of a case carries it).
  const copies = (c: (typeof cases)[number]) => runs.flatMap((rs) => inCase(rs, c).slice(0, 1).map((r) => r.copyMs));
  const cell = (x: (typeof strategies)[number], c: (typeof cases)[number]) => {
    const ratios = runs.flatMap((rs) => inCase(rs, c).filter((r) => r.strategy === x.strategy && r.params === x.params).map((r) => r.ratio));
    if (!ratios.length) return '–';
    const target = benchTarget(x.strategy, x.params, c.clients);
    let mark = '';
    if (target !== null) {
      const met = ratios.filter((v) => v <= target).length;
      const kind = met === ratios.length ? 'every' : met ? 'some' : 'none';
      counts[kind]++;
      mark = { every: ' ✓', some: ' ~', none: ' ✗' }[kind];
    }
    const partial = ratios.length < runs.length ? ` [${ratios.length} of ${runs.length} runs]` : '';
    return `${range(ratios, (v) => v.toFixed(1), '×')}${mark}${partial}`;
  };
  const header = ['strategy', ...cases.map((c) => `${modelLabel(c.model)} K=${c.clients}`)];
  const body: string[][] = [
    ['copy of the K updates, ms', ...cases.map((c) => range(copies(c), ms))],
    ['copy rate, GB/s', ...cases.map((c) => range(copies(c).map((t) => (c.clients * c.size * 4) / (t * 1e6)), (v) => v.toFixed(1)))],
    ...strategies.map((x) => [strategyLabel(x), ...cases.map((c) => cell(x, c))]),
  ];
  const n = counts.every + counts.some + counts.none;
  const note = n
    ? ['', `${runs.length} run${runs.length > 1 ? 's' : ''}. Targets (issue 11): FedAvg ≤ 1.5× the copy; median, trimmed mean, Krum, Multi-Krum, Bulyan, Fed-Adaptive-Next ≤ 10× at K = 32: of ${n}, met in every run ${counts.every} (✓), in some ${counts.some} (~), in none ${counts.none} (✗).`]
    : ['', `${runs.length} run${runs.length > 1 ? 's' : ''}.`];
  return [markdownTable(header, body), ...note].join('\n');
}

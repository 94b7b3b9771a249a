// Timing of every aggregation strategy against the cost of merely copying the same client bytes
// (`new Float32Array(src)` for every client update). Not a vitest file; run e.g.
//   npx tsx --eval "import('./src/server-worker/aggregation/aggregation.bench.ts').then((m) => {
//     console.log(m.formatBenchTable(m.benchAggregation({ sizes: [225034, 1663370], clients: [8, 32], repeats: 5 }))) })"
import { createRng } from '../../shared/prng';
import type { LayerSpec } from '../../shared/weights';
import { createStrategy, type AggregationInput, type StrategyName, type StrategyParams, type StrategyUpdate } from './strategy';

export interface BenchRow {
  strategy: StrategyName;
  /** The non-default params, as JSON ('' when none). */
  params: string;
  size: number;
  clients: number;
  /** Mean wall time of one aggregate() call (state carried over rounds; the first round is warm-up). */
  msPerRound: number;
  /** Mean wall time of copying every client update once. */
  copyMs: number;
  /** msPerRound / copyMs */
  ratio: number;
}

export interface BenchOptions {
  sizes?: number[];
  clients?: number[];
  /** Timed rounds at the smallest size; larger sizes get proportionally fewer (at least min(2, repeats)). */
  repeats?: number;
  /** Default: every strategy with default params, plus Fed-Adaptive-Next's DWS-only ablation. */
  strategies?: Array<{ name: StrategyName; params?: StrategyParams }>;
  /** Called after each row (progress). */
  onRow?: (row: BenchRow) => void;
}

export const DEFAULT_BENCH_STRATEGIES: Array<{ name: StrategyName; params?: StrategyParams }> = [
  { name: 'fedavg' },
  { name: 'fedprox' },
  { name: 'scaffold' },
  { name: 'fednova' },
  { name: 'fedatt' },
  { name: 'fed-adaptive-next' },
  { name: 'fed-adaptive-next', params: { attention: false } },
  { name: 'krum' },
  { name: 'multi-krum' },
  { name: 'median' },
  { name: 'trimmed-mean' },
  { name: 'fltrust' },
  { name: 'clip' },
];

/** CNN-S (225,034) and CNN-M (1,663,370) of spec §0.1; any other size is a single layer. */
export function benchLayers(size: number): LayerSpec[] {
  const conv = (k: number, cin: number, cout: number, i: number): LayerSpec[] => [
    { name: `conv${i}/kernel`, shape: [k, k, cin, cout] },
    { name: `conv${i}/bias`, shape: [cout] },
  ];
  const dense = (a: number, b: number, i: number): LayerSpec[] => [
    { name: `dense${i}/kernel`, shape: [a, b] },
    { name: `dense${i}/bias`, shape: [b] },
  ];
  if (size === 225034) return [...conv(3, 1, 32, 1), ...conv(3, 32, 64, 2), ...dense(1600, 128, 1), ...dense(128, 10, 2)];
  if (size === 1663370) return [...conv(5, 1, 32, 1), ...conv(5, 32, 64, 2), ...dense(3136, 512, 1), ...dense(512, 10, 2)];
  return [{ name: 'flat', shape: [size] }];
}

/** Clients share a common direction plus private noise (so cosines and norms are not degenerate). */
function makeInput(size: number, clients: number, seed: number): AggregationInput {
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
      numSamples: 100 + 10 * k,
      delta,
      epochLosses: [1, 0.8, 0.7],
      batchLosses: [0.7, 0.75, 0.65, 0.7 + 0.01 * k],
      steps: 20 + k,
      controlDelta: control,
    });
  }
  const serverUpdate = common.slice();
  return { global: new Float32Array(size), layers: benchLayers(size), updates, round: 1, numClients: clients, seed, serverUpdate };
}

function timeCopies(updates: readonly StrategyUpdate[], reps: number): number {
  let sink = 0;
  const t0 = performance.now();
  for (let r = 0; r < reps; r++) {
    for (const u of updates) {
      const c = new Float32Array(u.delta);
      sink += c[r % c.length];
    }
  }
  const ms = (performance.now() - t0) / reps;
  if (Number.isNaN(sink)) throw new Error('unreachable'); // keeps the copies observable
  return ms;
}

export function benchAggregation(opts: BenchOptions = {}): BenchRow[] {
  const sizes = opts.sizes ?? [225034, 1663370];
  const clientCounts = opts.clients ?? [8, 32];
  const baseRepeats = opts.repeats ?? 5;
  const strategies = opts.strategies ?? DEFAULT_BENCH_STRATEGIES;
  const minSize = Math.min(...sizes);
  const rows: BenchRow[] = [];
  for (const size of sizes) {
    const reps = Math.max(Math.min(2, baseRepeats), Math.round((baseRepeats * minSize) / size));
    for (const clients of clientCounts) {
      const input = makeInput(size, clients, 1234 + clients);
      timeCopies(input.updates, 1); // warm-up
      const copyMs = timeCopies(input.updates, Math.max(5, reps));
      for (const { name, params } of strategies) {
        const s = createStrategy(name, params);
        let state = s.initState();
        state = s.aggregate(input, state).state; // round 1: warm-up (and Fed-Adaptive-Next's median reference)
        let global = input.global;
        const t0 = performance.now();
        for (let r = 0; r < reps; r++) {
          const out = s.aggregate({ ...input, global, round: r + 2 }, state);
          state = out.state;
          global = out.result.weights;
        }
        const msPerRound = (performance.now() - t0) / reps;
        const row: BenchRow = { strategy: name, params: params ? JSON.stringify(params) : '', size, clients, msPerRound, copyMs, ratio: msPerRound / copyMs };
        rows.push(row);
        opts.onRow?.(row);
      }
    }
  }
  return rows;
}

export function formatBenchTable(rows: readonly BenchRow[]): string {
  const head = '| strategy | params | size | clients | ms/round | copy ms | ratio |\n|---|---|---:|---:|---:|---:|---:|';
  const body = rows.map(
    (r) =>
      `| ${r.strategy} | ${r.params || '—'} | ${r.size} | ${r.clients} | ${r.msPerRound.toFixed(1)} | ${r.copyMs.toFixed(2)} | ${r.ratio.toFixed(1)} |`,
  );
  return [head, ...body].join('\n');
}

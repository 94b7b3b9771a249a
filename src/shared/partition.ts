// Client data partitioners (spec §0.2). Deterministic from (labels, numClients, params, seed).
// Every partitioner returns, per client, its sample indices as an Int32Array sorted ascending; parts are disjoint.
import * as v from 'valibot';
import { createRng, deriveSeed, sampleWithoutReplacement, shuffle, type Rng } from './prng';

export const PARTITION_SCHEMES = ['iid', 'dirichlet', 'shards', 'labels', 'quantity', 'longtail', 'fedprox'] as const;
export type PartitionScheme = (typeof PARTITION_SCHEMES)[number];

export interface PartitionParams {
  scheme: PartitionScheme;
  /** Dirichlet concentration (dirichlet & longtail), default 0.5. */
  alpha?: number;
  /** shards, default 2. */
  shardsPerClient?: number;
  /** #C=k for labels, default 2. */
  labelsPerClient?: number;
  /** Quantity-skew concentration, default 0.5. */
  beta?: number;
  /** longtail IF = n_max / n_min, default 10. */
  imbalanceFactor?: number;
  /** Minimum samples per client for dirichlet, quantity and longtail, default 10. */
  minSamples?: number;
}

export const PARTITION_DEFAULTS = {
  alpha: 0.5,
  shardsPerClient: 2,
  labelsPerClient: 2,
  beta: 0.5,
  imbalanceFactor: 10,
  minSamples: 10,
} as const;

/** Samples of each of its two digits a FedProx-MNIST client gets before the power-law shares (generate_niid.py). */
export const FEDPROX_SEED = 5;
/** σ of the lognormal power-law shares (generate_niid.py: np.random.lognormal(0, 2.0)). */
export const FEDPROX_SIGMA = 2;

/** Per-class cap of the long-tail head class (CReFF protocol). */
export const LONGTAIL_NMAX = 5000;
/** Resampling cap for the "every client ≥ minSamples" loops. */
export const MAX_RESAMPLES = 1000;

type Resolved = Required<PartitionParams>;

function fail(msg: string): never {
  throw new Error(`partition: ${msg}`);
}

function posInt(name: string, v: number, min: number): void {
  if (!Number.isInteger(v) || v < min) fail(`${name} must be an integer >= ${min}, got ${v}`);
}

const finiteNumber = (key: string, rule: (x: number) => boolean, want: string) =>
  v.optional(v.pipe(v.number(`${key} must be a finite number`), v.finite(`${key} must be a finite number`), v.check(rule, `${key} ${want}`)));

/** The parameters alone; what depends on the data (labels per client ≤ classes, enough samples) is checked below. */
const PARAMS_SCHEMA = v.object({
  scheme: v.picklist(PARTITION_SCHEMES, `valid schemes: ${PARTITION_SCHEMES.join(', ')}`),
  alpha: finiteNumber('alpha', (x) => x > 0, 'must be > 0 (e.g. 0.1 severe, 0.5 default, 100 ≈ IID)'),
  shardsPerClient: finiteNumber('shardsPerClient', (x) => Number.isInteger(x) && x >= 1, 'must be an integer >= 1'),
  labelsPerClient: finiteNumber('labelsPerClient', (x) => Number.isInteger(x) && x >= 1, 'must be an integer >= 1'),
  beta: finiteNumber('beta', (x) => x > 0, 'must be > 0'),
  imbalanceFactor: finiteNumber('imbalanceFactor', (x) => x >= 1, 'must be >= 1'),
  minSamples: finiteNumber('minSamples', (x) => Number.isInteger(x) && x >= 0, 'must be an integer >= 0'),
});

/** Validates and fills defaults. Throws an Error naming the valid schemes / ranges. */
export function validatePartitionParams(p: unknown, numClients: number, numClasses: number, n: number): PartitionParams {
  posInt('numClients', numClients, 1);
  posInt('numClasses', numClasses, 1);
  posInt('number of samples', n, 0);
  if (numClasses > 256) fail(`numClasses must be <= 256 (labels are a Uint8Array), got ${numClasses}`);
  if (typeof p !== 'object' || p === null) fail(`params must be an object like { scheme: 'iid' }; valid schemes: ${PARTITION_SCHEMES.join(', ')}`);
  const parsed = v.safeParse(PARAMS_SCHEMA, p);
  if (!parsed.success) {
    const issue = parsed.issues[0];
    const key = issue.path?.[0]?.key;
    fail(key === 'scheme' ? `unknown partition scheme ${JSON.stringify((p as { scheme?: unknown }).scheme)}; ${issue.message}` : `${issue.message}, got ${JSON.stringify(issue.input)}`);
  }
  const r = { ...PARTITION_DEFAULTS, ...Object.fromEntries(Object.entries(parsed.output).filter(([, x]) => x !== undefined)) } as Resolved;
  if (r.labelsPerClient > numClasses) fail(`labelsPerClient must be an integer in 1..${numClasses} (numClasses), got ${r.labelsPerClient}`);
  switch (r.scheme) {
    case 'iid':
    case 'labels':
      if (n < numClients) fail(`${r.scheme}: ${numClients} clients need at least ${numClients} samples, have ${n}`);
      break;
    case 'fedprox': {
      // Every client holds two digits with FEDPROX_SEED samples each before the power-law shares.
      if (numClasses < 2) fail('fedprox: needs at least 2 classes (each client holds two)');
      const need = Math.ceil((2 * numClients) / numClasses) * FEDPROX_SEED;
      if (need * numClasses > n) fail(`fedprox: ${numClients} clients × 2 digits × ${FEDPROX_SEED} seed samples need about ${need * numClasses} samples, have ${n}`);
      break;
    }
    case 'shards': {
      const shards = numClients * r.shardsPerClient;
      if (shards > n) fail(`shards: numClients·shardsPerClient = ${numClients}·${r.shardsPerClient} = ${shards} shards, but only ${n} samples`);
      break;
    }
    default:
      if (numClients * r.minSamples > n) {
        fail(`${r.scheme}: ${numClients} clients × minSamples ${r.minSamples} = ${numClients * r.minSamples} samples needed, have ${n}`);
      }
  }
  return r;
}

/** Indices of each class, ascending. */
function indicesByClass(labels: Uint8Array, numClasses: number): Int32Array[] {
  const counts = new Int32Array(numClasses);
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] >= numClasses) fail(`label ${labels[i]} at index ${i} is outside 0..${numClasses - 1}`);
    counts[labels[i]]++;
  }
  const out = Array.from(counts, (c) => new Int32Array(c));
  const fill = new Int32Array(numClasses);
  for (let i = 0; i < labels.length; i++) out[labels[i]][fill[labels[i]]++] = i;
  return out;
}

function finish(parts: ArrayLike<number>[]): Int32Array[] {
  return parts.map((p) => Int32Array.from(p).sort());
}

/** Cut arr into parts at floor(cumsum(p)·len), as NIID-Bench's np.split does. */
function cutByProportions(arr: Int32Array, p: Float64Array, into: number[][]): void {
  let acc = 0, start = 0;
  for (let j = 0; j < p.length; j++) {
    acc += p[j];
    const end = j === p.length - 1 ? arr.length : Math.min(arr.length, Math.floor(acc * arr.length));
    for (let i = start; i < end; i++) into[j].push(arr[i]);
    start = Math.max(start, end);
  }
}

/** np.array_split: the first len % k parts get one extra. */
function equalSplit(arr: Int32Array, k: number): Int32Array[] {
  const base = Math.floor(arr.length / k), extra = arr.length % k;
  const out: Int32Array[] = [];
  for (let j = 0, start = 0; j < k; j++) {
    const size = base + (j < extra ? 1 : 0);
    out.push(arr.subarray(start, start + size));
    start += size;
  }
  return out;
}

function iid(n: number, K: number, rng: Rng): Int32Array[] {
  const all = shuffle(Int32Array.from({ length: n }, (_, i) => i), rng);
  return finish(equalSplit(all, K));
}

/** NIID-Bench `noniid-labeldir` with the balance step, resampled until every client has ≥ minSamples. */
function dirichletSplit(byClass: Int32Array[], K: number, alpha: number, minSamples: number, rng: Rng, what: string): Int32Array[] {
  let N = 0;
  for (const c of byClass) N += c.length;
  for (let attempt = 0; attempt < MAX_RESAMPLES; attempt++) {
    const parts: number[][] = Array.from({ length: K }, () => []);
    for (const cls of byClass) {
      const idx = shuffle(cls.slice(), rng);
      const p = rng.dirichlet(alpha, K);
      let sum = 0;
      for (let j = 0; j < K; j++) {
        if (parts[j].length >= N / K) p[j] = 0;
        sum += p[j];
      }
      // Unreachable while some client is below N/K (one always is before the last class), kept against NaN.
      if (sum === 0) p.fill(1 / K);
      else for (let j = 0; j < K; j++) p[j] /= sum;
      cutByProportions(idx, p, parts);
    }
    if (parts.every((q) => q.length >= minSamples)) return finish(parts);
  }
  return fail(
    `${what}: after ${MAX_RESAMPLES} Dirichlet draws some client still had fewer than ${minSamples} samples ` +
      `(alpha=${alpha}, ${K} clients, ${N} samples); alpha is too small or there are too many clients for this data — ` +
      `raise alpha, or lower numClients or minSamples`,
  );
}

function shards(byClass: Int32Array[], n: number, K: number, s: number, rng: Rng): Int32Array[] {
  // Sorted by label; within a label the order is shuffled so a shard is a random subset of its digit.
  const sorted = new Int32Array(n);
  let k = 0;
  for (const cls of byClass) for (const i of shuffle(cls.slice(), rng)) sorted[k++] = i;
  const numShards = K * s, size = Math.floor(n / numShards);
  const order = shuffle(Int32Array.from({ length: numShards }, (_, i) => i), rng);
  const parts: number[][] = [];
  for (let c = 0; c < K; c++) {
    const part: number[] = [];
    for (let j = 0; j < s; j++) {
      const start = order[c * s + j] * size;
      for (let i = start; i < start + size; i++) part.push(sorted[i]);
    }
    parts.push(part);
  }
  return finish(parts);
}

/** Labels owned by each client under NIID-Bench's #C=k rule (client i first gets label i mod C). */
export function labelAssignment(numClients: number, numClasses: number, k: number, seed: number): number[][] {
  return assignLabels(numClients, numClasses, k, createRng(deriveSeed(seed, 'partition', 'labels')));
}

function assignLabels(K: number, C: number, k: number, rng: Rng): number[][] {
  const contain: number[][] = [];
  for (let i = 0; i < K; i++) {
    const current = [i % C];
    while (current.length < k) {
      const ind = rng.int(C);
      if (!current.includes(ind)) current.push(ind);
    }
    contain.push(current);
  }
  return contain;
}

function labelQuantity(byClass: Int32Array[], K: number, k: number, rng: Rng): Int32Array[] {
  const C = byClass.length;
  const contain = assignLabels(K, C, k, rng);
  const owners: number[][] = Array.from({ length: C }, () => []);
  contain.forEach((ls, i) => ls.forEach((c) => owners[c].push(i)));
  const parts: number[][] = Array.from({ length: K }, () => []);
  for (let c = 0; c < C; c++) {
    if (owners[c].length === 0) continue;
    const pieces = equalSplit(shuffle(byClass[c].slice(), rng), owners[c].length);
    owners[c].forEach((client, j) => {
      for (const i of pieces[j]) parts[client].push(i);
    });
  }
  return finish(parts);
}

function quantity(n: number, K: number, beta: number, minSamples: number, rng: Rng): Int32Array[] {
  const all = shuffle(Int32Array.from({ length: n }, (_, i) => i), rng);
  for (let attempt = 0; attempt < MAX_RESAMPLES; attempt++) {
    const parts: number[][] = Array.from({ length: K }, () => []);
    cutByProportions(all, rng.dirichlet(beta, K), parts);
    if (parts.every((q) => q.length >= minSamples)) return finish(parts);
  }
  return fail(
    `quantity: after ${MAX_RESAMPLES} Dirichlet(beta=${beta}) draws some client still had fewer than ${minSamples} samples ` +
      `(${K} clients, ${n} samples); raise beta, or lower numClients or minSamples`,
  );
}

/**
 * Long-tail per-class targets n_c = ⌊n_max · IF^(−r(c)/(C−1))⌋, r a seeded permutation of 0..C−1 and
 * n_max = min(5000, smallest class size) so every class can supply its target.
 */
export function longtailClassCounts(classSizes: ArrayLike<number>, imbalanceFactor: number, seed: number): number[] {
  return longtailCounts(classSizes, imbalanceFactor, createRng(deriveSeed(seed, 'partition', 'longtail-ranks')));
}

function longtailCounts(classSizes: ArrayLike<number>, IF: number, rng: Rng): number[] {
  const C = classSizes.length;
  const rank = shuffle(Array.from({ length: C }, (_, i) => i), rng);
  const nMax = Math.min(LONGTAIL_NMAX, ...Array.from(classSizes));
  // Divide by IF^(r/(C−1)) (exact at r = C−1) and nudge before flooring so 600/10 is 60, not 59.999….
  return rank.map((r) => Math.floor(nMax / Math.pow(IF, C > 1 ? r / (C - 1) : 0) + 1e-9));
}

function longtail(byClass: Int32Array[], K: number, r: Resolved, seed: number, rng: Rng): Int32Array[] {
  const counts = longtailClassCounts(byClass.map((c) => c.length), r.imbalanceFactor, seed);
  const sub = byClass.map((cls, c) => Int32Array.from(sampleWithoutReplacement(cls.length, counts[c], rng), (j) => cls[j]));
  return dirichletSplit(sub, K, r.alpha, r.minSamples, rng, 'longtail');
}

/**
 * FedProx's MNIST partition (spec §0.2 item 6, after its data/mnist/generate_niid.py): client u holds digits u and
 * u+1 (mod C); each gets FEDPROX_SEED samples of both, then every class's remaining samples are shared among its
 * holders in proportion to lognormal(0, 2) weights (rounded down), so sizes follow a power law. The original draws
 * one weight per (class, group of 10 clients, digit slot), which is one per holder; so does this.
 */
function fedprox(byClass: Int32Array[], K: number, rng: Rng): Int32Array[] {
  const C = byClass.length;
  const parts: number[][] = Array.from({ length: K }, () => []);
  const order = byClass.map((cls) => shuffle(Int32Array.from(cls), rng));
  const next = new Int32Array(C);
  const take = (u: number, c: number, count: number) => {
    const n = Math.min(count, order[c].length - next[c]);
    for (let i = 0; i < n; i++) parts[u].push(order[c][next[c]++]);
  };
  const holders: Array<Array<{ u: number; w: number }>> = Array.from({ length: C }, () => []);
  for (let u = 0; u < K; u++) {
    for (let j = 0; j < 2; j++) {
      const c = (u + j) % C;
      take(u, c, FEDPROX_SEED);
      holders[c].push({ u, w: Math.exp(FEDPROX_SIGMA * rng.normal()) });
    }
  }
  for (let c = 0; c < C; c++) {
    const rest = order[c].length - next[c];
    const total = holders[c].reduce((s, h) => s + h.w, 0);
    for (const h of holders[c]) take(h.u, c, Math.floor((h.w * rest) / total));
  }
  return finish(parts);
}

export function partitionIndices(
  labels: Uint8Array,
  numClasses: number,
  numClients: number,
  params: PartitionParams,
  seed: number,
): Int32Array[] {
  const r = validatePartitionParams(params, numClients, numClasses, labels.length) as Resolved;
  const rng = createRng(deriveSeed(seed, 'partition', r.scheme));
  const n = labels.length, K = numClients;
  switch (r.scheme) {
    case 'iid':
      return iid(n, K, rng);
    case 'dirichlet':
      return dirichletSplit(indicesByClass(labels, numClasses), K, r.alpha, r.minSamples, rng, 'dirichlet');
    case 'shards':
      return shards(indicesByClass(labels, numClasses), n, K, r.shardsPerClient, rng);
    case 'labels':
      return labelQuantity(indicesByClass(labels, numClasses), K, r.labelsPerClient, rng);
    case 'quantity':
      return quantity(n, K, r.beta, r.minSamples, rng);
    case 'longtail':
      return longtail(indicesByClass(labels, numClasses), K, r, seed, rng);
    case 'fedprox':
      return fedprox(indicesByClass(labels, numClasses), K, rng);
  }
}

// One cached partition per labels array: the coordinator asks for every client's share in turn.
const cache = new WeakMap<Uint8Array, { key: string; parts: Int32Array[] }>();

/**
 * Client `client`'s share (sorted ascending, a fresh copy). With maxSamples > 0, a seeded random subset of at most
 * maxSamples of it (seed derived from seed and client), again sorted; maxSamples 0 or undefined = no cap.
 * Assumes `labels` is not mutated between calls (results are cached per array).
 */
export function clientIndices(
  labels: Uint8Array,
  numClasses: number,
  numClients: number,
  params: PartitionParams,
  seed: number,
  client: number,
  maxSamples?: number,
): Int32Array {
  if (!Number.isInteger(client) || client < 0 || client >= numClients) fail(`client must be an integer in 0..${numClients - 1}, got ${client}`);
  if (maxSamples !== undefined && (!Number.isInteger(maxSamples) || maxSamples < 0)) {
    fail(`maxSamples must be a non-negative integer (0 = no cap), got ${maxSamples}`);
  }
  const key = JSON.stringify([numClasses, numClients, validatePartitionParams(params, numClients, numClasses, labels.length), seed]);
  let hit = cache.get(labels);
  if (!hit || hit.key !== key) {
    hit = { key, parts: partitionIndices(labels, numClasses, numClients, params, seed) };
    cache.set(labels, hit);
  }
  const mine = hit.parts[client];
  if (!maxSamples || mine.length <= maxSamples) return mine.slice();
  const rng = createRng(deriveSeed(seed, 'subsample', client));
  return Int32Array.from(sampleWithoutReplacement(mine.length, maxSamples, rng), (j) => mine[j]).sort();
}

export function labelHistogram(labels: Uint8Array, indices: ArrayLike<number>, numClasses: number): number[] {
  const h = new Array<number>(numClasses).fill(0);
  for (let i = 0; i < indices.length; i++) {
    const y = labels[indices[i]];
    if (y === undefined || y >= numClasses) fail(`labelHistogram: index ${indices[i]} has no label in 0..${numClasses - 1}`);
    h[y]++;
  }
  return h;
}

/** 0.5·Σ|p̂ − q̂| after normalising each input to sum 1 (counts or probabilities). */
export function totalVariation(p: ArrayLike<number>, q: ArrayLike<number>): number {
  if (p.length !== q.length) fail(`totalVariation: length mismatch (${p.length} vs ${q.length})`);
  let sp = 0, sq = 0;
  for (let i = 0; i < p.length; i++) {
    sp += p[i];
    sq += q[i];
  }
  if (!(sp > 0) || !(sq > 0)) fail('totalVariation: each distribution needs a positive total');
  let tv = 0;
  for (let i = 0; i < p.length; i++) tv += Math.abs(p[i] / sp - q[i] / sq);
  return tv / 2;
}

/** Mean over non-empty parts of TV(part's label histogram, histogram of the union of all parts). */
export function meanTotalVariation(labels: Uint8Array, parts: ArrayLike<number>[], numClasses: number): number {
  const hists = parts.filter((p) => p.length > 0).map((p) => labelHistogram(labels, p, numClasses));
  if (hists.length === 0) fail('meanTotalVariation: all parts are empty');
  const global = new Array<number>(numClasses).fill(0);
  for (const h of hists) for (let c = 0; c < numClasses; c++) global[c] += h[c];
  let sum = 0;
  for (const h of hists) sum += totalVariation(h, global);
  return sum / hists.length;
}

// An experiment file (experiments/*.json) → the list of runs it asks for. Pure, so it is unit-tested.
import { ConfigError, resolveConfig, type FederationConfig } from '../../src/shared/config';

/** One labelled choice on an axis: a config patch. */
export interface AxisEntry {
  label: string;
  [key: string]: unknown;
}

export interface ExperimentSpec {
  name: string;
  title: string;
  /** What the numbers are measured at, stated next to every table (spec §0.3). */
  scale: string;
  /** 'node' (in-process virtual clients, default for grids) or 'browser' (real tabs in headless Chromium). */
  runtime: 'node' | 'browser';
  /** Clients (= partitions K) per run. */
  clients: number;
  /** Config every run starts from. */
  base: Record<string, unknown>;
  /** Strategies to compare; the baseline's label is `baseline`. */
  strategies: AxisEntry[];
  /** Further axes (data, attack, stragglers…), crossed with each other and the strategies. */
  axes: Record<string, AxisEntry[]>;
  seeds: number[];
  baseline: string;
  targets: number[];
  lastRounds: number;
  /** Per-run time limit in minutes (default 30). */
  timeoutMin?: number;
}

export interface PlannedRun {
  id: string;
  cell: string;
  group: string;
  strategy: string;
  seed: number;
  config: FederationConfig;
  /** Axis name → label, for the per-run JSON. */
  labels: Record<string, string>;
}

const SPEC_KEYS = ['name', 'title', 'scale', 'runtime', 'clients', 'base', 'strategies', 'axes', 'seeds', 'baseline', 'targets', 'lastRounds', 'timeoutMin', '$comment'];

function entries(where: string, v: unknown): AxisEntry[] {
  if (!Array.isArray(v) || v.length === 0) throw new ConfigError(`${where} must be a non-empty array of {label, ...config}`);
  const labels = new Set<string>();
  return v.map((e, i) => {
    if (typeof e !== 'object' || e === null || typeof (e as AxisEntry).label !== 'string' || !(e as AxisEntry).label) {
      throw new ConfigError(`${where}[${i}] needs a non-empty "label"`);
    }
    const label = (e as AxisEntry).label;
    if (labels.has(label)) throw new ConfigError(`${where} has the label "${label}" twice`);
    labels.add(label);
    return e as AxisEntry;
  });
}

export function parseSpec(json: unknown): ExperimentSpec {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new ConfigError('the experiment file must hold a JSON object');
  const o = json as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!SPEC_KEYS.includes(k)) throw new ConfigError(`unknown key "${k}" in the experiment file; valid: ${SPEC_KEYS.join(', ')}`);
  const str = (k: string) => {
    if (typeof o[k] !== 'string' || !o[k]) throw new ConfigError(`"${k}" must be a non-empty string`);
    return o[k] as string;
  };
  if (!/^[a-z0-9][a-z0-9-]*$/.test(str('name'))) throw new ConfigError('"name" may hold only a-z, 0-9 and -');
  const runtime = o.runtime ?? 'node';
  if (runtime !== 'node' && runtime !== 'browser') throw new ConfigError('"runtime" must be "node" or "browser"');
  const clients = o.clients;
  if (!Number.isInteger(clients) || (clients as number) < 1 || (clients as number) > 200) throw new ConfigError('"clients" must be an integer from 1 to 200');
  const axes: Record<string, AxisEntry[]> = {};
  if (o.axes !== undefined) {
    if (typeof o.axes !== 'object' || o.axes === null) throw new ConfigError('"axes" must be an object of axis name → entries');
    for (const [name, v] of Object.entries(o.axes)) axes[name] = entries(`axes.${name}`, v);
  }
  const seeds = o.seeds;
  if (!Array.isArray(seeds) || seeds.length === 0 || !seeds.every((s) => Number.isInteger(s) && s >= 0)) {
    throw new ConfigError('"seeds" must be a non-empty array of integers >= 0');
  }
  const targets = o.targets;
  if (!Array.isArray(targets) || !targets.every((t) => typeof t === 'number' && t > 0 && t <= 1)) throw new ConfigError('"targets" must be an array of accuracies in (0, 1]');
  const lastRounds = o.lastRounds;
  if (!Number.isInteger(lastRounds) || (lastRounds as number) < 1) throw new ConfigError('"lastRounds" must be an integer >= 1');
  const strategies = entries('strategies', o.strategies);
  const baseline = str('baseline');
  if (!strategies.some((s) => s.label === baseline)) throw new ConfigError(`baseline "${baseline}" is not one of the strategies' labels`);
  if (typeof o.base !== 'object' || o.base === null) throw new ConfigError('"base" must be a config object');
  return {
    name: str('name'),
    title: str('title'),
    scale: str('scale'),
    runtime,
    clients: clients as number,
    base: o.base as Record<string, unknown>,
    strategies,
    axes,
    seeds: seeds as number[],
    baseline,
    targets: targets as number[],
    lastRounds: lastRounds as number,
    timeoutMin: typeof o.timeoutMin === 'number' ? o.timeoutMin : undefined,
  };
}

const patch = (e: AxisEntry) => {
  const { label: _label, ...rest } = e;
  return rest;
};

/** Every (axes… × strategy × seed) run, configs validated up front so a typo fails before hours of compute. */
export function planRuns(spec: ExperimentSpec): PlannedRun[] {
  let combos: Array<{ labels: Record<string, string>; patch: Record<string, unknown> }> = [{ labels: {}, patch: {} }];
  for (const [axis, list] of Object.entries(spec.axes)) {
    combos = combos.flatMap((c) => list.map((e) => ({ labels: { ...c.labels, [axis]: e.label }, patch: { ...c.patch, ...patch(e) } })));
  }
  const runs: PlannedRun[] = [];
  for (const c of combos) {
    const group = Object.values(c.labels).join(' | ') || 'all';
    for (const s of spec.strategies) {
      const cell = `${group} | ${s.label}`;
      for (const seed of spec.seeds) {
        let config: FederationConfig;
        try {
          config = resolveConfig({ ...spec.base, ...c.patch, ...patch(s), seed, clients: spec.clients });
        } catch (e) {
          throw new ConfigError(`run "${cell}" seed ${seed}: ${e instanceof Error ? e.message : String(e)}`);
        }
        const id = `${cell} | seed ${seed}`.replace(/[^A-Za-z0-9.=-]+/g, '_').replace(/^_|_$/g, '');
        runs.push({ id, cell, group, strategy: s.label, seed, config, labels: { ...c.labels, strategy: s.label } });
      }
    }
  }
  const ids = new Set(runs.map((r) => r.id));
  if (ids.size !== runs.length) throw new ConfigError('two runs map to the same id; make the labels more distinct');
  return runs;
}

// An experiment file (experiments/*.json) → the list of runs it asks for. Pure, so it is unit-tested.
import * as v from 'valibot';
import { ConfigError, resolveConfig, type FederationConfig } from '../../src/shared/config';
import { CLAIM_SCHEMA, type Claim } from './claims';
import { EXTRA_COLUMNS, type ExtraColumns } from './summary';

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
  /** Summary column sets beyond the default table ('imbalance', 'stability'). */
  extraColumns?: ExtraColumns[];
  /** Pre-registered claim checks, each a paired comparison of two cells (scripts/experiment/claims.ts). */
  claims?: Claim[];
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

/** Clients per run: the Node runtime holds a model per virtual client today (issue 11 lifts this). */
/** Clients a grid's runs may have: virtual clients in the Node runtime (state, not models); real tabs need fewer. */
export const MAX_GRID_CLIENTS = 10_000;
export const MAX_BROWSER_GRID_CLIENTS = 200;

const text = (key: string) => v.pipe(v.string(`"${key}" must be a non-empty string`), v.minLength(1, `"${key}" must be a non-empty string`));
const entry = v.pipe(
  v.looseObject({ label: v.optional(v.unknown()) }, 'each entry must be an object {label, ...config}'),
  v.check((e) => typeof e.label === 'string' && e.label !== '', 'needs a non-empty "label"'),
);
const entryList = (where: string) =>
  v.pipe(
    v.array(entry, `${where} must be a non-empty array of {label, ...config}`),
    v.minLength(1, `${where} must be a non-empty array of {label, ...config}`),
    v.check((list) => new Set(list.map((e) => e.label)).size === list.length, `${where} has a label twice`),
  );

const EXTRA_COLUMNS_HELP = `"extraColumns" must be an array of ${EXTRA_COLUMNS.map((c) => `"${c}"`).join(', ')}`;

const SPEC_SCHEMA = v.strictObject({
  $comment: v.optional(v.string()),
  name: v.pipe(text('name'), v.regex(/^[a-z0-9][a-z0-9-]*$/, '"name" may hold only a-z, 0-9 and -')),
  title: text('title'),
  scale: text('scale'),
  runtime: v.optional(v.picklist(['node', 'browser'], '"runtime" must be "node" or "browser"'), 'node'),
  clients: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(MAX_GRID_CLIENTS), v.description(`"clients" must be an integer from 1 to ${MAX_GRID_CLIENTS}`)),
  base: v.record(v.string(), v.unknown(), '"base" must be a config object'),
  strategies: entryList('strategies'),
  axes: v.optional(v.record(v.string(), entryList('an axis'), '"axes" must be an object of axis name → entries'), {}),
  seeds: v.pipe(v.array(v.pipe(v.number(), v.integer(), v.minValue(0))), v.minLength(1), v.description('"seeds" must be a non-empty array of integers >= 0')),
  baseline: text('baseline'),
  targets: v.pipe(v.array(v.pipe(v.number(), v.check((t) => t > 0 && t <= 1))), v.description('"targets" must be an array of accuracies in (0, 1]')),
  lastRounds: v.pipe(v.number(), v.integer(), v.minValue(1, '"lastRounds" must be an integer >= 1')),
  timeoutMin: v.optional(v.pipe(v.number(), v.check((x) => x > 0, '"timeoutMin" must be a number > 0'))),
  extraColumns: v.optional(v.array(v.picklist(EXTRA_COLUMNS, EXTRA_COLUMNS_HELP), EXTRA_COLUMNS_HELP)),
  claims: v.optional(v.array(CLAIM_SCHEMA, '"claims" must be an array of {label, metric, a: {strategy, group}, b: {strategy, group}, expect}')),
});

export function parseSpec(json: unknown): ExperimentSpec {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new ConfigError('the experiment file must hold a JSON object');
  const r = v.safeParse(SPEC_SCHEMA, json);
  if (!r.success) {
    const issue = r.issues[0];
    const top = String(issue.path?.[0]?.key ?? '');
    if (issue.type === 'strict_object') throw new ConfigError(`unknown key "${top}" in the experiment file; valid: ${Object.keys(SPEC_SCHEMA.entries).join(', ')}`);
    // The field's description, where it has one, says what a valid value is; else the failed check's message.
    const field = (SPEC_SCHEMA.entries as Record<string, v.GenericSchema>)[top];
    const described = field && 'pipe' in field ? v.getDescription(field as Parameters<typeof v.getDescription>[0]) : undefined;
    const own = issue.message.startsWith('Invalid') ? `"${top}" is missing or not valid` : issue.message;
    throw new ConfigError(`${v.getDotPath(issue) ?? top}: ${described ?? own}`);
  }
  const o = r.output;
  if (!o.strategies.some((s) => s.label === o.baseline)) throw new ConfigError(`baseline "${o.baseline}" is not one of the strategies' labels`);
  if (o.runtime === 'browser' && o.clients > MAX_BROWSER_GRID_CLIENTS) throw new ConfigError(`clients: at most ${MAX_BROWSER_GRID_CLIENTS} real tabs with "runtime": "browser" (${o.clients}); the node runtime takes up to ${MAX_GRID_CLIENTS}`);
  return {
    name: o.name,
    title: o.title,
    scale: o.scale,
    runtime: o.runtime,
    clients: o.clients,
    base: o.base,
    strategies: o.strategies as AxisEntry[],
    axes: o.axes as Record<string, AxisEntry[]>,
    seeds: o.seeds,
    baseline: o.baseline,
    targets: o.targets,
    lastRounds: o.lastRounds,
    timeoutMin: o.timeoutMin,
    extraColumns: o.extraColumns,
    claims: o.claims,
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

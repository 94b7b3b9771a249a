// One federation config, validated the same way from the dashboard, URL query, window.fedtab.start() and the CLI.

export const DATASETS = ['mnist', 'fashion-mnist'] as const;
export const MODELS = ['cnn-s', '2nn', 'cnn-m'] as const;
export const PARTITIONS = ['iid', 'dirichlet', 'shards', 'labels', 'quantity', 'longtail'] as const;
export const ALGORITHMS = ['fedavg', 'fedprox'] as const;
export const BACKENDS = ['auto', 'webgpu', 'webgl', 'wasm', 'cpu'] as const;

export type DatasetId = (typeof DATASETS)[number];
export type ModelId = (typeof MODELS)[number];
export type PartitionId = (typeof PARTITIONS)[number];
export type AlgorithmId = (typeof ALGORITHMS)[number];
export type BackendChoice = (typeof BACKENDS)[number];
export type BackendName = Exclude<BackendChoice, 'auto'>;

export interface FederationConfig {
  dataset: DatasetId;
  model: ModelId;
  partition: PartitionId;
  /** Dirichlet concentration (dirichlet, longtail). */
  alpha: number;
  /** Shards per client (shards), labels per client (labels). */
  shardsPerClient: number;
  labelsPerClient: number;
  /** Quantity-skew concentration. */
  beta: number;
  /** Long-tail imbalance factor. */
  imbalanceFactor: number;
  /** Clients to wait for before round 1 (0 = start with whoever is registered). */
  clients: number;
  /** Fraction C of registered clients sampled per round. */
  fraction: number;
  minClients: number;
  epochs: number;
  batchSize: number;
  lr: number;
  rounds: number;
  algorithm: AlgorithmId;
  /** FedProx proximal weight; ignored by fedavg. */
  mu: number;
  seed: number;
  backend: BackendChoice;
  /** Cap on training samples per client (0 = no cap). */
  maxSamples: number;
  /** A client that has not replied this long after a round starts is dropped from the round. */
  roundDeadlineMs: number;
}

export const DEFAULT_CONFIG: Readonly<FederationConfig> = Object.freeze({
  dataset: 'mnist',
  model: 'cnn-s',
  partition: 'iid',
  alpha: 0.5,
  shardsPerClient: 2,
  labelsPerClient: 2,
  beta: 0.5,
  imbalanceFactor: 10,
  clients: 0,
  fraction: 1,
  minClients: 1,
  epochs: 1,
  batchSize: 16,
  lr: 0.1,
  rounds: 5,
  algorithm: 'fedavg',
  mu: 0.01,
  seed: 1,
  backend: 'auto',
  maxSamples: 1500,
  roundDeadlineMs: 120_000,
});

type Kind = 'enum' | 'int' | 'number';
interface FieldRule {
  kind: Kind;
  values?: readonly string[];
  min?: number;
  max?: number;
  /** Exclusive lower bound. */
  gt?: number;
  help: string;
}

export const CONFIG_FIELDS: Record<keyof FederationConfig, FieldRule> = {
  dataset: { kind: 'enum', values: DATASETS, help: 'dataset' },
  model: { kind: 'enum', values: MODELS, help: 'model architecture' },
  partition: { kind: 'enum', values: PARTITIONS, help: 'how training data is split across clients' },
  alpha: { kind: 'number', gt: 0, max: 1e6, help: 'Dirichlet α (dirichlet, longtail)' },
  shardsPerClient: { kind: 'int', min: 1, max: 100, help: 'shards per client (shards)' },
  labelsPerClient: { kind: 'int', min: 1, max: 10, help: 'labels per client (labels, #C=k)' },
  beta: { kind: 'number', gt: 0, max: 1e6, help: 'quantity-skew Dirichlet β (quantity)' },
  imbalanceFactor: { kind: 'number', min: 1, max: 1000, help: 'long-tail imbalance factor (longtail)' },
  clients: { kind: 'int', min: 0, max: 1000, help: 'clients to wait for before round 1 (0 = whoever is registered)' },
  fraction: { kind: 'number', gt: 0, max: 1, help: 'fraction C of clients sampled per round' },
  minClients: { kind: 'int', min: 1, max: 1000, help: 'minimum clients for a round' },
  epochs: { kind: 'int', min: 1, max: 100, help: 'local epochs E' },
  batchSize: { kind: 'int', min: 1, max: 4096, help: 'local batch size B' },
  lr: { kind: 'number', gt: 0, max: 10, help: 'client SGD learning rate' },
  rounds: { kind: 'int', min: 1, max: 10_000, help: 'federated rounds T' },
  algorithm: { kind: 'enum', values: ALGORITHMS, help: 'aggregation strategy' },
  mu: { kind: 'number', min: 0, max: 100, help: 'FedProx proximal weight μ' },
  seed: { kind: 'int', min: 0, max: 2 ** 31 - 1, help: 'seed for partitions, sampling and initialisation' },
  backend: { kind: 'enum', values: BACKENDS, help: 'TensorFlow.js backend for clients' },
  maxSamples: { kind: 'int', min: 0, max: 1_000_000, help: 'cap on training samples per client (0 = none)' },
  roundDeadlineMs: { kind: 'int', min: 100, max: 3_600_000, help: 'round deadline in ms' },
};

export const CONFIG_KEYS = Object.keys(CONFIG_FIELDS) as Array<keyof FederationConfig>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

function describe(key: string, rule: FieldRule): string {
  if (rule.kind === 'enum') return `${key} must be one of: ${rule.values!.join(', ')}`;
  const lo = rule.gt !== undefined ? `> ${rule.gt}` : `>= ${rule.min}`;
  return `${key} must be ${rule.kind === 'int' ? 'an integer' : 'a number'} ${lo} and <= ${rule.max} (${rule.help})`;
}

function coerceField(key: keyof FederationConfig, raw: unknown): string | number {
  const rule = CONFIG_FIELDS[key];
  if (rule.kind === 'enum') {
    const v = typeof raw === 'string' ? raw.trim().toLowerCase() : raw;
    if (typeof v !== 'string' || !rule.values!.includes(v)) {
      throw new ConfigError(`invalid ${key} ${JSON.stringify(raw)}: ${describe(key, rule)}`);
    }
    return v;
  }
  const n = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
  const ok =
    typeof n === 'number' &&
    Number.isFinite(n) &&
    (rule.kind !== 'int' || Number.isInteger(n)) &&
    (rule.gt === undefined || n > rule.gt) &&
    (rule.min === undefined || n >= rule.min) &&
    (rule.max === undefined || n <= rule.max);
  if (!ok) throw new ConfigError(`invalid ${key} ${JSON.stringify(raw)}: ${describe(key, rule)}`);
  return n as number;
}

/** Validates a partial config (unknown keys are errors) and fills in defaults. */
export function resolveConfig(partial: unknown, base: Readonly<FederationConfig> = DEFAULT_CONFIG): FederationConfig {
  if (partial === undefined || partial === null) return { ...base };
  if (typeof partial !== 'object' || Array.isArray(partial)) throw new ConfigError('config must be an object');
  const out: Record<string, unknown> = { ...base };
  for (const [key, raw] of Object.entries(partial)) {
    if (raw === undefined) continue;
    if (!(key in CONFIG_FIELDS)) {
      throw new ConfigError(`unknown config key "${key}"; valid keys: ${CONFIG_KEYS.join(', ')}`);
    }
    out[key] = coerceField(key as keyof FederationConfig, raw);
  }
  const cfg = out as unknown as FederationConfig;
  if (cfg.clients > 0 && cfg.minClients > cfg.clients) {
    throw new ConfigError(`minClients (${cfg.minClients}) cannot exceed clients (${cfg.clients})`);
  }
  return cfg;
}

/** Reads config keys from URL query parameters; other parameters (role, …) are ignored. */
export function configFromQuery(search: string | URLSearchParams): Partial<FederationConfig> {
  const params = typeof search === 'string' ? new URLSearchParams(search) : search;
  const partial: Record<string, string> = {};
  for (const key of CONFIG_KEYS) {
    const v = params.get(key);
    if (v !== null) partial[key] = v;
  }
  resolveConfig(partial); // throws on bad values
  return partial as Partial<FederationConfig>;
}

export function configToQuery(cfg: Partial<FederationConfig>): URLSearchParams {
  const params = new URLSearchParams();
  for (const key of CONFIG_KEYS) if (cfg[key] !== undefined) params.set(key, String(cfg[key]));
  return params;
}

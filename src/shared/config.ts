// One federation config, validated the same way from the dashboard, URL query, window.fedtab.start() and the CLI.

export const DATASETS = ['mnist', 'fashion-mnist'] as const;
export const MODELS = ['cnn-s', '2nn', 'cnn-m'] as const;
export const PARTITIONS = ['iid', 'dirichlet', 'shards', 'labels', 'quantity', 'longtail'] as const;
export const ALGORITHMS = [
  'fedavg', 'fedprox', 'scaffold', 'fednova', 'fedatt', 'fed-adaptive-next',
  'krum', 'multi-krum', 'median', 'trimmed-mean', 'fltrust', 'clip',
] as const;
/** Simulated bad clients (src/client/attacks.ts); 'none' unless a config names one and a fraction of attackers. */
export const ATTACKS = ['none', 'label-flip', 'targeted-label-flip', 'sign-flip', 'gaussian', 'scaling', 'alie'] as const;
export const STRAGGLER_MODES = ['partial', 'late'] as const;
/** Fed-Adaptive-Next's reference direction (spec §2.2 and its ablations). */
export const FAN_REFERENCES = ['previous-step', 'median', 'root-update'] as const;
export const BACKENDS = ['auto', 'webgpu', 'webgl', 'wasm', 'cpu'] as const;

export type DatasetId = (typeof DATASETS)[number];
export type ModelId = (typeof MODELS)[number];
export type PartitionId = (typeof PARTITIONS)[number];
export type AlgorithmId = (typeof ALGORITHMS)[number];
export type AttackId = (typeof ATTACKS)[number];
export type StragglerMode = (typeof STRAGGLER_MODES)[number];
export type FanReference = (typeof FAN_REFERENCES)[number];
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
  /** Global-model evaluation on the first N test images (0 = the full test set). */
  evalSamples: number;

  // Strategy hyperparameters (src/server-worker/aggregation/strategy.ts); each strategy reads its own.
  tau: number;
  gate: boolean;
  reference: FanReference;
  attention: boolean;
  weighting: boolean;
  reliabilityThreshold: number;
  emaDecay: number;
  gammaDelta: number;
  gammaV: number;
  gammaN: number;
  clipToMedian: boolean;
  /** Fed-Adaptive-Next: server validation images for the Zeno-like loss-increase term (0 = off). */
  validation: number;
  gammaVal: number;
  serverLr: number;
  epsilon: number;
  noise: number;
  byzantine: number;
  /** Multi-Krum m (0 = n − f). */
  multiKrumM: number;
  trimBeta: number;
  /** Clip bound M (0 = the median norm of the round). */
  clipNorm: number;
  clipNoise: number;

  // Simulated bad clients and stragglers (never on unless both an attack and a fraction are given).
  attack: AttackId;
  /** Fraction of partitions held by attackers (a fixed, seeded set). */
  attackers: number;
  /** Attack strength (0 = the attack's default: sign-flip c=4, gaussian 10× own norm, scaling γ = clients per round, alie z=1). */
  attackScale: number;
  /** Attackers report honest-looking losses (monotone epochs, flat batches). */
  forgeLosses: boolean;
  /** Fraction of each round's selected clients that straggle. */
  stragglers: number;
  stragglerMode: StragglerMode;
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
  evalSamples: 0,
  tau: 0.2,
  gate: true,
  reference: 'previous-step',
  attention: true,
  weighting: true,
  reliabilityThreshold: 0.1,
  emaDecay: 0.7,
  gammaDelta: 5,
  gammaV: 1,
  gammaN: 1,
  clipToMedian: true,
  validation: 0,
  gammaVal: 5,
  serverLr: 1,
  epsilon: 1,
  noise: 0.001,
  byzantine: 1,
  multiKrumM: 0,
  trimBeta: 0.2,
  clipNorm: 0,
  clipNoise: 0,
  attack: 'none',
  attackers: 0,
  attackScale: 0,
  forgeLosses: false,
  stragglers: 0,
  stragglerMode: 'partial',
});

type Kind = 'enum' | 'int' | 'number' | 'bool';
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
  evalSamples: { kind: 'int', min: 0, max: 1_000_000, help: 'evaluate on the first N test images (0 = all)' },
  tau: { kind: 'number', gt: 0, max: 1e6, help: 'Fed-Adaptive-Next attention temperature τ (large = uniform)' },
  gate: { kind: 'bool', help: 'Fed-Adaptive-Next cosine gate 1[c > 0]' },
  reference: { kind: 'enum', values: FAN_REFERENCES, help: 'Fed-Adaptive-Next reference direction r_t' },
  attention: { kind: 'bool', help: 'Fed-Adaptive-Next attention (false = DWS-only ablation)' },
  weighting: { kind: 'bool', help: 'Fed-Adaptive-Next dynamic weighting (false = attention-only ablation)' },
  reliabilityThreshold: { kind: 'number', min: 0, max: 1, help: 'Fed-Adaptive-Next: drop a client whose reliability ρ is below this' },
  emaDecay: { kind: 'number', min: 0, max: 1, help: 'Fed-Adaptive-Next reliability EMA decay' },
  gammaDelta: { kind: 'number', min: 0, max: 1e6, help: 'Fed-Adaptive-Next γ_δ (loss divergence)' },
  gammaV: { kind: 'number', min: 0, max: 1e6, help: 'Fed-Adaptive-Next γ_v (batch-loss variation)' },
  gammaN: { kind: 'number', min: 0, max: 1e6, help: 'Fed-Adaptive-Next γ_n (update norm)' },
  clipToMedian: { kind: 'bool', help: 'Fed-Adaptive-Next: clip updates to the median norm' },
  validation: { kind: 'int', min: 0, max: 500, help: 'Fed-Adaptive-Next server validation images (0 = off; spec: 500)' },
  gammaVal: { kind: 'number', min: 0, max: 1e6, help: 'Fed-Adaptive-Next γ_val (validation loss increase)' },
  serverLr: { kind: 'number', gt: 0, max: 100, help: 'server learning rate η_g' },
  epsilon: { kind: 'number', gt: 0, max: 100, help: 'FedAtt step size ε' },
  noise: { kind: 'number', min: 0, max: 10, help: 'FedAtt noise β' },
  byzantine: { kind: 'int', min: 0, max: 1000, help: 'Krum / Multi-Krum: assumed Byzantine clients f' },
  multiKrumM: { kind: 'int', min: 0, max: 1000, help: 'Multi-Krum: updates averaged (0 = n − f)' },
  trimBeta: { kind: 'number', min: 0, max: 0.499, help: 'trimmed mean: fraction β trimmed at each end' },
  clipNorm: { kind: 'number', min: 0, max: 1e6, help: 'clip: norm bound M (0 = median norm)' },
  clipNoise: { kind: 'number', min: 0, max: 10, help: 'clip: Gaussian noise σ on the aggregate' },
  attack: { kind: 'enum', values: ATTACKS, help: 'simulated attack run by the attacker clients' },
  attackers: { kind: 'number', min: 0, max: 0.9, help: 'fraction of clients that attack' },
  attackScale: { kind: 'number', min: 0, max: 1e4, help: 'attack strength (0 = the attack default)' },
  forgeLosses: { kind: 'bool', help: 'attackers report forged, honest-looking losses' },
  stragglers: { kind: 'number', min: 0, max: 1, help: "fraction of each round's clients that straggle" },
  stragglerMode: { kind: 'enum', values: STRAGGLER_MODES, help: 'stragglers do partial work or reply after the deadline' },
};

export const CONFIG_KEYS = Object.keys(CONFIG_FIELDS) as Array<keyof FederationConfig>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

function describe(key: string, rule: FieldRule): string {
  if (rule.kind === 'enum') return `${key} must be one of: ${rule.values!.join(', ')}`;
  if (rule.kind === 'bool') return `${key} must be true or false`;
  const lo = rule.gt !== undefined ? `> ${rule.gt}` : `>= ${rule.min}`;
  return `${key} must be ${rule.kind === 'int' ? 'an integer' : 'a number'} ${lo} and <= ${rule.max} (${rule.help})`;
}

function coerceField(key: keyof FederationConfig, raw: unknown): string | number | boolean {
  const rule = CONFIG_FIELDS[key];
  if (rule.kind === 'bool') {
    const v = typeof raw === 'string' ? raw.trim().toLowerCase() : raw;
    if (v === true || v === 'true' || v === '1') return true;
    if (v === false || v === 'false' || v === '0') return false;
    throw new ConfigError(`invalid ${key} ${JSON.stringify(raw)}: ${key} must be true or false (${rule.help})`);
  }
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
  // An attack runs only when both are named: one without the other is a mistake, not a quiet no-op.
  if (cfg.attack !== 'none' && cfg.attackers === 0) {
    throw new ConfigError(`attack "${cfg.attack}" needs attackers > 0 (the fraction of clients that attack)`);
  }
  if (cfg.attack === 'none' && (cfg.attackers > 0 || cfg.forgeLosses)) {
    throw new ConfigError('attackers and forgeLosses need an attack (label-flip, targeted-label-flip, sign-flip, gaussian, scaling or alie)');
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

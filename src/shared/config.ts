// One federation config, validated by one schema wherever it comes from: the dashboard form, the URL query,
// window.fedtab.start(), the CLI, experiment files, and (on the clients) every round broadcast.
import * as v from 'valibot';
import { boolField, enumField, fieldInfo, numberField, type FieldInfo } from './schema/fields';
import { ConfigError, defined, parseFields } from './schema/parse';
import type { FeatureHead } from './ml/feature-head';
import { COMPRESSIONS } from './compression/uplink';
import { STRATEGY_NAMES, STRATEGY_PARAMS, strategyDefinition } from './strategies/registry';

export { ConfigError };

/** 'mnist+fashion': MNIST paired by label with Fashion-MNIST, two modalities (src/shared/data/paired-dataset.ts). */
export const DATASETS = ['mnist', 'fashion-mnist', 'mnist+fashion'] as const;
/**
 * Architectures (src/shared/ml/architectures/registry.ts): CNN-S, its attention variants (spec §3), 2NN, CNN-M; and
 * for mnist+fashion the two-modality mm-late (late fusion, FedMChain's) and mm-concat (joint model, concatenation);
 * cnn-s-lora: the frozen CNN-S body pre-trained on the other dataset with LoRA and cosine logits (FedAlign, spec §4).
 */
export const MODELS = ['cnn-s', 'cnn-s-ca-mlp', 'cnn-s-ca', 'cnn-s-sa', 'cnn-s-cbam', '2nn', 'cnn-m', 'mclr', 'mm-late', 'mm-concat', 'cnn-s-lora', 'cnn-s-ft'] as const;
export const PARTITIONS = ['iid', 'dirichlet', 'shards', 'labels', 'quantity', 'longtail', 'fedprox'] as const;
export const ALGORITHMS = STRATEGY_NAMES;
/** Simulated bad clients (src/client/attacks.ts); 'none' unless a config names one and a fraction of attackers. */
export const ATTACKS = ['none', 'label-flip', 'targeted-label-flip', 'sign-flip', 'gaussian', 'scaling', 'alie'] as const;
export const STRAGGLER_MODES = ['partial', 'late'] as const;
export const BACKENDS = ['auto', 'webgpu', 'webgl', 'wasm', 'cpu'] as const;

const RUN_FIELDS = {
  dataset: enumField(DATASETS, 'mnist', 'dataset'),
  model: enumField(MODELS, 'cnn-s', 'model architecture'),
  partition: enumField(PARTITIONS, 'iid', 'how training data is split across clients'),
  alpha: numberField({ default: 0.5, gt: 0, max: 1e6, help: 'Dirichlet α (dirichlet, longtail)' }),
  shardsPerClient: numberField({ default: 2, int: true, min: 1, max: 100, help: 'shards per client (shards)' }),
  labelsPerClient: numberField({ default: 2, int: true, min: 1, max: 10, help: 'labels per client (labels, #C=k)' }),
  beta: numberField({ default: 0.5, gt: 0, max: 1e6, help: 'quantity-skew Dirichlet β (quantity)' }),
  imbalanceFactor: numberField({ default: 10, min: 1, max: 1000, help: 'long-tail imbalance factor (longtail)' }),
  dataFraction: numberField({ default: 1, gt: 0, max: 1, help: 'share of the training set used, drawn (class-stratified) before partitioning, so quantity and label skew survive' }),
  maxSamples: numberField({ default: 1500, int: true, min: 0, max: 1_000_000, help: 'cap on training samples per client after partitioning (0 = none); flattens size skew' }),
  modalityNoise: numberField({ default: 0, min: 0, max: 2, help: 'σ of Gaussian noise on modality 2 (Fashion-MNIST) of mnist+fashion, in [0,1] pixel units (spec §5: 0.5)' }),
  ogmAlpha: numberField({ default: 0, min: 0, max: 10, help: "OGM-GE α: modulate the dominant modality's gradients in joint two-modality training (0 = off)" }),
  modalityBoth: numberField({ default: 0.5, min: 0, max: 1, help: 'mnist+fashion: share of clients holding both modalities' }),
  modalityMnistOnly: numberField({ default: 0.25, min: 0, max: 1, help: 'mnist+fashion: share of clients holding only MNIST (the rest hold only Fashion-MNIST)' }),
  proxySamples: numberField({ default: 0, int: true, min: 0, max: 20_000, help: 'training images held out of every partition as the unlabelled proxy split for server distillation (FedDF)' }),
  localEval: numberField({ default: 0.1, min: 0, max: 0.5, help: "share of each client's partition held out for federated evaluation (0 = none)" }),
  clients: numberField({ default: 0, int: true, min: 0, max: 10_000, help: 'clients to wait for before round 1 (0 = whoever is registered)' }),
  enrollment: enumField(['wait', 'open'] as const, 'wait', "wait: round 1 waits for all `clients`; open: partition into `clients` slots at once, start with minClients, and fill free slots as clients arrive (a classroom)"),
  fraction: numberField({ default: 1, gt: 0, max: 1, help: 'fraction C of clients sampled per round' }),
  minClients: numberField({ default: 1, int: true, min: 1, max: 10_000, help: 'minimum clients for a round' }),
  epochs: numberField({ default: 1, int: true, min: 1, max: 100, help: 'local epochs E' }),
  batchSize: numberField({ default: 16, int: true, min: 1, max: 4096, help: 'local batch size B' }),
  lr: numberField({ default: 0.1, gt: 0, max: 10, help: 'client SGD learning rate' }),
  rounds: numberField({ default: 5, int: true, min: 1, max: 10_000, help: 'federated rounds T' }),
  algorithm: enumField(STRATEGY_NAMES, 'fedavg', 'aggregation strategy'),
  seed: numberField({ default: 1, int: true, min: 0, max: 2 ** 31 - 1, help: 'seed for partitions, sampling and initialisation' }),
  backend: enumField(BACKENDS, 'auto', 'TensorFlow.js backend for clients'),
  roundDeadlineMs: numberField({ default: 120_000, int: true, min: 100, max: 3_600_000, help: 'round deadline in ms' }),
  evalSamples: numberField({ default: 0, int: true, min: 0, max: 1_000_000, help: 'evaluate on the first N test images (0 = all)' }),
  evalEvery: numberField({ default: 1, int: true, min: 1, max: 10_000, help: 'evaluate the global model every N rounds (and after the last)' }),
};

/** How client updates travel (src/shared/compression/): every strategy aggregates the decoded, dense updates. */
const UPLINK_FIELDS = {
  compress: enumField(COMPRESSIONS, 'none', 'uplink compression of client updates: topk (with error feedback), int8, float16 or none'),
  topk: numberField({ default: 0.1, gt: 0, max: 1, help: 'share of coordinates a topk uplink sends' }),
  errorFeedback: boolField(true, 'topk adds what it did not send to the next update (error feedback); off only as an ablation'),
};

const SIMULATION_FIELDS = {
  attack: enumField(ATTACKS, 'none', 'simulated attack run by the attacker clients'),
  attackers: numberField({ default: 0, min: 0, max: 0.9, help: 'fraction of clients that attack' }),
  attackScale: numberField({ default: 0, min: 0, max: 1e4, help: 'attack strength (0 = the attack default)' }),
  forgeLosses: boolField(false, 'attackers report forged, honest-looking losses'),
  stragglers: numberField({ default: 0, min: 0, max: 1, help: "fraction of each round's clients that straggle" }),
  stragglerMode: enumField(STRAGGLER_MODES, 'partial', 'stragglers do partial work or reply after the deadline'),
};

export const CONFIG_ENTRIES = { ...RUN_FIELDS, ...STRATEGY_PARAMS, ...UPLINK_FIELDS, ...SIMULATION_FIELDS };
export const CONFIG_SCHEMA = v.strictObject(CONFIG_ENTRIES);

export type FederationConfig = v.InferOutput<typeof CONFIG_SCHEMA>;
export type DatasetId = (typeof DATASETS)[number];
export type ModelId = (typeof MODELS)[number];
export type PartitionId = (typeof PARTITIONS)[number];
export type AlgorithmId = FederationConfig['algorithm'];
export type AttackId = (typeof ATTACKS)[number];
export type StragglerMode = (typeof STRAGGLER_MODES)[number];
export type BackendChoice = (typeof BACKENDS)[number];
export type BackendName = Exclude<BackendChoice, 'auto'>;

export const CONFIG_KEYS = Object.keys(CONFIG_ENTRIES) as Array<keyof FederationConfig>;
/** Kind, range, default and help of every key: the form, the CLI and the error texts read these. */
export const CONFIG_FIELDS = Object.fromEntries(CONFIG_KEYS.map((k) => [k, fieldInfo(CONFIG_ENTRIES[k])])) as Record<keyof FederationConfig, FieldInfo>;

export const DEFAULT_CONFIG: Readonly<FederationConfig> = Object.freeze(parseFields(CONFIG_ENTRIES, {}));

/** Checks between keys, after each key is valid on its own. */
function checkTogether(cfg: FederationConfig, given: Record<string, unknown>): FederationConfig {
  if (cfg.enrollment === 'open' && cfg.clients === 0) {
    throw new ConfigError('open enrollment needs clients > 0: the number of planned slots students fill as they arrive');
  }
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
  const def = strategyDefinition(cfg.algorithm);
  const paired = cfg.dataset === 'mnist+fashion';
  // mnist+fashion trains the late-fusion model unless another two-modality model is named.
  if (paired && given.model === undefined && !cfg.model.startsWith('mm-')) cfg = { ...cfg, model: 'mm-late' };
  if (paired !== cfg.model.startsWith('mm-')) {
    throw new ConfigError(paired ? `mnist+fashion has two modalities: model must be mm-late or mm-concat, not ${cfg.model}` : `model ${cfg.model} takes two modalities: use dataset mnist+fashion`);
  }
  if (cfg.modalityBoth + cfg.modalityMnistOnly > 1 + 1e-9) {
    throw new ConfigError(`modalityBoth (${cfg.modalityBoth}) + modalityMnistOnly (${cfg.modalityMnistOnly}) exceed 1: the rest are the Fashion-MNIST-only clients`);
  }
  const side = def.client?.(cfg as never) ?? {};
  // FedAlign and its LoRA baselines train the frozen pre-trained CNN-S with LoRA (spec §4) unless told otherwise.
  if (side.align && given.model === undefined) cfg = { ...cfg, model: 'cnn-s-lora' };
  // Adam's step size, unless one is named (0.1 is SGD's default).
  if (side.align?.optimizer === 'adam' && given.lr === undefined) cfg = { ...cfg, lr: 0.01 };
  if (side.align && cfg.model !== 'cnn-s-lora') throw new ConfigError(`${cfg.algorithm} trains LoRA factors against class features: model cnn-s-lora (not ${cfg.model})`);
  if (side.chain && !paired) throw new ConfigError(`${cfg.algorithm} trains a chain of modalities: use dataset mnist+fashion`);
  if (side.chain && cfg.model !== 'mm-late') throw new ConfigError(`${cfg.algorithm} trains each modality's own head: model mm-late (not ${cfg.model})`);
  // FedMChain's uplink is Top-K with error feedback (spec §5) unless another one is named (the no-compression ablation).
  if (side.chain && given.compress === undefined) cfg = { ...cfg, compress: 'topk' };
  // OGM-GE (spec §5's "FedAvg + OGM-GE" baseline) scores each modality by its own head's logits, in joint training.
  if (cfg.ogmAlpha > 0) {
    if (!paired) throw new ConfigError(`ogmAlpha (OGM-GE) modulates one of two modalities: use dataset mnist+fashion (not ${cfg.dataset})`);
    if (cfg.model !== 'mm-late') throw new ConfigError(`ogmAlpha (OGM-GE) scores each modality by its own head: model mm-late (not ${cfg.model})`);
    if (side.chain) throw new ConfigError(`ogmAlpha (OGM-GE) modulates joint training; ${cfg.algorithm} trains a chain of modalities (use ogmAlpha 0, or fedavg)`);
  }
  if (paired && side.controlVariates) throw new ConfigError(`${cfg.algorithm}'s control variates cover every parameter; mnist+fashion clients train only the modalities they hold`);
  if (paired && (def.needs?.(cfg as never).rootUpdate || (def.needs?.(cfg as never).validation ?? 0) > 0 || def.needs?.(cfg as never).distill)) {
    throw new ConfigError(`${cfg.algorithm} trains or scores on a server split; mnist+fashion has none yet`);
  }
  if (def.needs?.(cfg as never).distill && cfg.proxySamples === 0) {
    throw new ConfigError(`server distillation (${cfg.algorithm}${cfg.algorithm === 'feddf' ? '' : ' with serverDistill'}) needs an unlabelled proxy split held out of the partitions: set proxySamples > 0, e.g. 2000`);
  }
  if (def.client?.(cfg as never).featureHead === 'pooling' && cfg.model === '2nn') {
    throw new ConfigError('akdAttention "pooling" pools a convolutional feature map; model 2nn has none (use "feature", or a CNN)');
  }
  // A FedOpt alias names its optimizer; another one given with it is a contradiction, not a preference.
  const forced = def.serverOpt;
  if (forced) {
    if (given.serverOpt !== undefined && cfg.serverOpt !== forced) {
      throw new ConfigError(`${cfg.algorithm} is FedAvg with serverOpt ${forced}; drop serverOpt ${cfg.serverOpt}, or use algorithm fedavg with it`);
    }
    return { ...cfg, serverOpt: forced };
  }
  return cfg;
}

/** Validates a partial config (unknown keys are errors) and fills in the rest from `base` (the defaults). */
export function resolveConfig(partial: unknown, base: Readonly<FederationConfig> = DEFAULT_CONFIG): FederationConfig {
  if (partial === undefined || partial === null) return { ...base };
  if (typeof partial !== 'object' || Array.isArray(partial)) throw new ConfigError('config must be an object');
  const given = defined(partial);
  return checkTogether(parseFields(CONFIG_ENTRIES, { ...base, ...given }), given);
}

/** Reads config keys from URL query parameters; other parameters (role, …) are ignored. */
export function configFromQuery(search: string | URLSearchParams): Partial<FederationConfig> {
  const params = typeof search === 'string' ? new URLSearchParams(search) : search;
  const partial: Record<string, string> = {};
  for (const key of CONFIG_KEYS) {
    const x = params.get(key);
    if (x !== null) partial[key] = x;
  }
  resolveConfig(partial); // throws on bad values
  return partial as Partial<FederationConfig>;
}

export function configToQuery(cfg: Partial<FederationConfig>): URLSearchParams {
  const params = new URLSearchParams();
  for (const key of CONFIG_KEYS) if (cfg[key] !== undefined) params.set(key, String(cfg[key]));
  return params;
}

/** The head every model of the run carries (FedAKD adds feature attention by itself); 'none' for most strategies. */
export function runModelHead(cfg: FederationConfig): FeatureHead {
  return strategyDefinition(cfg.algorithm).client?.(cfg as never).featureHead ?? 'none';
}

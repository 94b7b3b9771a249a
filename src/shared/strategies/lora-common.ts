// What FedAlign and its two LoRA baselines (spec §4) share: the clients' alignment objective parameter, where the
// low-level (FC128) and high-level (projection) LoRA factors sit in the flat vector, and the per-slot own models that
// FedAlign and local LoRA keep and send to each client over its own port as `ownWeights` (|w| long).
import { enumField, numberField } from '../schema/fields';
import { layerOffsets, type LayerSpec } from '../weights';
import type { AggregationInput, LoraOptimizer, StrategyUpdate } from './strategy';

export const ALIGN_MU = numberField({ default: 0.1, min: 0, max: 100, help: 'fedalign, fedavg-lora, local-lora: weight μ of the orthogonality loss on the class means (spec §4: 0.1)' });

/**
 * [I] Adam by default: with B = 0 at the start and cosine logits at s = 1/0.07, SGD on the LoRA factors learned slowly and
 * noisily in a central probe (1,000 MNIST images: 56–78% after 10 epochs at lr 0.1; Adam 0.01: 86% after 8).
 */
export const LORA_OPTIMIZERS = ['adam', 'sgd'] as const satisfies readonly LoraOptimizer[];
export const LORA_OPTIMIZER = enumField(LORA_OPTIMIZERS, 'adam', 'fedalign, fedavg-lora, local-lora: local optimizer of the LoRA factors (adam: fresh each round, at lr; its default lr is 0.01)');

/** The LoRA layers of cnn-s-lora (architectures/cnn-s-lora.ts LOW_LEVEL / HIGH_LEVEL). */
export const LOW_LEVEL_PREFIX = 'fc1/';
export const HIGH_LEVEL_PREFIX = 'proj/';

/** [start, end) of the layers whose names start with `prefix`; they must be contiguous and present. */
export function blockRange(who: string, layers: readonly LayerSpec[], prefix: string): [number, number] {
  const offsets = layerOffsets(layers);
  const idx = layers.flatMap((l, i) => (l.name.startsWith(prefix) ? [i] : []));
  if (idx.length === 0) throw new Error(`${who}: the model has no ${prefix}* layers (use model cnn-s-lora)`);
  if (idx.some((v, k) => k > 0 && v !== idx[k - 1] + 1)) throw new Error(`${who}: the ${prefix}* layers are not contiguous`);
  return [offsets[idx[0]], offsets[idx[idx.length - 1] + 1]];
}

/** Per slot, the model its client trained from and gets back: w_k = own_k + Δ_k. */
export type OwnWeights = Readonly<Record<number, Float32Array>>;

/** w_k = start + Δ_k, where start is the slot's own model (what it was sent) or, before it has one, w_t. */
export function clientModels(input: AggregationInput, own: OwnWeights): Float32Array[] {
  return input.updates.map((u: StrategyUpdate) => {
    const start = own[u.slot] ?? input.global;
    if (start.length !== input.global.length) throw new Error(`slot ${u.slot}'s own model has ${start.length} values, the global model ${input.global.length}`);
    const w = new Float32Array(start.length);
    for (let i = 0; i < w.length; i++) w[i] = start[i] + u.delta[i];
    return w;
  });
}

/** The round's per-slot payload: each selected slot that has an own model gets a copy of it, and only its own. */
export function ownPayload(own: OwnWeights, slots: readonly number[]): Record<number, Record<string, Float32Array>> {
  const perSlot: Record<number, Record<string, Float32Array>> = {};
  for (const s of slots) if (own[s]) perSlot[s] = { ownWeights: own[s].slice() };
  return perSlot;
}

// cnn-s-ft, FedAlign's "FedAvg full fine-tune" baseline (issue 9): plain CNN-S whose global model starts from the body
// pre-trained on the other dataset (the one cnn-s-lora freezes), every weight trained and federated. Only the
// starting point differs from cnn-s: the coordinator's first global weights.
import type { FederationConfig } from '../config';
import type { DatasetName } from '../dataset-manifest';
import { initWeights, type LayerSpec } from '../weights';
import { pretrainedSource, PretrainedError, type Pretrained } from './pretrained';
import { pretrainedOf } from './pretrained-store';

/** The pre-trained layers a fine-tune starts from; the 10-way head `out` starts from the seeded init. */
export const FINE_TUNED_LAYERS = ['conv1', 'conv2', 'fc1'] as const;

/** `init` with the pre-trained body's kernels and biases written over it (a fresh array). */
export function withPretrainedBody(layers: readonly LayerSpec[], init: Float32Array, pretrained: Pretrained): Float32Array {
  const source = new Map<string, { at: number; size: number }>();
  let at = 0;
  for (const l of pretrained.layers) {
    const size = l.shape.reduce((a, b) => a * b, 1);
    source.set(l.name, { at, size });
    at += size;
  }
  const out = init.slice();
  let offset = 0;
  const wanted = new Set<string>(FINE_TUNED_LAYERS.flatMap((n) => [`${n}/kernel`, `${n}/bias`]));
  for (const l of layers) {
    const size = l.shape.reduce((a, b) => a * b, 1);
    if (wanted.has(l.name)) {
      const s = source.get(l.name);
      if (!s || s.size !== size) throw new PretrainedError(`the pre-trained CNN-S has no ${l.name} of ${size} values`);
      out.set(pretrained.weights.subarray(s.at, s.at + size), offset);
      wanted.delete(l.name);
    }
    offset += size;
  }
  if (wanted.size) throw new PretrainedError(`the model has no ${[...wanted].join(', ')} to start from the pre-trained body`);
  return out;
}

/** A run's first global weights: the seeded init, over which cnn-s-ft writes its pre-trained body. */
export function initialRunWeights(cfg: Pick<FederationConfig, 'model' | 'dataset'>, layers: readonly LayerSpec[], seed: number): Float32Array {
  const init = initWeights(layers, seed);
  return cfg.model === 'cnn-s-ft' ? withPretrainedBody(layers, init, pretrainedOf(pretrainedSource(cfg.dataset as DatasetName))) : init;
}

// cnn-s-ft, FedAlign's "FedAvg full fine-tune" baseline (issue 9): plain CNN-S whose global model starts from the body
// pre-trained on the other dataset (the one cnn-s-lora freezes), every weight trained and federated. Only the
// starting point differs from cnn-s: the coordinator's first global weights.
import type { FederationConfig } from '../config';
import type { DatasetName } from '../dataset-manifest';
import { initWeights, layerOffsets, layerSize, unpackWeights, type LayerSpec } from '../weights';
import { pretrainedSource, PretrainedError, type Pretrained } from './pretrained';
import { pretrainedOf } from './pretrained-store';

/** The pre-trained layers a fine-tune starts from; the 10-way head `out` starts from the seeded init. */
export const FINE_TUNED_LAYERS = ['conv1', 'conv2', 'fc1'] as const;

/** `init` with the pre-trained body's kernels and biases written over it (a fresh array). */
export function withPretrainedBody(layers: readonly LayerSpec[], init: Float32Array, pretrained: Pretrained): Float32Array {
  const parts = unpackWeights(pretrained.weights, pretrained.layers);
  const source = new Map(pretrained.layers.map((l, i) => [l.name, parts[i]]));
  const offsets = layerOffsets(layers);
  const out = init.slice();
  const wanted = new Set<string>(FINE_TUNED_LAYERS.flatMap((n) => [`${n}/kernel`, `${n}/bias`]));
  layers.forEach((l, i) => {
    if (!wanted.has(l.name)) return;
    const size = layerSize(l.shape);
    const values = source.get(l.name);
    if (!values || values.length !== size) throw new PretrainedError(`the pre-trained CNN-S has no ${l.name} of ${size} values`);
    out.set(values, offsets[i]);
    wanted.delete(l.name);
  });
  if (wanted.size) throw new PretrainedError(`the model has no ${[...wanted].join(', ')} to start from the pre-trained body`);
  return out;
}

/** A run's first global weights: the seeded init, over which cnn-s-ft writes its pre-trained body. */
export function initialRunWeights(cfg: Pick<FederationConfig, 'model' | 'dataset'>, layers: readonly LayerSpec[], seed: number): Float32Array {
  const init = initWeights(layers, seed);
  return cfg.model === 'cnn-s-ft' ? withPretrainedBody(layers, init, pretrainedOf(pretrainedSource(cfg.dataset as DatasetName))) : init;
}

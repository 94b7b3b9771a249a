// Every model architecture, keyed by the config's model id. Adding one touches its file, this table and
// config.ts's MODELS list (which stays free of TensorFlow.js so the dashboard's config code does not load it).
import * as tf from '@tensorflow/tfjs';
import type { ModelId } from '../../config';
import type { FeatureHead } from '../feature-head';
import { AttentionPooling, FeatureAttention } from '../layers/attention-layers';
import { cnnM } from './cnn-m';
import { buildMultimodal, isMultimodalModel, type MultimodalModelId } from './multimodal';
import { cnnS } from './cnn-s';
import { flatten } from './layers';
import { mclr } from './mclr';
import { twoNN } from './two-nn';

export const IMAGE_SHAPE = [28, 28, 1] as const;
export const NUM_CLASSES = 10;

export type { FeatureHead };

export interface ArchitectureOptions {
  input: number[];
  head: {
    kind: FeatureHead;
    /** How the conv body's map becomes a vector: flatten, or attention pooling. */
    pooled(): tf.layers.Layer[];
    /** The penultimate layer, followed by feature attention where asked. */
    features(penultimate: tf.layers.Layer): tf.layers.Layer[];
  };
}

/** The single-image architectures; the two-modality ones are in multimodal.ts, FedAlign's pre-trained one in cnn-s-lora.ts. */
export const ARCHITECTURES: Record<Exclude<ModelId, MultimodalModelId | 'cnn-s-lora'>, (o: ArchitectureOptions) => tf.layers.Layer[]> = {
  'cnn-s': cnnS('none'),
  'cnn-s-ca-mlp': cnnS('ca-mlp'),
  'cnn-s-ca': cnnS('ca'),
  'cnn-s-sa': cnnS('sa'),
  'cnn-s-cbam': cnnS('cbam'),
  '2nn': twoNN,
  'cnn-m': cnnM,
  mclr,
  // The same network as cnn-s; its run starts from a pre-trained body (pretrained-init.ts).
  'cnn-s-ft': cnnS('none'),
};

export function buildModel(id: ModelId, head: FeatureHead = 'none'): tf.LayersModel {
  if (isMultimodalModel(id)) {
    if (head !== 'none') throw new Error(`model ${id} takes no feature head (${head})`);
    return buildMultimodal(id);
  }
  if (id === 'cnn-s-lora') throw new Error('cnn-s-lora needs its run\'s pre-trained body: build it with buildRunModel (models.ts)');
  const arch = ARCHITECTURES[id];
  if (!arch) throw new Error(`unknown model '${id}'`);
  const layers = arch({
    input: [...IMAGE_SHAPE],
    head: {
      kind: head,
      pooled: () => [head === 'pooling' ? new AttentionPooling({ name: 'apool' }) : flatten()],
      features: (penultimate) => (head === 'feature' ? [penultimate, new FeatureAttention({ name: 'fatt' })] : [penultimate]),
    },
  });
  return tf.sequential({ layers });
}

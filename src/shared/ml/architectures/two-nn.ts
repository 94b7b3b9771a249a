// 2NN, McMahan et al.'s multilayer perceptron 784-200-200-10 (spec §0.1): 199,210 parameters.
import type * as tf from '@tensorflow/tfjs';
import { dense, flatten } from './layers';
import type { ArchitectureOptions } from './registry';

export function twoNN({ input, head }: ArchitectureOptions): tf.layers.Layer[] {
  if (head.kind === 'pooling') throw new Error('attention pooling needs a convolutional model; 2nn has none');
  return [flatten(input), dense('fc1', 200, 'relu'), ...head.features(dense('fc2', 200, 'relu')), dense('out', 10, 'linear')];
}

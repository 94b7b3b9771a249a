// CNN-M, McMahan et al.'s MNIST CNN (spec §0.1): 1,663,370 parameters.
import type * as tf from '@tensorflow/tfjs';
import { conv, dense, pool } from './layers';
import type { ArchitectureOptions } from './registry';

export function cnnM({ input, head }: ArchitectureOptions): tf.layers.Layer[] {
  return [
    conv('conv1', 32, 5, 'same', input), pool('pool1'), conv('conv2', 64, 5, 'same'), pool('pool2'),
    ...head.pooled(), ...head.features(dense('fc1', 512, 'relu')), dense('out', 10, 'linear'),
  ];
}

// Layer constructors the architectures share, with stable names (layerSpecs keys weights by layer name).
import * as tf from '@tensorflow/tfjs';

export const conv = (name: string, filters: number, kernelSize: number, padding: 'valid' | 'same', inputShape?: number[]) =>
  tf.layers.conv2d({ name, filters, kernelSize, padding, activation: 'relu', inputShape });
export const pool = (name: string) => tf.layers.maxPooling2d({ name, poolSize: 2, strides: 2 });
export const dense = (name: string, units: number, activation: 'relu' | 'linear') => tf.layers.dense({ name, units, activation });
export const flatten = (inputShape?: number[]) => tf.layers.flatten({ name: 'flat', inputShape });

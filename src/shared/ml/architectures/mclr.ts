// MCLR, the multinomial logistic regression of FedProx's MNIST experiments (spec §0.1): softmax regression 784→10,
// 7,850 parameters. The softmax is in the loss, as for every model here: the layer outputs logits.
import type * as tf from '@tensorflow/tfjs';
import { dense, flatten } from './layers';
import type { ArchitectureOptions } from './registry';

export function mclr({ input, head }: ArchitectureOptions): tf.layers.Layer[] {
  if (head.kind !== 'none') throw new Error(`mclr is one linear layer: it has no features for a ${head.kind} head`);
  return [flatten(input), dense('out', 10, 'linear')];
}

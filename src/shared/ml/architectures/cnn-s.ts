// CNN-S (spec §0.1) and its attention variants (spec §3): CA-MLP, CA-noMLP, SA or CBAM after each conv block
// (conv → pool). SA uses a 7×7 kernel on block 1's 13×13 map and 3×3 on block 2's 5×5 map; CA-MLP uses r = 8.
import type * as tf from '@tensorflow/tfjs';
import { ChannelAttentionConv, ChannelAttentionMlp, SpatialAttention } from '../layers/attention-layers';
import { conv, dense, pool } from './layers';
import type { ArchitectureOptions } from './registry';

export type BlockAttention = 'none' | 'ca-mlp' | 'ca' | 'sa' | 'cbam';

export const CA_REDUCTION = 8;
export const ECA_KERNEL = 3;
const SA_KERNELS = [7, 3];

function blockAttention(kind: BlockAttention, block: 1 | 2): tf.layers.Layer[] {
  const out: tf.layers.Layer[] = [];
  if (kind === 'ca-mlp' || kind === 'cbam') out.push(new ChannelAttentionMlp({ name: `ca${block}`, reduction: CA_REDUCTION }));
  if (kind === 'ca') out.push(new ChannelAttentionConv({ name: `ca${block}`, kernelSize: ECA_KERNEL }));
  if (kind === 'sa' || kind === 'cbam') out.push(new SpatialAttention({ name: `sa${block}`, kernelSize: SA_KERNELS[block - 1] }));
  return out;
}

export function cnnS(attention: BlockAttention) {
  return ({ input, head }: ArchitectureOptions): tf.layers.Layer[] => [
    conv('conv1', 32, 3, 'valid', input), pool('pool1'), ...blockAttention(attention, 1),
    conv('conv2', 64, 3, 'valid'), pool('pool2'), ...blockAttention(attention, 2),
    ...head.pooled(), ...head.features(dense('fc1', 128, 'relu')), dense('out', 10, 'linear'),
  ];
}

// Reading a model's attention: the weights FedAKD's head applies (for the attention-transfer term) and the gates of
// the CBAM / ECA modules (for the dashboard's picture), each from the layer's own input and its gate().
import * as tf from '@tensorflow/tfjs';
import { isAttentionLayer, type AttentionLayer } from './layers/attention-layers';

type Gated = tf.layers.Layer & AttentionLayer;
const probes = new WeakMap<tf.LayersModel, { model: tf.LayersModel; layers: Gated[] }>();

/** A model sharing `net`'s weights whose outputs are the inputs of every attention layer, then the logits. */
function probe(net: tf.LayersModel): { model: tf.LayersModel; layers: Gated[] } {
  let p = probes.get(net);
  if (!p) {
    const layers = net.layers.filter(isAttentionLayer);
    const inputs = layers.map((l) => l.input as tf.SymbolicTensor);
    p = { model: tf.model({ inputs: net.inputs, outputs: [...inputs, net.outputs[0]] }), layers };
    probes.set(net, p);
  }
  return p;
}

/** The names of the FedAKD head's attention layer. */
const HEAD_LAYERS = new Set(['fatt', 'apool']);

/** Logits and the FedAKD head's attention weights a (rows sum to 1) on x; inside a tidy, so the caller owns both. */
export function logitsWithHeadAttention(net: tf.LayersModel, x: tf.Tensor, training: boolean): { logits: tf.Tensor2D; attention: tf.Tensor2D } {
  const p = probe(net);
  const i = p.layers.findIndex((l) => HEAD_LAYERS.has(l.name));
  if (i < 0) throw new Error('the model has no FedAKD attention head (fatt or apool)');
  const outs = p.model.apply(x, { training }) as tf.Tensor[];
  return { logits: outs[outs.length - 1] as tf.Tensor2D, attention: p.layers[i].gate(outs[i]) as tf.Tensor2D };
}

/** Every attention layer's gate on x, by layer name (ca1: [b, C], sa1: [b, H, W, 1], fatt: [b, d]…), and the logits. */
export function attentionGates(net: tf.LayersModel, x: tf.Tensor): { logits: tf.Tensor2D; gates: Record<string, tf.Tensor> } {
  return tf.tidy(() => {
    const p = probe(net);
    const outs = p.model.predict(x) as tf.Tensor | tf.Tensor[];
    const list = Array.isArray(outs) ? outs : [outs];
    const gates: Record<string, tf.Tensor> = {};
    p.layers.forEach((l, i) => (gates[l.name] = l.gate(list[i])));
    return { logits: list[list.length - 1] as tf.Tensor2D, gates };
  });
}

// The dashboard's "what the attention looks at": every attention layer's gate on a few fixed test images, read off
// the model as plain numbers (small enough to travel in every status() reply).
import * as tf from '@tensorflow/tfjs';
import type { AttentionImage } from '../status';
import { attentionGates } from './attention-probe';
import { AttentionPooling, isAttentionLayer, SpatialAttention } from './layers/attention-layers';
import { imagesToTensor, IMAGE_SHAPE } from './models';

export const ATTENTION_IMAGES = 4;

/** The first image of each class, in test-set order, until `count` classes are seen: the same images every round. */
export function firstOfEachClass(labels: ArrayLike<number>, count: number): number[] {
  const seen = new Set<number>();
  const out: number[] = [];
  for (let i = 0; i < labels.length && out.length < count; i++) {
    if (seen.has(labels[i])) continue;
    seen.add(labels[i]);
    out.push(i);
  }
  return out;
}

export const hasAttention = (model: tf.LayersModel): boolean => model.layers.some(isAttentionLayer);

/** One image's gate shape: spatial gates (SA's [H, W, 1], attention pooling's [H·W]) as H×W maps, the others as vectors. */
function gateShape(layer: tf.layers.Layer, perImage: number): number[] {
  if (!(layer instanceof SpatialAttention || layer instanceof AttentionPooling)) return [perImage];
  const [, h, w] = (layer.input as tf.SymbolicTensor).shape as number[];
  return [h, w];
}

const round3 = (v: number) => Number(v.toPrecision(3));

/** Every attention layer's gate, the prediction and the pixels of the images `indices` of `images` / `labels`. */
export async function readAttention(model: tf.LayersModel, images: Uint8Array, labels: Uint8Array, indices: number[]): Promise<AttentionImage[]> {
  const x = imagesToTensor(images, indices);
  const { logits, gates } = attentionGates(model, x);
  const probs = tf.tidy(() => tf.softmax(logits));
  const layers = Object.keys(gates).map((name) => ({ name, layer: model.getLayer(name), gate: gates[name] }));
  try {
    const [p, ...g] = await Promise.all([probs.data(), ...layers.map((l) => l.gate.data())]);
    const classes = probs.shape[1]!;
    const pixels = IMAGE_SHAPE[0] * IMAGE_SHAPE[1];
    return indices.map((testIndex, i) => {
      const row = Array.from(p.subarray(i * classes, (i + 1) * classes));
      const predicted = row.indexOf(Math.max(...row));
      return {
        testIndex,
        label: labels[testIndex],
        pixels: Array.from(images.subarray(testIndex * pixels, (testIndex + 1) * pixels)),
        predicted,
        probability: round3(row[predicted]),
        gates: layers.map(({ name, layer, gate }, k) => {
          const per = gate.size / indices.length;
          return { layer: name, shape: gateShape(layer, per), values: Array.from(g[k].subarray(i * per, (i + 1) * per), round3) };
        }),
      };
    });
  } finally {
    tf.dispose([x, logits, probs, ...Object.values(gates)]);
  }
}

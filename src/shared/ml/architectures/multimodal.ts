// Two-modality models for `mnist+fashion` (spec §5): one CNN-S body per modality on its own channel of the
// [28, 28, 2] input. mm-late: a head per modality and additive late fusion of their logits, Σ_m h_m(φ_m(x_m)) (what
// FedMChain trains); mm-concat: the two 128-d features concatenated into one shared head (the joint-model baseline).
// Every layer of modality m is named `${m}_…` (modality-layout.ts splits the weights by it).
import * as tf from '@tensorflow/tfjs';
import { MODALITIES, type Modality } from '../../data/paired-modalities';
import { yieldToEventLoop } from '../yield';

export const MULTIMODAL_MODELS = ['mm-late', 'mm-concat'] as const;
export type MultimodalModelId = (typeof MULTIMODAL_MODELS)[number];
export const isMultimodalModel = (id: string): id is MultimodalModelId => (MULTIMODAL_MODELS as readonly string[]).includes(id);

/** Channel `channel` of a channel-last input, kept 4-d. */
export class ModalitySlice extends tf.layers.Layer {
  static className = 'FedtabModalitySlice';
  readonly channel: number;
  constructor(args: { name: string; channel: number }) {
    super({ name: args.name });
    this.channel = args.channel;
  }
  override computeOutputShape(s: tf.Shape | tf.Shape[]): tf.Shape {
    const shape = (Array.isArray(s[0]) ? s[0] : s) as tf.Shape;
    return [...shape.slice(0, 3), 1];
  }
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor4D;
    return tf.slice(x, [0, 0, 0, this.channel], [-1, -1, -1, 1]);
  }
  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), channel: this.channel };
  }
}
tf.serialization.registerClass(ModalitySlice);

/** CNN-S's body on one modality, up to its 128-d features. */
function encoder(m: Modality, channel: number, input: tf.SymbolicTensor): tf.SymbolicTensor {
  const layers: tf.layers.Layer[] = [
    new ModalitySlice({ name: `${m}_slice`, channel }),
    tf.layers.conv2d({ name: `${m}_conv1`, filters: 32, kernelSize: 3, padding: 'valid', activation: 'relu' }),
    tf.layers.maxPooling2d({ name: `${m}_pool1`, poolSize: 2, strides: 2 }),
    tf.layers.conv2d({ name: `${m}_conv2`, filters: 64, kernelSize: 3, padding: 'valid', activation: 'relu' }),
    tf.layers.maxPooling2d({ name: `${m}_pool2`, poolSize: 2, strides: 2 }),
    tf.layers.flatten({ name: `${m}_flat` }),
    tf.layers.dense({ name: `${m}_fc1`, units: 128, activation: 'relu' }),
  ];
  return layers.reduce((x, l) => l.apply(x) as tf.SymbolicTensor, input);
}

export function buildMultimodal(id: MultimodalModelId, numClasses = 10): tf.LayersModel {
  const input = tf.input({ shape: [28, 28, MODALITIES.length], name: 'pair' });
  const features = MODALITIES.map((m, c) => encoder(m, c, input));
  if (id === 'mm-concat') {
    const joint = tf.layers.concatenate({ name: 'fusion' }).apply(features) as tf.SymbolicTensor;
    const out = tf.layers.dense({ name: 'fused_out', units: numClasses, activation: 'linear' }).apply(joint) as tf.SymbolicTensor;
    return tf.model({ inputs: input, outputs: out, name: id });
  }
  const logits = MODALITIES.map((m, i) => tf.layers.dense({ name: `${m}_out`, units: numClasses, activation: 'linear' }).apply(features[i]) as tf.SymbolicTensor);
  const out = tf.layers.add({ name: 'fusion' }).apply(logits) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out, name: id });
}

/** Whether the model takes a two-modality input. */
export function isMultimodal(model: tf.LayersModel): boolean {
  return model.inputs[0].shape[3] === MODALITIES.length;
}

/** Whether the model has a head per modality (late fusion), so each head's logits can be read alone. */
export function hasModalityHeads(model: tf.LayersModel): boolean {
  return MODALITIES.every((m) => model.layers.some((l) => l.name === `${m}_out`));
}

const headModels = new WeakMap<tf.LayersModel, tf.LayersModel>();

/** A model with one output per modality head (MODALITIES order), sharing `model`'s layers and weights. */
export function modalityHeads(model: tf.LayersModel): tf.LayersModel {
  if (!hasModalityHeads(model)) throw new Error(`model ${model.name} has no head per modality (mm-late has)`);
  let heads = headModels.get(model);
  if (!heads) {
    heads = tf.model({ inputs: model.inputs, outputs: MODALITIES.map((m) => model.getLayer(`${m}_out`).output as tf.SymbolicTensor) });
    headModels.set(model, heads);
  }
  return heads;
}

/**
 * Each modality's own logits [n, C] (MODALITIES order), for evaluation. Late fusion: h_m(φ_m(x_m)); without per-modality
 * heads (mm-concat): the fused logits with every other modality's channel zeroed [I]. The caller disposes them.
 */
export function modalityLogits(model: tf.LayersModel, x: tf.Tensor4D): tf.Tensor2D[] {
  if (hasModalityHeads(model)) return modalityHeads(model).predict(x) as tf.Tensor2D[];
  return MODALITIES.map((_, c) =>
    tf.tidy(() => {
      const mask = tf.oneHot(tf.tensor1d([c], 'int32'), MODALITIES.length).reshape([1, 1, 1, MODALITIES.length]);
      return model.predict(tf.mul(x, mask)) as tf.Tensor2D;
    }),
  );
}

/** The trainable variables of the layers of `modalities`, and of the shared (fusion) layers when `shared`. */
export function trainableOf(model: tf.LayersModel, modalities: readonly Modality[], shared: boolean): tf.Variable[] {
  return model.layers.flatMap((l) => {
    const m = MODALITIES.find((x) => l.name.startsWith(`${x}_`)) ?? null;
    const take = m === null ? shared : modalities.includes(m);
    return take ? l.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val) : [];
  });
}

/** Test accuracy of each modality's own prediction (modalityLogits): the direct sign of modality competition. */
export async function unimodalAccuracy(model: tf.LayersModel, images: Uint8Array, labels: Uint8Array, batchSize = 250): Promise<Record<Modality, number>> {
  const correct = MODALITIES.map(() => 0);
  const pixels = 28 * 28 * MODALITIES.length;
  for (let start = 0; start < labels.length; start += batchSize) {
    const n = Math.min(batchSize, labels.length - start);
    const x = tf.tidy(() => tf.tensor4d(images.subarray(start * pixels, (start + n) * pixels), [n, 28, 28, MODALITIES.length], 'float32').div(255) as tf.Tensor4D);
    const logits = modalityLogits(model, x);
    const argmax = logits.map((l) => tf.argMax(l, 1));
    const preds = await Promise.all(argmax.map((a) => a.data()));
    tf.dispose([x, ...logits, ...argmax]);
    preds.forEach((p, m) => {
      for (let i = 0; i < n; i++) if (p[i] === labels[start + i]) correct[m]++;
    });
    await yieldToEventLoop();
  }
  return Object.fromEntries(MODALITIES.map((m, i) => [m, labels.length ? correct[i] / labels.length : 0])) as Record<Modality, number>;
}

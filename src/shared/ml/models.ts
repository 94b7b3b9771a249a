// The models as the rest of the code uses them: weights as one flat vector, images and labels as tensors, evaluation.
// The architectures (spec §0.1, §3) are in architectures/; all output logits and the loss applies the softmax.
import * as tf from '@tensorflow/tfjs';
import { runModelHead, type FederationConfig } from '../config';
import { accuracyFromPredictions, confusionMatrix, perClassRecall } from '../metrics';
import { packWeights, unpackWeights, type LayerSpec } from '../weights';
import { buildModel, IMAGE_SHAPE, NUM_CLASSES } from './architectures/registry';
import { yieldToEventLoop } from './yield';
import { buildCnnSLora } from './architectures/cnn-s-lora';
import type { DatasetName } from '../dataset-manifest';
import { pretrainedSource } from './pretrained';
import { pretrainedOf } from './pretrained-store';

export { buildModel, IMAGE_SHAPE, NUM_CLASSES, type FeatureHead } from './architectures/registry';

/**
 * The weights a run federates, layer by layer: the trainable ones. Every model trains all of its weights except
 * cnn-s-lora, whose frozen pre-trained body, frozen W₀ and server-set class features never travel.
 */
function federatedWeights(model: tf.LayersModel): tf.LayerVariable[] {
  return model.layers.flatMap((layer) => layer.trainableWeights);
}

/** Stable names (`fc1/kernel`) that do not depend on how many models this thread has built. */
export function layerSpecs(model: tf.LayersModel): LayerSpec[] {
  return model.layers.flatMap((layer) =>
    layer.trainableWeights.map((w) => ({ name: `${layer.name}/${w.originalName.split('/').pop()!.replace(/_\d+$/, '')}`, shape: [...w.shape] as number[] })),
  );
}

export function getFlatWeights(model: tf.LayersModel): Float32Array {
  const specs = layerSpecs(model);
  return packWeights(federatedWeights(model).map((w) => w.read().dataSync() as Float32Array), specs);
}

/** Copies `flat` into the model; the model never aliases the caller's array (the cpu backend would keep the views). */
export function setFlatWeights(model: tf.LayersModel, flat: Float32Array): void {
  const specs = layerSpecs(model);
  const tensors = unpackWeights(flat, specs).map((a, i) => tf.tensor(a.slice(), specs[i].shape));
  federatedWeights(model).forEach((w, i) => w.write(tensors[i]));
  tf.dispose(tensors);
}

export { pickImages } from '../data/images';

/** Images as float tensors in [0, 1], shape [n, 28, 28, channels] (channels interleaved, last). */
export function imagesToTensor(images: Uint8Array, indices?: ArrayLike<number>, channels = 1): tf.Tensor4D {
  const pixels = IMAGE_SHAPE[0] * IMAGE_SHAPE[1] * channels;
  const n = indices ? indices.length : images.length / pixels;
  const out = new Float32Array(n * pixels);
  for (let i = 0; i < n; i++) {
    const src = (indices ? indices[i] : i) * pixels;
    for (let p = 0; p < pixels; p++) out[i * pixels + p] = images[src + p] / 255;
  }
  return tf.tensor4d(out, [n, IMAGE_SHAPE[0], IMAGE_SHAPE[1], channels]);
}

/** Channels a model's input takes: 1, or 2 for a multimodal model. */
export function inputChannels(model: tf.LayersModel): number {
  return model.inputs[0].shape[3] ?? 1;
}

export function labelsToOneHot(labels: Uint8Array, indices?: ArrayLike<number>): tf.Tensor2D {
  const n = indices ? indices.length : labels.length;
  const picked = new Int32Array(n);
  for (let i = 0; i < n; i++) picked[i] = labels[indices ? indices[i] : i];
  return tf.tidy(() => tf.oneHot(tf.tensor1d(picked, 'int32'), NUM_CLASSES).toFloat() as tf.Tensor2D);
}

/**
 * Mean cross-entropy, accuracy and per-class recall of `model` on a labelled set, in batches so memory stays bounded.
 * It yields to the event loop between batches: in the coordinator it runs beside a round, whose messages must not
 * wait seconds for it (wasm's data() resolves without letting other tasks in).
 */
export async function evaluate(
  model: tf.LayersModel,
  images: Uint8Array,
  labels: Uint8Array,
  batchSize = 250,
): Promise<{ accuracy: number; loss: number; recall: number[]; confusion: Int32Array[] }> {
  const n = labels.length;
  const predictions = new Int32Array(n);
  let lossSum = 0;
  for (let start = 0; start < n; start += batchSize) {
    const idx = Array.from({ length: Math.min(batchSize, n - start) }, (_, i) => start + i);
    const x = imagesToTensor(images, idx, inputChannels(model));
    const y = labelsToOneHot(labels, idx);
    const [pred, loss] = tf.tidy(() => {
      const logits = model.predict(x) as tf.Tensor2D;
      return [tf.argMax(logits, 1), tf.losses.softmaxCrossEntropy(y, logits, undefined, undefined, tf.Reduction.SUM)];
    });
    const [pv, lv] = await Promise.all([pred.data(), loss.data()]);
    predictions.set(pv, start);
    lossSum += lv[0];
    tf.dispose([x, y, pred, loss]);
    await yieldToEventLoop();
  }
  const confusion = confusionMatrix(predictions, labels, NUM_CLASSES);
  return { accuracy: accuracyFromPredictions(predictions, labels), loss: lossSum / n, recall: perClassRecall(confusion), confusion };
}

/**
 * The model a run trains: its architecture with the head its strategy asks for (FedAKD's feature attention);
 * cnn-s-lora on the body pre-trained on the other dataset (await ensureRunModel(cfg) first).
 */
export function buildRunModel(cfg: FederationConfig): tf.LayersModel {
  if (cfg.model === 'cnn-s-lora') return buildCnnSLora(pretrainedOf(pretrainedSource(cfg.dataset as DatasetName)), NUM_CLASSES, [...IMAGE_SHAPE]);
  return buildModel(cfg.model, runModelHead(cfg));
}

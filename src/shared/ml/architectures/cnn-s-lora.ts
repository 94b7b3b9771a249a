// FedAlign's image encoder (spec §4): the CNN-S body pre-trained centrally on the *other* dataset and frozen, LoRA
// (r = 4, α = 4) on its FC128 ("low-level") and on a new FC→64 projection head ("high-level"), and cosine logits
// against the class features z_c. Only the four LoRA factors are trainable, and the federated weight vector is the
// trainable weights (models.ts): fc1/lora_a [4,1600], fc1/lora_b [128,4], proj/lora_a [4,128], proj/lora_b [64,4],
// 7,680 floats against CNN-S's 225,034.
// [I] choices: the projection's frozen W₀ is a seeded Glorot draw (the same on every client and the server: it is not
// pre-trained, only its LoRA learns); b₀ = 0; z_c starts as the untrained text encoder's T_θ₀(e_c), which the
// LoRA baselines keep for the whole run and FedAlign's server replaces every round.
import * as tf from '@tensorflow/tfjs';
import type { Pretrained } from '../pretrained';
import { CosineClassifier } from '../layers/cosine-classifier';
import { LoraDense } from '../layers/lora-dense';
import { classFeatures, FEATURE_DIM, initTextEncoder } from '../text-encoder';
import { initWeights, unpackWeights } from '../../weights';
import { conv, flatten, pool } from './layers';

export const LORA_RANK = 4;
export const LORA_ALPHA = 4;
export const COSINE_TAU = 0.07;
/** The low-level (global) and high-level (per-client) LoRA layers. */
export const LOW_LEVEL = 'fc1';
export const HIGH_LEVEL = 'proj';
const PROJ_SEED = 64;

function weightOf(layer: tf.layers.Layer, name: string): tf.LayerVariable {
  const w = layer.weights.find((x) => x.originalName.split('/').pop()!.replace(/_\d+$/, '') === name);
  if (!w) throw new Error(`layer ${layer.name} has no weight ${name}`);
  return w;
}

function write(layer: tf.layers.Layer, name: string, values: Float32Array): void {
  const w = weightOf(layer, name);
  const t = tf.tensor(values.slice(), w.shape as number[]);
  w.write(t);
  t.dispose();
}

export function buildCnnSLora(pretrained: Pretrained, numClasses: number, inputShape: number[]): tf.LayersModel {
  const conv1 = conv('conv1', 32, 3, 'valid', inputShape);
  const conv2 = conv('conv2', 64, 3, 'valid');
  const fc1 = new LoraDense({ name: LOW_LEVEL, units: 128, rank: LORA_RANK, alpha: LORA_ALPHA, activation: 'relu', seed: 1 });
  const proj = new LoraDense({ name: HIGH_LEVEL, units: FEATURE_DIM, rank: LORA_RANK, alpha: LORA_ALPHA, activation: 'linear', seed: 2 });
  const cos = new CosineClassifier({ name: 'cos', classes: numClasses, tau: COSINE_TAU });
  conv1.trainable = false;
  conv2.trainable = false;
  const model = tf.sequential({ layers: [conv1, pool('pool1'), conv2, pool('pool2'), flatten(), fc1, proj, cos] });
  const parts = unpackWeights(pretrained.weights, pretrained.layers);
  const byName = new Map(pretrained.layers.map((l, i) => [l.name, parts[i]]));
  // conv1, conv2 and fc1's W₀, b₀ from pre-training; the pre-trained 10-way head is not used.
  for (const layer of [conv1, conv2, fc1]) {
    for (const w of ['kernel', 'bias']) {
      const values = byName.get(`${layer.name}/${w}`);
      if (!values) throw new Error(`the pre-trained CNN-S has no ${layer.name}/${w}`);
      write(layer, w, values);
    }
  }
  const projKernel = weightOf(proj, 'kernel');
  write(proj, 'kernel', initWeights([{ name: 'proj/kernel', shape: projKernel.shape as number[] }], PROJ_SEED));
  cos.setClassFeatures(classFeatures(initTextEncoder(), numClasses));
  return model;
}

export function isLoraModel(model: tf.LayersModel): boolean {
  return model.layers.some((l) => l instanceof CosineClassifier);
}

/** The model's cosine classifier (throws for another model). */
export function cosineLayer(model: tf.LayersModel): CosineClassifier {
  const l = model.layers.find((x): x is CosineClassifier => x instanceof CosineClassifier);
  if (!l) throw new Error('the model has no cosine classifier');
  return l;
}

/** What a round may carry for the model besides its weights: FedAlign's class features z_c. */
export function applyModelExtras(model: tf.LayersModel, extras: Readonly<Record<string, Float32Array>> | undefined): void {
  const z = extras?.classFeatures;
  if (z) cosineLayer(model).setClassFeatures(z);
}

/** v(x) (the projection's output, [n, 64]) and the logits, in one pass (the orthogonality loss needs v). */
export function featuresAndLogits(model: tf.LayersModel, x: tf.Tensor, training: boolean): { features: tf.Tensor2D; logits: tf.Tensor2D } {
  let h: tf.Tensor = x;
  let features: tf.Tensor | null = null;
  for (const layer of model.layers) {
    h = layer.apply(h, { training }) as tf.Tensor;
    if (layer.name === HIGH_LEVEL) features = h;
  }
  if (!features) throw new Error(`the model has no ${HIGH_LEVEL} layer`);
  return { features: features as tf.Tensor2D, logits: h as tf.Tensor2D };
}

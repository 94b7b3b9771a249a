// OGM-GE (Peng et al. CVPR'22) for joint two-modality training on mm-late: spec §5's "FedAvg + OGM-GE" baseline.
// Per batch, each modality's score s_m = Σ_batch softmax(h_m)_y from its own head; the modality ahead has its encoder
// gradients scaled by k_m < 1 (on-the-fly gradient modulation), then every encoder gradient gets Gaussian noise of its
// own std (generalization enhancement). All of it is tensor ops inside trainLocal's step tidy: no readback per step.
// Our design choices are marked [I].
import * as tf from '@tensorflow/tfjs';
import type { TrainOptions } from '../shared/ml/train';
import { modalityHeads } from '../shared/ml/architectures/multimodal';
import { MODALITIES, type Modality } from '../shared/data/paired-modalities';
import { deriveSeed } from '../shared/prng';

/**
 * [I] The encoder φ_m is modality m's CNN-S body: conv1, conv2 and fc1 (the 128-d features). The head `${m}_out` is not
 * modulated, as in the paper, which modulates the encoders only (the official code even only the 4-d conv kernels; we
 * take fc1 too, the whole body up to the features the head reads).
 */
export const ENCODER_LAYERS = ['conv1', 'conv2', 'fc1'] as const;

/** The variable names (keys of a step's gradient map) of modality m's encoder, in layer order. */
export function encoderVariableNames(net: tf.LayersModel, m: Modality): string[] {
  return ENCODER_LAYERS.flatMap((l) => net.getLayer(`${m}_${l}`).trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val.name));
}

/** s_m = Σ_batch softmax(h_m)_y for each modality (MODALITIES order), in-graph: a [M] tensor. yb is one-hot [B, C]. */
export function modalityScoresTensor(net: tf.LayersModel, xb: tf.Tensor, yb: tf.Tensor): tf.Tensor1D {
  return tf.tidy(() => {
    const logits = modalityHeads(net).predict(xb, { batchSize: Math.max(1, xb.shape[0]) }) as tf.Tensor2D[];
    return tf.stack(logits.map((h) => tf.sum(tf.mul(tf.softmax(h), yb)))) as tf.Tensor1D;
  });
}

/**
 * ogmGeCoefficients' default ('continuous') form as tensor ops [I]: k_m = 1 − tanh(α·(ρ_m − 1)) with ρ_m = s_m / mean_{j≠m}
 * s_j when s_m is ahead, else 1 — continuous at ρ = 1, so a near-tie does not flip a large modulation on and off (the
 * paper's 1 − tanh(α·ρ) jumps there). A positive score against zero ones gives k = 0; all zero gives 1. scores is [M], M ≥ 2.
 */
export function ogmGeCoefficientsTensor(scores: tf.Tensor1D, alpha: number): tf.Tensor1D {
  checkAlpha(alpha);
  const m = scores.shape[0];
  if (m < 2) throw new Error(`ogmGeCoefficientsTensor: needs at least 2 modality scores, got ${m}`);
  if (alpha === 0) return tf.onesLike(scores);
  return tf.tidy(() => {
    const others = tf.div(tf.sub(tf.sum(scores), scores), m - 1);
    // ρ − 1 = (s − o)/o without an ∞ or NaN (divNoNan gives 0 at o = 0, where the `where` below takes k = 0 instead).
    const ahead = tf.where(tf.greater(others, 0), tf.sub(1, tf.tanh(tf.mul(alpha, tf.divNoNan(tf.sub(scores, others), others)))), tf.zerosLike(scores));
    return tf.where(tf.greater(scores, others), ahead, tf.onesLike(scores)) as tf.Tensor1D;
  });
}

/**
 * OGM without GE: scales every encoder gradient of modality m in `grads` by k_m (replacing the entries) and returns k
 * ([M], MODALITIES order; the caller disposes it unless inside a tidy). Variables absent from grads are skipped.
 */
export function modulateGradients(net: tf.LayersModel, grads: tf.NamedTensorMap, xb: tf.Tensor, yb: tf.Tensor, alpha: number): tf.Tensor1D {
  const k = tf.tidy(() => ogmGeCoefficientsTensor(modalityScoresTensor(net, xb, yb), alpha));
  MODALITIES.forEach((m, i) => {
    const names = encoderVariableNames(net, m).filter((n) => grads[n]);
    if (names.length === 0) return;
    const km = tf.tidy(() => tf.reshape(tf.slice(k, [i], [1]), []));
    for (const n of names) {
      const old = grads[n];
      grads[n] = tf.mul(old, km);
      old.dispose();
    }
    km.dispose();
  });
  return k;
}

/** Unbiased sample std of each named gradient over the whole tensor (torch's grad.std()); none below two entries. */
export function gradientStds(grads: tf.NamedTensorMap, names: readonly string[]): tf.NamedTensorMap {
  const out: tf.NamedTensorMap = {};
  for (const n of names) {
    const g = grads[n];
    if (g && g.size >= 2) out[n] = tf.tidy(() => tf.sqrt(tf.mul(tf.moments(g).variance, g.size / (g.size - 1))));
  }
  return out;
}

/**
 * GE: adds N(0, σ²) noise to each named gradient (replacing the entry), σ from `stds` (default: the gradient's own
 * std now). The hook passes the stds taken before modulation, as the official code does
 * (grad·k + N(0, grad.std()), the std read before the assignment). Variable j's noise is seeded by
 * deriveSeed(seed, 'ogm-ge-noise', step, j).
 */
export function addGradientNoise(grads: tf.NamedTensorMap, names: readonly string[], seed: number, step: number, stds: tf.NamedTensorMap = gradientStds(grads, names)): void {
  names.forEach((n, j) => {
    const g = grads[n];
    const std = stds[n];
    if (!g || !std) return;
    grads[n] = tf.tidy(() => tf.add(g, tf.mul(tf.randomNormal(g.shape, 0, 1, 'float32', deriveSeed(seed, 'ogm-ge-noise', step, j)), std)));
    g.dispose();
  });
}

/** trainLocal's transformGrads for OGM-GE at α on an mm-late model: modulate, then add GE noise to every encoder gradient. */
export function ogmGeHook(net: tf.LayersModel, alpha: number, seed: number): NonNullable<TrainOptions['transformGrads']> {
  checkAlpha(alpha);
  modalityHeads(net); // fails now, not at the first step, on a model without a head per modality
  const encoders = MODALITIES.flatMap((m) => encoderVariableNames(net, m));
  return (grads, xb, yb, step) => {
    const stds = gradientStds(grads, encoders);
    modulateGradients(net, grads, xb, yb, alpha).dispose();
    addGradientNoise(grads, encoders, seed, step, stds);
    tf.dispose(Object.values(stds));
  };
}

function checkAlpha(alpha: number): void {
  if (!Number.isFinite(alpha) || alpha < 0) throw new Error(`OGM-GE: alpha must be a finite number >= 0, got ${alpha}`);
}

// FedMChain's local objectives (spec §5 "Specification from the closest work"): the error-compensated chain loss
// for modality m, and the OGM-GE ablation (Peng et al. CVPR'22). Fusion is additive late fusion of logits,
// z = Σ_m h_m(φ_m(x_m)). Our design choices are marked [I].
import * as tf from '@tensorflow/tfjs';
import { crossEntropy } from './losses.ts';
import { createRng, deriveSeed } from '../prng';

/**
 * sg[x]: the identity forward, a zero gradient backward. tfjs 4.x has no public tf.stopGradient, so it is a
 * tf.customGrad; this keeps the loss correct even when the caller builds z_<m inside the gradient tape.
 */
const stopGradient = tf.customGrad((...args) => ({
  value: tf.clone(args[0] as tf.Tensor),
  gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy),
})) as <T extends tf.Tensor>(x: T) => T;

/**
 * L_m = CE(h_m, y) + λ_ec·CE(sg[z_<m] + h_m, y), each CE a mean over the batch; z_<m = Σ_{j<m} h_j are the earlier
 * modalities' logits. Boosting-style: modality m is pushed to fit what the earlier ones got wrong, and no gradient
 * reaches z_<m. earlierLogits = null is the first modality in the chain: the empty sum is 0, so L = (1 + λ_ec)·CE(h_m, y)
 * [I] (the math as written, not "first term only"). labels are one-hot, shape [B, C] like the logits.
 */
export function errorCompensatedLoss(logitsM: tf.Tensor2D, earlierLogits: tf.Tensor2D | null, labels: tf.Tensor2D, lambdaEc = 1): tf.Scalar {
  if (!Number.isFinite(lambdaEc) || lambdaEc < 0) throw new Error(`errorCompensatedLoss: lambdaEc must be a finite number >= 0, got ${lambdaEc}`);
  const shape = logitsM.shape.join('×');
  if (labels.shape.join('×') !== shape) throw new Error(`errorCompensatedLoss: labels are ${labels.shape.join('×')}, logits ${shape}`);
  if (earlierLogits && earlierLogits.shape.join('×') !== shape) throw new Error(`errorCompensatedLoss: earlierLogits are ${earlierLogits.shape.join('×')}, logits ${shape}`);
  return tf.tidy(() => {
    const own = crossEntropy(labels, logitsM);
    if (lambdaEc === 0) return own;
    const fused = earlierLogits ? tf.add(stopGradient(earlierLogits), logitsM) : logitsM;
    return tf.add(own, tf.mul(lambdaEc, crossEntropy(labels, fused))) as tf.Scalar;
  });
}

/** s_m = Σ_batch softmax(h_m)_y, in float64 with the max subtracted per row. logits are row-major n×C. */
export function modalityScore(logits: Float32Array, labels: Uint8Array): number {
  const n = labels.length;
  if (n === 0) return 0;
  const c = logits.length / n;
  if (!Number.isInteger(c) || c < 1) throw new Error(`modalityScore: ${logits.length} logits do not split into ${n} rows`);
  let score = 0;
  for (let i = 0, o = 0; i < n; i++, o += c) {
    if (labels[i] >= c) throw new Error(`modalityScore: label ${labels[i]} at row ${i} is >= ${c} classes`);
    let max = -Infinity;
    for (let k = 0; k < c; k++) if (logits[o + k] > max) max = logits[o + k];
    let sum = 0;
    for (let k = 0; k < c; k++) sum += Math.exp(logits[o + k] - max);
    score += Math.exp(logits[o + labels[i]] - max) / sum;
  }
  return score;
}

/**
 * OGM-GE gradient coefficients k_m, one per modality. ρ_m = s_m / mean_{j≠m} s_j (for two modalities ρ_1 = s_1/s_2,
 * ρ_2 = s_2/s_1 [I], symmetric); a modality ahead (ρ_m > 1) gets its encoder gradients scaled by k_m < 1, the others 1.
 *
 * form 'continuous' (default) [I]: k_m = 1 − tanh(α·(ρ_m − 1)), continuous at ρ = 1.
 * form 'paper': k_m = 1 − tanh(α·ρ_m) as in the spec, the CVPR'22 paper's Eq. (10) and its official code; it jumps from 1
 * to 1 − tanh(α) as ρ crosses 1, so a near-tie of the scores flips a large modulation on and off.
 *
 * Both scores 0 (or α = 0) means no evidence of imbalance: all 1. A zero score against a positive one gives ρ = ∞, k = 0.
 */
export function ogmGeCoefficients(scores: readonly number[], alpha: number, form: 'continuous' | 'paper' = 'continuous'): number[] {
  if (!Number.isFinite(alpha) || alpha < 0) throw new Error(`ogmGeCoefficients: alpha must be a finite number >= 0, got ${alpha}`);
  for (const s of scores) if (!Number.isFinite(s) || s < 0) throw new Error(`ogmGeCoefficients: scores must be finite and >= 0, got ${s}`);
  const m = scores.length;
  if (m < 2 || alpha === 0) return scores.map(() => 1);
  const total = scores.reduce((a, b) => a + b, 0);
  return scores.map((s) => {
    const others = (total - s) / (m - 1);
    if (!(s > others)) return 1; // also ρ = 0/0
    const rho = others === 0 ? Infinity : s / others;
    return 1 - Math.tanh(alpha * (form === 'paper' ? rho : rho - 1));
  });
}

/**
 * The GE part of OGM-GE: N(0, std(grad)²) noise, one draw per entry, to add to the (already scaled) gradient.
 * std is the unbiased sample std over the whole tensor, as torch's grad.std() in the official code; fewer than two
 * entries give zero noise. Stream deriveSeed(seed, 'ogm-ge-noise').
 */
export function gradientEnhancementNoise(grad: Float32Array, seed: number): Float32Array {
  const n = grad.length;
  const out = new Float32Array(n);
  if (n < 2) return out;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += grad[i];
  mean /= n;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (grad[i] - mean) ** 2;
  const std = Math.sqrt(ss / (n - 1));
  if (std === 0) return out;
  const rng = createRng(deriveSeed(seed, 'ogm-ge-noise'));
  for (let i = 0; i < n; i++) out[i] = std * rng.normal();
  return out;
}

// Local objectives beyond cross-entropy (spec §6), as tensor functions of logits: mean over the batch.
import * as tf from '@tensorflow/tfjs';

/** Softmax cross-entropy of logits z against one-hot y. */
export function crossEntropy(y: tf.Tensor, z: tf.Tensor): tf.Scalar {
  return tf.losses.softmaxCrossEntropy(y, z) as tf.Scalar;
}

/** Σ_c q_c (log q_c − log p_c) per row, from log-probabilities; mean over rows. */
function meanKl(logQ: tf.Tensor, logP: tf.Tensor): tf.Scalar {
  return tf.mean(tf.sum(tf.mul(tf.exp(logQ), tf.sub(logQ, logP)), -1)) as tf.Scalar;
}

/** Hinton's distillation term τ²·KL(softmax(z_teacher/τ) ‖ softmax(z_student/τ)), teacher first (forward KL). */
export function distillationLoss(teacherLogits: tf.Tensor, studentLogits: tf.Tensor, tau: number): tf.Scalar {
  return tf.tidy(() => tf.mul(tau * tau, meanKl(tf.logSoftmax(tf.div(teacherLogits, tau)), tf.logSoftmax(tf.div(studentLogits, tau)))) as tf.Scalar);
}

/** A logit far below any real one: masks a class out of a softmax (exp underflows to exactly 0). */
const MASKED = -1e4;

/**
 * FedNTD's not-true distillation (Lee et al. NeurIPS'22): τ²·KL over the classes other than the true one, each side's
 * softmax taken over those classes only, so the global model's knowledge of the classes a client lacks is kept.
 */
export function notTrueDistillationLoss(y: tf.Tensor, teacherLogits: tf.Tensor, studentLogits: tf.Tensor, tau: number): tf.Scalar {
  return tf.tidy(() => {
    const mask = tf.mul(y, MASKED);
    const logQ = tf.logSoftmax(tf.add(tf.div(teacherLogits, tau), mask));
    const logP = tf.logSoftmax(tf.add(tf.div(studentLogits, tau), mask));
    return tf.mul(tau * tau, meanKl(logQ, logP)) as tf.Scalar;
  });
}

/** Logit-adjusted cross-entropy (Menon et al. ICLR'21): CE(z + τ·log π, y) with the global class prior π. */
export function logitAdjustedLoss(y: tf.Tensor, z: tf.Tensor, logPrior: tf.Tensor1D, tau: number): tf.Scalar {
  return tf.tidy(() => crossEntropy(y, tf.add(z, tf.mul(tau, logPrior))));
}

/** Attention transfer (Zagoruyko & Komodakis ICLR'17): mean over rows of ‖a/‖a‖ − a_g/‖a_g‖‖². */
export function attentionTransferLoss(a: tf.Tensor2D, teacherA: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => {
    const unit = (t: tf.Tensor2D) => tf.div(t, tf.add(tf.norm(t, 'euclidean', -1, true), 1e-12));
    return tf.mean(tf.sum(tf.square(tf.sub(unit(a), unit(teacherA))), -1)) as tf.Scalar;
  });
}

/** log π_c from class counts; a class with no samples gets the prior of half a sample, so log π stays finite. */
export function logPrior(counts: readonly number[]): Float32Array {
  const safe = counts.map((n) => Math.max(n, 0.5));
  const total = safe.reduce((a, b) => a + b, 0);
  return Float32Array.from(safe, (n) => Math.log(n / total));
}

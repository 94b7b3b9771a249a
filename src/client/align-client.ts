// A FedAlign client's own pieces (spec §4; ClientSide.align): the local objective CE(s·cos(v, z_c), y) + μ·L_orth on
// cnn-s-lora, and the upload besides Δ: per-class prototypes u_c (mean projection feature over all local training
// samples) with counts n_c, and up to F correctly classified features per class, chosen by a seeded shuffle.
import * as tf from '@tensorflow/tfjs';
import { classPrototypes, orthogonalityLoss } from '../shared/ml/alignment';
import { featuresAndLogits } from '../shared/ml/architectures/cnn-s-lora';
import type { Objective } from '../shared/ml/train';
import { yieldToEventLoop } from '../shared/ml/yield';
import { createRng, shuffle } from '../shared/prng';

export function alignObjective(mu: number): Objective {
  return (model, xb, yb) => {
    const { features, logits } = featuresAndLogits(model, xb, true);
    const ce = tf.losses.softmaxCrossEntropy(yb, logits) as tf.Scalar;
    return mu > 0 ? (tf.add(ce, tf.mul(mu, orthogonalityLoss(features, yb as tf.Tensor2D))) as tf.Scalar) : ce;
  };
}

/** Rows [i·d, (i+1)·d) of `src` for the listed rows, packed. */
function rowsOf(src: Float32Array, rows: readonly number[], d: number): Float32Array {
  const out = new Float32Array(rows.length * d);
  rows.forEach((r, i) => out.set(src.subarray(r * d, (r + 1) * d), i * d));
  return out;
}

/**
 * The extras a FedAlign client sends with its update: prototypes [C·d], protoCounts [C], features [m·d] and
 * featureLabels [m] (at most featuresPerClass correctly classified rows per class), from the trained `net`.
 */
export async function alignUpload(net: tf.LayersModel, xs: tf.Tensor, labels: ArrayLike<number>, numClasses: number, featuresPerClass: number, seed: number, batch = 250): Promise<Record<string, Float32Array>> {
  const n = xs.shape[0];
  const parts: Float32Array[] = [];
  const predicted = new Int32Array(n);
  let d = 0;
  for (let s = 0; s < n; s += batch) {
    const size = Math.min(batch, n - s);
    const [f, p] = tf.tidy(() => {
      const out = featuresAndLogits(net, tf.slice(xs, s, size), false);
      return [out.features, tf.argMax(out.logits, 1)];
    });
    const [fv, pv] = await Promise.all([f.data(), p.data()]);
    tf.dispose([f, p]);
    d = f.shape[1];
    parts.push(fv as Float32Array);
    predicted.set(pv as Int32Array, s);
    await yieldToEventLoop();
  }
  const features = new Float32Array(n * d);
  let at = 0;
  for (const part of parts) {
    features.set(part, at);
    at += part.length;
  }
  const protos = classPrototypes(features, labels, numClasses);
  const prototypes = new Float32Array(numClasses * d);
  protos.u.forEach((u, c) => u && prototypes.set(u, c * d));
  const order = Int32Array.from({ length: n }, (_, i) => i);
  shuffle(order, createRng(seed));
  const taken = new Array<number>(numClasses).fill(0);
  const rows: number[] = [];
  for (const i of order) {
    const y = labels[i];
    if (predicted[i] === y && taken[y] < featuresPerClass) {
      taken[y]++;
      rows.push(i);
    }
  }
  return {
    prototypes,
    protoCounts: Float32Array.from(protos.n),
    features: rowsOf(features, rows, d),
    featureLabels: Float32Array.from(rows, (i) => labels[i]),
  };
}

// FedAlign's client-side alignment pieces (spec §4, browser-feasible specification): cosine logits against the
// class ("text") features, the orthogonality loss on class means, and the per-class prototypes sent upstream.
// [I] choices: L2 normalisation is x·rsqrt(‖x‖² + ε) (ε = 1e-12) so a zero vector maps to 0 with a finite gradient;
// the orthogonality loss masks absent classes instead of gathering present ones, so the graph is static.
import * as tf from '@tensorflow/tfjs';

const EPS = 1e-12;

/** Rows scaled to unit L2 norm (a zero row stays 0). */
function normalizeRows(x: tf.Tensor2D): tf.Tensor2D {
  return tf.mul(x, tf.rsqrt(tf.add(tf.sum(tf.square(x), -1, true), EPS)));
}

/** ℓ_{i,c} = s·cos(v_i, z_c) with s = 1/τ (τ = 0.07, CLIP's initial temperature): [n, d] × [C, d] → [n, C]. */
export function cosineLogits(features: tf.Tensor2D, classFeatures: tf.Tensor2D, tau = 0.07): tf.Tensor2D {
  return tf.tidy(() => tf.mul(tf.matMul(normalizeRows(features), normalizeRows(classFeatures), false, true), 1 / tau));
}

/**
 * L_orth = ‖ŪŪᵀ − I‖²_F over the L2-normalised means Ū of the classes present in the batch (labels one-hot [n, C]).
 * The mean's direction is the class sum's, so Ū is the normalised Yᵀ·V; absent classes (count 0) are masked out
 * of both ŪŪᵀ and I. Two present classes at angle θ give 2·cos²θ.
 */
export function orthogonalityLoss(features: tf.Tensor2D, labels: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => {
    const u = normalizeRows(tf.matMul(labels, features, true, false)); // [C, d]
    const present = tf.cast(tf.greater(tf.sum(labels, 0), 0), 'float32') as tf.Tensor1D; // [C]
    const mask = tf.outerProduct(present, present);
    const c = labels.shape[1];
    const diff = tf.mul(tf.sub(tf.matMul(u, u, false, true), tf.eye(c)), mask);
    return tf.sum(tf.square(diff)) as tf.Scalar;
  });
}

export interface ClassPrototypes {
  /** u_c: the mean feature of class c, or null when the class has no samples. */
  u: (Float32Array | null)[];
  /** n_c: the sample count of class c. */
  n: number[];
}

/** Per-class means u_c and counts n_c of features (n×d, row-major) with integer labels; float64 accumulation. */
export function classPrototypes(features: Float32Array, labels: ArrayLike<number>, numClasses: number): ClassPrototypes {
  const n = labels.length;
  if (n === 0) return { u: new Array<Float32Array | null>(numClasses).fill(null), n: new Array<number>(numClasses).fill(0) };
  if (features.length % n !== 0) throw new Error(`classPrototypes: ${features.length} feature values do not split into ${n} rows`);
  const d = features.length / n;
  const sums = Array.from({ length: numClasses }, () => new Float64Array(d));
  const counts = new Array<number>(numClasses).fill(0);
  for (let i = 0; i < n; i++) {
    const c = labels[i];
    if (!Number.isInteger(c) || c < 0 || c >= numClasses) throw new Error(`classPrototypes: label ${c} at row ${i} is not in [0, ${numClasses})`);
    counts[c]++;
    const s = sums[c];
    for (let j = 0, o = i * d; j < d; j++) s[j] += features[o + j];
  }
  const u = sums.map((s, c) => (counts[c] === 0 ? null : Float32Array.from(s, (v) => v / counts[c])));
  return { u, n: counts };
}

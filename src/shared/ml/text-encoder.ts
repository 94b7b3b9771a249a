// FedAlign's server "text encoder" T_θ (spec §4, browser-feasible specification [I]): no CLIP weights exist offline,
// so an MLP 2×128 maps fixed class descriptors e_c to the normalised class features z_c ∈ R^64 that every client
// scores its image features against (ℓ_c = s·cos(v(x), z_c)). The server trains it one epoch per round (Adam 1e-3)
// on the pooled uploaded features, with the same cosine cross-entropy the clients use.
// Plain float64 arithmetic on typed arrays with a hand-written backward pass, no tfjs: the strategy that trains it
// runs in the coordinator's synchronous aggregation and is imported by the config code, which stays free of tfjs.
// [I] choices: e_c = the rows of a seeded random 10×16 orthonormal matrix (Gram–Schmidt of Gaussian draws): the
// classes start equally far apart and need no names; θ₀ = initWeights' seeded Glorot; a fresh Adam each round (its
// moments are not carried between rounds, so the strategy's state is θ alone).
import { createRng, deriveSeed, shuffle } from '../prng';
import { initWeights, unpackWeights, type LayerSpec } from '../weights';

export interface TextEncoderDims {
  descriptor: number;
  hidden: number;
  out: number;
}

export const TEXT_ENCODER_DIMS: TextEncoderDims = { descriptor: 16, hidden: 128, out: 64 };
export const FEATURE_DIM = TEXT_ENCODER_DIMS.out;
/** θ₀ and e_c come from this seed, the same on every client and the server, whatever the run's seed. */
export const TEXT_ENCODER_SEED = 20241124;

export function textEncoderSpecs(d: TextEncoderDims = TEXT_ENCODER_DIMS): LayerSpec[] {
  return [
    { name: 'text1/kernel', shape: [d.descriptor, d.hidden] },
    { name: 'text1/bias', shape: [d.hidden] },
    { name: 'text2/kernel', shape: [d.hidden, d.hidden] },
    { name: 'text2/bias', shape: [d.hidden] },
    { name: 'text3/kernel', shape: [d.hidden, d.out] },
    { name: 'text3/bias', shape: [d.out] },
  ];
}

/** θ₀: seeded Glorot kernels, zero biases. */
export function initTextEncoder(d: TextEncoderDims = TEXT_ENCODER_DIMS): Float32Array {
  return initWeights(textEncoderSpecs(d), TEXT_ENCODER_SEED);
}

/** e_c: `numClasses` orthonormal rows of length d.descriptor, row-major (numClasses ≤ d.descriptor). */
export function classDescriptors(numClasses: number, d: TextEncoderDims = TEXT_ENCODER_DIMS): Float64Array {
  const k = d.descriptor;
  if (numClasses > k) throw new Error(`classDescriptors: ${numClasses} classes need more than ${k} dimensions`);
  const rng = createRng(deriveSeed(TEXT_ENCODER_SEED, 'descriptors'));
  const out = new Float64Array(numClasses * k);
  for (let c = 0; c < numClasses; ) {
    const r = Float64Array.from({ length: k }, () => rng.normal());
    for (let q = 0; q < c; q++) {
      let dot = 0;
      for (let i = 0; i < k; i++) dot += r[i] * out[q * k + i];
      for (let i = 0; i < k; i++) r[i] -= dot * out[q * k + i];
    }
    const norm = Math.hypot(...r);
    if (norm < 1e-6) continue;
    for (let i = 0; i < k; i++) out[c * k + i] = r[i] / norm;
    c++;
  }
  return out;
}

/** y[rows×n] = x[rows×m]·W[m×n] + b. */
function affine(x: Float64Array, rows: number, w: Float32Array | Float64Array, b: Float32Array | Float64Array, m: number, n: number): Float64Array {
  const y = new Float64Array(rows * n);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < n; j++) y[r * n + j] = b[j];
    for (let i = 0; i < m; i++) {
      const xv = x[r * m + i];
      if (xv === 0) continue;
      for (let j = 0; j < n; j++) y[r * n + j] += xv * w[i * n + j];
    }
  }
  return y;
}

interface Forward {
  h1: Float64Array;
  h2: Float64Array;
  /** Unnormalised outputs and their row norms. */
  o: Float64Array;
  norms: Float64Array;
  z: Float64Array;
}

function forward(theta: Float32Array | Float64Array, e: Float64Array, c: number, d: TextEncoderDims): Forward {
  const [k1, b1, k2, b2, k3, b3] = unpackAny(theta, d);
  const h1 = affine(e, c, k1, b1, d.descriptor, d.hidden).map((v) => Math.max(0, v));
  const h2 = affine(h1, c, k2, b2, d.hidden, d.hidden).map((v) => Math.max(0, v));
  const o = affine(h2, c, k3, b3, d.hidden, d.out);
  const norms = new Float64Array(c);
  const z = new Float64Array(o.length);
  for (let r = 0; r < c; r++) {
    let s = 0;
    for (let j = 0; j < d.out; j++) s += o[r * d.out + j] ** 2;
    norms[r] = Math.sqrt(s + 1e-12);
    for (let j = 0; j < d.out; j++) z[r * d.out + j] = o[r * d.out + j] / norms[r];
  }
  return { h1, h2, o, norms, z };
}

function unpackAny(theta: Float32Array | Float64Array, d: TextEncoderDims): Array<Float32Array | Float64Array> {
  if (theta instanceof Float32Array) return unpackWeights(theta, textEncoderSpecs(d));
  const sizes = textEncoderSpecs(d).map((s) => s.shape.reduce((a, b) => a * b, 1));
  let at = 0;
  return sizes.map((n) => theta.subarray(at, (at += n)));
}

/** z_c = T_θ(e_c), L2-normalised: [numClasses × d.out] row-major. */
export function classFeatures(theta: Float32Array, numClasses: number, d: TextEncoderDims = TEXT_ENCODER_DIMS): Float32Array {
  return Float32Array.from(forward(theta, classDescriptors(numClasses, d), numClasses, d).z);
}

/**
 * Mean CE(s·cos(f_i, z), y_i) over a batch (features n × d.out, row-major) and its gradient with respect to θ.
 * The backward pass: G = (softmax − Y)/n, dz = s·Gᵀf̂, do = (dz − z⟨z, dz⟩)/‖o‖, then the two ReLU layers.
 */
export function textEncoderLoss(
  theta: Float32Array | Float64Array,
  features: Float32Array,
  labels: ArrayLike<number>,
  numClasses: number,
  tau: number,
  d: TextEncoderDims = TEXT_ENCODER_DIMS,
): { loss: number; grad: Float64Array } {
  const n = labels.length;
  const c = numClasses;
  const e = classDescriptors(c, d);
  const f = forward(theta, e, c, d);
  const s = 1 / tau;
  const dz = new Float64Array(c * d.out);
  let loss = 0;
  const fh = new Float64Array(d.out);
  const logits = new Float64Array(c);
  for (let i = 0; i < n; i++) {
    let nn = 0;
    for (let j = 0; j < d.out; j++) nn += features[i * d.out + j] ** 2;
    const inv = 1 / Math.sqrt(nn + 1e-12);
    for (let j = 0; j < d.out; j++) fh[j] = features[i * d.out + j] * inv;
    let max = -Infinity;
    for (let k = 0; k < c; k++) {
      let dot = 0;
      for (let j = 0; j < d.out; j++) dot += fh[j] * f.z[k * d.out + j];
      logits[k] = s * dot;
      if (logits[k] > max) max = logits[k];
    }
    let sum = 0;
    for (let k = 0; k < c; k++) sum += Math.exp(logits[k] - max);
    const y = labels[i];
    loss += -(logits[y] - max - Math.log(sum));
    for (let k = 0; k < c; k++) {
      const g = (Math.exp(logits[k] - max) / sum - (k === y ? 1 : 0)) / n;
      for (let j = 0; j < d.out; j++) dz[k * d.out + j] += s * g * fh[j];
    }
  }
  const [, , k2, , k3] = unpackAny(theta, d);
  const doo = new Float64Array(c * d.out);
  for (let r = 0; r < c; r++) {
    let zdz = 0;
    for (let j = 0; j < d.out; j++) zdz += f.z[r * d.out + j] * dz[r * d.out + j];
    for (let j = 0; j < d.out; j++) doo[r * d.out + j] = (dz[r * d.out + j] - f.z[r * d.out + j] * zdz) / f.norms[r];
  }
  const grad = new Float64Array(theta.length);
  const [gk1, gb1, gk2, gb2, gk3, gb3] = unpackAny(grad, d) as Float64Array[];
  // layer 3: o = h2·K3 + b3
  backDense(f.h2, doo, c, d.hidden, d.out, gk3, gb3);
  const dh2 = backInput(doo, k3, c, d.hidden, d.out, f.h2);
  backDense(f.h1, dh2, c, d.hidden, d.hidden, gk2, gb2);
  const dh1 = backInput(dh2, k2, c, d.hidden, d.hidden, f.h1);
  backDense(e, dh1, c, d.descriptor, d.hidden, gk1, gb1);
  return { loss: n ? loss / n : 0, grad };
}

/** dK += xᵀ·dy, db += Σ_rows dy. */
function backDense(x: Float64Array, dy: Float64Array, rows: number, m: number, n: number, dk: Float64Array, db: Float64Array): void {
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < n; j++) db[j] += dy[r * n + j];
    for (let i = 0; i < m; i++) {
      const xv = x[r * m + i];
      if (xv === 0) continue;
      for (let j = 0; j < n; j++) dk[i * n + j] += xv * dy[r * n + j];
    }
  }
}

/** dx = (dy·Kᵀ) ⊙ [x > 0], x the layer's ReLU input's output (the ReLU gate). */
function backInput(dy: Float64Array, k: Float32Array | Float64Array, rows: number, m: number, n: number, gate: Float64Array): Float64Array {
  const dx = new Float64Array(rows * m);
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < m; i++) {
      if (gate[r * m + i] <= 0) continue;
      let s = 0;
      for (let j = 0; j < n; j++) s += dy[r * n + j] * k[i * n + j];
      dx[r * m + i] = s;
    }
  }
  return dx;
}

export interface TextTrainOptions {
  numClasses: number;
  /** Adam step size (spec: 1e-3). */
  lr: number;
  /** Cosine temperature τ of the logits (spec: 0.07). */
  tau: number;
  batchSize: number;
  seed: number;
  dims?: TextEncoderDims;
}

/**
 * One epoch of Adam (β = 0.9, 0.999, ε = 1e-8) on the cosine CE over the pooled features (n × out, row-major) with
 * their labels, in seeded shuffled batches. Returns θ' and the epoch's mean loss; θ is not modified. No features:
 * θ comes back unchanged (loss NaN).
 */
export function trainTextEncoder(theta: Float32Array, features: Float32Array, labels: ArrayLike<number>, o: TextTrainOptions): { theta: Float32Array; loss: number } {
  const d = o.dims ?? TEXT_ENCODER_DIMS;
  const n = labels.length;
  if (features.length !== n * d.out) throw new Error(`trainTextEncoder: ${features.length} feature values for ${n} labels of ${d.out} dims`);
  if (n === 0) return { theta: theta.slice(), loss: NaN };
  const w = Float64Array.from(theta);
  const m = new Float64Array(w.length);
  const v = new Float64Array(w.length);
  const order = Int32Array.from({ length: n }, (_, i) => i);
  shuffle(order, createRng(o.seed));
  let lossSum = 0;
  let t = 0;
  for (let s = 0; s < n; s += o.batchSize) {
    const idx = order.subarray(s, Math.min(n, s + o.batchSize));
    const fb = new Float32Array(idx.length * d.out);
    idx.forEach((row, i) => fb.set(features.subarray(row * d.out, (row + 1) * d.out), i * d.out));
    const yb = Int32Array.from(idx, (row) => labels[row]);
    const { loss, grad } = textEncoderLoss(w, fb, yb, o.numClasses, o.tau, d);
    lossSum += loss * idx.length;
    t++;
    const c1 = 1 - 0.9 ** t;
    const c2 = 1 - 0.999 ** t;
    for (let i = 0; i < w.length; i++) {
      m[i] = 0.9 * m[i] + 0.1 * grad[i];
      v[i] = 0.999 * v[i] + 0.001 * grad[i] * grad[i];
      w[i] -= (o.lr * (m[i] / c1)) / (Math.sqrt(v[i] / c2) + 1e-8);
    }
  }
  return { theta: Float32Array.from(w), loss: lossSum / n };
}

// Local training: minibatch SGD (or Adam, for central training) on a local objective (cross-entropy unless the
// strategy's objective says otherwise), with an optional FedProx proximal term and SCAFFOLD correction.
// Losses stay on the device until the end of each epoch, so a step never waits for a readback.
import * as tf from '@tensorflow/tfjs';
import { createRng, shuffle } from '../prng';
import { yieldToEventLoop } from './yield';

export interface TrainOptions {
  epochs: number;
  batchSize: number;
  lr: number;
  /** FedProx μ; 0 disables the proximal term. */
  mu: number;
  seed: number;
  /** Stop after this many local steps (a partial straggler); default: all epochs. */
  maxSteps?: number;
  /**
   * SCAFFOLD's gradient correction c − c_k, one array per trainable variable (in model.trainableWeights order):
   * each step uses g + (c − c_k).
   */
  correction?: Float32Array[];
  /** The loss of one batch (default: softmax cross-entropy of the model's logits); called inside a tidy. */
  objective?: Objective;
  /** Default sgd at lr; central training passes its own Adam, kept (and disposed) by the caller across calls. */
  optimizer?: tf.Optimizer;
  /** Called every few steps with the steps done so far (progress bars). */
  onStep?: (steps: number) => void;
  /** Called after every epoch with its mean loss. */
  onEpoch?: (epoch: number, meanLoss: number, samplesPerSec: number) => void;
  /** Train only these of the model's trainable variables (a chain phase, a missing modality); default: all. */
  variables?: tf.Variable[];
  /** Inputs for epoch e instead of xs (same rows, e.g. modality pairs re-drawn every epoch); trainLocal disposes them. */
  inputsForEpoch?: (epoch: number) => tf.Tensor;
  /** Rewrites a step's gradients in place (by variable name, after the FedProx/SCAFFOLD terms, before the update), inside its tidy: OGM-GE. */
  transformGrads?: (grads: tf.NamedTensorMap, xb: tf.Tensor, yb: tf.Tensor, step: number) => void;
}

/** A batch's loss from the model being trained, the batch's images, its one-hot labels and its rows in xs. */
export type Objective = (model: tf.LayersModel, xb: tf.Tensor, yb: tf.Tensor, rows: tf.Tensor1D) => tf.Scalar;

const crossEntropyObjective: Objective = (model, xb, yb) =>
  tf.losses.softmaxCrossEntropy(yb, model.apply(xb, { training: true }) as tf.Tensor) as tf.Scalar;

export interface TrainResult {
  epochLosses: number[];
  batchLosses: number[];
  steps: number;
  trainMs: number;
  samplesPerSec: number;
}

/** Report progress (onStep) every this many steps. */
const STEP_EVERY = 4;

export async function trainLocal(model: tf.LayersModel, xs: tf.Tensor, ys: tf.Tensor, opts: TrainOptions): Promise<TrainResult> {
  const n = xs.shape[0];
  const vars = opts.variables ?? model.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val);
  // w_t, for the proximal term μ(w − w_t).
  const anchor = opts.mu > 0 ? vars.map((v) => tf.clone(v)) : [];
  if (opts.correction && opts.correction.length !== vars.length) {
    throw new Error(`correction has ${opts.correction.length} arrays, the model has ${vars.length} trainable variables`);
  }
  const correction = opts.correction?.map((c, i) => tf.tensor(c, vars[i].shape)) ?? [];
  const maxSteps = opts.maxSteps ?? Infinity;
  const given = opts.optimizer ?? null;
  const optimizer: tf.Optimizer = given ?? tf.train.sgd(opts.lr);
  const objective = opts.objective ?? crossEntropyObjective;
  const rng = createRng(opts.seed);
  const order = Int32Array.from({ length: n }, (_, i) => i);
  const epochLosses: number[] = [];
  let batchLosses: number[] = [];
  let steps = 0;
  let samples = 0;
  const t0 = performance.now();
  try {
    for (let epoch = 0; epoch < opts.epochs && steps < maxSteps; epoch++) {
      const te = performance.now();
      shuffle(order, rng);
      const epochXs = opts.inputsForEpoch ? opts.inputsForEpoch(epoch) : xs;
      if (epochXs.shape[0] !== n) {
        if (epochXs !== xs) epochXs.dispose();
        throw new Error(`epoch ${epoch}'s inputs have ${epochXs.shape[0]} rows, the labels ${n}`);
      }
      const losses: tf.Scalar[] = [];
      for (let start = 0; start < n && steps < maxSteps; start += opts.batchSize) {
        const idx = order.subarray(start, Math.min(n, start + opts.batchSize));
        const loss = tf.tidy(() => {
          const idxT = tf.tensor1d(idx, 'int32');
          const xb = tf.gather(epochXs, idxT);
          const yb = tf.gather(ys, idxT);
          const { value, grads } = tf.variableGrads(() => objective(model, xb, yb, idxT), vars);
          if (opts.mu > 0) {
            vars.forEach((v, i) => {
              grads[v.name] = tf.add(grads[v.name], tf.mul(opts.mu, tf.sub(v, anchor[i])));
            });
          }
          correction.forEach((c, i) => {
            grads[vars[i].name] = tf.add(grads[vars[i].name], c);
          });
          opts.transformGrads?.(grads, xb, yb, steps);
          optimizer.applyGradients(grads);
          return value;
        });
        losses.push(loss);
        steps++;
        samples += idx.length;
        if (steps % STEP_EVERY === 0) opts.onStep?.(steps);
        // Every step: in the Node runtime the coordinator's thread trains too, and a client thread's finished job
        // waits for this yield before the thread gets its next one.
        await yieldToEventLoop();
      }
      if (epochXs !== xs) epochXs.dispose();
      const stacked = tf.stack(losses);
      batchLosses = Array.from(await stacked.data());
      tf.dispose([stacked, ...losses]);
      const mean = batchLosses.reduce((a, b) => a + b, 0) / Math.max(1, batchLosses.length);
      epochLosses.push(mean);
      opts.onEpoch?.(epoch, mean, (n * 1000) / (performance.now() - te));
    }
  } finally {
    if (!given) optimizer.dispose();
    tf.dispose([...anchor, ...correction]);
  }
  const trainMs = performance.now() - t0;
  return { epochLosses, batchLosses, steps, trainMs, samplesPerSec: (samples * 1000) / Math.max(trainMs, 1e-3) };
}

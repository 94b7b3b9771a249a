// FedDF server distillation (Lin et al. NeurIPS'20; spec §6): start from the FedAvg average, make the teacher
// softmax(mean_k z_k) from the clients' models on the unlabelled proxy split, and take Adam steps (lr 1e-3) on
// KL(teacher ‖ student), keeping the weights with the best loss on the labelled server validation split (checked
// every VALIDATE_EVERY steps; stop after `patience` steps without improvement).
import * as tf from '@tensorflow/tfjs';
import { distillationLoss } from '../shared/ml/losses';
import { evaluate, getFlatWeights, setFlatWeights } from '../shared/ml/models';
import { createRng } from '../shared/prng';
import { yieldToEventLoop } from '../shared/ml/yield';

export const DISTILL_LR = 1e-3;
export const DISTILL_BATCH = 64;
export const VALIDATE_EVERY = 20;

export interface DistillInput {
  model: tf.LayersModel;
  /** The aggregate the student starts from. */
  average: Float32Array;
  /** w_t + Δ_k of every client that sent an update. */
  clients: readonly Float32Array[];
  /** Proxy images [n, 28, 28, 1] in [0, 1]; labels are never read. */
  proxy: tf.Tensor4D;
  validation: { images: Uint8Array; labels: Uint8Array };
  steps: number;
  patience: number;
  seed: number;
}

export interface DistillResult {
  weights: Float32Array;
  /** Steps taken, and the step whose weights were kept (0 = the average itself). */
  steps: number;
  bestStep: number;
  validationLossBefore: number;
  validationLoss: number;
}

async function meanLogits(model: tf.LayersModel, clients: readonly Float32Array[], proxy: tf.Tensor4D): Promise<tf.Tensor2D> {
  let sum: tf.Tensor2D | null = null;
  for (const w of clients) {
    setFlatWeights(model, w);
    const z = tf.tidy(() => model.predict(proxy, { batchSize: 500 }) as tf.Tensor2D);
    const next: tf.Tensor2D = sum ? tf.add(sum, z) : z;
    if (sum) tf.dispose([sum, z]);
    sum = next;
    await yieldToEventLoop();
  }
  const mean = tf.div(sum!, clients.length) as tf.Tensor2D;
  sum!.dispose();
  return mean;
}

export async function serverDistill(d: DistillInput): Promise<DistillResult> {
  const { model } = d;
  const valLoss = async () => (await evaluate(model, d.validation.images, d.validation.labels)).loss;
  const teacher = await meanLogits(model, d.clients, d.proxy);
  const optimizer: tf.Optimizer = tf.train.adam(DISTILL_LR);
  try {
    setFlatWeights(model, d.average);
    const before = await valLoss();
    let best = { loss: before, step: 0, weights: d.average };
    const vars = model.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val);
    const rng = createRng(d.seed);
    const n = d.proxy.shape[0];
    let step = 0;
    while (step < d.steps && step - best.step < d.patience) {
      const rows = Int32Array.from({ length: Math.min(DISTILL_BATCH, n) }, () => Math.floor(rng.next() * n));
      tf.tidy(() => {
        const idx = tf.tensor1d(rows, 'int32');
        const x = tf.gather(d.proxy, idx);
        const zt = tf.gather(teacher, idx);
        const { grads } = tf.variableGrads(() => distillationLoss(zt, model.apply(x, { training: true }) as tf.Tensor, 1), vars);
        optimizer.applyGradients(grads);
      });
      step++;
      if (step % VALIDATE_EVERY === 0 || step === d.steps) {
        const loss = await valLoss();
        if (loss < best.loss) best = { loss, step, weights: getFlatWeights(model) };
      } else if (step % 4 === 0) {
        await yieldToEventLoop();
      }
    }
    return { weights: best.weights, steps: step, bestStep: best.step, validationLossBefore: before, validationLoss: best.loss };
  } finally {
    optimizer.dispose();
    teacher.dispose();
  }
}

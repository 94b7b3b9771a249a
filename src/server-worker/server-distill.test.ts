import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { distillationLoss } from '../shared/ml/losses.ts';
import { buildModel, getFlatWeights, layerSpecs, setFlatWeights } from '../shared/ml/models.ts';
import { createRng } from '../shared/prng.ts';
import { initWeights } from '../shared/weights.ts';
import { serverDistill, VALIDATE_EVERY } from './server-distill.ts';

const rng = createRng(9);
let proxy: tf.Tensor4D;
/** Validation images labelled with the clients' ensemble's own predictions, so distilling towards it must help. */
const validation = { images: Uint8Array.from({ length: 64 * 784 }, () => Math.floor(rng.next() * 256)), labels: new Uint8Array(64) };
let net: tf.LayersModel;
let clients: Float32Array[];

beforeAll(async () => {
  // wasm: ~4× faster than cpu on these 2NN steps (Node resolves the package to its CJS build, which loads dist/*.wasm).
  expect(await tf.setBackend('wasm')).toBe(true);
  proxy = tf.tensor4d(Float32Array.from({ length: 64 * 784 }, () => rng.next()), [64, 28, 28, 1]);
  net = buildModel('2nn');
  const specs = layerSpecs(net);
  clients = [initWeights(specs, 1), initWeights(specs, 2), initWeights(specs, 3)];
  const x = tf.tensor4d(Float32Array.from(validation.images, (p) => p / 255), [64, 28, 28, 1]);
  validation.labels.set(ensembleLogits(x).argMax(1).dataSync());
  x.dispose();
});

function ensembleLogits(x: tf.Tensor): tf.Tensor2D {
  const zs = clients.map((c) => {
    setFlatWeights(net, c);
    return net.predict(x) as tf.Tensor;
  });
  const mean = tf.div(tf.addN(zs), zs.length) as tf.Tensor2D;
  tf.dispose(zs);
  return mean;
}
afterAll(() => {
  proxy.dispose();
  net.dispose();
});

const average = () => {
  const out = new Float32Array(clients[0].length);
  for (const c of clients) for (let i = 0; i < out.length; i++) out[i] += c[i] / clients.length;
  return out;
};

/** KL(softmax(mean client logits) ‖ softmax(student logits)) on the proxy. */
function klToTeacher(weights: Float32Array): number {
  const teacher = ensembleLogits(proxy);
  setFlatWeights(net, weights);
  const v = tf.tidy(() => distillationLoss(teacher, net.predict(proxy) as tf.Tensor, 1).dataSync()[0]);
  teacher.dispose();
  return v;
}

describe('serverDistill (FedDF)', () => {
  it('moves the average towards the mean client logits and keeps the best validated weights, within its budget', async () => {
    const avg = average();
    const before = tf.memory().numTensors;
    const r = await serverDistill({ model: net, average: avg, clients, proxy, validation, steps: 60, patience: 1000, seed: 1 });
    expect(tf.memory().numTensors).toBe(before);
    expect(r.steps).toBe(60);
    expect(r.validationLoss).toBeLessThan(r.validationLossBefore);
    expect(r.bestStep).toBeGreaterThan(0);
    expect(r.bestStep % VALIDATE_EVERY).toBe(0);
    expect(klToTeacher(r.weights)).toBeLessThan(0.5 * klToTeacher(avg));
  });

  it('stops early after `patience` steps without a better validation loss', async () => {
    const r = await serverDistill({ model: net, average: average(), clients, proxy, validation, steps: 10_000, patience: VALIDATE_EVERY, seed: 2 });
    expect(r.steps).toBeLessThan(10_000);
    expect(r.steps - r.bestStep).toBeGreaterThanOrEqual(VALIDATE_EVERY);
    expect(r.steps - r.bestStep).toBeLessThan(2 * VALIDATE_EVERY);
  });

  it('is seeded: the same inputs give the same weights', async () => {
    const a = await serverDistill({ model: net, average: average(), clients, proxy, validation, steps: 20, patience: 100, seed: 5 });
    const b = await serverDistill({ model: net, average: average(), clients, proxy, validation, steps: 20, patience: 100, seed: 5 });
    expect(Buffer.compare(Buffer.from(a.weights.buffer), Buffer.from(b.weights.buffer))).toBe(0);
    expect(getFlatWeights(net)).toHaveLength(a.weights.length);
  });
});

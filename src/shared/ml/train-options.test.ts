// trainLocal's `variables` and `inputsForEpoch` options (train.test.ts covers the rest).
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRng } from '../prng.ts';
import { initWeights, layerOffsets } from '../weights.ts';
import { buildModel, getFlatWeights, labelsToOneHot, layerSpecs, setFlatWeights } from './models.ts';
import { trainLocal, type TrainOptions } from './train.ts';

const PIXELS = 28 * 28;
/** n 20, B 8: ⌈20/8⌉ = 3 steps an epoch. */
const N = 20;
const BASE: TrainOptions = { epochs: 3, batchSize: 8, lr: 0.1, mu: 0, seed: 5 };

const labels = Uint8Array.from({ length: N }, (_, i) => i % 10);
/** Class c lights up row 4 + 2c over a dim background, so the gradients are far from zero. */
function pixels(seed: number): Float32Array {
  const rng = createRng(seed);
  const out = new Float32Array(N * PIXELS);
  for (let i = 0; i < N; i++) for (let p = 0; p < PIXELS; p++) out[i * PIXELS + p] = Math.floor(p / 28) === 4 + 2 * labels[i] ? 0.8 + 0.2 * rng.next() : 0.1 * rng.next();
  return out;
}

let model: tf.LayersModel;
let w0: Float32Array;
let xs: tf.Tensor4D;
let ys: tf.Tensor2D;

beforeAll(async () => {
  await tf.setBackend('cpu');
  model = buildModel('2nn');
  w0 = initWeights(layerSpecs(model), 1);
  xs = tf.tensor4d(pixels(1), [N, 28, 28, 1]);
  ys = labelsToOneHot(labels);
});

afterAll(() => {
  tf.dispose([xs, ys]);
  model.dispose();
});

/** Per layer spec (e.g. fc1/kernel), how many of its coordinates differ from w0. */
function movedPerLayer(w: Float32Array): Record<string, number> {
  const specs = layerSpecs(model);
  const off = layerOffsets(specs);
  return Object.fromEntries(
    specs.map((s, l) => {
      let n = 0;
      for (let i = off[l]; i < off[l + 1]; i++) if (w[i] !== w0[i]) n++;
      return [s.name, n];
    }),
  );
}

const variablesOf = (layer: string) => model.getLayer(layer).trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val);

describe('trainLocal variables', () => {
  it('trains only the given variables', async () => {
    setFlatWeights(model, w0);
    // fc2's kernel and out's bias only: fc1, fc2's bias and out's kernel stay.
    const vars = [variablesOf('fc2')[0], variablesOf('out')[1]];
    const r = await trainLocal(model, xs, ys, { ...BASE, variables: vars });
    expect(r.steps).toBe(9);
    const moved = movedPerLayer(getFlatWeights(model));
    expect(moved).toMatchObject({ 'fc1/kernel': 0, 'fc1/bias': 0, 'fc2/bias': 0, 'out/kernel': 0 });
    expect(moved['fc2/kernel']).toBeGreaterThan(1000);
    expect(moved['out/bias']).toBe(10);
  });

  it('trains every variable by default', async () => {
    setFlatWeights(model, w0);
    await trainLocal(model, xs, ys, BASE);
    const moved = movedPerLayer(getFlatWeights(model));
    for (const name of ['fc1/kernel', 'fc1/bias', 'fc2/kernel', 'fc2/bias', 'out/kernel', 'out/bias']) expect(moved[name]).toBeGreaterThan(0);
  });

  it('the proximal term and the correction follow the subset', async () => {
    setFlatWeights(model, w0);
    const vars = variablesOf('out');
    const correction = vars.map((v) => new Float32Array(v.size).fill(0.01));
    await trainLocal(model, xs, ys, { ...BASE, mu: 0.5, variables: vars, correction });
    const moved = movedPerLayer(getFlatWeights(model));
    expect(moved).toMatchObject({ 'fc1/kernel': 0, 'fc1/bias': 0, 'fc2/kernel': 0, 'fc2/bias': 0, 'out/bias': 10 });
    // A correction sized for every variable does not fit a 2-variable subset.
    await expect(trainLocal(model, xs, ys, { ...BASE, variables: vars, correction: [...correction, correction[0]] })).rejects.toThrow(/correction has 3 arrays/);
  });
});

describe('trainLocal inputsForEpoch', () => {
  it('is called once per epoch with 0..E−1, and the epochs train on its inputs', async () => {
    const calls: number[] = [];
    const made: tf.Tensor[] = [];
    setFlatWeights(model, w0);
    const r = await trainLocal(model, xs, ys, {
      ...BASE,
      epochs: 4,
      inputsForEpoch: (e) => {
        calls.push(e);
        const t = tf.tensor4d(pixels(100 + e), [N, 28, 28, 1]);
        made.push(t);
        return t;
      },
    });
    expect(calls).toEqual([0, 1, 2, 3]);
    expect(r.steps).toBe(12);
    expect(r.epochLosses).toHaveLength(4);
    // trainLocal disposed every epoch's inputs, and never the caller's xs.
    expect(made.every((t) => t.isDisposed)).toBe(true);
    expect(xs.isDisposed).toBe(false);
    const withEpochInputs = getFlatWeights(model);
    // Different inputs, different weights (the option is not ignored).
    setFlatWeights(model, w0);
    await trainLocal(model, xs, ys, { ...BASE, epochs: 4 });
    expect(Array.from(getFlatWeights(model))).not.toEqual(Array.from(withEpochInputs));
  });

  it('returning xs itself trains exactly like no inputsForEpoch, and leaves xs alive', async () => {
    setFlatWeights(model, w0);
    await trainLocal(model, xs, ys, BASE);
    const plain = getFlatWeights(model);
    setFlatWeights(model, w0);
    await trainLocal(model, xs, ys, { ...BASE, inputsForEpoch: () => xs });
    expect(Array.from(getFlatWeights(model))).toEqual(Array.from(plain));
    expect(xs.isDisposed).toBe(false);
  });

  it('stops asking for inputs once maxSteps is reached', async () => {
    const calls: number[] = [];
    setFlatWeights(model, w0);
    // 3 steps an epoch: 4 steps end inside epoch 1, 6 at its end.
    const r = await trainLocal(model, xs, ys, { ...BASE, epochs: 5, maxSteps: 4, inputsForEpoch: (e) => (calls.push(e), xs.clone()) });
    expect(r.steps).toBe(4);
    expect(calls).toEqual([0, 1]);
    calls.length = 0;
    await trainLocal(model, xs, ys, { ...BASE, epochs: 5, maxSteps: 6, inputsForEpoch: (e) => (calls.push(e), xs.clone()) });
    expect(calls).toEqual([0, 1]);
  });

  it('leaks no tensors', async () => {
    const opts: TrainOptions = { ...BASE, variables: variablesOf('fc2'), mu: 0.1, inputsForEpoch: () => xs.clone() };
    setFlatWeights(model, w0);
    await trainLocal(model, xs, ys, opts);
    const before = tf.memory().numTensors;
    await trainLocal(model, xs, ys, opts);
    await trainLocal(model, xs, ys, { ...opts, maxSteps: 4 });
    expect(tf.memory().numTensors).toBe(before);
  });

  it('throws on inputs with a wrong row count', async () => {
    setFlatWeights(model, w0);
    const short = xs.slice(0, N - 1);
    const long = tf.concat([xs, xs.slice(0, 1)]);
    try {
      await expect(trainLocal(model, xs, ys, { ...BASE, inputsForEpoch: () => short })).rejects.toThrow(`epoch 0's inputs have ${N - 1} rows, the labels ${N}`);
      // A later epoch is checked too.
      await expect(trainLocal(model, xs, ys, { ...BASE, inputsForEpoch: (e) => (e === 0 ? xs : long) })).rejects.toThrow(`epoch 1's inputs have ${N + 1} rows`);
    } finally {
      tf.dispose([short, long]);
    }
  });
});

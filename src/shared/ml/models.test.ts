import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelId } from '../config.ts';
import { initWeights, layerOffsets, totalSize } from '../weights.ts';
import { registerConv2DBackpropFilter, restoreConv2DBackpropFilter } from '../../kernels/conv2d-backprop-filter.ts';
import { rand } from '../../kernels/test-helpers.ts';
import {
  buildModel,
  evaluate,
  getFlatWeights,
  IMAGE_SHAPE,
  imagesToTensor,
  labelsToOneHot,
  layerSpecs,
  NUM_CLASSES,
  setFlatWeights,
} from './models.ts';

const PIXELS = IMAGE_SHAPE[0] * IMAGE_SHAPE[1];

/** Bit-exact comparison of float arrays (vitest's deep equality is far too slow on 10⁵+ elements). */
function expectSameBits(a: ArrayLike<number>, b: ArrayLike<number>): void {
  expect(a.length).toBe(b.length);
  const x = Float32Array.from(a);
  const y = Float32Array.from(b);
  expect(Buffer.compare(new Uint8Array(x.buffer), new Uint8Array(y.buffer))).toBe(0);
}

/** Builds a model, runs fn, and always disposes the model. */
async function withModel<T>(id: ModelId, fn: (m: tf.LayersModel) => T | Promise<T>): Promise<T> {
  const m = buildModel(id);
  try {
    return await fn(m);
  } finally {
    m.dispose();
  }
}

beforeAll(async () => {
  await tf.setBackend('cpu');
  registerConv2DBackpropFilter('cpu');
});

afterAll(() => restoreConv2DBackpropFilter('cpu'));

describe('buildModel / layerSpecs', () => {
  it.each([
    ['cnn-s', 225_034],
    ['2nn', 199_210],
    ['cnn-m', 1_663_370],
    ['mclr', 7_850],
    // + CA-MLP after each block, r = 8: (32·4 + 4 + 4·32 + 32) + (64·8 + 8 + 8·64 + 64) = 292 + 1,096
    ['cnn-s-ca-mlp', 225_034 + 1_388],
    // + ECA conv1d k = 3 (no bias) after each block
    ['cnn-s-ca', 225_034 + 6],
    // + SA: 7·7·2 + 1 after block 1, 3·3·2 + 1 after block 2
    ['cnn-s-sa', 225_034 + 99 + 19],
    ['cnn-s-cbam', 225_034 + 1_388 + 118],
  ] as const)('%s has the spec §0.1 / §3 parameter count %d', async (id, count) => {
    await withModel(id, (m) => {
      expect(totalSize(layerSpecs(m))).toBe(count);
      expect(m.countParams()).toBe(count);
    });
  });

  it('layer specs have stable names and shapes', async () => {
    await withModel('cnn-s', (m) =>
      expect(layerSpecs(m)).toEqual([
        { name: 'conv1/kernel', shape: [3, 3, 1, 32] },
        { name: 'conv1/bias', shape: [32] },
        { name: 'conv2/kernel', shape: [3, 3, 32, 64] },
        { name: 'conv2/bias', shape: [64] },
        { name: 'fc1/kernel', shape: [1600, 128] },
        { name: 'fc1/bias', shape: [128] },
        { name: 'out/kernel', shape: [128, 10] },
        { name: 'out/bias', shape: [10] },
      ]),
    );
    await withModel('2nn', (m) =>
      expect(layerSpecs(m)).toEqual([
        { name: 'fc1/kernel', shape: [784, 200] },
        { name: 'fc1/bias', shape: [200] },
        { name: 'fc2/kernel', shape: [200, 200] },
        { name: 'fc2/bias', shape: [200] },
        { name: 'out/kernel', shape: [200, 10] },
        { name: 'out/bias', shape: [10] },
      ]),
    );
    await withModel('cnn-m', (m) =>
      expect(layerSpecs(m)).toEqual([
        { name: 'conv1/kernel', shape: [5, 5, 1, 32] },
        { name: 'conv1/bias', shape: [32] },
        { name: 'conv2/kernel', shape: [5, 5, 32, 64] },
        { name: 'conv2/bias', shape: [64] },
        { name: 'fc1/kernel', shape: [3136, 512] },
        { name: 'fc1/bias', shape: [512] },
        { name: 'out/kernel', shape: [512, 10] },
        { name: 'out/bias', shape: [10] },
      ]),
    );
  });

  it('attention layers sit after each conv block and their weights are named for initWeights', async () => {
    await withModel('cnn-s-cbam', (m) => {
      expect(m.layers.map((l) => l.name)).toEqual(['conv1', 'pool1', 'ca1', 'sa1', 'conv2', 'pool2', 'ca2', 'sa2', 'flat', 'fc1', 'out']);
      expect(layerSpecs(m).filter((s) => /^(ca|sa)/.test(s.name))).toEqual([
        { name: 'ca1/hidden_kernel', shape: [32, 4] },
        { name: 'ca1/hidden_bias', shape: [4] },
        { name: 'ca1/out_kernel', shape: [4, 32] },
        { name: 'ca1/out_bias', shape: [32] },
        { name: 'sa1/kernel', shape: [7, 7, 2, 1] },
        { name: 'sa1/bias', shape: [1] },
        { name: 'ca2/hidden_kernel', shape: [64, 8] },
        { name: 'ca2/hidden_bias', shape: [8] },
        { name: 'ca2/out_kernel', shape: [8, 64] },
        { name: 'ca2/out_bias', shape: [64] },
        { name: 'sa2/kernel', shape: [3, 3, 2, 1] },
        { name: 'sa2/bias', shape: [1] },
      ]);
    });
    await withModel('cnn-s-ca', (m) => expect(layerSpecs(m).filter((s) => s.name.startsWith('ca'))).toEqual([
      { name: 'ca1/kernel', shape: [3, 1, 1] },
      { name: 'ca2/kernel', shape: [3, 1, 1] },
    ]));
  });

  it.each([
    // + W ∈ R^{128×128} on the FC128 features (spec §6)
    ['cnn-s', 'feature', 225_034 + 128 * 128, ['fc1', 'fatt', 'out']],
    ['cnn-s-sa', 'feature', 225_034 + 118 + 128 * 128, ['fc1', 'fatt', 'out']],
    ['2nn', 'feature', 199_210 + 200 * 200, ['fc2', 'fatt', 'out']],
    // attention pooling replaces the flatten: fc1 sees 64 pooled channels, not 5·5·64; + w ∈ R^64
    ['cnn-s', 'pooling', 225_034 - 1_536 * 128 + 64, ['apool', 'fc1', 'out']],
  ] as const)('%s with the %s head has %d parameters', async (id, head, count, tail) => {
    const m = buildModel(id, head);
    try {
      expect(m.countParams()).toBe(count);
      expect(m.layers.slice(-3).map((l) => l.name)).toEqual(tail);
    } finally {
      m.dispose();
    }
  });

  it('2nn refuses the attention-pooling head', () => {
    expect(() => buildModel('2nn', 'pooling')).toThrow(/convolutional/);
  });

  it('specs are identical when the same model is built repeatedly in one process', async () => {
    for (const id of ['cnn-s', '2nn', 'cnn-s-cbam'] as const) {
      const first = await withModel(id, (m) => layerSpecs(m));
      for (let k = 0; k < 3; k++) {
        // Keep the earlier model alive too, so tf.layers has to uniquify the variable names.
        const a = buildModel(id);
        const b = buildModel(id);
        try {
          expect(layerSpecs(a)).toEqual(first);
          expect(layerSpecs(b)).toEqual(first);
          for (const s of first) expect(s.name).toMatch(/^[a-z0-9]+\/([a-z]+_)?(kernel|bias)$/);
        } finally {
          a.dispose();
          b.dispose();
        }
      }
    }
  });

  it('outputs logits of shape [n, 10]', async () => {
    await withModel('cnn-s', (m) => {
      const out = tf.tidy(() => (m.predict(tf.zeros([2, ...IMAGE_SHAPE])) as tf.Tensor).shape);
      expect(out).toEqual([2, NUM_CLASSES]);
    });
  });
});

describe('getFlatWeights / setFlatWeights', () => {
  it.each(['2nn', 'cnn-s'] as const)('%s round-trips exactly, in layerSpecs order', async (id) => {
    await withModel(id, (m) => {
      const specs = layerSpecs(m);
      const before = getFlatWeights(m);
      expect(before.length).toBe(totalSize(specs));

      const flat = rand(totalSize(specs), 7);
      setFlatWeights(m, flat);
      const back = getFlatWeights(m);
      expectSameBits(back, flat);
      expect(back).not.toBe(flat);

      // Each layer's slice of the flat vector is that layer's tensor, in the same (row-major) order.
      const offsets = layerOffsets(specs);
      const ws = m.getWeights();
      specs.forEach((s, i) => {
        expect(ws[i].shape).toEqual(s.shape);
        expectSameBits(ws[i].dataSync() as Float32Array, flat.subarray(offsets[i], offsets[i + 1]));
      });
      // The model does not alias the caller's array.
      flat.fill(0);
      expectSameBits(getFlatWeights(m), back);
    });
  });

  it('rejects a vector of the wrong length', async () => {
    await withModel('2nn', (m) => {
      const n = totalSize(layerSpecs(m));
      expect(() => setFlatWeights(m, new Float32Array(n - 1))).toThrow();
      expect(() => setFlatWeights(m, new Float32Array(n + 1))).toThrow();
    });
  });

  it('setFlatWeights/getFlatWeights leak no tensors', async () => {
    await withModel('cnn-s', (m) => {
      const flat = initWeights(layerSpecs(m), 3);
      setFlatWeights(m, flat); // warm up
      const before = tf.memory().numTensors;
      for (let k = 0; k < 3; k++) {
        setFlatWeights(m, flat);
        getFlatWeights(m);
      }
      expect(tf.memory().numTensors).toBe(before);
    });
  });
});

describe('imagesToTensor / labelsToOneHot', () => {
  // Three images: image k has pixel p = (k * 50 + p) % 256.
  const images = new Uint8Array(3 * PIXELS);
  for (let k = 0; k < 3; k++) for (let p = 0; p < PIXELS; p++) images[k * PIXELS + p] = (k * 50 + p) % 256;

  it('scales 0..255 to 0..1, shape [n, 28, 28, 1], all images without indices', () => {
    const t = imagesToTensor(images);
    try {
      expect(t.shape).toEqual([3, 28, 28, 1]);
      expect(t.dtype).toBe('float32');
      const d = t.dataSync();
      for (let i = 0; i < d.length; i++) expect(d[i]).toBeCloseTo(images[i] / 255, 7);
      const [min, max] = [Math.min(...d), Math.max(...d)];
      expect(min).toBe(0);
      expect(max).toBe(1);
    } finally {
      t.dispose();
    }
  });

  it('picks the given indices, in order, with repeats', () => {
    const t = imagesToTensor(images, [2, 0, 2]);
    try {
      expect(t.shape).toEqual([3, 28, 28, 1]);
      const d = t.dataSync();
      const src = [2, 0, 2];
      for (let i = 0; i < 3; i++) {
        for (let p = 0; p < PIXELS; p++) expect(d[i * PIXELS + p]).toBeCloseTo(images[src[i] * PIXELS + p] / 255, 7);
      }
    } finally {
      t.dispose();
    }
    const one = imagesToTensor(images, Int32Array.of(1));
    try {
      expect(one.shape).toEqual([1, 28, 28, 1]);
      expect(one.dataSync()[0]).toBeCloseTo(50 / 255, 7);
      expect(one.dataSync()[PIXELS - 1]).toBeCloseTo(((50 + PIXELS - 1) % 256) / 255, 7);
    } finally {
      one.dispose();
    }
  });

  it('labelsToOneHot gives float one-hot rows, with and without indices', () => {
    const labels = Uint8Array.of(0, 9, 4);
    const all = labelsToOneHot(labels);
    const picked = labelsToOneHot(labels, [2, 1, 2]);
    try {
      expect(all.shape).toEqual([3, 10]);
      expect(all.dtype).toBe('float32');
      expect(all.arraySync()).toEqual([
        [1, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        [0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
        [0, 0, 0, 0, 1, 0, 0, 0, 0, 0],
      ]);
      expect(picked.shape).toEqual([3, 10]);
      expect(picked.arraySync()).toEqual([
        [0, 0, 0, 0, 1, 0, 0, 0, 0, 0],
        [0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
        [0, 0, 0, 0, 1, 0, 0, 0, 0, 0],
      ]);
    } finally {
      tf.dispose([all, picked]);
    }
  });

  it('leaves no intermediate tensors behind', () => {
    const before = tf.memory().numTensors;
    const t = imagesToTensor(images, [1]);
    const y = labelsToOneHot(Uint8Array.of(5, 6), [1]);
    expect(tf.memory().numTensors).toBe(before + 2);
    tf.dispose([t, y]);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('evaluate', () => {
  // 2NN with every weight 0 except out/bias[3] = 1: hidden ReLUs output 0, so the logits are exactly
  // out/bias for every image, i.e. the model always predicts class 3.
  // Softmax CE: label 3 → log(9 + e) − 1, any other label → log(9 + e).
  const labels = Uint8Array.of(3, 1, 3, 0, 3, 9, 2, 3, 5, 3, 7); // 5 of 11 are class 3
  const n = labels.length;
  const images = new Uint8Array(n * PIXELS);
  for (let i = 0; i < images.length; i++) images[i] = (i * 37) % 256;

  function alwaysThree(m: tf.LayersModel): void {
    const specs = layerSpecs(m);
    const flat = new Float32Array(totalSize(specs));
    const i = specs.findIndex((s) => s.name === 'out/bias');
    flat[layerOffsets(specs)[i] + 3] = 1;
    setFlatWeights(m, flat);
  }

  it('accuracy is the fraction of label 3 and the loss is the hand-computed cross-entropy', async () => {
    await withModel('2nn', async (m) => {
      alwaysThree(m);
      const expectedLoss = Math.log(9 + Math.E) - 5 / 11;
      // Whole set in one batch, and in batches of 4 (3 batches, the last one partial).
      for (const bs of [1000, 4, 1]) {
        const r = await evaluate(m, images, labels, bs);
        expect(r.accuracy).toBeCloseTo(5 / 11, 10);
        expect(Number.isFinite(r.loss)).toBe(true);
        expect(r.loss).toBeCloseTo(expectedLoss, 5);
        // Class 3 is always recalled; every other class present is never; classes absent from the labels are NaN.
        expect(r.recall).toEqual([0, 0, 0, 1, NaN, 0, NaN, 0, NaN, 0]);
      }
    });
  });

  it('a model that is never right scores 0', async () => {
    await withModel('2nn', async (m) => {
      alwaysThree(m);
      const r = await evaluate(m, images.subarray(0, 2 * PIXELS), Uint8Array.of(1, 2));
      expect(r.accuracy).toBe(0);
      expect(r.loss).toBeCloseTo(Math.log(9 + Math.E), 5);
    });
  });

  it('leaks no tensors', async () => {
    await withModel('2nn', async (m) => {
      alwaysThree(m);
      await evaluate(m, images, labels, 4); // warm up
      const before = tf.memory().numTensors;
      await evaluate(m, images, labels, 4);
      await evaluate(m, images, labels);
      expect(tf.memory().numTensors).toBe(before);
    });
  });
});

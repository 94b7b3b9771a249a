import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../shared/config';
import type { Dataset } from '../shared/data/dataset-store';
import { initWeights } from '../shared/weights';
import { createTask } from './eval-task';

const split = (count: number) => ({
  count,
  images: Uint8Array.from({ length: count * 784 }, (_, i) => (i * 31) % 256),
  labels: Uint8Array.from({ length: count }, (_, i) => i % 10),
});
const dataset = { name: 'mnist', numClasses: 10, train: split(2000), test: split(300) } as unknown as Dataset;

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('createTask: one model, calls one at a time', () => {
  it('dispose waits for the evaluation in flight (a reset mid-evaluation must not free its model)', async () => {
    const task = createTask(dataset, resolveConfig({ model: '2nn' }));
    const w = initWeights(task.layers, 1);
    const running = task.evaluate(w);
    task.dispose();
    const r = await running;
    expect(r.accuracy).toBeGreaterThanOrEqual(0);
    expect(r.recall).toHaveLength(10);
    await expect(task.evaluate(w)).rejects.toThrow(/disposed/i);
  });

  it('overlapping calls do not set weights under each other', async () => {
    const task = createTask(dataset, resolveConfig({ model: '2nn', validation: 100 }));
    const a = initWeights(task.layers, 1);
    const b = initWeights(task.layers, 2);
    const alone = [await task.evaluate(a), await task.evaluate(b)];
    const together = await Promise.all([task.evaluate(a), task.validationLosses([b, a], 100), task.evaluate(b)]);
    expect(together[0]).toEqual(alone[0]);
    expect(together[2]).toEqual(alone[1]);
    task.dispose();
  });
});

describe('createTask: attention of the global model on fixed test images', () => {
  it('cnn-s-cbam: one image per class in test order, every gate with its shape, and no tensor left behind', async () => {
    const task = createTask(dataset, resolveConfig({ model: 'cnn-s-cbam' }));
    const w = initWeights(task.layers, 1);
    const before = tf.memory().numTensors;
    const images = (await task.attention(w))!;
    expect(tf.memory().numTensors).toBe(before);
    // Test labels are i % 10: the first image of each class is image i.
    expect(images.map((im) => [im.testIndex, im.label])).toEqual([[0, 0], [1, 1], [2, 2], [3, 3]]);
    for (const im of images) {
      expect(im.pixels).toEqual(Array.from(dataset.test.images.subarray(im.testIndex * 784, (im.testIndex + 1) * 784)));
      expect(im.predicted).toBeGreaterThanOrEqual(0);
      expect(im.probability).toBeGreaterThan(0);
      expect(im.probability).toBeLessThanOrEqual(1);
      expect(im.gates.map((g) => [g.layer, g.shape])).toEqual([['ca1', [32]], ['sa1', [13, 13]], ['ca2', [64]], ['sa2', [5, 5]]]);
      for (const g of im.gates) {
        expect(g.values).toHaveLength(g.shape.reduce((a, b) => a * b));
        expect(g.values.every((v) => v > 0 && v < 2)).toBe(true); // 2σ gates
      }
    }
    // Plain numbers, 3 digits: the gates of 4 images are a few KB (and the pixels 4 × 784 bytes).
    expect(JSON.stringify(images.map((im) => im.gates)).length).toBeLessThan(8_000);
    expect(await task.attention(w)).toEqual(images);
    task.dispose();
  });

  it('fedakd attention pooling: apool as a 5×5 map of weights that sum to 1', async () => {
    const task = createTask(dataset, resolveConfig({ model: 'cnn-s', algorithm: 'fedakd', akdAttention: 'pooling' }));
    const [im] = (await task.attention(initWeights(task.layers, 1)))!;
    expect(im.gates.map((g) => [g.layer, g.shape])).toEqual([['apool', [5, 5]]]);
    expect(im.gates[0].values.reduce((a, b) => a + b)).toBeCloseTo(1, 2);
    task.dispose();
  });

  it('fedakd feature attention: fatt over the 128 FC features', async () => {
    const task = createTask(dataset, resolveConfig({ model: 'cnn-s-sa', algorithm: 'fedakd' }));
    const [im] = (await task.attention(initWeights(task.layers, 1)))!;
    expect(im.gates.map((g) => [g.layer, g.shape])).toEqual([['sa1', [13, 13]], ['sa2', [5, 5]], ['fatt', [128]]]);
    task.dispose();
  });

  it('null for a model without attention layers', async () => {
    const task = createTask(dataset, resolveConfig({ model: 'cnn-s' }));
    expect(await task.attention(initWeights(task.layers, 1))).toBeNull();
    task.dispose();
  });
});

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

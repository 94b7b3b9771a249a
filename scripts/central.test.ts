import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../src/shared/config.ts';
import { parseCli, trainCentral } from './central.ts';
import { initBackend } from './node-runtime.ts';

describe('npm run central', () => {
  beforeAll(() => initBackend());

  it('parses flags with defaults and refuses bad ones with the valid values', () => {
    expect(parseCli(['--dataset', 'mnist', '--model', 'cnn-s-sa'])!.config).toMatchObject({ dataset: 'mnist', model: 'cnn-s-sa', epochs: 5, batchSize: 64, lr: 0.001, lrDecay: 0.7, optimizer: 'adam', head: 'none' });
    expect(parseCli(['--dataset', 'mnist', '--model', 'cnn-s', '--optimizer', 'sgd'])!.config.lr).toBe(0.05);
    expect(() => parseCli(['--dataset', 'mnist', '--model', 'resnet'])).toThrow(ConfigError);
    expect(() => parseCli(['--dataset', 'mnist', '--model', 'resnet'])).toThrow(/--model must be one of cnn-s, cnn-s-ca-mlp/);
    expect(() => parseCli(['--model', 'cnn-s'])).toThrow(/--dataset must be one of mnist, fashion-mnist, got nothing/);
    expect(() => parseCli(['--dataset', 'mnist', '--model', 'cnn-s', '--epochs', '0'])).toThrow(/--epochs must be an integer from 1 to 200/);
  });

  it('trains centrally, evaluates every epoch on the test set and leaks no tensors', async () => {
    const config = parseCli(['--dataset', 'mnist', '--model', 'cnn-s-ca', '--epochs', '2', '--train-samples', '1500'])!.config;
    const before = tf.memory().numTensors;
    const r = await trainCentral(config);
    expect(tf.memory().numTensors).toBe(before);
    expect(r.epochs.map((e) => e.epoch)).toEqual([1, 2]);
    expect(r.parameters).toBe(225_040);
    expect(r.target).toBe(0.99);
    // 2 epochs over 1,500 images: far from the full-data acceptance, far above chance
    expect(r.testAccuracy).toBeGreaterThan(0.8);
    expect(r.epochs[1].trainLoss).toBeLessThan(r.epochs[0].trainLoss);
    expect(r.testAccuracy).toBe(r.epochs[1].testAccuracy);
  }, 120_000);
});

// Every strategy aggregates the attention CNNs' weights like all others (spec §3): on CNN-S + CBAM's real layer
// layout, with its tiny attention layers (a 1-value bias), each strategy returns a finite model that moved in the
// attention layers too; FedAvg's attention weights are exactly the weighted mean.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildModel, layerSpecs } from '../ml/models.ts';
import { createRng } from '../prng.ts';
import { layerOffsets, type LayerSpec } from '../weights.ts';
import { createStrategy, STRATEGY_NAMES } from './registry.ts';
import { upd } from './testing.ts';

let layers: LayerSpec[];
let size: number;

beforeAll(async () => {
  await tf.setBackend('cpu');
  const m = buildModel('cnn-s-cbam');
  layers = layerSpecs(m);
  m.dispose();
  size = layers.reduce((n, l) => n + l.shape.reduce((a, b) => a * b, 1), 0);
});

function updates(k: number) {
  const rng = createRng(11);
  return Array.from({ length: k }, (_, i) =>
    upd(`c${i}`, Array.from({ length: size }, () => 0.01 * (rng.next() - 0.5) + 0.002), {
      numSamples: 10 + i,
      slot: i,
      // what SCAFFOLD and q-FedAvg clients also send
      initialLoss: 2 + 0.1 * i,
      extras: { controlDelta: new Float32Array(size).fill(0.001) },
    }),
  );
}

describe('attention weights are aggregated like all other weights', () => {
  // FedAlign aggregates cnn-s-lora's LoRA layout only (fedalign.test.ts).
  it.each(STRATEGY_NAMES.filter((n) => n !== 'fedalign'))('%s', (name) => {
    const ups = updates(9);
    const global = new Float32Array(size).fill(0.1);
    const s = createStrategy(name, { byzantine: 1 });
    const { result } = s.aggregate(
      { global, layers, updates: ups, round: 1, numClients: 9, seed: 3, clientLr: 0.05, serverUpdate: ups[0].delta, validationIncrease: {} },
      null,
    );
    expect(result.weights).toHaveLength(size);
    expect(result.weights.every(Number.isFinite)).toBe(true);
    const offsets = layerOffsets(layers);
    for (const name of ['ca1/hidden_kernel', 'sa1/kernel', 'sa2/bias', 'ca2/out_bias']) {
      const i = layers.findIndex((l) => l.name === name);
      expect(i, name).toBeGreaterThanOrEqual(0);
      const moved = result.weights.subarray(offsets[i], offsets[i + 1]).some((w) => Math.abs(w - 0.1) > 1e-7);
      expect(moved, `${name} moved under ${name}`).toBe(true);
    }
  });

  it('fedavg: the attention layers get exactly the n_k-weighted mean of the updates', () => {
    const ups = updates(4);
    const global = new Float32Array(size);
    const { result } = createStrategy('fedavg').aggregate({ global, layers, updates: ups, round: 1, numClients: 4, seed: 3 }, null);
    const n = ups.reduce((a, u) => a + u.numSamples, 0);
    const offsets = layerOffsets(layers);
    const i = layers.findIndex((l) => l.name === 'sa1/kernel');
    for (let j = offsets[i]; j < offsets[i + 1]; j++) {
      const mean = ups.reduce((a, u) => a + (u.numSamples / n) * u.delta[j], 0);
      expect(result.weights[j]).toBeCloseTo(mean, 6);
    }
  });
});

// cnn-s-lora on a synthetic "pre-trained" CNN-S (seeded weights in the real layout), so no files are needed.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildModel, getFlatWeights, layerSpecs, setFlatWeights } from '../models';
import type { Pretrained } from '../pretrained';
import { initWeights, totalSize, unpackWeights } from '../../weights';
import { alignObjective } from '../../../client/align-client';
import { trainLocal } from '../train';
import { applyModelExtras, buildCnnSLora, cosineLayer, featuresAndLogits } from './cnn-s-lora';

let pre: Pretrained;

beforeAll(async () => {
  await tf.setBackend('cpu');
  const ref = buildModel('cnn-s');
  const layers = layerSpecs(ref);
  ref.dispose();
  pre = { meta: {} as Pretrained['meta'], layers, weights: initWeights(layers, 9) };
});

const images = (n: number, seed: number) => tf.tidy(() => tf.randomUniform([n, 28, 28, 1], 0, 1, 'float32', seed));

describe('cnn-s-lora', () => {
  it('federates only the four LoRA factors: 7,680 floats against CNN-S 225,034', () => {
    const net = buildCnnSLora(pre, 10, [28, 28, 1]);
    expect(layerSpecs(net)).toEqual([
      { name: 'fc1/lora_a', shape: [4, 1600] },
      { name: 'fc1/lora_b', shape: [128, 4] },
      { name: 'proj/lora_a', shape: [4, 128] },
      { name: 'proj/lora_b', shape: [64, 4] },
    ]);
    expect(totalSize(layerSpecs(net))).toBe(7680);
    expect(getFlatWeights(net)).toHaveLength(7680);
    expect(totalSize(pre.layers)).toBe(225_034);
    net.dispose();
  });

  it('with B = 0 its FC128 output is the pre-trained CNN-S FC128 output', () => {
    const net = buildCnnSLora(pre, 10, [28, 28, 1]);
    setFlatWeights(net, initWeights(layerSpecs(net), 3)); // lora_a ~ N, lora_b = 0
    const ref = buildModel('cnn-s');
    setFlatWeights(ref, pre.weights);
    const x = images(3, 1);
    const upTo = (m: tf.LayersModel, name: string) => tf.tidy(() => {
      let h: tf.Tensor = x;
      for (const l of m.layers) {
        h = l.apply(h) as tf.Tensor;
        if (l.name === name) break;
      }
      return h.arraySync() as number[][];
    });
    const a = upTo(net, 'fc1');
    const b = upTo(ref, 'fc1');
    a.forEach((row, i) => row.forEach((v, j) => expect(v).toBeCloseTo(b[i][j], 4)));
    tf.dispose([x]);
    net.dispose();
    ref.dispose();
  });

  it('training moves the LoRA factors only; the frozen body, W₀ and z_c stay; no tensors leak', async () => {
    const net = buildCnnSLora(pre, 10, [28, 28, 1]);
    setFlatWeights(net, initWeights(layerSpecs(net), 3));
    const frozenBefore = net.layers.flatMap((l) => l.nonTrainableWeights.map((w) => Array.from(w.read().dataSync())));
    const x = images(16, 2);
    const y = tf.tidy(() => tf.oneHot(tf.tensor1d(Array.from({ length: 16 }, (_, i) => i % 10), 'int32'), 10).toFloat());
    const before = getFlatWeights(net);
    const tensors = tf.memory().numTensors;
    const r = await trainLocal(net, x, y, { epochs: 1, batchSize: 8, lr: 0.1, mu: 0, seed: 1, objective: alignObjective(0.1) });
    expect(tf.memory().numTensors).toBe(tensors);
    expect(r.steps).toBe(2);
    const after = getFlatWeights(net);
    const [, bBefore] = unpackWeights(before, layerSpecs(net));
    const [, bAfter] = unpackWeights(after, layerSpecs(net));
    expect(bBefore.every((v) => v === 0)).toBe(true);
    expect(bAfter.some((v) => v !== 0)).toBe(true); // B left 0
    const frozenAfter = net.layers.flatMap((l) => l.nonTrainableWeights.map((w) => Array.from(w.read().dataSync())));
    expect(frozenAfter).toEqual(frozenBefore);
    tf.dispose([x, y]);
    net.dispose();
  });

  it('logits are s·cos(v, z_c) with the class features a round sets', () => {
    const net = buildCnnSLora(pre, 10, [28, 28, 1]);
    const z = new Float32Array(640);
    for (let c = 0; c < 10; c++) z[c * 64 + c] = 2; // z_c = 2·e_c: cos(v, z_c) = v_c/‖v‖
    applyModelExtras(net, { classFeatures: z });
    expect(Array.from(cosineLayer(net).classFeatures())).toEqual(Array.from(z));
    const x = images(2, 4);
    const { features, logits } = tf.tidy(() => featuresAndLogits(net, x, false));
    const v = features.arraySync();
    const l = logits.arraySync();
    v.forEach((row, i) => {
      const norm = Math.hypot(...row);
      for (let c = 0; c < 10; c++) expect(l[i][c]).toBeCloseTo(row[c] / norm / 0.07, 3);
    });
    expect(() => applyModelExtras(net, { classFeatures: new Float32Array(10) })).toThrow(/10 class-feature values, expected 10×64/);
    tf.dispose([x, features, logits]);
    net.dispose();
  });

  it('buildModel refuses it: its body comes from the run', () => {
    expect(() => buildModel('cnn-s-lora')).toThrow(/buildRunModel/);
  });
});

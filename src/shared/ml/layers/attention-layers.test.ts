import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { rand } from '../../../kernels/test-helpers.ts';
import { AttentionPooling, ChannelAttentionConv, ChannelAttentionMlp, FeatureAttention, SpatialAttention } from './attention-layers.ts';
import { attentionPoolRef, channelConvRef, channelMlpRef, featureAttentionRef, spatialRef, type Map4 } from './attention-ops.reference.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

interface Case {
  name: string;
  layer: () => tf.layers.Layer;
  inShape: number[];
  /** Weight shapes, in the layer's weight order. */
  weightShapes: number[][];
  ref: (x: Float64Array, w: Float64Array[]) => Float64Array;
}

const map = (x: Float64Array, [b, h, w, c]: number[]): Map4 => ({ data: x, b, h, w, c });
const size = (s: number[]) => s.reduce((a, b) => a * b, 1);

const CASES: Case[] = [
  {
    name: 'CA-MLP (C=8, r=4)', layer: () => new ChannelAttentionMlp({ name: 'ca', reduction: 4 }), inShape: [2, 3, 4, 8],
    weightShapes: [[8, 2], [2], [2, 8], [8]],
    ref: (x, [w0, b0, w1, b1]) => channelMlpRef(map(x, [2, 3, 4, 8]), w0, b0, w1, b1),
  },
  {
    name: 'CA-noMLP (k=3)', layer: () => new ChannelAttentionConv({ name: 'eca', kernelSize: 3 }), inShape: [2, 3, 3, 5],
    weightShapes: [[3, 1, 1]],
    ref: (x, [k]) => channelConvRef(map(x, [2, 3, 3, 5]), k),
  },
  {
    name: 'SA (k=3)', layer: () => new SpatialAttention({ name: 'sa', kernelSize: 3 }), inShape: [2, 5, 5, 3],
    weightShapes: [[3, 3, 2, 1], [1]],
    ref: (x, [k, b]) => spatialRef(map(x, [2, 5, 5, 3]), k, b[0], 3),
  },
  {
    name: 'SA (k=7 on a 6×6 map)', layer: () => new SpatialAttention({ name: 'sa7', kernelSize: 7 }), inShape: [1, 6, 6, 2],
    weightShapes: [[7, 7, 2, 1], [1]],
    ref: (x, [k, b]) => spatialRef(map(x, [1, 6, 6, 2]), k, b[0], 7),
  },
  {
    name: 'feature attention (d=6)', layer: () => new FeatureAttention({ name: 'fatt' }), inShape: [3, 6],
    weightShapes: [[6, 6]],
    ref: (x, [k]) => featureAttentionRef(x, 3, 6, k),
  },
  {
    name: 'attention pooling', layer: () => new AttentionPooling({ name: 'apool' }), inShape: [2, 3, 3, 4],
    weightShapes: [[4, 1]],
    ref: (x, [k]) => attentionPoolRef(map(x, [2, 3, 3, 4]), k),
  },
];

/** The layer with weights `w`, applied once so it is built. */
function built(c: Case, w: Float32Array[]): tf.layers.Layer {
  const layer = c.layer();
  tf.dispose(layer.apply(tf.zeros(c.inShape)) as tf.Tensor);
  layer.setWeights(w.map((a, i) => tf.tensor(a, c.weightShapes[i])));
  return layer;
}

describe.each(CASES)('$name', (c) => {
  const x = rand(size(c.inShape), 11);
  const w = c.weightShapes.map((s, i) => rand(size(s), 100 + i));
  const x64 = Float64Array.from(x);
  const w64 = w.map((a) => Float64Array.from(a));

  it('matches the direct loop implementation within 1e-5', () => {
    const layer = built(c, w);
    const out = tf.tidy(() => (layer.apply(tf.tensor(x, c.inShape)) as tf.Tensor).dataSync());
    const ref = c.ref(x64, w64);
    expect(out.length).toBe(ref.length);
    ref.forEach((r, i) => expect(Math.abs(out[i] - r)).toBeLessThan(1e-5));
  });

  it('has gradients (weights and input) equal to central differences of the reference', () => {
    const layer = built(c, w);
    const probe = c.ref(x64, w64).map((_, i) => Math.sin(i + 1)); // a fixed non-uniform upstream gradient
    const loss64 = (xx: Float64Array, ww: Float64Array[]) => c.ref(xx, ww).reduce((s, v, i) => s + v * probe[i], 0);
    const probeT = tf.tensor(Float32Array.from(probe));
    const vars = layer.trainableWeights.map((v) => (v as unknown as { val: tf.Variable }).val);
    const f = (xt: tf.Tensor) => tf.sum(tf.mul(tf.reshape(layer.apply(xt) as tf.Tensor, [-1]), probeT)) as tf.Scalar;
    const { grads } = tf.variableGrads(() => f(tf.tensor(x, c.inShape)), vars);
    const gx = tf.grad(f)(tf.tensor(x, c.inShape)).dataSync();
    const eps = 1e-6;
    const fd = (arr: Float64Array, i: number, eval_: () => number) => {
      const old = arr[i];
      arr[i] = old + eps; const up = eval_();
      arr[i] = old - eps; const down = eval_();
      arr[i] = old;
      return (up - down) / (2 * eps);
    };
    vars.forEach((v, k) => {
      const g = grads[v.name].dataSync();
      for (let i = 0; i < g.length; i++) expect(Math.abs(g[i] - fd(w64[k], i, () => loss64(x64, w64)))).toBeLessThan(1e-4);
    });
    for (let i = 0; i < gx.length; i++) expect(Math.abs(gx[i] - fd(x64, i, () => loss64(x64, w64)))).toBeLessThan(1e-4);
    tf.dispose([probeT, ...Object.values(grads)]);
  });
});

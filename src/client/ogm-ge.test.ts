import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, resolveConfig, type FederationConfig } from '../shared/config.ts';
import { PROTOCOL_VERSION, type RoundMessage } from '../shared/protocol.ts';
import { createRng } from '../shared/prng.ts';
import { UplinkEncoder } from '../shared/compression/uplink';
import { MODALITIES, type Modality } from '../shared/data/paired-modalities';
import { buildModel } from '../shared/ml/architectures/registry.ts';
import { modalityHeads, trainableOf } from '../shared/ml/architectures/multimodal.ts';
import { modalityScore, ogmGeCoefficients } from '../shared/ml/chain-objective.ts';
import { getFlatWeights, labelsToOneHot, layerSpecs, setFlatWeights } from '../shared/ml/models.ts';
import { trainLocal } from '../shared/ml/train.ts';
import { initWeights } from '../shared/weights.ts';
import { initBackend } from '../../scripts/wasm-backend.ts';
import { runLocalRound } from './local-round.ts';
import { addGradientNoise, encoderVariableNames, modulateGradients, ogmGeCoefficientsTensor, ogmGeHook } from './ogm-ge.ts';

// Small batches: these run on a shared machine. On wasm with our gradient kernels (scripts/wasm-backend.ts), as the
// Node runtime trains: the same checks on the cpu backend took 42 s, on wasm 2.6 s.
const B = 4;
const CLASS = 3;
const ALPHA = 0.1;
let net: tf.LayersModel;
let w0: Float32Array;
let xb: tf.Tensor4D;
let yb: tf.Tensor2D;
/** The cross-entropy gradients at the start weights on (xb, yb), computed once. */
let raw: tf.NamedTensorMap;
const labels = new Uint8Array(B).fill(CLASS);

const varName = (layer: string, i = 0) => (net.getLayer(layer).trainableWeights[i] as unknown as { val: tf.Variable }).val.name;

/** The cross-entropy gradients of every trainable variable on (xb, yb); the caller disposes them. */
function rawGrads(): tf.NamedTensorMap {
  const vars = trainableOf(net, MODALITIES, true);
  const { value, grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(yb, net.apply(xb, { training: true }) as tf.Tensor) as tf.Scalar, vars);
  value.dispose();
  return grads;
}

const clone = (g: tf.NamedTensorMap): tf.NamedTensorMap => Object.fromEntries(Object.entries(g).map(([k, v]) => [k, tf.clone(v)]));
const data = (t: tf.Tensor) => t.dataSync() as Float32Array;

/** Each head's score from its logits, on the CPU: the reference for the in-graph scores. */
function cpuScores(): number[] {
  const logits = modalityHeads(net).predict(xb) as tf.Tensor[];
  const s = logits.map((l) => modalityScore(data(l), labels));
  tf.dispose(logits);
  return s;
}

beforeAll(async () => {
  await initBackend();
  net = buildModel('mm-late');
  const flat = initWeights(layerSpecs(net), 5);
  setFlatWeights(net, flat);
  // MNIST dominant: its head's bias makes softmax(h_mnist) confident on the batch's one class.
  const bias = net.getLayer('mnist_out').getWeights()[1];
  const b = data(bias).slice();
  b[CLASS] += 12;
  const [kernel] = net.getLayer('mnist_out').getWeights();
  const newBias = tf.tensor1d(b);
  net.getLayer('mnist_out').setWeights([kernel, newBias]);
  newBias.dispose(); // (getWeights hands back the variables themselves: not disposed here)
  w0 = getFlatWeights(net);
  const rng = createRng(9);
  xb = tf.tensor4d(Float32Array.from({ length: B * 28 * 28 * 2 }, () => rng.next()), [B, 28, 28, 2]);
  yb = labelsToOneHot(labels) as tf.Tensor2D;
  raw = rawGrads();
}, 120_000);

afterAll(() => {
  tf.dispose([xb, yb, ...Object.values(raw)]);
  net.dispose();
});

describe('OGM: the coefficients', () => {
  it('match ogmGeCoefficients (continuous form), equal scores give 1', () => {
    const cases = [[3, 3], [0, 0], [2, 1], [1, 2], [5, 0], [0, 5], [7.5, 0.8], [4, 4, 4], [6, 1, 2]];
    for (const s of cases) {
      for (const alpha of [0, 0.1, 1, 5]) {
        const k = tf.tidy(() => ogmGeCoefficientsTensor(tf.tensor1d(s), alpha));
        const got = Array.from(data(k));
        k.dispose();
        const want = ogmGeCoefficients(s, alpha);
        got.forEach((g, i) => expect(g).toBeCloseTo(want[i], 5));
      }
    }
    const k = ogmGeCoefficientsTensor(tf.tensor1d([3, 3]), 1);
    expect(Array.from(data(k))).toEqual([1, 1]);
    k.dispose();
    expect(() => ogmGeCoefficientsTensor(tf.tensor1d([1, 2]), -1)).toThrow(/alpha/);
  });
});

describe('OGM: modulation of a step', () => {
  it('scales the dominant encoder by the expected k, leaves the heads and the weaker encoder alone', () => {
    const scores = cpuScores();
    expect(scores[0]).toBeGreaterThan(0.99 * B); // MNIST is ahead
    expect(scores[1]).toBeLessThan(0.5 * B);
    const want = ogmGeCoefficients(scores, ALPHA);
    expect(want[0]).toBeGreaterThan(0.01);
    expect(want[0]).toBeLessThan(0.9);
    expect(want[1]).toBe(1);

    const grads = clone(raw);
    const k = modulateGradients(net, grads, xb, yb, ALPHA);
    const kk = Array.from(data(k));
    expect(kk[0]).toBeCloseTo(want[0], 4);
    expect(kk[1]).toBe(1);
    // The hand value: ρ = s_1/s_2, k = 1 − tanh(α(ρ − 1)).
    expect(kk[0]).toBeCloseTo(1 - Math.tanh(ALPHA * (scores[0] / scores[1] - 1)), 4);

    const mnistEncoder = encoderVariableNames(net, 'mnist');
    expect(mnistEncoder).toEqual(['conv1', 'conv2', 'fc1'].flatMap((l) => [varName(`mnist_${l}`, 0), varName(`mnist_${l}`, 1)]));
    for (const n of mnistEncoder) {
      const r = data(raw[n]);
      const g = data(grads[n]);
      for (let i = 0; i < r.length; i += 97) expect(g[i]).toBeCloseTo(kk[0] * r[i], 6);
    }
    const untouched = [...encoderVariableNames(net, 'fashion'), ...MODALITIES.flatMap((m) => [varName(`${m}_out`, 0), varName(`${m}_out`, 1)])];
    for (const n of untouched) expect(Array.from(data(grads[n]))).toEqual(Array.from(data(raw[n])));
    tf.dispose([k, ...Object.values(grads)]);
  });

  it('skips a modality whose variables are not trained', () => {
    const only: tf.NamedTensorMap = clone(Object.fromEntries(Object.entries(raw).filter(([n]) => !encoderVariableNames(net, 'mnist').includes(n))));
    const before = Object.keys(only).length;
    const k = modulateGradients(net, only, xb, yb, ALPHA);
    expect(Object.keys(only).length).toBe(before);
    tf.dispose([k, ...Object.values(only)]);
  });
});

describe('GE: the noise', () => {
  it('is N(0, std(g)²) per entry, seeded by (seed, step, variable index)', () => {
    const rng = createRng(2);
    const g0 = Float32Array.from({ length: 20_000 }, () => 0.3 * rng.normal() + 0.1);
    let mean = 0;
    g0.forEach((v) => (mean += v));
    mean /= g0.length;
    let ss = 0;
    g0.forEach((v) => (ss += (v - mean) ** 2));
    const std = Math.sqrt(ss / (g0.length - 1));

    const draw = (seed: number, step: number, names = ['a', 'b']) => {
      const grads: tf.NamedTensorMap = { a: tf.tensor1d(g0), b: tf.tensor1d(g0), c: tf.tensor1d(g0) };
      addGradientNoise(grads, names, seed, step);
      const noise = Object.fromEntries(Object.entries(grads).map(([n, t]) => [n, data(t).map((v, i) => v - g0[i])]));
      tf.dispose(Object.values(grads));
      return noise;
    };
    const n = draw(1, 0);
    let nm = 0;
    n.a.forEach((v) => (nm += v));
    nm /= n.a.length;
    let nss = 0;
    n.a.forEach((v) => (nss += (v - nm) ** 2));
    expect(Math.abs(nm)).toBeLessThan(4 * (std / Math.sqrt(n.a.length)));
    expect(Math.sqrt(nss / n.a.length) / std).toBeGreaterThan(0.97);
    expect(Math.sqrt(nss / n.a.length) / std).toBeLessThan(1.03);
    expect(Array.from(n.c).every((v) => v === 0)).toBe(true); // not named: untouched
    expect(Array.from(n.a)).not.toEqual(Array.from(n.b)); // each variable its own stream
    expect(Array.from(draw(1, 0).a)).toEqual(Array.from(n.a)); // seeded
    expect(Array.from(draw(1, 1).a)).not.toEqual(Array.from(n.a)); // per step
    expect(Array.from(draw(2, 0).a)).not.toEqual(Array.from(n.a));
  });

  it('gives no noise to a constant or one-entry gradient', () => {
    const grads: tf.NamedTensorMap = { a: tf.fill([50], 0.2), b: tf.tensor1d([3]) };
    addGradientNoise(grads, ['a', 'b'], 1, 0);
    for (const v of data(grads.a)) expect(v).toBeCloseTo(0.2, 6);
    expect(Array.from(data(grads.b))).toEqual([3]);
    tf.dispose(Object.values(grads));
  });

  it('the hook: noise std is the unmodulated gradient’s (as the official code), heads untouched', () => {
    const hook = ogmGeHook(net, ALPHA, 4);
    const plain = clone(raw);
    const k = modulateGradients(net, plain, xb, yb, ALPHA);
    const k0 = data(k)[0];
    const grads = clone(raw);
    hook(grads, xb, yb, 0);
    const n = varName('mnist_fc1'); // 204,800 entries
    const r = data(raw[n]);
    const noise = data(grads[n]).map((v, i) => v - k0 * r[i]);
    const sd = (a: Float32Array) => {
      let m = 0;
      a.forEach((v) => (m += v));
      m /= a.length;
      let s = 0;
      a.forEach((v) => (s += (v - m) ** 2));
      return Math.sqrt(s / (a.length - 1));
    };
    expect(k0).toBeLessThan(0.9); // modulation is on, so the two readings differ
    expect(sd(noise) / sd(r)).toBeCloseTo(1, 1);
    for (const m of MODALITIES) for (const i of [0, 1]) expect(Array.from(data(grads[varName(`${m}_out`, i)]))).toEqual(Array.from(data(raw[varName(`${m}_out`, i)])));
    tf.dispose([k, ...Object.values(plain), ...Object.values(grads)]);
  });

  it('refuses a model without a head per modality, and a bad α', () => {
    const concat = buildModel('mm-concat');
    expect(() => ogmGeHook(concat, 0.5, 1)).toThrow(/head per modality/);
    concat.dispose();
    expect(() => ogmGeHook(net, Number.NaN, 1)).toThrow(/alpha/);
  });
});

describe('OGM-GE in training', () => {
  it('leaks no tensor over several steps of trainLocal, and is deterministic', async () => {
    const rng = createRng(4);
    const xs = tf.tensor4d(Float32Array.from({ length: 3 * 28 * 28 * 2 }, () => rng.next()), [3, 28, 28, 2]);
    const ys = labelsToOneHot(Uint8Array.from([1, 4, 7]));
    const once = async () => {
      setFlatWeights(net, w0);
      const before = tf.memory().numTensors;
      const r = await trainLocal(net, xs, ys, { epochs: 1, batchSize: 1, lr: 0.05, mu: 0, seed: 3, transformGrads: ogmGeHook(net, 0.5, 7) });
      expect(r.steps).toBe(3);
      expect(tf.memory().numTensors).toBe(before);
      return getFlatWeights(net);
    };
    const a = await once();
    const b = await once();
    expect(Array.from(a)).toEqual(Array.from(b));
    tf.dispose([xs, ys]);
    setFlatWeights(net, w0);
  }, 300_000);
});

describe('OGM-GE in a client round', () => {
  const roundMsg = (config: Partial<FederationConfig>): RoundMessage => ({
    v: PROTOCOL_VERSION,
    type: 'round',
    runId: 'run-ogm',
    round: 1,
    config: resolveConfig({ dataset: 'mnist+fashion', model: 'mm-late', epochs: 1, batchSize: 4, lr: 0.05, seed: 11, ...config }),
    assignments: { me: 0 },
    numPartitions: 2,
    deadline: Date.now() + 60_000,
    layers: layerSpecs(net),
    weights: w0.slice(),
    perClient: [],
    evaluate: null,
    auth: { macs: {} },
  });
  const delta = async (ogmAlpha: number, held: readonly Modality[]) => {
    const r = await runLocalRound({
      msg: roundMsg({ ogmAlpha }),
      slot: 0,
      clientId: 'me',
      secret: 's'.repeat(32),
      net,
      xs: xb,
      ys: yb,
      count: B,
      backend: 'wasm',
      colluders: null,
      uplink: new UplinkEncoder(),
      held,
      numTensors: () => tf.memory().numTensors,
    });
    return Array.from(r.update.delta as Float32Array);
  };

  it('modulates a client holding both modalities, not one holding a single modality', async () => {
    // One step each (B rows, batch B).
    expect(await delta(0.5, MODALITIES)).not.toEqual(await delta(0, MODALITIES));
    expect(await delta(0.5, ['mnist'])).toEqual(await delta(0, ['mnist']));
  }, 300_000);
});

describe('ogmAlpha config', () => {
  const err = (q: Record<string, unknown>) => {
    try {
      resolveConfig(q);
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      return (e as Error).message;
    }
    throw new Error('expected a ConfigError');
  };
  it('defaults to 0, accepts mnist+fashion with mm-late, refuses the rest', () => {
    expect(resolveConfig({}).ogmAlpha).toBe(0);
    expect(resolveConfig({ dataset: 'mnist+fashion', ogmAlpha: 0.5 }).ogmAlpha).toBe(0.5); // model defaults to mm-late
    expect(err({ ogmAlpha: 0.5 })).toContain('use dataset mnist+fashion');
    expect(err({ dataset: 'mnist+fashion', model: 'mm-concat', ogmAlpha: 0.5 })).toContain('model mm-late');
    expect(err({ dataset: 'mnist+fashion', algorithm: 'fedmchain', ogmAlpha: 0.5 })).toContain('chain');
    expect(err({ dataset: 'mnist+fashion', ogmAlpha: 11 })).toContain('ogmAlpha');
    expect(err({ dataset: 'mnist+fashion', ogmAlpha: -1 })).toContain('ogmAlpha');
  });
});

import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../scripts/wasm-backend.ts';
import { resolveConfig, type FederationConfig } from '../shared/config.ts';
import { logitsWithHeadAttention } from '../shared/ml/attention-probe.ts';
import { crossEntropy, distillationLoss, logitAdjustedLoss, logPrior } from '../shared/ml/losses.ts';
import { buildRunModel, getFlatWeights, labelsToOneHot, layerSpecs, setFlatWeights } from '../shared/ml/models.ts';
import { createRng } from '../shared/prng.ts';
import { initWeights } from '../shared/weights.ts';
import { PROTOCOL_VERSION, type RoundMessage } from '../shared/protocol.ts';
import { strategyDefinition } from '../shared/strategies/registry.ts';
import { UplinkEncoder } from '../shared/compression/uplink.ts';
import type { ClientSide } from '../shared/strategies/strategy.ts';
import { localObjective, teacherNeeds, teacherTargets } from './local-objective.ts';
import { runLocalRound } from './local-round.ts';

const N = 48;
const labels = Uint8Array.from({ length: N }, (_, i) => i % 10);
let xs: tf.Tensor4D;
let ys: tf.Tensor2D;

beforeAll(async () => {
  await initBackend(); // wasm, as the Node runtime trains (on cpu this file took 7 s)
  const rng = createRng(5);
  xs = tf.tensor4d(Float32Array.from({ length: N * 784 }, () => rng.next()), [N, 28, 28, 1]);
  ys = labelsToOneHot(labels);
});
afterAll(() => tf.dispose([xs, ys]));

const cfgOf = (c: Partial<FederationConfig>) => resolveConfig({ model: '2nn', epochs: 3, batchSize: 16, lr: 0.1, seed: 3, ...c });
const sideOf = (cfg: FederationConfig): ClientSide => strategyDefinition(cfg.algorithm).client?.(cfg as never) ?? {};
const value = (s: tf.Scalar) => {
  const v = s.dataSync()[0];
  s.dispose();
  return v;
};
const rows = (n: number) => tf.tensor1d(Int32Array.from({ length: n }, (_, i) => i), 'int32');

describe('teacherTargets', () => {
  it("are the model's logits and the FedAKD head's attention (rows summing to 1), batched", async () => {
    const net = buildRunModel(cfgOf({ algorithm: 'fedakd' }));
    const t = await teacherTargets(net, xs, true, 20);
    const direct = tf.tidy(() => (net.predict(xs) as tf.Tensor).dataSync());
    const got = t.logits.dataSync();
    for (let i = 0; i < direct.length; i++) expect(Math.abs(got[i] - direct[i])).toBeLessThan(1e-5);
    expect(t.attention!.shape).toEqual([N, 200]); // 2NN: the head sits on the 200 features of fc2
    const sums = tf.tidy(() => tf.sum(t.attention!, 1).dataSync());
    for (const s of sums) expect(s).toBeCloseTo(1, 5);
    tf.dispose([t.logits, t.attention!]);
    net.dispose();
  });
});

describe('localObjective', () => {
  it('FedAKD / FedNTD reduce to cross-entropy while the student is still the teacher', async () => {
    for (const c of [{ algorithm: 'fedakd' }, { algorithm: 'fedakd', attentionTransfer: 100 }, { algorithm: 'fedntd' }] as const) {
      const cfg = cfgOf(c);
      const net = buildRunModel(cfg);
      const side = sideOf(cfg);
      const t = await teacherTargets(net, xs, teacherNeeds(side).attention);
      const { objective, dispose } = localObjective(side, t, null);
      const [obj, ce] = tf.tidy(() => {
        const r = rows(N);
        return [objective!(net, xs, ys, r), crossEntropy(ys, net.apply(xs) as tf.Tensor)];
      });
      expect(value(obj)).toBeCloseTo(value(ce), 5);
      dispose();
      tf.dispose([t.logits, ...(t.attention ? [t.attention] : [])]);
      net.dispose();
    }
  });

  it('FedAKD adds λ·τ²·KL(teacher ‖ student), the teacher taken at the batch rows', async () => {
    const cfg = cfgOf({ algorithm: 'fedakd', kdLambda: 0.7, kdTemperature: 3 });
    const net = buildRunModel(cfg);
    const t = await teacherTargets(net, xs, false);
    const w = getFlatWeights(net);
    setFlatWeights(net, w.map((x, i) => x + 0.05 * Math.sin(i)));
    const { objective } = localObjective(sideOf(cfg), t, null);
    const pick = [5, 0, 17, 33];
    const [obj, expected] = tf.tidy(() => {
      const r = tf.tensor1d(pick, 'int32');
      const xb = tf.gather(xs, r);
      const yb = tf.gather(ys, r);
      const z = net.apply(xb) as tf.Tensor;
      return [objective!(net, xb, yb, r), tf.add(crossEntropy(yb, z), tf.mul(0.7, distillationLoss(tf.gather(t.logits, r), z, 3)))];
    });
    const e = value(expected as tf.Scalar);
    expect(value(obj as tf.Scalar)).toBeCloseTo(e, 5);
    t.logits.dispose();
    net.dispose();
  });

  it('logit adjustment is CE(z + τ log π) with the round\'s class counts, and refuses to run without them', () => {
    const cfg = cfgOf({ algorithm: 'fedavg-la', laTau: 1.5 });
    const net = buildRunModel(cfg);
    const counts = [500, 300, 200, 100, 50, 30, 20, 10, 5, 5];
    const { objective, dispose } = localObjective(sideOf(cfg), null, counts);
    const [obj, expected] = tf.tidy(() => {
      const lp = tf.tensor1d(logPrior(counts));
      return [objective!(net, xs, ys, rows(N)), logitAdjustedLoss(ys, net.apply(xs) as tf.Tensor, lp, 1.5)];
    });
    expect(value(obj as tf.Scalar)).toBeCloseTo(value(expected as tf.Scalar), 5);
    dispose();
    expect(() => localObjective(sideOf(cfg), null, null)).toThrow(/class counts/);
    net.dispose();
  });
});

describe('a FedAKD local round', () => {
  function roundMsg(cfg: FederationConfig, weights: Float32Array, layers: RoundMessage['layers']): RoundMessage {
    return {
      v: PROTOCOL_VERSION, type: 'round', runId: 'run-akd', round: 1, config: cfg, assignments: { me: 0 }, numPartitions: 4,
      deadline: Date.now() + 60_000, layers, weights, perClient: [], evaluate: null, auth: { macs: {} },
    };
  }

  async function trainedKl(kdLambda: number): Promise<number> {
    const cfg = cfgOf({ algorithm: 'fedakd', kdLambda, kdTemperature: 1, lr: 0.05 });
    const net = buildRunModel(cfg);
    const w0 = initWeights(layerSpecs(net), 1); // tf's own initialisers are not seeded
    setFlatWeights(net, w0);
    const teacher = await teacherTargets(net, xs, false);
    const { update } = await runLocalRound({
      msg: roundMsg(cfg, w0, layerSpecs(net)), slot: 0, clientId: 'me', secret: 's'.repeat(32), net, xs, ys, count: N,
      backend: 'wasm', colluders: null, uplink: new UplinkEncoder(), numTensors: () => tf.memory().numTensors,
    });
    setFlatWeights(net, w0.map((x, i) => x + (update.delta as Float32Array)[i]));
    const kl = tf.tidy(() => distillationLoss(teacher.logits, net.predict(xs) as tf.Tensor, 1));
    teacher.logits.dispose();
    net.dispose();
    return value(kl);
  }

  it('stays closer to the teacher the larger λ is (the distillation term acts)', async () => {
    const free = await trainedKl(0);
    const held = await trainedKl(3);
    expect(free).toBeGreaterThan(0.01);
    expect(held).toBeLessThan(free / 5);
  });

  it('leaks no tensors across rounds, attention transfer included', async () => {
    const cfg = cfgOf({ algorithm: 'fedakd', attentionTransfer: 100 });
    const net = buildRunModel(cfg);
    const w0 = getFlatWeights(net);
    const input = { slot: 0, clientId: 'me', secret: 's'.repeat(32), net, xs, ys, count: N, backend: 'wasm' as const, colluders: null, uplink: new UplinkEncoder(), numTensors: () => tf.memory().numTensors };
    await runLocalRound({ ...input, msg: roundMsg(cfg, w0, layerSpecs(net)) });
    const before = tf.memory().numTensors;
    for (let r = 0; r < 3; r++) await runLocalRound({ ...input, msg: roundMsg(cfg, w0, layerSpecs(net)) });
    expect(tf.memory().numTensors).toBe(before);
    net.dispose();
  });
});

it('logitsWithHeadAttention needs the FedAKD head', () => {
  const net = buildRunModel(cfgOf({ algorithm: 'fedavg' }));
  expect(() => tf.tidy(() => logitsWithHeadAttention(net, xs, false).logits)).toThrow(/no FedAKD attention head/);
  net.dispose();
});

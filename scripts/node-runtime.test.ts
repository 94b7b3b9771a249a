// The in-process runtime end to end on real MNIST (needs `npm run datasets`, which `npm install` runs).
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { ALGORITHMS, resolveConfig } from '../src/shared/config';
import { modalityPlan } from '../src/shared/run-plan';
import { initBackend, runInProcess } from './node-runtime';

// localEval 0: the clients train on all 150 (federated evaluation has its own test below).
const SMALL = { model: '2nn', maxSamples: 150, batchSize: 10, lr: 0.05, rounds: 3, evalSamples: 1000, seed: 5, localEval: 0 } as const;

describe('runInProcess', () => {
  beforeAll(() => initBackend());

  it('federates 4 virtual clients to a useful model and leaves no tensors behind', async () => {
    const rounds: number[] = [];
    const before = tf.memory().numTensors;
    const { status } = await runInProcess({ config: resolveConfig(SMALL), clients: 4, timeoutMs: 60_000, onRound: (r) => rounds.push(r.round) });
    expect(rounds).toEqual([1, 2, 3]);
    expect(status.state).toBe('done');
    expect(status.clients.map((c) => c.kind)).toEqual(['node', 'node', 'node', 'node']);
    expect(status.history.at(-1)!.accuracy).toBeGreaterThan(0.7);
    for (const r of status.history) expect(r.clients).toHaveLength(4);
    // One process holds the coordinator and the clients, and evaluation runs beside training: tf.memory() during a
    // round says little, after the run it must be back where it started.
    expect(tf.memory().numTensors).toBe(before);
  }, 60_000);

  it('virtual clients are state: 20 clients at C = 0.1 train on one model, taking turns, federated evaluation of all 20 included', async () => {
    const before = tf.memory().numTensors;
    const { status, modelsBuilt } = await runInProcess({ config: resolveConfig({ ...SMALL, fraction: 0.1, localEval: 0.1 }), clients: 20, timeoutMs: 60_000 });
    expect(status.state).toBe('done');
    for (const r of status.history) expect(r.participants).toHaveLength(2);
    expect(status.history.at(-1)!.federatedEval!.clients).toHaveLength(20);
    expect(modelsBuilt).toBe(1);
    expect(tf.memory().numTensors).toBe(before);
  }, 60_000);

  it('10,000 virtual clients on 2 client threads: broadcasts are signed for the 100 asked, the rest ignore them uncounted', async () => {
    const cfg = resolveConfig({ ...SMALL, model: 'mclr', maxSamples: 0, fraction: 0.01, rounds: 2, lr: 0.1, clients: 10_000 });
    const { status, modelsBuilt, threads } = await runInProcess({ config: cfg, clients: 10_000, timeoutMs: 300_000, threads: 2 });
    expect(status.state).toBe('done');
    expect(status.clients).toHaveLength(10_000);
    expect([modelsBuilt, threads]).toEqual([3, 2]); // the coordinator's thread trains too
    for (const r of status.history) expect(r.clients).toHaveLength(100);
    expect(status.history.at(-1)!.accuracy).toBeGreaterThan(0.2); // 6 images a client, 2 rounds: learning (chance is 0.1)
    expect(status.broadcastsDropped).toEqual({});
    expect(status.rejections.total).toBe(0);
  }, 300_000);

  it('the FedProx partition: 1,000 MCLR devices at C = 0.01, on the coordinator\'s thread', async () => {
    const cfg = resolveConfig({ ...SMALL, model: 'mclr', partition: 'fedprox', maxSamples: 0, fraction: 0.01, rounds: 2, clients: 1000 });
    const { status, modelsBuilt } = await runInProcess({ config: cfg, clients: 1000, timeoutMs: 120_000 });
    expect(status.state).toBe('done');
    for (const r of status.history) expect(r.participants).toHaveLength(10);
    expect(modelsBuilt).toBe(1);
  }, 120_000);

  it('client threads: a seeded run gives the same bits on the coordinator\'s thread alone, with 1 client thread beside it and with 2 (Top-K residuals, stragglers, SCAFFOLD\'s c_k over the port)', async () => {
    const before = tf.memory().numTensors;
    for (const cfg of [
      { ...SMALL, fraction: 0.5, compress: 'topk', topk: 0.1, stragglers: 0.3, localEval: 0.1 },
      { ...SMALL, fraction: 0.5, algorithm: 'scaffold' },
    ]) {
      const runs = [];
      for (const threads of [0, 1, 2]) runs.push(await runInProcess({ config: resolveConfig(cfg), clients: 6, timeoutMs: 120_000, threads }));
      // One model per thread, the coordinator's included: 3 jobs a round keep every one busy.
      expect(runs.map((r) => [r.threads, r.modelsBuilt])).toEqual([[0, 1], [1, 2], [2, 3]]);
      const [inThread, one, two] = runs.map((r) => Array.from(r.weights));
      expect(one).toEqual(inThread);
      expect(two).toEqual(one);
      expect(runs[2].status.history.map((h) => h.accuracy)).toEqual(runs[0].status.history.map((h) => h.accuracy));
      expect(runs[2].status.history.at(-1)!.accuracy).toBeGreaterThan(0.6);
    }
    expect(tf.memory().numTensors).toBe(before); // the threads' tensors die with them; the coordinator's are freed
  }, 240_000);

  it('alie trains on the coordinator\'s thread even when client threads are asked for: its colluders wait for each other', async () => {
    const lines: string[] = [];
    const r = await runInProcess({ config: resolveConfig({ ...SMALL, rounds: 1, attack: 'alie', attackers: 0.5 }), clients: 4, timeoutMs: 60_000, threads: 2, log: (l) => lines.push(l) });
    expect(r.threads).toBe(0);
    expect(lines.join('\n')).toMatch(/client threads: none \(alie's colluding attackers/);
  }, 60_000);

  it('compressed uplinks train and every round accounts its bytes against dense FedAvg', async () => {
    const size = 199_210; // 2NN: 784·200 + 200 + 200·200 + 200 + 200·10 + 10
    for (const [compress, perClient] of [['topk', 8 * Math.ceil(0.1 * size)], ['int8', size + 6 * 4], ['float16', 2 * size]] as const) {
      const { status } = await runInProcess({ config: resolveConfig({ ...SMALL, compress, topk: 0.1 }), clients: 4, timeoutMs: 60_000 });
      expect(status.state).toBe('done');
      expect(status.history.at(-1)!.accuracy).toBeGreaterThan(0.6);
      for (const r of status.history) {
        expect(r.clients.map((c) => c.bytesUp)).toEqual([perClient, perClient, perClient, perClient]);
        expect(r.bytesUp).toBe(4 * perClient);
        expect(r.denseBytesUp).toBe(4 * 4 * size);
        expect(r.bytesDown).toBe(4 * 4 * size); // w_t to each of the 4; FedAvg sends no extras
        for (const c of r.clients) expect(c.bytesDown).toBe(4 * size);
      }
    }
  }, 120_000);

  it('fedmchain on mnist+fashion: clients of all three modality kinds train, unimodal accuracies are reported, bytes follow what each holds', async () => {
    const before = tf.memory().numTensors;
    const cfg = resolveConfig({ ...SMALL, model: undefined, dataset: 'mnist+fashion', algorithm: 'fedmchain', syncEvery: 1, rounds: 3, lr: 0.05, batchSize: 20 });
    expect([cfg.model, cfg.compress]).toEqual(['mm-late', 'topk']);
    const { status } = await runInProcess({ config: cfg, clients: 4, timeoutMs: 120_000 });
    expect(status.state).toBe('done');
    const held = modalityPlan(cfg, 4)!;
    expect(held.map((h) => h.length).sort()).toEqual([1, 1, 2, 2]); // 4 clients: 2 both, 1 MNIST only, 1 FMNIST only
    const last = status.history.at(-1)!;
    expect(last.accuracy).toBeGreaterThan(0.6);
    expect(last.unimodalAccuracy!.mnist).toBeGreaterThan(0.3);
    expect(last.unimodalAccuracy!.fashion).toBeGreaterThan(0.3);
    // Top-K 10% per held modality block: a client holding both sends about twice the bytes of a one-modality client.
    const perSlot = new Map(last.clients.map((c) => [c.slot, c.bytesUp]));
    const one = [...perSlot].filter(([s]) => held[s].length === 1).map(([, b]) => b);
    const two = [...perSlot].filter(([s]) => held[s].length === 2).map(([, b]) => b);
    for (const b of two) expect(b / one[0]).toBeCloseTo(2, 1);
    expect(last.bytesUp / last.denseBytesUp).toBeLessThan(0.16);
    expect(tf.memory().numTensors).toBe(before);
  }, 180_000);

  it('runs a targeted attack against fedavg and reports its success rate; leaks no tensors', async () => {
    const before = tf.memory().numTensors;
    const cfg = resolveConfig({ ...SMALL, attack: 'targeted-label-flip', attackers: 0.5, partition: 'iid' });
    const { status } = await runInProcess({ config: cfg, clients: 4, timeoutMs: 60_000 });
    expect(status.attackerSlots).toHaveLength(2);
    for (const r of status.history) {
      expect(r.attackSuccessRate).not.toBeNull();
      expect(r.clients.filter((c) => c.role === 'attacker')).toHaveLength(2);
    }
    // Half the clients teach 7 → 1: a good share of test 7s end up as 1s.
    expect(status.history.at(-1)!.attackSuccessRate!).toBeGreaterThan(0.2);
    expect(tf.memory().numTensors).toBe(before);
  }, 60_000);

  it('fails with the coordinator\'s reason instead of hanging', async () => {
    await expect(runInProcess({ config: resolveConfig({ ...SMALL, algorithm: 'krum' }), clients: 3, timeoutMs: 30_000 })).rejects.toThrow(
      /krum needs 5 updates per round, but this run has 3 clients per round/,
    );
  });

  it('every strategy trains end to end: 7 clients (Bulyan needs 4f + 3), 2 rounds, above 50% on MNIST (Krum keeps one update)', async () => {
    const curves: Record<string, Array<number | null>> = {};
    // FedMChain trains a chain of modalities: its own test below, on mnist+fashion; FedAlign and its LoRA baselines
    // train cnn-s-lora: their own test below.
    for (const algorithm of ALGORITHMS.filter((a) => !['fedmchain', 'fedalign', 'fedavg-lora', 'local-lora'].includes(a))) {
      // FedDF distils on a proxy split held out of the partitions: a small one, a short budget.
      const distill = algorithm === 'feddf' ? { proxySamples: 300, distillSteps: 20 } : {};
      const cfg = resolveConfig({ ...SMALL, rounds: 2, algorithm, byzantine: 1, ...distill });
      const { status } = await runInProcess({ config: cfg, clients: 7, timeoutMs: 60_000 });
      expect(status.history.map((r) => r.skipped), algorithm).toEqual([null, null]);
      curves[algorithm] = status.history.map((r) => r.accuracy);
    }
    // The server optimizers start slower at their default η (momentum 0.1 = 1 − β, adaptive 0.01) and q-FedAvg's
    // step is smaller than FedAvg's, and signSGD moves every coordinate by only signLr = 0.001 a round: in two rounds
    // they only show that they learn.
    const slow = ['fedavgm', 'fedadam', 'fedyogi', 'fedadagrad', 'qfedavg', 'signsgd'];
    for (const [name, [a1, a2]] of Object.entries(curves)) {
      const where = `${name} in ${JSON.stringify(curves)}`;
      expect(a2!, where).toBeGreaterThan(a1!);
      expect(a2!, where).toBeGreaterThan(slow.includes(name) ? 0.12 : 0.5);
    }
  }, 180_000);

  it('fedalign, fedavg-lora, local-lora on the pre-trained body: only LoRA (+ FedAlign\'s prototypes and features) goes up, own models come down', async () => {
    const lora = 7680; // fc1 A [4,1600] + B [128,4], proj A [4,128] + B [64,4]
    const before = tf.memory().numTensors;
    const base = { ...SMALL, model: undefined, lr: undefined, partition: 'dirichlet', alpha: 0.3, batchSize: 16 } as const;
    for (const algorithm of ['fedalign', 'fedavg-lora', 'local-lora'] as const) {
      const { status } = await runInProcess({ config: resolveConfig({ ...base, algorithm }), clients: 4, timeoutMs: 120_000 });
      expect(status.state, algorithm).toBe('done');
      expect([status.config!.model, status.config!.loraOptimizer, status.config!.lr]).toEqual(['cnn-s-lora', 'adam', 0.01]);
      expect(status.rejections.total, algorithm).toBe(0);
      status.history.forEach((r, i) => {
        expect(r.skipped, algorithm).toBeNull();
        expect(r.denseBytesUp).toBe(4 * 4 * lora);
        for (const c of r.clients) {
          if (algorithm === 'fedalign') {
            // LoRA Δ + prototypes (10·64) + counts (10) + m features of 64 with their labels, m ≤ 10·50
            const rest = c.bytesUp / 4 - lora - 640 - 10;
            expect(rest % 65, `${c.bytesUp}`).toBe(0);
            expect(rest / 65).toBeLessThanOrEqual(500);
            // w_t and z_c for everyone, and from round 2 the client's own model over its port
            expect(c.bytesDown).toBe(4 * (lora + 640 + (i > 0 ? lora : 0)));
          } else {
            expect(c.bytesUp).toBe(4 * lora);
            expect(c.bytesDown).toBe(4 * (lora + (algorithm === 'local-lora' && i > 0 ? lora : 0)));
          }
        }
      });
      const last = status.history.at(-1)!;
      expect(last.accuracy!, algorithm).toBeGreaterThan(0.15); // above chance (10 classes) after 3 rounds of 150 images
      expect(last.localAccuracyBySlot, algorithm).toHaveLength(4);
      expect(last.localAccuracy!, algorithm).toBeGreaterThan(0.15);
    }
    expect(tf.memory().numTensors).toBe(before);
  }, 300_000);

  it('federated evaluation: every client scores the global model on its own split; the report names the worst 10%', async () => {
    const { status } = await runInProcess({ config: resolveConfig({ ...SMALL, localEval: 0.1, partition: 'dirichlet', alpha: 0.3 }), clients: 4, timeoutMs: 60_000 });
    for (const r of status.history) {
      const fe = r.federatedEval!;
      expect(fe.asked).toBe(4);
      expect(fe.clients).toHaveLength(4);
      for (const c of fe.clients) expect(c.numSamples).toBe(Math.floor(150 * 0.1)); // maxSamples 150, 10% held out
      expect(fe.worst10Accuracy).toBe(fe.minAccuracy);
      expect(fe.worst10Accuracy).toBeLessThanOrEqual(fe.meanAccuracy);
      for (const c of r.clients) expect(c.numSamples).toBe(135);
    }
    expect(status.history.at(-1)!.federatedEval!.meanAccuracy).toBeGreaterThan(0.5);
  }, 60_000);
});

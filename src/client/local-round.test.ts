import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig, type FederationConfig } from '../shared/config.ts';
import { PROTOCOL_VERSION, type EvaluateMessage, type RoundMessage } from '../shared/protocol.ts';
import { createRng } from '../shared/prng.ts';
import { attackerSlots, stragglerPlan } from '../shared/run-plan.ts';
import { l2Norm, subtract } from '../shared/weights.ts';
import type { Colluders } from './attacks.ts';
import { UplinkEncoder } from '../shared/compression/uplink';
import { evaluateLocal, evaluationJob, jobFor, runLocalRound, LATE_REPLY_MS, type LocalRoundInput, type LocalRoundResult } from './local-round.ts';
import { buildModel, getFlatWeights, labelsToOneHot, layerSpecs, setFlatWeights } from '../shared/ml/models.ts';
import { initBackend } from '../../scripts/wasm-backend.ts';

const PIXELS = 28 * 28;
const N = 40;
const NUM_PARTITIONS = 4;
const RUN_ID = 'run-lr-test';
/** epochs 2, B 16, n 40: 3 steps an epoch (the last partial), 6 in all. */
const BASE = { model: '2nn', epochs: 2, batchSize: 16, lr: 0.05, seed: 11 } as const;
const FULL_STEPS = 2 * Math.ceil(N / 16);

/** Random images; labels 0..9 round robin (4 of each, so there are 7s to poison). */
const labels = Uint8Array.from({ length: N }, (_, i) => i % 10);
const pixels = (() => {
  const rng = createRng(3);
  return Float32Array.from({ length: N * PIXELS }, () => rng.next());
})();

let net: tf.LayersModel;
let w0: Float32Array;
let xs: tf.Tensor4D;
let ys: tf.Tensor2D;
/** The same samples with labels y → 9 − y and 7 → 1, for comparing an attacker with an honest client on poisoned data. */
let ysFlipped: tf.Tensor2D;
let ysTargeted: tf.Tensor2D;

beforeAll(async () => {
  await initBackend(); // wasm, as the Node runtime trains (on cpu this file took 13 s)
  net = buildModel('2nn');
  w0 = getFlatWeights(net);
  xs = tf.tensor4d(pixels, [N, 28, 28, 1]);
  ys = labelsToOneHot(labels);
  ysFlipped = labelsToOneHot(labels.map((y) => 9 - y));
  ysTargeted = labelsToOneHot(labels.map((y) => (y === 7 ? 1 : y)));
});

afterAll(() => {
  tf.dispose([xs, ys, ysFlipped, ysTargeted]);
  net.dispose();
});

function roundMsg(config: Partial<FederationConfig>, opts: { slot: number; round?: number; others?: number[]; control?: Float32Array }): RoundMessage {
  const assignments: Record<string, number> = { me: opts.slot };
  (opts.others ?? []).forEach((s, i) => (assignments[`other-${i}`] = s));
  return {
    v: PROTOCOL_VERSION,
    type: 'round',
    runId: RUN_ID,
    round: opts.round ?? 1,
    config: resolveConfig({ ...BASE, ...config }),
    assignments,
    numPartitions: NUM_PARTITIONS,
    deadline: Date.now() + 60_000,
    layers: layerSpecs(net),
    weights: w0.slice(),
    ...(opts.control ? { extras: { control: opts.control } } : {}),
    perClient: [],
    evaluate: null,
    auth: { macs: {} },
  };
}

/** The result with its delta as the Float32Array an uncompressed run sends (these tests are about training). */
type DenseResult = LocalRoundResult & { update: { delta: Float32Array } };

async function run(msg: RoundMessage, slot: number, extra: Partial<LocalRoundInput> = {}): Promise<DenseResult> {
  const r = await runLocalRound({
    msg,
    slot,
    clientId: 'me',
    secret: 's'.repeat(32),
    net,
    xs,
    ys,
    count: N,
    backend: 'cpu',
    colluders: null,
    uplink: new UplinkEncoder(),
    numTensors: () => tf.memory().numTensors,
    ...extra,
  });
  if (!(r.update.delta instanceof Float32Array)) throw new Error('expected a dense delta');
  return r as DenseResult;
}

/** Index of the first element whose bits differ (or the shorter length when lengths differ), −1 when identical. */
const firstDiff = (a: Float32Array, b: Float32Array) => {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) return i;
  return -1;
};
const maxAbsDiff = (a: Float32Array, b: Float32Array) => {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};
const scaled = (v: Float32Array, s: number) => v.map((x) => s * x);
const dot = (a: Float32Array, b: Float32Array) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
};
const cosine = (a: Float32Array, b: Float32Array) => dot(a, b) / (l2Norm(a) * l2Norm(b));

/** An attacker slot and an honest slot for an attack config (4 partitions, a quarter of them attackers). */
function slotsFor(config: Partial<FederationConfig>): { attacker: number; honest: number } {
  const cfg = resolveConfig({ ...BASE, ...config });
  const bad = attackerSlots(cfg, NUM_PARTITIONS);
  expect(bad.length).toBeGreaterThan(0);
  const good = [0, 1, 2, 3].filter((s) => !bad.includes(s));
  return { attacker: bad[0], honest: good[0] };
}

/** Memoised honest fedavg deltas per (slot, labels), for comparing attackers against. */
const honestCache = new Map<string, DenseResult>();
async function honest(slot: number, which: 'clean' | 'flipped' | 'targeted' = 'clean', others: number[] = []): Promise<DenseResult> {
  const key = `${slot}|${which}|${others.join(',')}`;
  if (!honestCache.has(key)) {
    const y = which === 'clean' ? ys : which === 'flipped' ? ysFlipped : ysTargeted;
    honestCache.set(key, await run(roundMsg({}, { slot, others }), slot, { ys: y }));
  }
  return honestCache.get(key)!;
}

describe('jobFor: what a broadcast asks of a client', () => {
  // 'me' trains slot 2 (others: slots 0, 1); the round also asks slots 2 and 3's holders to evaluate round 4's model.
  const round = () => ({ ...roundMsg({}, { slot: 2, round: 5, others: [0, 1] }), evaluate: { round: 4, slots: { me: 2, watcher: 3 } } });

  it('a client assigned a slot trains it; its evaluation comes after, from evaluationJob', () => {
    const msg = round();
    expect(jobFor(msg, 'me')).toEqual({ kind: 'fit', msg, slot: 2 });
    expect(evaluationJob(msg, 'me')).toEqual({ kind: 'eval', msg, slot: 2, round: 4 });
  });

  it('a client that only evaluates gets the evaluation of the round the weights came out of', () => {
    const msg = round();
    expect(jobFor(msg, 'watcher')).toEqual({ kind: 'eval', msg, slot: 3, round: 4 });
    expect(jobFor({ ...msg, evaluate: null }, 'watcher')).toBeNull();
    expect(jobFor(msg, 'stranger')).toBeNull();
  });

  it('an evaluate broadcast (after the last round) asks its evaluators only', () => {
    const { assignments: _a, extras: _e, perClient: _p, round: _r, ...rest } = round();
    const msg: EvaluateMessage = { ...rest, type: 'evaluate', evaluate: { round: 5, slots: { me: 2 } } };
    expect(jobFor(msg, 'me')).toEqual({ kind: 'eval', msg, slot: 2, round: 5 });
    expect(jobFor(msg, 'other-0')).toBeNull();
  });
});

describe('runLocalRound: honest fedavg', () => {
  it('delta = new weights − sent weights, steps = epochs·ceil(n/B), no extras, not an attacker', async () => {
    const msg = roundMsg({}, { slot: 2, round: 4 });
    const sent = msg.weights.slice();
    const seen: number[] = [];
    const r = await run(msg, 2, { onEpoch: (e) => seen.push(e) });
    const after = getFlatWeights(net);
    expect(firstDiff(msg.weights, sent)).toBe(-1); // the round message is not modified
    expect(firstDiff(r.update.delta, subtract(after, sent))).toBe(-1);
    expect(l2Norm(r.update.delta)).toBeGreaterThan(1e-3);
    expect(r.update.delta.every(Number.isFinite)).toBe(true);
    expect(r.update.steps).toBe(FULL_STEPS);
    expect(FULL_STEPS).toBe(6);
    expect('extras' in r.update).toBe(false);
    expect('initialLoss' in r.update).toBe(false);
    expect(r.attacker).toBe(false);
    expect(r.straggler).toBeNull();
    expect(r.sendAt).toBe(0);
    expect(seen).toEqual([0, 1]);

    const u = r.update;
    expect(u.v).toBe(PROTOCOL_VERSION);
    expect(u.type).toBe('update');
    expect(u.clientId).toBe('me');
    expect(u.runId).toBe(RUN_ID);
    expect(u.round).toBe(4);
    expect(u.numSamples).toBe(N);
    expect(u.layers).toEqual(msg.layers);
    expect(u.epochLosses).toHaveLength(2);
    expect(u.batchLosses).toHaveLength(3);
    expect(u.backend).toBe('cpu');
    expect(u.numTensors).toBe(tf.memory().numTensors);
  });

  it('starts from the sent weights, not whatever the model held: the same round twice gives the same delta', async () => {
    const a = await run(roundMsg({}, { slot: 1 }), 1);
    const b = await run(roundMsg({}, { slot: 1 }), 1); // net now holds a's trained weights
    expect(firstDiff(b.update.delta, a.update.delta)).toBe(-1);
    const c = await run(roundMsg({}, { slot: 1, round: 2 }), 1); // another round shuffles differently
    expect(maxAbsDiff(c.update.delta, a.update.delta)).toBeGreaterThan(1e-6);
  });

  it('leaks no tensors (net and data exist before)', async () => {
    await run(roundMsg({}, { slot: 0 }), 0); // warm up
    const before = tf.memory().numTensors;
    const r = await run(roundMsg({}, { slot: 0 }), 0);
    expect(tf.memory().numTensors).toBe(before);
    expect(r.update.numTensors).toBe(before);
  });
});

describe('runLocalRound: SCAFFOLD', () => {
  const lr = BASE.lr;
  const cd = (r: LocalRoundResult) => r.update.extras!.controlDelta;

  it('first round (no c, no c_k): controlDelta = −Δ/(τ·lr), and the delta is exactly fedavg’s', async () => {
    const r = await run(roundMsg({ algorithm: 'scaffold' }, { slot: 3 }), 3);
    const { delta, steps } = r.update;
    expect(steps).toBe(FULL_STEPS);
    expect(Object.keys(r.update.extras!)).toEqual(['controlDelta']);
    expect(cd(r)).toHaveLength(delta.length);
    for (const i of [0, 1, 1234, delta.length - 11, delta.length - 1]) expect(cd(r)[i]).toBeCloseTo(-delta[i] / (6 * 0.05), 5);
    let worst = 0;
    for (let i = 0; i < delta.length; i++) worst = Math.max(worst, Math.abs(cd(r)[i] + delta[i] / (steps * lr)));
    expect(worst).toBeLessThan(1e-5);
    expect(l2Norm(cd(r))).toBeGreaterThan(0);
    // With c = c_k = 0 the correction is zero.
    expect(firstDiff(delta, (await honest(3)).update.delta)).toBe(-1);
  });

  it('with c on the broadcast and c_k from the port: trains with c − c_k, controlDelta = −c − Δ/(τ·lr)', async () => {
    const rng = createRng(17);
    const c = Float32Array.from({ length: w0.length }, () => 0.02 * (rng.next() - 0.5));
    const ck = Float32Array.from({ length: w0.length }, () => 0.02 * (rng.next() - 0.5));
    const r = await run(roundMsg({ algorithm: 'scaffold' }, { slot: 3, round: 2, control: c }), 3, { perClient: { clientControl: ck } });
    const { delta, steps } = r.update;
    for (const i of [0, 7, 5000, delta.length - 1]) expect(cd(r)[i]).toBeCloseTo(-c[i] - delta[i] / (6 * 0.05), 4);
    let worst = 0;
    for (let i = 0; i < delta.length; i++) {
      const want = -c[i] - delta[i] / (steps * lr);
      worst = Math.max(worst, Math.abs(cd(r)[i] - want) / Math.max(1, Math.abs(want)));
    }
    expect(worst).toBeLessThan(1e-5);
    // c = c_k cancels: the same as plain fedavg.
    const same = await run(roundMsg({ algorithm: 'scaffold' }, { slot: 3, round: 2, control: ck }), 3, { perClient: { clientControl: ck } });
    expect(maxAbsDiff(same.update.delta, (await run(roundMsg({}, { slot: 3, round: 2 }), 3)).update.delta)).toBeLessThan(1e-7);
  });

  it('the correction c − c_k is added to every step: Δ_corrected − Δ_plain ≈ −τ·lr·(c − c_k)', async () => {
    const rng = createRng(23);
    const c = Float32Array.from({ length: w0.length }, () => 0.01 * (rng.next() - 0.5));
    const r = await run(roundMsg({ algorithm: 'scaffold' }, { slot: 1, control: c }), 1);
    const plain = await honest(1);
    const diff = subtract(r.update.delta, plain.update.delta);
    const want = scaled(c, -FULL_STEPS * BASE.lr);
    expect(cosine(diff, want)).toBeGreaterThan(0.95);
    expect(l2Norm(diff) / l2Norm(want)).toBeGreaterThan(0.95);
    expect(l2Norm(diff) / l2Norm(want)).toBeLessThan(1.05);
  });

  it('leaks no tensors with a correction', async () => {
    const c = new Float32Array(w0.length).fill(0.001);
    await run(roundMsg({ algorithm: 'scaffold' }, { slot: 0, control: c }), 0);
    const before = tf.memory().numTensors;
    await run(roundMsg({ algorithm: 'scaffold' }, { slot: 0, round: 2, control: c }), 0, { perClient: { clientControl: c } });
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('runLocalRound: q-FedAvg and federated evaluation', () => {
  it('q-FedAvg clients report their loss at w_t, before training (F_k)', async () => {
    const r = await run(roundMsg({ algorithm: 'qfedavg' }, { slot: 0 }), 0);
    setFlatWeights(net, w0);
    const want = tf.tidy(() => tf.losses.softmaxCrossEntropy(ys, net.predict(xs) as tf.Tensor).dataSync()[0]);
    expect(r.update.initialLoss).toBeCloseTo(want, 5);
    expect(r.update.initialLoss).toBeGreaterThan(1);
  });

  it('evaluateLocal scores the sent weights on the held-out split, whatever the model held', async () => {
    const images = new Uint8Array(4 * PIXELS).map((_, i) => (i * 7) % 256);
    const evLabels = Uint8Array.of(0, 1, 1, 3);
    const a = await evaluateLocal(net, w0, images, evLabels, 10);
    expect(a.numSamples).toBe(4);
    expect(a.classCounts).toEqual([1, 2, 0, 1, 0, 0, 0, 0, 0, 0]);
    expect(a.classCorrect.every((c, k) => c <= a.classCounts[k])).toBe(true);
    expect(a.loss).toBeGreaterThan(0);
    await run(roundMsg({}, { slot: 1 }), 1); // the model now holds trained weights
    expect(await evaluateLocal(net, w0, images, evLabels, 10)).toEqual(a);
    expect(await evaluateLocal(net, w0, new Uint8Array(0), new Uint8Array(0), 10)).toMatchObject({ numSamples: 0 });
  });
});

describe('runLocalRound: attackers', () => {
  it('sign-flip attacker sends −4 × the honest delta', async () => {
    const config = { attack: 'sign-flip', attackers: 0.25 } as const;
    const { attacker: slot } = slotsFor(config);
    expect(attackerSlots(resolveConfig({ ...BASE, ...config }), NUM_PARTITIONS)).toContain(slot);
    const ref = await honest(slot);
    const r = await run(roundMsg(config, { slot }), slot);
    expect(r.attacker).toBe(true);
    expect(maxAbsDiff(r.update.delta, scaled(ref.update.delta, -4))).toBeLessThan(1e-5);
    expect(l2Norm(r.update.delta) / l2Norm(ref.update.delta)).toBeCloseTo(4, 4);
    // Unforged: the losses are the honest training's.
    expect(r.update.epochLosses).toEqual(ref.update.epochLosses);
    expect(r.update.batchLosses).toEqual(ref.update.batchLosses);
    expect(r.update.steps).toBe(FULL_STEPS);
  });

  it('an explicit attackScale is used (sign-flip, c = 1)', async () => {
    const config = { attack: 'sign-flip', attackers: 0.25, attackScale: 1 } as const;
    const { attacker: slot } = slotsFor(config);
    const ref = await honest(slot);
    const r = await run(roundMsg(config, { slot }), slot);
    expect(maxAbsDiff(r.update.delta, scaled(ref.update.delta, -1))).toBeLessThan(1e-7);
  });

  it('sign-flip with forgeLosses: forged epochs (5% down each) and flat batches', async () => {
    const config = { attack: 'sign-flip', attackers: 0.25, forgeLosses: true } as const;
    const { attacker: slot } = slotsFor(config);
    const ref = await honest(slot);
    const r = await run(roundMsg(config, { slot }), slot);
    const first = ref.update.epochLosses[0];
    expect(r.update.epochLosses).toHaveLength(2);
    expect(r.update.epochLosses[0]).toBe(first);
    expect(r.update.epochLosses[1]).toBeCloseTo(first * 0.95, 10);
    expect(r.update.batchLosses).toHaveLength(3);
    for (const b of r.update.batchLosses) expect(b).toBe(r.update.epochLosses[1]);
    expect(r.update.batchLosses).not.toEqual(ref.update.batchLosses);
    expect(maxAbsDiff(r.update.delta, scaled(ref.update.delta, -4))).toBeLessThan(1e-5);
  });

  it('an honest slot in an attack run trains and reports honestly', async () => {
    const config = { attack: 'sign-flip', attackers: 0.25, forgeLosses: true } as const;
    const { honest: slot } = slotsFor(config);
    const ref = await honest(slot);
    const r = await run(roundMsg(config, { slot }), slot);
    expect(r.attacker).toBe(false);
    expect(firstDiff(r.update.delta, ref.update.delta)).toBe(-1);
    expect(r.update.epochLosses).toEqual(ref.update.epochLosses);
  });

  it('label-flip attacker trains on flipped labels: its delta is the honest delta on y → 9 − y', async () => {
    const config = { attack: 'label-flip', attackers: 0.25 } as const;
    const { attacker: slot } = slotsFor(config);
    const r = await run(roundMsg(config, { slot }), slot);
    expect(r.attacker).toBe(true);
    const clean = await honest(slot);
    expect(maxAbsDiff(r.update.delta, clean.update.delta)).toBeGreaterThan(1e-4);
    const flipped = await honest(slot, 'flipped');
    expect(maxAbsDiff(r.update.delta, flipped.update.delta)).toBeLessThan(1e-6);
    expect(r.update.epochLosses[0]).toBeCloseTo(flipped.update.epochLosses[0], 5);
  });

  it('scaling attacker trains on 7 → 1 and scales by the clients in the round (3)', async () => {
    const config = { attack: 'scaling', attackers: 0.25 } as const;
    const { attacker: slot, honest: other } = slotsFor(config);
    const others = [other, [0, 1, 2, 3].find((s) => s !== slot && s !== other)!];
    const r = await run(roundMsg(config, { slot, others }), slot);
    expect(r.attacker).toBe(true);
    const targeted = await honest(slot, 'targeted', others);
    expect(maxAbsDiff(r.update.delta, scaled(targeted.update.delta, 3))).toBeLessThan(1e-5);
    const clean = await honest(slot, 'clean', others);
    expect(maxAbsDiff(r.update.delta, scaled(clean.update.delta, 3))).toBeGreaterThan(1e-4);
  });

  it('gaussian attacker: noise of ≈ 10× its own norm, seeded per round', async () => {
    const config = { attack: 'gaussian', attackers: 0.25 } as const;
    const { attacker: slot } = slotsFor(config);
    const ref = await honest(slot);
    const r = await run(roundMsg(config, { slot }), slot);
    const again = await run(roundMsg(config, { slot }), slot);
    const ratio = l2Norm(r.update.delta) / l2Norm(ref.update.delta);
    expect(ratio).toBeGreaterThan(9.5);
    expect(ratio).toBeLessThan(10.5);
    expect(Math.abs(cosine(r.update.delta, ref.update.delta))).toBeLessThan(0.05);
    expect(firstDiff(again.update.delta, r.update.delta)).toBe(-1);
  });

  it('alie attacker sends mean − z·std of the colluders’ updates', async () => {
    const config = { attack: 'alie', attackers: 0.5 } as const;
    const cfg = resolveConfig({ ...BASE, ...config });
    const bad = attackerSlots(cfg, NUM_PARTITIONS);
    expect(bad).toHaveLength(2);
    const good = [0, 1, 2, 3].filter((s) => !bad.includes(s));
    const slot = bad[0];
    const calls: Array<{ key: string; slot: number; expected: number[]; timeoutMs: number }> = [];
    const colluders: Colluders = {
      async exchange(key, s, delta, expected, timeoutMs) {
        calls.push({ key, slot: s, expected: [...expected], timeoutMs });
        // The other colluder sent zeros: mean = Δ/2, std = |Δ|/2, so μ − σ = min(Δ, 0).
        return [delta, new Float32Array(delta.length)];
      },
      close() {},
    };
    // The other attacker sits this round out; an honest client is selected.
    const msg = roundMsg(config, { slot, round: 3, others: [good[0], good[1]] });
    const r = await run(msg, slot, { colluders });
    expect(r.attacker).toBe(true);
    expect(calls).toHaveLength(1);
    expect(calls[0].key).toBe(`${RUN_ID}|3`);
    expect(calls[0].slot).toBe(slot);
    expect(calls[0].expected).toEqual([slot]); // attackers ∩ selected: neither the idle attacker nor the honest clients
    expect(calls[0].timeoutMs).toBeGreaterThanOrEqual(1000);
    expect(calls[0].timeoutMs).toBeLessThanOrEqual(30_000);

    const ref = await run(roundMsg({}, { slot, round: 3 }), slot);
    const want = ref.update.delta.map((d) => Math.min(d, 0));
    expect(maxAbsDiff(r.update.delta, want)).toBeLessThan(1e-7);

    // Without a colluder channel an ALIE attacker has only itself: σ = 0, it sends its own update.
    const alone = await run(msg, slot, { colluders: null });
    expect(firstDiff(alone.update.delta, ref.update.delta)).toBe(-1);
  });

  it('leaks no tensors as a label-flip attacker (the relabelled labels are disposed)', async () => {
    const config = { attack: 'label-flip', attackers: 0.25 } as const;
    const { attacker: slot } = slotsFor(config);
    await run(roundMsg(config, { slot }), slot);
    const before = tf.memory().numTensors;
    const r = await run(roundMsg(config, { slot }), slot);
    expect(tf.memory().numTensors).toBe(before);
    expect(r.update.numTensors).toBe(before);
  });
});

describe('runLocalRound: stragglers', () => {
  it('partial straggler (stragglers: 1): 1 ≤ steps < full steps, as stragglerPlan says', async () => {
    const config = { stragglers: 1 } as const;
    const cfg = resolveConfig({ ...BASE, ...config });
    const seen = new Set<number>();
    for (const round of [1, 2, 3]) {
      const msg = roundMsg(config, { slot: 2, round, others: [0] });
      const r = await run(msg, 2);
      const plan = stragglerPlan(cfg, [2, 0], round, 2, FULL_STEPS);
      expect(plan?.mode).toBe('partial');
      expect(r.straggler).toEqual(plan);
      expect(r.update.steps).toBe(plan!.mode === 'partial' ? plan!.steps : -1);
      expect(r.update.steps).toBeGreaterThanOrEqual(1);
      expect(r.update.steps).toBeLessThan(FULL_STEPS);
      expect(r.update.epochLosses).toHaveLength(Math.ceil(r.update.steps / 3));
      expect(r.sendAt).toBe(0);
      expect(l2Norm(r.update.delta)).toBeGreaterThan(0);
      seen.add(r.update.steps);
    }
    expect(seen.size).toBeGreaterThan(1); // the step count is drawn per round
  });

  it('late straggler: trains fully, sendAt = deadline + LATE_REPLY_MS', async () => {
    expect(LATE_REPLY_MS).toBe(500);
    const msg = roundMsg({ stragglers: 1, stragglerMode: 'late' }, { slot: 1 });
    const r = await run(msg, 1);
    expect(r.straggler).toEqual({ mode: 'late' });
    expect(r.sendAt).toBe(msg.deadline + 500);
    expect(r.update.steps).toBe(FULL_STEPS);
    expect(firstDiff(r.update.delta, (await honest(1)).update.delta)).toBe(-1);
  });

  it('SCAFFOLD with a partial straggler divides by the steps actually taken', async () => {
    const msg = roundMsg({ algorithm: 'scaffold', stragglers: 1 }, { slot: 2 });
    const r = await run(msg, 2);
    const { delta, steps } = r.update;
    const controlDelta = r.update.extras!.controlDelta;
    expect(steps).toBeLessThan(FULL_STEPS);
    for (const i of [0, 99, delta.length - 1]) expect(controlDelta[i]).toBeCloseTo(-delta[i] / (steps * BASE.lr), 4);
  });

  it('leaks no tensors as a partial straggler', async () => {
    const msg = roundMsg({ stragglers: 1 }, { slot: 2 });
    const before = tf.memory().numTensors;
    await run(msg, 2);
    expect(tf.memory().numTensors).toBe(before);
  });
});

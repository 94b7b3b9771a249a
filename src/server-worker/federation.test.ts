import { afterEach, describe, expect, it } from 'vitest';
import { importKey, verifyBroadcast } from '../shared/broadcast-auth';
import { ConfigError } from '../shared/config';
import { perClassRecall } from '../shared/metrics';
import { createRng } from '../shared/prng';
import { mutate } from '../shared/test-fuzz';
import { PROTOCOL_VERSION, ProtocolError, type BroadcastMessage, type EvaluateMessage, type RoundMessage } from '../shared/protocol';
import { expectedSteps, sampleSlots, stragglerPlan } from '../shared/run-plan';
import type { LayerSpec } from '../shared/weights';
import { GONE_CONFIRM_MS, MAX_CLIENTS, MAX_REGISTRATIONS_PER_CONNECTION } from './client-registry';
import { Federation, RESUME_GRACE_MS, type ClientConnection, type PersistedRun, type RunStore, type Task } from './federation';

/** Fake clock with a timer queue: advance() fires due timers in time order; jump() moves time without firing any (a throttled worker). */
class FakeClock {
  t = 1_000_000;
  private timers = new Map<number, { at: number; fn: () => void }>();
  private nextId = 1;
  now = () => this.t;
  setTimer = (fn: () => void, ms: number) => {
    const id = this.nextId++;
    this.timers.set(id, { at: this.t + ms, fn });
    return id;
  };
  clearTimer = (handle: unknown) => void this.timers.delete(handle as number);
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      let due: [number, { at: number; fn: () => void }] | null = null;
      for (const e of this.timers) if (e[1].at <= end && (!due || e[1].at < due[1].at)) due = e;
      if (!due) break;
      this.timers.delete(due[0]);
      this.t = due[1].at;
      due[1].fn();
    }
    this.t = end;
  }
  jump(ms: number): void {
    this.t += ms;
  }
}

/** In-memory RunStore that clones like IndexedDB does and keeps every save. */
class MemoryStore implements RunStore {
  data: { run: PersistedRun; weights: Float32Array } | null = null;
  saves: Array<{ run: PersistedRun; weights: Float32Array }> = [];
  clears = 0;
  async save(run: PersistedRun, weights: Float32Array) {
    this.data = structuredClone({ run, weights });
    this.saves.push(structuredClone({ run, weights }));
  }
  async load() {
    return this.data && structuredClone(this.data);
  }
  async clear() {
    this.data = null;
    this.clears++;
  }
}

const LAYERS: LayerSpec[] = [{ name: 'w', shape: [4] }, { name: 'b', shape: [2] }];
/** Live federations: flush() waits for what they have in flight (WebCrypto signs on libuv's thread pool). */
let live: Federation[] = [];
const flush = async () => {
  for (const f of live) await f.flush();
};
const mean = (v: ArrayLike<number>) => Array.from(v).reduce((s, x) => s + x, 0) / v.length;
const Z6 = [0, 0, 0, 0, 0, 0];

interface Client {
  conn: ClientConnection;
  clientId: string;
  secret: string;
  lock: string;
}

function harness(store = new MemoryStore(), taskOverrides: Partial<Task> = {}) {
  const clock = new FakeClock();
  const sent: BroadcastMessage[] = [];
  const locks = new Map<string, () => void>();
  const evaluated: Float32Array[] = [];
  let disposed = 0;
  let hex = 0;
  const task: Task = {
    numClasses: 10,
    trainLabels: Uint8Array.from({ length: 400 }, (_, i) => i % 10), // 10 classes × 40
    layers: LAYERS,
    async evaluate(weights) {
      evaluated.push(weights.slice());
      clock.jump(250); // evaluation takes 250 ms
      return { accuracy: mean(weights), loss: 1 - mean(weights), recall: [mean(weights)], confusion: [], targetedAsr: 0, numTensors: 0, unimodalAccuracy: null };
    },
    attention: async () => null,
    // The mean weight as the probability of class 0: enough to tell which weights a prediction used.
    predict: async (weights) => [mean(weights), ...new Array<number>(9).fill((1 - mean(weights)) / 9)],
    rootUpdate: async (weights) => new Float32Array(weights.length).fill(0.01),
    validationLosses: async (list) => list.map(() => 1),
    distill: async (average) => ({ weights: average, steps: 0, bestStep: 0, validationLossBefore: 1, validationLoss: 1 }),
    dispose: () => void disposed++,
    ...taskOverrides,
  };
  const fed = new Federation({
    now: clock.now,
    setTimer: clock.setTimer,
    clearTimer: clock.clearTimer,
    broadcast: (m) => sent.push(structuredClone(m)),
    loadTask: async () => task,
    store,
    watchLock: (lock, fn) => locks.set(lock, fn),
    coordinatorBackend: () => 'cpu',
    randomHex: (bytes) => (++hex).toString(16).padStart(2 * bytes, '0'),
  });
  const clients = new Map<string, Client>();
  const rounds = () => sent.filter((m): m is RoundMessage => m.type === 'round');
  const last = () => rounds().at(-1)!;
  const id = (alias: string) => clients.get(alias)!.clientId;
  const alias = (clientId: string) => [...clients].find(([, c]) => c.clientId === clientId)?.[0] ?? clientId;
  /** alias → slot of a round's assignments. */
  const assigned = (r: RoundMessage = last()) => Object.fromEntries(Object.entries(r.assignments).map(([cid, s]) => [alias(cid), s]));
  const register = async (...aliases: string[]) => {
    for (const a of aliases) {
      const conn = fed.connect();
      const lock = `fedtab-client-${a.padEnd(8, '0')}`;
      const reply = await conn.register({ v: PROTOCOL_VERSION, type: 'register', kind: 'tab', backend: 'wasm', probe: [], userAgent: '', lock });
      clients.set(a, { conn, lock, ...reply });
    }
    await flush();
  };
  const row = (a: string) => fed.status().clients.find((c) => c.clientId === id(a))!;
  /** A valid update for the current round from `a`; `over` replaces any field. Samples and steps are what the coordinator expects. */
  const update = (a: string, delta: number[], over: Record<string, unknown> = {}) => {
    const r = last();
    const c = clients.get(a)!;
    const slot = r.assignments[c.clientId];
    const n = row(a).numSamples;
    const full = expectedSteps(r.config, n, null);
    const steps = slot === undefined ? full : expectedSteps(r.config, n, stragglerPlan(r.config, Object.values(r.assignments), r.round, slot, full));
    return {
      v: PROTOCOL_VERSION, type: 'update', clientId: c.clientId, secret: c.secret, runId: r.runId, round: r.round, numSamples: n, steps,
      layers: LAYERS, delta: new Float32Array(delta), epochLosses: [0.9, 0.5], batchLosses: [0.5], trainMs: 100,
      samplesPerSec: 1000, backend: 'wasm', numTensors: 7, ...over,
    };
  };
  const submit = (a: string, delta: number[], over: Record<string, unknown> = {}) => clients.get(a)!.conn.submitUpdate(update(a, delta, over));
  /** Every participant of the current round sends delta `d` (default all zeros). */
  const completeRound = async (d = Z6) => {
    for (const cid of Object.keys(last().assignments)) expect(submit(alias(cid), d)).toEqual({ accepted: true });
    await flush();
  };
  const evaluation = (a: string, round: number, correct: number, over: Record<string, unknown> = {}) => {
    const c = clients.get(a)!;
    const n = (fed as unknown as { run: { slotEval: number[] } }).run.slotEval[row(a).slot!];
    const classCounts = new Array(10).fill(0);
    const classCorrect = new Array(10).fill(0);
    classCounts[0] = n;
    classCorrect[0] = correct;
    return { v: PROTOCOL_VERSION, type: 'evaluation', clientId: c.clientId, secret: c.secret, runId: last().runId, round, numSamples: n, loss: 0.5, classCounts, classCorrect, ...over };
  };
  return {
    clock, sent, locks, evaluated, fed, store, clients, rounds, last, id, alias, assigned, register, row, update, submit, completeRound, evaluation,
    disposed: () => disposed,
    status: () => fed.status(),
  };
}

const make = (store?: MemoryStore, taskOverrides?: Partial<Task>) => {
  const h = harness(store, taskOverrides);
  live.push(h.fed);
  return h;
};
afterEach(() => {
  for (const f of live) f.dispose();
  live = [];
});

// localEval 0: the clients train on their whole partition, so the counts below are the partitioner's.
const CFG = { clients: 3, rounds: 5, roundDeadlineMs: 10_000, localEval: 0 };

describe('Federation: rounds', () => {
  it('waits for `clients` registrations, then broadcasts round 1 to 3 distinct slots with the initial weights, signed for each client', async () => {
    const h = make();
    await h.fed.start(CFG);
    expect(h.status().state).toBe('waiting');
    await h.register('a', 'b');
    expect(h.rounds()).toHaveLength(0);
    expect(h.status().message).toBe('waiting for clients: 2/3 registered');
    await h.register('c');
    expect(h.rounds()).toHaveLength(1);
    const r = h.last();
    expect(h.assigned()).toEqual({ a: 0, b: 1, c: 2 });
    expect(r).toMatchObject({ round: 1, numPartitions: 3, deadline: h.clock.t + 10_000, layers: LAYERS, evaluate: null, perClient: [] });
    expect(r.config).toMatchObject(CFG);
    // initWeights: rank-1 layers not named '*bias' start at 1
    expect(Array.from(r.weights)).toEqual([1, 1, 1, 1, 1, 1]);
    const s = h.status();
    expect(s).toMatchObject({ state: 'running', round: 1, numPartitions: 3, runId: r.runId, coordinatorBackend: 'cpu' });
    expect(['a', 'b', 'c'].map((a) => [h.row(a).slot, h.row(a).numSamples])).toEqual([[0, 107], [1, 107], [2, 106]]); // iid 400 − 80 held out
    expect(h.row('a').labelHistogram!.reduce((x, y) => x + y)).toBe(107);
    // Every client's MAC checks out with the key it gets over its own connection; nobody else's key works for it.
    for (const a of ['a', 'b', 'c']) {
      const c = h.clients.get(a)!;
      const { key } = await c.conn.runKey({ v: PROTOCOL_VERSION, type: 'key', clientId: c.clientId, secret: c.secret, runId: r.runId });
      expect(await verifyBroadcast(r, c.clientId, await importKey(key))).toBe('ok');
      expect(await verifyBroadcast(r, a === 'a' ? h.id('b') : h.id('a'), await importKey(key))).toBe('bad-signature');
    }
  });

  it('FedAvg weights by the coordinator’s own counts, and the round is recorded; its evaluation lands beside the next round', async () => {
    const h = make();
    await h.fed.start(CFG);
    await h.register('a', 'b', 'c');
    h.clock.advance(3000);
    expect(h.submit('a', [1, 0, 0, 0, 0, -1])).toEqual({ accepted: true });
    expect(h.submit('b', [0, 1, 0, 0, 2, 0])).toEqual({ accepted: true });
    expect(h.status().message).toBe('round 1: 2/3 updates');
    h.submit('c', [0, 0, 1, 0.5, -1, 0], { trainMs: 2400 });
    await h.fed.flush();
    await flush();
    // n = 107 + 107 + 106 = 320: w = 1 + (107Δa + 107Δb + 106Δc)/320
    const p = [107 / 320, 107 / 320, 106 / 320];
    const expected = [1 + p[0], 1 + p[1], 1 + p[2], 1 + 0.5 * p[2], 1 + 2 * p[1] - p[2], 1 - p[0]];
    const r2 = h.last();
    expect(r2.round).toBe(2);
    r2.weights.forEach((w, i) => expect(w).toBeCloseTo(expected[i], 6));
    // The round-1 model goes out with round 2 and is evaluated on the test set beside it.
    expect(h.evaluated).toHaveLength(1);
    expect(Array.from(h.evaluated[0])).toEqual(Array.from(r2.weights));
    const [rec] = h.status().history;
    expect(rec.round).toBe(1);
    expect(rec.accuracy).toBeCloseTo(mean(expected), 6);
    expect(rec.loss).toBeCloseTo(1 - mean(expected), 6);
    expect(rec.seconds).toBeCloseTo(3, 9); // training only: the evaluation is off the round's critical path
    expect(rec.evalMs).toBe(250);
    expect(rec.maxTrainMs).toBe(2400);
    expect(rec.overheadShare).toBeCloseTo(0.2, 9); // 1 − 2.4 s / 3 s
    expect(rec.skipped).toBeNull();
    expect(rec.participants).toEqual([h.id('a'), h.id('b'), h.id('c')]);
    expect(rec.dropped).toEqual([]);
    expect(rec.coordinatorTensors).toBe(0);
    const byAlias = Object.fromEntries(rec.clients.map((c) => [h.alias(c.clientId), c]));
    expect(byAlias.a).toMatchObject({ slot: 0, numSamples: 107, backend: 'wasm', trainLoss: 0.5, kind: 'tab', numTensors: 7, trainMs: 100 });
    expect(byAlias.a.weight).toBeCloseTo(p[0], 12);
    expect(byAlias.c.weight).toBeCloseTo(p[2], 12);
    expect(byAlias.a.updateNorm).toBeCloseTo(Math.SQRT2, 6);
    expect(h.row('c').lastWeight).toBeCloseTo(p[2], 12);
    expect(h.row('c').lastUpdateNorm).toBeCloseTo(1.5, 6);
    // The bytes each round cost: dense float32 here, so up = denseUp = 3 updates × 6 values × 4 B.
    expect([rec.bytesUp, rec.denseBytesUp, rec.bytesDown]).toEqual([72, 72, 72]);
    expect(byAlias.a).toMatchObject({ bytesUp: 24, bytesDown: 24 });
  });

  it('predict: the current global model on one drawn image; a bad image is refused', async () => {
    const h = make();
    expect(await h.fed.predict(new Uint8Array(784))).toBeNull(); // no run, no model
    await h.fed.start(CFG);
    const p = (await h.fed.predict(new Uint8Array(784)))!;
    expect(p.round).toBe(0);
    expect(p.probabilities[0]).toBeCloseTo(1, 6); // initial weights all 1 (this file's initWeights stub)
    await expect(h.fed.predict(new Uint8Array(100))).rejects.toThrow('784 pixels');
    await expect(h.fed.predict([1, 2, 3])).rejects.toThrow('Uint8Array');
  });

  it('deadline: a silent participant is dropped and the others aggregated; its update afterwards is late', async () => {
    const h = make();
    await h.fed.start(CFG);
    await h.register('a', 'b', 'c');
    h.submit('a', [1, 1, 1, 1, 1, 1]);
    h.submit('b', [3, 3, 3, 3, 3, 3]);
    const stale = h.update('c', [9, 9, 9, 9, 9, 9]);
    h.clock.advance(10_000);
    await flush();
    expect(h.rounds()).toHaveLength(1); // exactly at the deadline: still open
    h.clock.advance(1);
    await flush();
    expect(h.rounds()).toHaveLength(2);
    const [rec] = h.status().history;
    expect(rec.dropped).toEqual([{ clientId: h.id('c'), slot: 2, reason: 'deadline', role: 'honest', straggler: null }]);
    expect(rec.clients.map((c) => h.alias(c.clientId))).toEqual(['a', 'b']);
    // 1 + ½·1 + ½·3 = 3 (a and b hold 107 each)
    expect(Array.from(h.last().weights)).toEqual([3, 3, 3, 3, 3, 3]);
    expect(h.assigned()).toEqual({ a: 0, b: 1, c: 2 }); // c keeps its slot

    expect(h.clients.get('c')!.conn.submitUpdate(stale)).toMatchObject({ accepted: false, reason: 'late' });
    const { rejections } = h.status();
    expect(rejections.byReason).toEqual({ late: 1 });
    expect(rejections.recent[0]).toMatchObject({ clientId: h.id('c'), reason: 'late' });
    // a round-1 update from a participant that did reply in time is just for the wrong round
    expect(h.submit('a', Z6, { round: 1 })).toMatchObject({ reason: 'wrong-round' });
    expect(h.status().rejections.byReason).toEqual({ late: 1, 'wrong-round': 1 });
    // c is still a participant of round 2 and may take part in it
    expect(h.submit('c', Z6)).toEqual({ accepted: true });
  });

  it('an update past the deadline whose timer has not fired yet (throttled worker) is late and drops the client', async () => {
    const h = make();
    await h.fed.start(CFG);
    await h.register('a', 'b', 'c');
    h.submit('a', [1, 1, 1, 1, 1, 1]);
    h.submit('b', [1, 1, 1, 1, 1, 1]);
    h.clock.jump(10_500); // past the deadline timer (10 001 ms), which has not run
    expect(h.submit('c', [5, 5, 5, 5, 5, 5])).toMatchObject({ accepted: false, reason: 'late' });
    h.clock.advance(0);
    await flush();
    expect(h.status().history[0].dropped).toEqual([{ clientId: h.id('c'), slot: 2, reason: 'late', role: 'honest', straggler: null }]);
    expect(Array.from(h.last().weights)).toEqual([2, 2, 2, 2, 2, 2]); // c's delta was not used
  });

  it('disconnect: a participant that goes away ends its part at once, frees its slot for a newcomer', async () => {
    const h = make();
    await h.fed.start(CFG);
    await h.register('a', 'b', 'c');
    const t0 = h.clock.t;
    h.submit('a', [1, 1, 1, 1, 1, 1]);
    h.submit('b', [1, 1, 1, 1, 1, 1]);
    h.locks.get(h.clients.get('c')!.lock)!();
    h.clock.advance(GONE_CONFIRM_MS); // its lock is free and it said nothing since: gone
    await flush();
    expect(h.status().history[0].dropped).toEqual([{ clientId: h.id('c'), slot: 2, reason: 'disconnected', role: 'honest', straggler: null }]);
    expect(h.last()).toMatchObject({ round: 2, numPartitions: 3, deadline: t0 + GONE_CONFIRM_MS + 10_000 });
    expect(h.assigned()).toEqual({ a: 0, b: 1 });
    expect(h.status().clients.map((c) => h.alias(c.clientId))).toEqual(['a', 'b']);

    await h.register('d');
    expect([h.row('d').slot, h.row('d').numSamples]).toEqual([2, 106]);
    expect(h.submit('d', Z6)).toMatchObject({ accepted: false, reason: 'not-selected' });
    await h.completeRound();
    expect(h.assigned()).toEqual({ a: 0, b: 1, d: 2 });
  });

  it('rejects bad updates with their reasons, counts them, and still completes the round with the good ones', async () => {
    const h = make();
    await h.fed.start(CFG);
    await h.register('a', 'b', 'c');
    const bad: Array<[Record<string, unknown> | null, string]> = [
      [h.update('a', [0, 0, NaN, 0, 0, 0]), 'non-finite'],
      [h.update('a', [0, 0, 0, 0, 0]), 'shape-mismatch'],
      [h.update('a', Z6, { layers: [{ name: 'w', shape: [6] }] }), 'shape-mismatch'],
      [h.update('a', Z6, { round: 2 }), 'wrong-round'],
      [h.update('a', Z6, { clientId: 'tab-zed' }), 'unknown-client'],
      [h.update('a', Z6, { v: 99 }), 'bad-version'],
      [h.update('a', Z6, { numSamples: 1e9 }), 'wrong-sample-count'],
      [h.update('a', Z6, { steps: 1 }), 'wrong-step-count'],
      [h.update('a', Z6, { epochLosses: [Infinity] }), 'non-finite'],
      [h.update('a', Z6, { batchLosses: new Array(100_001).fill(0.5) }), 'too-large'],
      [null, 'malformed'],
    ];
    const conn = h.clients.get('a')!.conn;
    for (const [msg, reason] of bad) expect(conn.submitUpdate(msg), reason).toMatchObject({ accepted: false, reason });
    expect(h.submit('a', [2, 2, 2, 2, 2, 2])).toEqual({ accepted: true });
    expect(h.submit('a', [9, 9, 9, 9, 9, 9])).toMatchObject({ accepted: false, reason: 'duplicate' });
    await expect(h.fed.connect().register({ v: PROTOCOL_VERSION, type: 'register', kind: 'robot' })).rejects.toThrow(/malformed/);
    h.submit('b', [2, 2, 2, 2, 2, 2]);
    h.submit('c', [2, 2, 2, 2, 2, 2]);
    await flush();

    const { rejections, history } = h.status();
    expect(rejections.byReason).toEqual({
      'non-finite': 2, 'shape-mismatch': 2, 'wrong-round': 1, 'unknown-client': 1, 'bad-version': 1, malformed: 2, duplicate: 1,
      'wrong-sample-count': 1, 'wrong-step-count': 1, 'too-large': 1,
    });
    expect(rejections.total).toBe(13);
    expect(rejections.recent.find((r) => r.reason === 'wrong-sample-count')!.detail).toContain('claims 1000000000 samples; slot 0 holds 107');
    expect(history[0].clients.map((c) => h.alias(c.clientId))).toEqual(['a', 'b', 'c']);
    expect(Array.from(h.last().weights)).toEqual([3, 3, 3, 3, 3, 3]); // 1 + 2, none of the bad deltas
    expect(h.status().state).toBe('running');
  });

  it('fraction 0.5 with 4 clients: 2 participants per round, as sampleSlots draws them', async () => {
    const h = make();
    await h.fed.start({ ...CFG, clients: 4, fraction: 0.5, seed: 7 });
    await h.register('a', 'b', 'c', 'd');
    const aliases = ['a', 'b', 'c', 'd'];
    for (let round = 1; round <= 3; round++) {
      const r = h.last();
      expect(r.round).toBe(round);
      const slots = Object.values(r.assignments).sort();
      expect(slots).toEqual(sampleSlots([0, 1, 2, 3], 0.5, 7, round));
      for (const [a, slot] of Object.entries(h.assigned(r))) expect(a).toBe(aliases[slot]);
      const outsider = aliases.find((a) => !(a in h.assigned(r)))!;
      expect(h.submit(outsider, Z6)).toMatchObject({ reason: 'not-selected' });
      await h.completeRound();
      expect(h.status().history[round - 1].participants).toHaveLength(2);
    }
  });

  it('finishes after config.rounds rounds, once the last evaluation is in, and saves after every round', async () => {
    const h = make();
    await h.fed.start({ ...CFG, rounds: 3 });
    await h.register('a', 'b', 'c');
    for (let i = 0; i < 3; i++) await h.completeRound([0.5, 0, 0, 0, 0, 0]);
    await h.fed.flush();
    const s = h.status();
    expect(s.state).toBe('done');
    expect(s.round).toBe(3);
    expect(s.history.map((r) => r.round)).toEqual([1, 2, 3]);
    expect(h.rounds()).toHaveLength(3);
    const final = h.store.saves.at(-1)!;
    expect([final.run.round, final.run.state, final.run.history.length]).toEqual([3, 'done', 3]);
    expect(h.store.saves.every((x, i) => i === 0 || x.run.history.length >= h.store.saves[i - 1].run.history.length)).toBe(true);
    expect(h.store.data!.weights[0]).toBeCloseTo(2.5, 6); // 1 + 3 rounds × 0.5
    expect(s.history[2].accuracy).toBeCloseTo(7.5 / 6, 6); // mean of [2.5, 1, 1, 1, 1, 1]
  });

  it('evalEvery 2: only every second round and the last are evaluated on the test set', async () => {
    const h = make();
    await h.fed.start({ ...CFG, rounds: 3, evalEvery: 2 });
    await h.register('a', 'b', 'c');
    for (let i = 0; i < 3; i++) await h.completeRound();
    await h.fed.flush();
    expect(h.status().history.map((r) => r.accuracy !== null)).toEqual([false, true, true]);
    expect(h.evaluated).toHaveLength(2);
  });

  it('status().attention: the task\'s attention of the latest evaluated model, taken after its evaluation; null without', async () => {
    const asked: number[] = [];
    const image = { testIndex: 0, label: 7, pixels: [], predicted: 7, probability: 0.9, gates: [{ layer: 'sa1', shape: [1, 1], values: [1] }] };
    const h = make(undefined, { attention: async (w) => (asked.push(w[0]), [image]) });
    await h.fed.start({ ...CFG, rounds: 3, evalEvery: 2 });
    await h.register('a', 'b', 'c');
    expect(h.status().attention).toBeNull();
    for (let i = 0; i < 2; i++) await h.completeRound([0.5, 0, 0, 0, 0, 0]);
    await h.fed.flush();
    expect(h.status().attention).toEqual({ round: 2, images: [image] });
    await h.completeRound([0.5, 0, 0, 0, 0, 0]);
    await h.fed.flush();
    expect(h.status().attention!.round).toBe(3);
    expect(asked).toEqual([2, 2.5]); // the weights of rounds 2 and 3 (round 1 is not evaluated)
    expect(h.evaluated).toHaveLength(2);
    const plain = make();
    await plain.fed.start({ ...CFG, rounds: 1 });
    await plain.register('a', 'b', 'c');
    await plain.completeRound();
    await plain.fed.flush();
    expect(plain.status()).toMatchObject({ state: 'done', attention: null });
  });

  it('an evaluated round carries the imbalance metrics; head and tail come from the run\'s global training counts', async () => {
    // Training labels per class 100, 80, 60, 40, 30, 25, 20, 15, 12, 18 (400); the server holds out 4 + 4 of each class.
    const counts = [100, 80, 60, 40, 30, 25, 20, 15, 12, 18];
    const trainLabels = Uint8Array.from(counts.flatMap((n, c) => new Array<number>(n).fill(c)));
    // 10 test images per class, all right except class 7 (5 of them taken for 1) and class 8 (all taken for 0).
    const confusion = Array.from({ length: 10 }, (_, c) => Int32Array.from({ length: 10 }, (_, j) => (j === c ? 10 : 0)));
    confusion[7][7] = 5;
    confusion[7][1] = 5;
    confusion[8][8] = 0;
    confusion[8][0] = 10;
    const h = make(undefined, {
      trainLabels,
      evaluate: async () => ({ accuracy: 0.85, loss: 0.5, recall: perClassRecall(confusion), confusion, targetedAsr: 0, numTensors: 0, unimodalAccuracy: null }),
    });
    await h.fed.start({ ...CFG, rounds: 2, evalEvery: 2 });
    await h.register('a', 'b', 'c');
    for (let i = 0; i < 2; i++) await h.completeRound();
    await h.fed.flush();
    const s = h.status();
    // IID over 3 clients uses the whole pool: each class less its 8 held-out images.
    expect(s.trainClassCounts).toEqual([92, 72, 52, 32, 22, 17, 12, 7, 4, 10]);
    expect(['a', 'b', 'c'].map((a) => h.row(a).labelHistogram!).reduce((x, y) => x.map((n, c) => n + y[c]))).toEqual(s.trainClassCounts);
    // Round 1 is not evaluated (evalEvery 2): every metric is null.
    const [r1, r2] = s.history;
    expect(r1).toMatchObject({ accuracy: null, balancedAccuracy: null, macroF1: null, headRecall: null, midRecall: null, tailRecall: null, worstClassRecall: null });
    // Recall 1 for all but class 7 (0.5) and class 8 (0): balanced accuracy 8.5 / 10.
    // Head {0, 1, 2} recall 1, mid {3, 4, 5, 6} recall 1, tail {7, 8, 9} (7, 4 and 10 training images): (0.5 + 0 + 1) / 3.
    // F1 = 2·TP/(predicted + true): class 0 20/30, class 1 20/25, class 7 10/15, class 8 0, the other six 1:
    // (2/3 + 4/5 + 2/3 + 6) / 10 = (122/15) / 10.
    expect(r2.balancedAccuracy).toBeCloseTo(0.85, 12);
    expect(r2.macroF1).toBeCloseTo(122 / 150, 12);
    expect(r2.headRecall).toBe(1);
    expect(r2.midRecall).toBe(1);
    expect(r2.tailRecall).toBeCloseTo(0.5, 12);
    expect(r2.worstClassRecall).toBe(0);
    expect(r2.recall).toEqual([1, 1, 1, 1, 1, 1, 1, 0.5, 0, 1]);
    // What the store keeps (and a restored run shows) carries them too.
    expect(h.store.data!.run.history[1]).toMatchObject({ tailRecall: r2.tailRecall, macroF1: r2.macroF1 });
  });

  it('pause during a round takes effect after it; start() without a config resumes at the next round', async () => {
    const h = make();
    await expect(h.fed.start()).rejects.toThrow(ConfigError);
    await h.fed.start(CFG);
    await h.register('a', 'b', 'c');
    h.fed.pause();
    expect(h.status()).toMatchObject({ state: 'running', message: 'pausing after round 1' });
    await h.completeRound([1, 0, 0, 0, 0, 0]);
    await h.fed.flush();
    expect(h.status()).toMatchObject({ state: 'paused', round: 1 });
    expect(h.rounds()).toHaveLength(1);
    expect(h.store.data!.run.state).toBe('paused');

    await h.fed.start();
    await flush();
    expect(h.status().state).toBe('running');
    expect(h.last().round).toBe(2);
    expect(h.assigned()).toEqual({ a: 0, b: 1, c: 2 });
    expect(h.last().weights[0]).toBe(2);
    await h.completeRound();
    expect(h.status().history).toHaveLength(2);
  });

  describe('persistence', () => {
    async function twoRounds() {
      const h1 = make();
      await h1.fed.start(CFG);
      await h1.register('a', 'b', 'c');
      await h1.completeRound([1, 0, 0, 0, 0, 0]);
      await h1.completeRound([0, 1, 0, 0, 0, 0]);
      await h1.fed.flush();
      expect(h1.store.data!.run).toMatchObject({ round: 2, state: 'running' });
      // status() says how much of the history is stored: what a dashboard may safely close on.
      expect(h1.status().savedRounds).toBe(h1.store.data!.run.history.length);
      h1.fed.dispose(); // the SharedWorker went away
      await flush();
      return h1;
    }

    it('a new coordinator over the same store resumes at round 3 with the stored history and weights', async () => {
      const h1 = await twoRounds();
      const h2 = make(h1.store);
      await h2.fed.restore();
      expect(h2.status()).toMatchObject({ state: 'waiting', round: 2, numPartitions: 3 });
      expect(h2.status().runId).toBe(h1.last().runId);
      expect(h2.status().history).toHaveLength(2);
      expect(h2.status().savedRounds).toBe(2); // restored from the store, so stored
      await h2.register('c', 'a', 'b');
      const r = h2.last();
      expect(r).toMatchObject({ round: 3, runId: h1.last().runId, numPartitions: 3 });
      expect(h2.assigned()).toEqual({ c: 0, a: 1, b: 2 });
      expect(Array.from(r.weights)).toEqual([2, 2, 1, 1, 1, 1]);
      await h2.completeRound();
      expect(h2.status().history.map((x) => x.round)).toEqual([1, 2, 3]);
    });

    it(`with fewer clients than partitions it waits RESUME_GRACE_MS (${RESUME_GRACE_MS} ms), then goes on`, async () => {
      const h1 = await twoRounds();
      const h2 = make(h1.store);
      await h2.fed.restore();
      await h2.register('a', 'b');
      h2.clock.advance(RESUME_GRACE_MS - 1);
      await flush();
      expect(h2.rounds()).toHaveLength(0);
      expect(h2.status().state).toBe('waiting');
      h2.clock.advance(1);
      await flush();
      expect(h2.last()).toMatchObject({ round: 3, numPartitions: 3 });
      expect(h2.assigned()).toEqual({ a: 0, b: 1 });
      expect(h2.status().state).toBe('running');
    });

    // A store another version of fedtab wrote, or another page of the origin (IndexedDB is the origin's): a run that
    // cannot be resumed as it is, is not. The coordinator says why and stays usable; the next start replaces it.
    it.each([
      ['weights of another model size', (d: { run: PersistedRun; weights: Float32Array }) => ({ ...d, weights: new Float32Array(5) }), 'its model has 5 values, cnn-s has 6'],
      ['non-finite weights', (d: { run: PersistedRun; weights: Float32Array }) => ({ ...d, weights: new Float32Array(6).fill(NaN) }), 'non-finite: weights[0] is NaN'],
      ['a history that is not a list', (d: { run: PersistedRun; weights: Float32Array }) => ({ ...d, run: { ...d.run, history: 5 } }), 'history: Invalid type: Expected Array but received 5'],
      ['a round record without its round', (d: { run: PersistedRun; weights: Float32Array }) => ({ ...d, run: { ...d.run, history: [{}] } }), 'history.0.round: Invalid key'],
      ['an unknown state', (d: { run: PersistedRun; weights: Float32Array }) => ({ ...d, run: { ...d.run, state: 'exploded' } }), 'but received "exploded"'],
      ['a negative round', (d: { run: PersistedRun; weights: Float32Array }) => ({ ...d, run: { ...d.run, round: -1 } }), 'round: Invalid value: Expected >=0 but received -1'],
      ['partitions that are not a count', (d: { run: PersistedRun; weights: Float32Array }) => ({ ...d, run: { ...d.run, numPartitions: 1e9 } }), 'numPartitions: Invalid value: Expected <=10000 but received 1000000000'],
      ['no run at all', (d: { run: PersistedRun; weights: Float32Array }) => ({ ...d, run: null }), 'the run: Invalid type: Expected Object but received null'],
    ])('a stored run with %s is not restored: the coordinator says why, and a new run starts', async (_what, spoil, why) => {
      const h1 = await twoRounds();
      const store = new MemoryStore();
      store.data = spoil(h1.store.data!) as { run: PersistedRun; weights: Float32Array };
      const h2 = make(store);
      await h2.fed.restore();
      expect(h2.status()).toMatchObject({ state: 'idle', runId: null });
      expect(h2.status().message).toMatch(/^the run saved in this browser could not be resumed \(.+\); Start begins a new one$/);
      expect(h2.status().message).toContain(why);
      await h2.fed.start({ ...CFG, rounds: 1 });
      await h2.register('a', 'b', 'c');
      await h2.completeRound();
      expect(h2.status()).toMatchObject({ state: 'done', round: 1 });
    });

    it('a paused run stored with weights of another model size restores as paused, and resuming it fails with why', async () => {
      const h1 = await twoRounds();
      const store = new MemoryStore();
      store.data = { run: { ...h1.store.data!.run, state: 'paused' }, weights: new Float32Array(5) };
      const h2 = make(store);
      await h2.fed.restore();
      expect(h2.status().state).toBe('paused');
      await h2.fed.start();
      expect(h2.status()).toMatchObject({ state: 'error', message: 'the run cannot go on: its model has 5 values, cnn-s has 6. Reset, then Start a new run' });
      expect(h2.rounds()).toHaveLength(0);
    });

    it('a finished run restores as done', async () => {
      const h1 = make();
      await h1.fed.start({ ...CFG, rounds: 1 });
      await h1.register('a', 'b', 'c');
      await h1.completeRound();
      await h1.fed.flush();
      const h2 = make(h1.store);
      await h2.fed.restore();
      await h2.register('a', 'b', 'c');
      expect(h2.status()).toMatchObject({ state: 'done', round: 1 });
      expect(h2.rounds()).toHaveLength(0);
    });
  });

  it('reset clears history, store and rejections and broadcasts a signed stop', async () => {
    const h = make();
    await h.fed.start(CFG);
    await h.register('a', 'b', 'c');
    await h.completeRound();
    h.submit('a', Z6, { clientId: 'tab-zed' });
    const runId = h.last().runId;
    expect(h.status().rejections.total).toBe(1);
    await h.fed.flush();
    expect(h.store.data).not.toBeNull();

    await h.fed.reset();
    const s = h.status();
    expect(s).toMatchObject({ state: 'idle', runId: null, round: 0, history: [], rejections: { total: 0, byReason: {}, recent: [] } });
    expect(s.clients.map((c) => c.slot)).toEqual([null, null, null]);
    expect(await h.store.load()).toBeNull();
    const stop = h.sent.at(-1)!;
    expect(stop).toMatchObject({ v: PROTOCOL_VERSION, type: 'stop', runId });
    expect(Object.keys(stop.auth.macs).sort()).toEqual([h.id('a'), h.id('b'), h.id('c')].sort());
    // the old round's timer is gone: nothing happens at its deadline
    h.clock.advance(20_000);
    await flush();
    expect(h.rounds()).toHaveLength(2);
  });

  it('a run that waits for more clients than the coordinator keeps is refused at start, with the limit', async () => {
    const h = make();
    await expect(h.fed.start({ ...CFG, clients: MAX_CLIENTS + 1 })).rejects.toThrow(`keeps at most ${MAX_CLIENTS} clients`);
    expect(h.status().state).toBe('idle');
  });

  it('start while a run is active, or with a bad config, throws a ConfigError', async () => {
    const h = make();
    await expect(h.fed.start({ rounds: 0 })).rejects.toThrow(/invalid rounds 0/);
    await expect(h.fed.start({ dataset: 'cifar' })).rejects.toBeInstanceOf(ConfigError);
    await expect(h.fed.start({ constructor: 1 })).rejects.toThrow(/unknown config key "constructor"/);
    expect(h.status().state).toBe('idle');
    await h.fed.start(CFG);
    await expect(h.fed.start(CFG)).rejects.toThrow(/already waiting/);
    await h.register('a', 'b', 'c');
    const err = await h.fed.start(CFG).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(/already running/);
    expect(h.rounds()).toHaveLength(1);
  });
});

describe('Federation: identities', () => {
  it('a connection can act only for the client it registered: another client’s id is wrong-connection, a wrong secret bad-secret', async () => {
    const h = make();
    await h.fed.start(CFG);
    await h.register('a', 'b', 'c');
    const rogue = h.fed.connect();
    // The rogue knows a's id (it is public in status()) and forges its update first.
    expect(rogue.submitUpdate(h.update('a', [100, 100, 100, 100, 100, 100]))).toMatchObject({ accepted: false, reason: 'wrong-connection' });
    expect(h.clients.get('b')!.conn.submitUpdate(h.update('a', [100, 100, 100, 100, 100, 100]))).toMatchObject({ reason: 'wrong-connection' });
    expect(h.submit('a', Z6, { secret: 'f'.repeat(32) })).toMatchObject({ accepted: false, reason: 'bad-secret' });
    // The honest update is not a duplicate.
    expect(h.submit('a', [1, 1, 1, 1, 1, 1])).toEqual({ accepted: true });
    expect(() => rogue.heartbeat({ v: PROTOCOL_VERSION, type: 'heartbeat', clientId: h.id('a'), secret: h.clients.get('a')!.secret, state: 'error', error: 'pwned' })).toThrow(/wrong-connection/);
    expect(h.row('a')).toMatchObject({ state: 'idle', error: null, kind: 'tab' });
    await expect(rogue.runKey({ v: PROTOCOL_VERSION, type: 'key', clientId: h.id('a'), secret: h.clients.get('a')!.secret, runId: h.last().runId })).rejects.toThrow(/wrong-connection/);
    expect(h.status().rejections.byReason).toEqual({ 'wrong-connection': 4, 'bad-secret': 1 });
  });

  it('a client without a slot is told why it waits, never a bare "waiting"', async () => {
    const h = make();
    await h.register('a');
    const beat = (alias: string) => {
      const c = h.clients.get(alias)!;
      return c.conn.heartbeat({ v: PROTOCOL_VERSION, type: 'heartbeat', clientId: c.clientId, secret: c.secret });
    };
    expect(beat('a').waiting).toBe('no run yet: waiting for the dashboard to start one');
    await h.fed.start(CFG);
    expect(beat('a').waiting).toBe('the run starts once 3 clients have joined (1 so far); you are one of them');
    await h.register('b', 'c');
    expect(beat('a')).toEqual({ registered: true }); // it holds a slot now: nothing to explain
    await h.register('d');
    expect(beat('d').waiting).toBe('all 3 slots of this run are taken; you get one if a client leaves, or in the next run');
  });

  it('a stolen life lock does not remove a client that keeps talking; it is watched again, and goes once it is silent', async () => {
    const h = make();
    await h.fed.start(CFG);
    await h.register('a', 'b', 'c');
    const a = h.clients.get('a')!;
    const beat = () => a.conn.heartbeat({ v: PROTOCOL_VERSION, type: 'heartbeat', clientId: a.clientId, secret: a.secret });
    // A rogue page steals a's lock (navigator.locks lists the names) and lets it go: the coordinator's watch fires.
    h.locks.get(a.lock)!();
    h.locks.delete(a.lock);
    h.clock.advance(2000);
    beat(); // a is still there
    h.clock.advance(GONE_CONFIRM_MS);
    await flush();
    expect(h.status().clients.map((c) => h.alias(c.clientId))).toEqual(['a', 'b', 'c']);
    expect(h.submit('a', Z6)).toEqual({ accepted: true });
    // Watched again: when a really goes (lock free, then silence), it is removed, and its connection may come back.
    expect(h.locks.has(a.lock)).toBe(true);
    h.locks.get(a.lock)!();
    h.clock.advance(GONE_CONFIRM_MS);
    await flush();
    expect(h.status().clients.map((c) => h.alias(c.clientId))).toEqual(['b', 'c']);
    expect(beat()).toEqual({ registered: false });
  });

  it('registrations: one live client per connection, a few re-registrations, a global cap; refusals are counted', async () => {
    const h = make();
    const conn = h.fed.connect();
    const msg = (i: number) => ({ v: PROTOCOL_VERSION, type: 'register', kind: 'tab', backend: 'pending', probe: [], userAgent: '', lock: `fedtab-client-x${String(i).padStart(8, '0')}` });
    const first = await conn.register(msg(0));
    expect(first.clientId).toMatch(/^tab-[0-9a-f]{8}$/);
    expect(first.secret).toMatch(/^[0-9a-f]{32}$/);
    await expect(conn.register(msg(1))).rejects.toThrow(/registration-refused: this connection already has client/);
    // Evicted clients may come back on the same connection, up to the cap.
    for (let i = 1; i < MAX_REGISTRATIONS_PER_CONNECTION; i++) {
      h.fed.registry.remove(conn.connection.clientId!, 'heartbeat timeout');
      await conn.register(msg(i + 1));
    }
    h.fed.registry.remove(conn.connection.clientId!, 'heartbeat timeout');
    await expect(conn.register(msg(99))).rejects.toThrow(/registered 4 times already/);
    for (let i = h.status().clients.length; i < MAX_CLIENTS; i++) await h.fed.connect().register(msg(100 + i));
    await expect(h.fed.connect().register(msg(9999))).rejects.toThrow(new RegExp(`has ${MAX_CLIENTS} clients \\(max ${MAX_CLIENTS}\\)`));
    expect(h.status().registrationsRefused).toBe(3);
    expect(h.status().rejections.byReason['registration-refused']).toBe(3);
  });

  it('a heartbeat with one bad field keeps the client alive; an evicted client is told to register again and can', async () => {
    const h = make();
    await h.register('a');
    const a = h.clients.get('a')!;
    const beat = (over: Record<string, unknown>) => a.conn.heartbeat({ v: PROTOCOL_VERSION, type: 'heartbeat', clientId: a.clientId, secret: a.secret, ...over });
    h.clock.jump(60_000);
    expect(beat({ state: 'training', localLoss: NaN, samplesPerSec: 12 })).toMatchObject({ registered: true });
    expect(h.row('a')).toMatchObject({ state: 'training', samplesPerSec: 12, lastSeen: h.clock.t });
    expect(h.status().rejections.recent[0]).toMatchObject({ reason: 'bad-field', detail: 'heartbeat fields ignored: localLoss' });
    h.clock.advance(69_000);
    expect(h.status().clients).toHaveLength(1); // still alive: the NaN beat counted
    h.clock.advance(3_000);
    expect(h.status().clients).toHaveLength(0); // evicted after 70 s of silence
    expect(beat({})).toEqual({ registered: false });
    const again = await a.conn.register({ v: PROTOCOL_VERSION, type: 'register', kind: 'tab', backend: 'wasm', probe: [], userAgent: '', lock: a.lock });
    expect(again.clientId).not.toBe(a.clientId);
    expect(h.status().clients.map((c) => c.clientId)).toEqual([again.clientId]);
  });
});

describe('Federation: strategies', () => {
  it('aggregates with the strategy the config names: coordinate-wise median', async () => {
    const h = make();
    await h.fed.start({ ...CFG, algorithm: 'median' });
    await h.register('a', 'b', 'c');
    h.submit('a', [1, 0, 0, 0, 0, 0]);
    h.submit('b', [2, 5, 0, 0, 0, 0]);
    h.submit('c', [100, -5, 0, 0, 0, 0]);
    await flush();
    expect(Array.from(h.last().weights)).toEqual([3, 1, 1, 1, 1, 1]);
  });

  it('fed-adaptive-next: a sign-flipped update is gated out, flagged and gets weight 0; ρ is recorded', async () => {
    const h = make();
    await h.fed.start({ ...CFG, algorithm: 'fed-adaptive-next', attack: 'sign-flip', attackers: 0.34 });
    expect(h.status().attackerSlots).toEqual([]); // not known before the partitions are
    await h.register('a', 'b', 'c');
    const [attackerSlot] = h.status().attackerSlots;
    const bad = Object.entries(h.assigned()).find(([, s]) => s === attackerSlot)![0];
    for (const a of ['a', 'b', 'c']) h.submit(a, a === bad ? [-4, -4, -4, -4, -4, -4] : [1, 1.1, 0.9, 1, 1, 1]);
    await flush();
    const rec = h.status().history[0];
    const badRec = rec.clients.find((c) => c.clientId === h.id(bad))!;
    expect(badRec).toMatchObject({ role: 'attacker', weight: 0 });
    expect(badRec.flagged).toMatch(/gated out/);
    expect(rec.flagged.map((f) => f.clientId)).toEqual([h.id(bad)]);
    for (const c of rec.clients) expect(c.reliability).toBeGreaterThan(0);
    expect(h.row(bad).reliability).toBe(badRec.reliability);
  });

  it('a partial straggler is dropped under fedavg and aggregated under fedprox (a strategy property)', async () => {
    for (const algorithm of ['fedavg', 'fedprox'] as const) {
      const h = make();
      await h.fed.start({ ...CFG, algorithm, stragglers: 0.34 });
      await h.register('a', 'b', 'c');
      await h.completeRound([1, 1, 1, 1, 1, 1]);
      const rec = h.status().history[0];
      if (algorithm === 'fedavg') {
        expect(rec.clients).toHaveLength(2);
        expect(rec.dropped).toEqual([expect.objectContaining({ straggler: 'partial', reason: 'straggler: partial work (fedavg drops it)' })]);
      } else {
        expect(rec.clients).toHaveLength(3);
        expect(rec.clients.filter((c) => c.straggler === 'partial')).toHaveLength(1);
        expect(rec.dropped).toEqual([]);
      }
    }
  });

  it('streaming: FedAvg sums each update on arrival and keeps no delta; any arrival order gives the same bits, for a rule that holds them too', async () => {
    const deltas: Record<string, number[]> = {
      a: [0.1, 1e-8, 3.3, -7.77, 1 / 3, 2e-7],
      b: [0.7, -1e-9, 1 / 7, 5.5, -0.3, 1e-6],
      c: [-0.2, 3e-8, 2.2, 1 / 9, 0.45, -4e-7],
      d: [1e-3, 0.9, -1 / 11, 0.05, 7.1, 3e-9],
      e: [0.33, -0.66, 1e-5, 2 / 3, -1e-8, 0.123],
    };
    const roundTwo = async (algorithm: string, order: string[]) => {
      const h = make();
      await h.fed.start({ ...CFG, clients: 5, algorithm });
      await h.register('a', 'b', 'c', 'd', 'e');
      const held: number[] = [];
      for (const a of order) {
        expect(h.submit(a, deltas[a])).toEqual({ accepted: true });
        const cur = (h.fed as unknown as { current: { received: Map<string, { delta: Float32Array }> } | null }).current;
        if (cur) held.push(...[...cur.received.values()].map((u) => u.delta.length));
      }
      await flush();
      const rec = h.status().history[0];
      return { weights: Array.from(h.last().weights), held, slots: rec.clients.map((c) => c.slot), norms: Object.fromEntries(rec.clients.map((c) => [h.alias(c.clientId), c.updateNorm])) };
    };
    const inOrder = await roundTwo('fedavg', ['a', 'b', 'c', 'd', 'e']);
    const reversed = await roundTwo('fedavg', ['e', 'd', 'c', 'b', 'a']);
    expect(reversed.weights).toEqual(inOrder.weights);
    expect(inOrder.held.every((n) => n === 0)).toBe(true); // streamed: no accepted update keeps its delta
    expect(inOrder.norms.a).toBeCloseTo(Math.hypot(...deltas.a), 6); // the record's norm is taken on arrival
    // A rule that holds every update sorts them by slot before it aggregates: the same bits whatever the order.
    const held = await roundTwo('fedatt', ['a', 'b', 'c', 'd', 'e']);
    const shuffled = await roundTwo('fedatt', ['c', 'e', 'a', 'd', 'b']);
    expect(shuffled.weights).toEqual(held.weights);
    expect(shuffled.slots).toEqual([0, 1, 2, 3, 4]); // what the rule saw, in the order it saw it
    expect(held.held.some((n) => n === 6)).toBe(true);
  });

  it('scaffold: c on the broadcast, c_k over each client’s own connection, controlDelta required with every update', async () => {
    const h = make();
    await h.fed.start({ ...CFG, algorithm: 'scaffold' });
    await h.register('a', 'b', 'c');
    expect(h.last().extras).toBeUndefined(); // c = 0 before the first aggregation
    expect(h.last().perClient).toEqual([]);
    expect(h.submit('a', [1, 1, 1, 1, 1, 1])).toMatchObject({ accepted: false, reason: 'malformed', detail: expect.stringContaining('missing controlDelta') });
    expect(h.submit('a', Z6, { extras: { controlDelta: new Float32Array(5) } })).toMatchObject({ reason: 'shape-mismatch' });
    expect(h.submit('a', Z6, { extras: { controlDelta: new Float32Array(6), other: new Float32Array(6) } })).toMatchObject({ reason: 'malformed' });
    const cds = { a: 3, b: 6, c: 9 };
    for (const [a, x] of Object.entries(cds)) expect(h.submit(a, [1, 1, 1, 1, 1, 1], { extras: { controlDelta: new Float32Array(6).fill(x) } })).toEqual({ accepted: true });
    await flush();
    // c = 0 + (1/K)·Σ controlDelta = (3 + 6 + 9)/3 = 6 per coordinate
    expect(Array.from(h.last().extras!.control)).toEqual([6, 6, 6, 6, 6, 6]);
    expect(h.last().perClient.map(h.alias).sort()).toEqual(['a', 'b', 'c']);
    const req = (a: string, over = {}) => ({ v: PROTOCOL_VERSION, type: 'extras', clientId: h.id(a), secret: h.clients.get(a)!.secret, runId: h.last().runId, round: 2, ...over });
    expect(Array.from(h.clients.get('b')!.conn.roundExtras(req('b')).clientControl)).toEqual([6, 6, 6, 6, 6, 6]);
    expect(() => h.clients.get('a')!.conn.roundExtras(req('b'))).toThrow(/wrong-connection/);
    expect(() => h.clients.get('a')!.conn.roundExtras(req('a', { round: 1 }))).toThrow(/wrong-round/);
  });

  it('local-lora: from round 2 each client fetches its own model over its own port, never another client’s; local accuracy scores them', async () => {
    const h = make();
    await h.fed.start({ ...CFG, algorithm: 'local-lora', rounds: 2 });
    await h.register('a', 'b', 'c');
    expect(h.last().perClient).toEqual([]); // nobody has a model of its own before round 1's aggregation
    const deltas: Record<string, number> = { a: 1, b: 2, c: 3 };
    for (const [a, x] of Object.entries(deltas)) expect(h.submit(a, new Array(6).fill(x))).toEqual({ accepted: true });
    await flush();
    expect(h.last().round).toBe(2);
    expect(h.last().perClient.map(h.alias).sort()).toEqual(['a', 'b', 'c']);
    const req = (a: string) => ({ v: PROTOCOL_VERSION, type: 'extras', clientId: h.id(a), secret: h.clients.get(a)!.secret, runId: h.last().runId, round: 2 });
    // initial weights all 1 (rank-1 layers not named '*bias' start at 1) + its own Δ
    for (const [a, x] of Object.entries(deltas)) {
      const own = h.clients.get(a)!.conn.roundExtras(req(a));
      expect(Object.keys(own)).toEqual(['ownWeights']);
      expect(Array.from(own.ownWeights)).toEqual(new Array(6).fill(1 + x));
    }
    // a cannot ask for b's, on its own connection or with b's id
    expect(() => h.clients.get('a')!.conn.roundExtras(req('b'))).toThrow(/wrong-connection/);
    // local accuracy evaluated each slot's own model: the three own models went to the task after the global one
    const seen = h.evaluated.map((w) => Array.from(w));
    for (const x of [1, 2, 3]) expect(seen).toContainEqual(new Array(6).fill(1 + x));
    const rec = h.status().history[0];
    expect(rec.localAccuracyBySlot).toHaveLength(3);
    expect(rec.localAccuracy).not.toBeNull();
  });

  it('fedalign: an upload whose class counts are not the coordinator’s is rejected with its reason and counted', async () => {
    const h = make();
    await h.fed.start({ ...CFG, algorithm: 'fedalign', rounds: 1 });
    await h.register('a', 'b', 'c');
    const good = (a: string) => ({
      prototypes: new Float32Array(640).fill(0.1),
      protoCounts: Float32Array.from(h.row(a).labelHistogram!),
      features: new Float32Array(64),
      featureLabels: Float32Array.of(0),
    });
    expect(h.submit('a', Z6, { extras: { ...good('a'), protoCounts: new Float32Array(10).fill(1) } })).toMatchObject({
      accepted: false, reason: 'wrong-sample-count', detail: expect.stringContaining('protoCounts[0] is 1; the slot holds'),
    });
    expect(h.submit('a', Z6, { extras: { ...good('a'), features: new Float32Array(501 * 64), featureLabels: new Float32Array(501) } })).toMatchObject({ accepted: false, reason: 'too-large' });
    expect(h.submit('a', Z6, { extras: good('a') })).toEqual({ accepted: true });
    const s = h.status();
    expect(s.rejections.byReason).toMatchObject({ 'wrong-sample-count': 1, 'too-large': 1 });
    expect(s.rejections.recent[0].clientId).toBe(h.id('a'));
  });

  it('krum with too few clients per round fails before round 1 with a clear reason', async () => {
    const h = make();
    await h.fed.start({ ...CFG, algorithm: 'krum', byzantine: 1 });
    await h.register('a', 'b', 'c');
    expect(h.status().state).toBe('error');
    expect(h.status().error).toMatch(/krum needs 5 updates per round, but this run has 3 clients per round/);
    expect(h.rounds()).toHaveLength(0);
  });

  it('a round short of its strategy’s minimum is skipped (krum) or aggregated by the named fallback (trimmed mean → median); the run goes on', async () => {
    const h = make();
    await h.fed.start({ ...CFG, clients: 5, algorithm: 'krum', rounds: 3 });
    await h.register('a', 'b', 'c', 'd', 'e');
    for (const a of ['a', 'b', 'c', 'd']) h.submit(a, [1, 1, 1, 1, 1, 1]);
    h.clock.advance(10_001); // e misses the deadline: 4 updates, krum needs 5
    await flush();
    const rec = h.status().history[0];
    expect(rec.skipped).toBe('krum needs 5 updates, got 4: round skipped, w_t kept');
    expect(rec.clients).toHaveLength(4);
    expect(Array.from(h.last().weights)).toEqual([1, 1, 1, 1, 1, 1]);
    expect(h.status().state).toBe('running');
    expect(h.last().round).toBe(2);

    const t = make();
    await t.fed.start({ ...CFG, algorithm: 'trimmed-mean', rounds: 2 });
    await t.register('a', 'b', 'c');
    t.submit('a', [1, 0, 0, 0, 0, 0]);
    t.submit('b', [3, 0, 0, 0, 0, 0]);
    t.clock.advance(10_001);
    await flush();
    expect(t.status().history[0].skipped).toBe('trimmed-mean needs 3 updates, got 2: aggregated with median instead');
    expect(t.last().weights[0]).toBe(3); // 1 + median(1, 3) = 1 + 2
  });

  it('an exception inside a strategy, or a non-finite aggregate, skips the round with the reason and keeps w_t', async () => {
    const h = make(undefined, { rootUpdate: async () => { throw new Error('root set unavailable'); } });
    await h.fed.start({ ...CFG, algorithm: 'fltrust', rounds: 2 });
    await h.register('a', 'b', 'c');
    await h.completeRound([1, 1, 1, 1, 1, 1]);
    expect(h.status().history[0].skipped).toBe('aggregation failed (root set unavailable): round skipped, w_t kept');
    expect(h.status().state).toBe('running');

    const big = make();
    await big.fed.start({ ...CFG, rounds: 3 });
    await big.register('a', 'b', 'c');
    await big.completeRound([3e38, 0, 0, 0, 0, 0]); // w = 1 + 3e38: still finite
    await big.completeRound([3e38, 0, 0, 0, 0, 0]); // 6e38 overflows float32
    expect(big.status().history[1].skipped).toMatch(/^the aggregate is not finite \(w\[0\] = Infinity\): round skipped, w_t kept$/);
    expect(big.last().weights[0]).toBeCloseTo(3e38, -33);
    expect(big.status().state).toBe('running');
  });

  it('fltrust aggregates against the root-set update from the task', async () => {
    const h = make();
    await h.fed.start({ ...CFG, algorithm: 'fltrust' });
    await h.register('a', 'b', 'c');
    h.submit('a', [1, 1, 1, 1, 1, 1]);
    h.submit('b', [2, 2, 2, 2, 2, 2]);
    h.submit('c', [-1, -1, -1, -1, -1, -1]);
    await flush();
    // Δ₀ = 0.01·1: a and b rescaled to ‖Δ₀‖ with trust 1, c (cos −1) gets none → step 0.01 per coordinate.
    h.last().weights.forEach((w) => expect(w).toBeCloseTo(1.01, 6));
    expect(h.status().history[0].flagged.map((f) => f.clientId)).toEqual([h.id('c')]);
  });

  it('feddf: the task distils the average from every client model, and the round records it', async () => {
    const calls: Array<{ average: number[]; clients: number[][]; steps: number }> = [];
    const h = make(undefined, {
      distill: async (average, clients, _round, budget) => {
        calls.push({ average: Array.from(average), clients: clients.map((c) => Array.from(c)), steps: budget.steps });
        return { weights: average.map((w) => w + 0.5), steps: 40, bestStep: 20, validationLossBefore: 1.2, validationLoss: 0.9 };
      },
    });
    await h.fed.start({ ...CFG, algorithm: 'feddf', proxySamples: 40, distillSteps: 60 });
    await h.register('a', 'b', 'c');
    h.submit('a', [1, 0, 0, 0, 0, 0]);
    h.submit('b', [1, 0, 0, 0, 0, 0]);
    h.submit('c', [1, 0, 0, 0, 0, 0]);
    await flush();
    expect(calls).toHaveLength(1);
    expect(calls[0].steps).toBe(60);
    // w_t = 1: every client model is w_t + Δ_k, the FedAvg average the same, and the distilled weights go out next
    expect(calls[0].clients).toEqual([[2, 1, 1, 1, 1, 1], [2, 1, 1, 1, 1, 1], [2, 1, 1, 1, 1, 1]]);
    expect(calls[0].average).toEqual([2, 1, 1, 1, 1, 1]);
    expect(Array.from(h.last().weights)).toEqual([2.5, 1.5, 1.5, 1.5, 1.5, 1.5]);
    expect(h.status().history[0].serverDistill).toEqual({ steps: 40, bestStep: 20, validationLossBefore: 1.2, validationLoss: 0.9 });
  });

  it('fedavg-la: every round carries the coordinator\'s own class counts of all partitions; other strategies send none', async () => {
    const h = make();
    await h.fed.start({ ...CFG, algorithm: 'fedavg-la' });
    await h.register('a', 'b', 'c');
    expect(h.last().classCounts).toEqual(h.status().trainClassCounts);
    expect(h.last().classCounts!.reduce((x, y) => x + y, 0)).toBe(h.status().clients.reduce((n, c) => n + c.numSamples, 0));
    const f = make();
    await f.fed.start({ ...CFG, algorithm: 'fedavg' });
    await f.register('a', 'b', 'c');
    expect(f.last().classCounts).toBeUndefined();
  });

  it('fedadam: FedAvg’s aggregate through a server Adam step (η = 0.01, τ = 1e-3)', async () => {
    const h = make();
    await h.fed.start({ ...CFG, algorithm: 'fedadam' });
    expect(h.status().config!.serverOpt).toBe('adam');
    await h.register('a', 'b', 'c');
    await h.completeRound([1, 1, 1, 1, 1, 1]);
    // m = 0.1·1, v = 0.99·1e-6 + 0.01·1 = 0.01000099; w = 1 + 0.01·0.1/(√v + 1e-3) = 1 + 0.001/0.101005
    h.last().weights.forEach((w) => expect(w).toBeCloseTo(1 + 0.001 / (Math.sqrt(0.01000099) + 1e-3), 6));
    await expect(h.fed.reset().then(() => h.fed.start({ algorithm: 'fedadam', serverOpt: 'yogi' }))).rejects.toThrow(/fedadam is FedAvg with serverOpt adam/);
  });

  it('fed-adaptive-next with a validation split scores each update on it and lowers the reliability of one that hurts', async () => {
    const calls: Array<{ n: number; samples: number }> = [];
    const validationLosses = async (list: Float32Array[], samples: number) => {
      calls.push({ n: list.length, samples });
      return list.map((w, i) => (i > 0 && w[0] < 1 ? 1.5 : 1));
    };
    const h = make(undefined, { validationLosses });
    await h.fed.start({ ...CFG, algorithm: 'fed-adaptive-next', validation: 500, attention: false });
    await h.register('a', 'b', 'c');
    h.submit('a', [1, 1, 1, 1, 1, 1]);
    h.submit('b', [1, 1, 1, 1, 1, 1]);
    h.submit('c', [-0.5, 1, 1, 1, 1, 1]);
    await flush();
    expect(calls).toEqual([{ n: 4, samples: 500 }]);
    const byAlias = Object.fromEntries(h.status().history[0].clients.map((c) => [h.alias(c.clientId), c]));
    expect(byAlias.c.reliability).toBeCloseTo(0.7 + 0.3 * Math.exp(-2.5), 9);
    expect(byAlias.a.reliability).toBe(1);
  });

  it('unknown strategy params and an attack without attackers are config errors', async () => {
    const h = make();
    await expect(h.fed.start({ algorithm: 'fedsgd' })).rejects.toThrow(/algorithm must be one of: fedavg, fedprox, scaffold/);
    await expect(h.fed.start({ attack: 'sign-flip' })).rejects.toThrow(/needs attackers > 0/);
    await expect(h.fed.start({ attackers: 0.2 })).rejects.toThrow(/need an attack/);
    await expect(h.fed.start({ tau: 0 })).rejects.toThrow(/invalid tau/);
    await expect(h.fed.start({ gate: 'maybe' })).rejects.toThrow(/gate must be true or false/);
  });
});

describe('Federation: federated evaluation', () => {
  it('round t+1 asks every slot holder to evaluate w_t; the last model goes out on its own; done once the evaluations are in', async () => {
    const h = make();
    await h.fed.start({ ...CFG, localEval: 0.1, rounds: 2 });
    await h.register('a', 'b', 'c');
    expect(h.last().evaluate).toBeNull(); // nothing to evaluate before round 1
    await h.completeRound([1, 1, 1, 1, 1, 1]);
    const r2 = h.last();
    expect(r2.evaluate!.round).toBe(1);
    expect(Object.fromEntries(Object.entries(r2.evaluate!.slots).map(([id, s]) => [h.alias(id), s]))).toEqual({ a: 0, b: 1, c: 2 });
    // 107 → 10 held out, 106 → 10; a got 10/10, b 5/10, c 9/10
    const conn = (a: string) => h.clients.get(a)!.conn;
    expect(conn('a').submitEvaluation(h.evaluation('a', 1, 10))).toEqual({ accepted: true });
    expect(conn('a').submitEvaluation(h.evaluation('a', 1, 10))).toMatchObject({ reason: 'duplicate' });
    expect(conn('b').submitEvaluation(h.evaluation('b', 1, 5, { numSamples: 11, classCounts: [11, 0, 0, 0, 0, 0, 0, 0, 0, 0] }))).toMatchObject({ reason: 'wrong-sample-count' });
    expect(conn('b').submitEvaluation(h.evaluation('b', 1, 11))).toMatchObject({ reason: 'malformed' }); // 11 correct of 10
    expect(conn('b').submitEvaluation(h.evaluation('b', 2, 5))).toMatchObject({ reason: 'wrong-round' });
    expect(conn('b').submitEvaluation(h.evaluation('b', 1, 5))).toEqual({ accepted: true });
    expect(conn('c').submitEvaluation(h.evaluation('c', 1, 9))).toEqual({ accepted: true });
    const fe = h.status().history[0].federatedEval!;
    expect(fe).toMatchObject({ asked: 3, meanAccuracy: expect.closeTo(0.8, 12), worst10Accuracy: 0.5, minAccuracy: 0.5, meanLoss: 0.5 });
    expect(fe.clients.map((c) => [h.alias(c.clientId), c.accuracy])).toEqual([['a', 1], ['b', 0.5], ['c', 0.9]]);

    await h.completeRound();
    const final = h.sent.at(-1) as EvaluateMessage;
    expect(final).toMatchObject({ type: 'evaluate', evaluate: { round: 2 } });
    expect(Array.from(final.weights)).toEqual(Array.from(h.store.data!.weights));
    expect(h.status().state).toBe('running'); // waiting for the clients' evaluations of the final model
    for (const a of ['a', 'b', 'c']) conn(a).submitEvaluation(h.evaluation('a' === a ? 'a' : a, 2, 10));
    await h.fed.flush();
    expect(h.status().state).toBe('done');
    expect(h.status().history[1].federatedEval!.meanAccuracy).toBe(1);
  });

  it('a client that answered and then left does not close the window on the others', async () => {
    const h = make();
    await h.fed.start({ ...CFG, localEval: 0.1, rounds: 1 });
    await h.register('a', 'b', 'c');
    await h.completeRound();
    expect(h.clients.get('a')!.conn.submitEvaluation(h.evaluation('a', 1, 10))).toEqual({ accepted: true });
    h.locks.get(h.clients.get('a')!.lock)!();
    h.clock.advance(GONE_CONFIRM_MS);
    await flush();
    expect(h.status().state).toBe('running'); // b and c still count
    h.clients.get('b')!.conn.submitEvaluation(h.evaluation('b', 1, 5));
    h.clients.get('c')!.conn.submitEvaluation(h.evaluation('c', 1, 9));
    await flush();
    expect(h.status().state).toBe('done');
    expect(h.status().history[0].federatedEval!.clients.map((c) => h.alias(c.clientId))).toEqual(['a', 'b', 'c']);
  });

  it('a client that never evaluates holds the final evaluation only until the deadline', async () => {
    const h = make();
    await h.fed.start({ ...CFG, localEval: 0.1, rounds: 1 });
    await h.register('a', 'b', 'c');
    await h.completeRound();
    h.clients.get('a')!.conn.submitEvaluation(h.evaluation('a', 1, 7));
    h.clock.advance(10_001);
    await h.fed.flush();
    expect(h.status().state).toBe('done');
    expect(h.status().history[0].federatedEval).toMatchObject({ asked: 3, meanAccuracy: 0.7, worst10Accuracy: 0.7 });
  });
});

describe('Federation: reset during evaluation', () => {
  it('an evaluation that finishes after a reset changes nothing in the new run, and the task is released', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let calls = 0;
    const h = make(undefined, {
      async evaluate() {
        calls++;
        if (calls === 1) await gate;
        return { accuracy: 0.42, loss: 1, recall: [], confusion: [], targetedAsr: 0, numTensors: 0, unimodalAccuracy: null };
      },
    });
    await h.fed.start({ ...CFG, rounds: 1 });
    await h.register('a', 'b', 'c');
    for (const a of ['a', 'b', 'c']) h.submit(a, Z6);
    // Not flush(): it would wait for the evaluation held at the gate.
    for (let i = 0; i < 1000 && h.status().history.length === 0; i++) await new Promise((r) => setImmediate(r));
    expect(h.status().history[0].accuracy).toBeNull(); // evaluating
    await h.fed.reset();
    expect(h.disposed()).toBe(1);
    await h.fed.start({ ...CFG, rounds: 1 });
    release();
    await flush();
    const s = h.status();
    expect(s).toMatchObject({ state: 'running', error: null, round: 1, history: [] });
    await h.completeRound();
    await h.fed.flush();
    expect(h.status()).toMatchObject({ state: 'done', history: [expect.objectContaining({ accuracy: 0.42 })] });
  });
});



describe('Federation: classroom', () => {
  it('open enrollment: 3 planned slots, round 1 with the first 2 students, a late joiner takes the free slot and trains from the next round; one more is told why it waits', async () => {
    const h = make();
    await h.fed.start({ ...CFG, enrollment: 'open', minClients: 2 });
    await h.register('a');
    expect(h.rounds()).toHaveLength(0);
    await h.register('b');
    expect(h.rounds()).toHaveLength(1);
    expect(h.last()).toMatchObject({ round: 1, numPartitions: 3 });
    expect(h.assigned()).toEqual({ a: 0, b: 1 });
    await h.register('c');
    // The free slot is c's at once; it trains from the next round (round 1 went out without it).
    expect(h.row('c').slot).toBe(2);
    expect(h.assigned()).toEqual({ a: 0, b: 1 });
    await h.register('d');
    const d = h.clients.get('d')!;
    expect(d.conn.heartbeat({ v: PROTOCOL_VERSION, type: 'heartbeat', clientId: d.clientId, secret: d.secret })).toEqual({
      registered: true,
      waiting: 'all 3 slots of this run are taken; you get one if a client leaves, or in the next run',
    });
    await h.completeRound();
    expect(h.last().round).toBe(2);
    expect(h.assigned()).toEqual({ a: 0, b: 1, c: 2 });
  });

  it('open enrollment needs a number of planned slots', async () => {
    const h = make();
    await expect(h.fed.start({ ...CFG, clients: 0, enrollment: 'open' })).rejects.toThrow(/open enrollment needs clients > 0/);
  });

  it("broker reports: a round's bytes land in its record (and grow until the next round); a bad report is rejected and counted", async () => {
    const h = make();
    await h.fed.start(CFG);
    await h.register('a', 'b', 'c');
    const runId = h.last().runId;
    const report = (rounds: Array<{ round: number; bytesIn: number; bytesOut: number }>, over: Record<string, unknown> = {}) =>
      h.fed.reportBroker({ v: 1, bytesIn: 5000, bytesOut: 9000, rttMs: 30, devices: 3, online: 3, rejected: { unsigned: 1 }, rounds: rounds.map((r) => ({ runId, rttMs: 12, ...r })), ...over });
    report([{ round: 1, bytesIn: 100, bytesOut: 200 }]);
    await h.completeRound();
    expect(h.status().history[0].broker).toEqual({ bytesIn: 100, bytesOut: 200, rttMs: 12 });
    report([{ round: 1, bytesIn: 150, bytesOut: 200 }, { round: 2, bytesIn: 0, bytesOut: 300 }]);
    expect(h.status().history[0].broker).toEqual({ bytesIn: 150, bytesOut: 200, rttMs: 12 });
    expect(h.status().broker).toMatchObject({ devices: 3, rttMs: 30, rejected: { unsigned: 1 } });
    const before = h.status().rejections.total;
    expect(() => report([], { bytesIn: -1 })).toThrow(/bytesIn/);
    expect(() => report([], { rejected: { hacked: 1 } })).toThrow(/broker stats/);
    expect(() => report([], { rttMs: Infinity })).toThrow(/rttMs/);
    expect(h.status().rejections.total).toBe(before + 3);
    expect(h.status().rejections.byReason.malformed).toBeGreaterThanOrEqual(3);
    expect(h.status().broker!.bytesIn).toBe(5000);
  });

  it("broker reports: a finished run's records are final, so the downloaded run matches the status", async () => {
    const h = make();
    await h.fed.start({ ...CFG, rounds: 1 });
    await h.register('a', 'b', 'c');
    const runId = h.last().runId;
    const report = (bytesIn: number) =>
      h.fed.reportBroker({ v: 1, bytesIn, bytesOut: 9000, rttMs: 30, devices: 3, online: 3, rejected: {}, rounds: [{ runId, round: 1, bytesIn, bytesOut: 200, rttMs: 12 }] });
    report(100);
    await h.completeRound();
    expect(h.status().state).toBe('done');
    report(101); // a heartbeat after the end
    expect(h.status().history[0].broker).toEqual({ bytesIn: 100, bytesOut: 200, rttMs: 12 });
    expect(h.status().broker!.bytesIn).toBe(101); // the broker's own totals still move
  });
});

describe('Federation: seeded fuzz of what clients and other pages send', () => {
  it('2,000 mutated messages of every kind: each refused with a reason and counted once, none thrown past the protocol, and the round in progress still closes', async () => {
    const rng = createRng('federation-fuzz');
    const h = make();
    await h.fed.start({ ...CFG, rounds: 1000 }); // valid mutations close rounds as the fuzz goes
    await h.register('a', 'b', 'c');
    const stranger = h.fed.connect();
    const participants = ['a', 'b', 'c'];
    const acceptedIn = new Map<string, number>(); // participant → the round its update was accepted in
    const outcomes: Record<string, number> = {};
    for (let i = 0; i < 2000; i++) {
      const a = participants[rng.int(3)];
      const c = h.clients.get(a)!;
      const r = h.last();
      const request = { v: PROTOCOL_VERSION, clientId: c.clientId, secret: c.secret, runId: r.runId, round: r.round };
      const conn = rng.next() < 0.2 ? stranger : c.conn; // a fifth from another connection than the client's
      const kind = ['update', 'update', 'evaluation', 'heartbeat', 'register', 'key', 'extras'][rng.int(7)];
      const before = h.status().rejections.total;
      let refused: string | null = null;
      try {
        if (kind === 'update') {
          const res = conn.submitUpdate(mutate(rng, h.update(a, Z6)));
          if (res.accepted) acceptedIn.set(a, r.round);
          else refused = res.reason;
        } else if (kind === 'evaluation') {
          const res = conn.submitEvaluation(mutate(rng, h.evaluation(a, 1, 0)));
          if (!res.accepted) refused = res.reason;
        } else if (kind === 'heartbeat') conn.heartbeat(mutate(rng, { v: PROTOCOL_VERSION, type: 'heartbeat', clientId: c.clientId, secret: c.secret, state: 'training', numTensors: 3 }));
        else if (kind === 'register') await stranger.register(mutate(rng, { v: PROTOCOL_VERSION, type: 'register', kind: 'tab', backend: 'wasm', probe: [], userAgent: '', lock: `fedtab-client-fuzz${String(i).padStart(4, '0')}` }));
        else if (kind === 'key') await conn.runKey(mutate(rng, { ...request, type: 'key' }));
        else conn.roundExtras(mutate(rng, { ...request, type: 'extras' }));
      } catch (e) {
        // Only the protocol's own refusals leave the coordinator: anything else would be a crash in a real worker.
        if (!(e instanceof ProtocolError)) throw new Error(`message ${i} (${kind}) threw ${e instanceof Error ? e.stack : String(e)}`);
        refused = e.reason;
      }
      await flush();
      const counted = h.status().rejections.total - before;
      const key = `${kind}:${refused ?? 'ok'}`;
      outcomes[key] = (outcomes[key] ?? 0) + 1;
      // Counted once, except a key asked for another run: an honest client asks for whatever run a forged broadcast
      // named. A heartbeat is answered even with bad fields, which are counted.
      const uncounted = kind === 'key' && refused === 'wrong-run';
      if (refused) expect(counted, `message ${i}: ${key}`).toBe(uncounted ? 0 : 1);
      else expect(counted === 0 || (kind === 'heartbeat' && counted === 1 && h.status().rejections.recent[0].reason === 'bad-field'), `message ${i}: ${key} counted ${counted}`).toBe(true);
    }
    // Every kind was refused for several reasons, and some mutations were still valid messages.
    expect(Object.keys(outcomes).filter((k) => k.startsWith('update:') && !k.endsWith(':ok')).length).toBeGreaterThanOrEqual(6);
    expect(new Set(Object.keys(outcomes).map((k) => k.split(':')[0]))).toEqual(new Set(['update', 'evaluation', 'heartbeat', 'register', 'key', 'extras']));
    expect(h.status().rejections.recent).toHaveLength(50); // the dashboard's list stays bounded
    // The round in progress still closes on the honest updates.
    expect(h.status().state).toBe('running');
    const round = h.last().round;
    for (const a of participants) if (acceptedIn.get(a) !== round) expect(h.submit(a, Z6)).toEqual({ accepted: true });
    await flush();
    expect(h.last().round).toBe(round + 1);
  });

  it('300 mutated configs from a dashboard port: a run, or a ConfigError naming what is wrong; never another error', async () => {
    const rng = createRng('config-fuzz');
    const h = make();
    const full = { ...CFG, dataset: 'mnist', partition: 'dirichlet', alpha: 0.5, algorithm: 'krum', byzantine: 0, serverLr: 1, attack: 'none', attackers: 0, epochs: 1, lr: 0.05 };
    const outcomes = { started: 0, refused: 0 };
    for (let i = 0; i < 300; i++) {
      const cfg = mutate(rng, full);
      try {
        await h.fed.start(cfg);
        outcomes.started++;
        await h.fed.reset();
      } catch (e) {
        if (!(e instanceof ConfigError)) throw new Error(`config ${i} ${JSON.stringify(cfg, (_k, x) => (typeof x === 'bigint' ? `${x}n` : x))?.slice(0, 300)} threw ${e instanceof Error ? e.stack : String(e)}`);
        expect(e.message.length).toBeGreaterThan(10);
        outcomes.refused++;
      }
      expect(h.status().state).toBe('idle');
    }
    expect(outcomes.started).toBeGreaterThan(10);
    expect(outcomes.refused).toBeGreaterThan(100);
    for (const image of [null, 'x', new Uint8Array(783), new Float32Array(784), [1, 2]]) await expect(h.fed.predict(image)).rejects.toThrow(ConfigError);
  });
});

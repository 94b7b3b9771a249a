import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../shared/config';
import { PROTOCOL_VERSION, type BroadcastMessage, type RoundMessage } from '../shared/protocol';
import { sampleSlots } from '../shared/run-plan';
import type { LayerSpec } from '../shared/weights';
import { Federation, RESUME_GRACE_MS, type PersistedRun, type RunStore, type Task } from './federation';

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
const flush = async () => {
  for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
};
const mean = (v: ArrayLike<number>) => Array.from(v).reduce((s, x) => s + x, 0) / v.length;

function harness(store = new MemoryStore(), taskOverrides: Partial<Task> = {}) {
  const clock = new FakeClock();
  const sent: BroadcastMessage[] = [];
  const onGone = new Map<string, () => void>();
  const evaluated: Float32Array[] = [];
  const task: Task = {
    numClasses: 10,
    trainLabels: Uint8Array.from({ length: 400 }, (_, i) => i % 10), // 10 classes × 40
    layers: LAYERS,
    async evaluate(weights) {
      evaluated.push(weights.slice());
      clock.jump(250); // evaluation takes 250 ms
      return { accuracy: mean(weights), loss: 1 - mean(weights), recall: [mean(weights)], targetedAsr: 0, numTensors: 0 };
    },
    rootUpdate: async (weights) => new Float32Array(weights.length).fill(0.01),
    validationLosses: async (list) => list.map(() => 1),
    dispose() {},
    ...taskOverrides,
  };
  const fed = new Federation({
    now: clock.now,
    setTimer: clock.setTimer,
    clearTimer: clock.clearTimer,
    broadcast: (m) => sent.push(structuredClone(m)),
    loadTask: async () => task,
    store,
    watchClient: (id, fn) => onGone.set(id, fn),
    coordinatorBackend: () => 'cpu',
  });
  const rounds = () => sent.filter((m): m is RoundMessage => m.type === 'round');
  const last = () => rounds().at(-1)!;
  const register = (...ids: string[]) => {
    for (const clientId of ids) {
      fed.register({ v: PROTOCOL_VERSION, type: 'register', clientId, kind: 'tab', backend: 'wasm', probe: [], userAgent: '' });
    }
  };
  /** A valid update for the current round; `over` replaces any field. */
  const update = (clientId: string, delta: number[], numSamples = 100, over: Record<string, unknown> = {}) => ({
    v: PROTOCOL_VERSION, type: 'update', clientId, runId: last().runId, round: last().round, numSamples,
    layers: LAYERS, delta: new Float32Array(delta), epochLosses: [0.9, 0.5], batchLosses: [0.5], steps: 4, trainMs: 100,
    samplesPerSec: 1000, backend: 'wasm', numTensors: 7, ...over,
  });
  /** Every participant of the current round sends delta `d` (default all zeros). */
  const completeRound = async (d = [0, 0, 0, 0, 0, 0]) => {
    for (const id of Object.keys(last().assignments)) expect(fed.submitUpdate(update(id, d))).toEqual({ accepted: true });
    await flush();
  };
  return { clock, sent, onGone, evaluated, fed, store, rounds, last, register, update, completeRound, status: () => fed.status() };
}

let live: Federation[] = [];
const make = (store?: MemoryStore, taskOverrides?: Partial<Task>) => {
  const h = harness(store, taskOverrides);
  live.push(h.fed);
  return h;
};
afterEach(() => {
  for (const f of live) f.dispose();
  live = [];
});

const CFG = { clients: 3, rounds: 5, roundDeadlineMs: 10_000 };

describe('Federation', () => {
  it('waits for `clients` registrations, then broadcasts round 1 to 3 distinct slots with the initial weights', async () => {
    const h = make();
    await h.fed.start(CFG);
    expect(h.status().state).toBe('waiting');
    h.register('a', 'b');
    expect(h.rounds()).toHaveLength(0);
    expect(h.status().message).toBe('waiting for clients: 2/3 registered');
    h.register('c');
    expect(h.rounds()).toHaveLength(1);
    const r = h.last();
    expect(r).toMatchObject({ round: 1, assignments: { a: 0, b: 1, c: 2 }, numPartitions: 3, deadline: h.clock.t + 10_000, layers: LAYERS });
    expect(r.config).toMatchObject(CFG);
    // initWeights: rank-1 layers not named '*bias' start at 1
    expect(Array.from(r.weights)).toEqual([1, 1, 1, 1, 1, 1]);
    const s = h.status();
    expect(s).toMatchObject({ state: 'running', round: 1, numPartitions: 3, runId: r.runId, coordinatorBackend: 'cpu' });
    expect(s.clients.map((c) => [c.clientId, c.slot, c.numSamples])).toEqual([['a', 0, 107], ['b', 1, 107], ['c', 2, 106]]); // iid 400 − 80 held out → 107+107+106
    expect(s.clients[0].labelHistogram!.reduce((x, y) => x + y)).toBe(107);
  });

  it('FedAvg: the round-2 weights are the n_k-weighted mean of the deltas, and the round is recorded', async () => {
    const h = make();
    await h.fed.start(CFG);
    h.register('a', 'b', 'c');
    h.clock.advance(3000);
    // n = 100 + 300 + 600 = 1000 → p = 0.1, 0.3, 0.6
    h.fed.submitUpdate(h.update('a', [1, 0, 0, 0, 0, -1], 100));
    h.fed.submitUpdate(h.update('b', [0, 1, 0, 0, 2, 0], 300));
    expect(h.status().message).toBe('round 1: 2/3 updates');
    h.fed.submitUpdate(h.update('c', [0, 0, 1, 0.5, -1, 0], 600));
    await flush();
    // w = 1 + 0.1·Δa + 0.3·Δb + 0.6·Δc
    //   = [1+0.1, 1+0.3, 1+0.6, 1+0.6·0.5, 1+0.3·2−0.6·1, 1−0.1] = [1.1, 1.3, 1.6, 1.3, 1.0, 0.9]
    const expected = [1.1, 1.3, 1.6, 1.3, 1.0, 0.9];
    const r2 = h.last();
    expect(r2.round).toBe(2);
    r2.weights.forEach((w, i) => expect(w).toBeCloseTo(expected[i], 6));
    expect(h.evaluated).toHaveLength(1);
    expect(Array.from(h.evaluated[0])).toEqual(Array.from(r2.weights));

    const [rec] = h.status().history;
    expect(rec.round).toBe(1);
    expect(rec.accuracy).toBeCloseTo(7.2 / 6, 6); // mean of the new weights = 1.2
    expect(rec.loss).toBeCloseTo(-0.2, 6);
    expect(rec.seconds).toBeCloseTo(3.25, 9); // 3000 ms training + 250 ms evaluation
    expect(rec.evalMs).toBe(250);
    expect(rec.participants).toEqual(['a', 'b', 'c']);
    expect(rec.dropped).toEqual([]);
    expect(rec.coordinatorTensors).toBe(0);
    const byId = Object.fromEntries(rec.clients.map((c) => [c.clientId, c]));
    expect(byId.a).toMatchObject({ slot: 0, numSamples: 100, backend: 'wasm', trainLoss: 0.5, kind: 'tab', numTensors: 7 });
    expect(byId.a.weight).toBeCloseTo(0.1, 12);
    expect(byId.b.weight).toBeCloseTo(0.3, 12);
    expect(byId.c.weight).toBeCloseTo(0.6, 12);
    expect(byId.a.updateNorm).toBeCloseTo(Math.SQRT2, 6); // ‖(1,0,0,0,0,−1)‖
    expect(byId.b.updateNorm).toBeCloseTo(Math.sqrt(5), 6); // ‖(0,1,0,0,2,0)‖
    expect(byId.c.updateNorm).toBeCloseTo(1.5, 6); // √(1 + 0.25 + 1)
    const row = h.status().clients.find((c) => c.clientId === 'c')!;
    expect(row.lastWeight).toBeCloseTo(0.6, 12);
    expect(row.lastUpdateNorm).toBeCloseTo(1.5, 6);
  });

  it('deadline: a silent participant is dropped and the others aggregated; its update afterwards is late', async () => {
    const h = make();
    await h.fed.start(CFG);
    h.register('a', 'b', 'c');
    h.fed.submitUpdate(h.update('a', [1, 1, 1, 1, 1, 1], 100));
    h.fed.submitUpdate(h.update('b', [3, 3, 3, 3, 3, 3], 300));
    const stale = h.update('c', [9, 9, 9, 9, 9, 9], 100);
    h.clock.advance(10_000);
    await flush();
    expect(h.rounds()).toHaveLength(1); // exactly at the deadline: still open
    h.clock.advance(1);
    await flush();
    expect(h.rounds()).toHaveLength(2);
    const [rec] = h.status().history;
    expect(rec.dropped).toEqual([{ clientId: 'c', slot: 2, reason: 'deadline', role: 'honest', straggler: null }]);
    expect(rec.clients.map((c) => c.clientId)).toEqual(['a', 'b']);
    // 1 + 0.25·1 + 0.75·3 = 3.5
    expect(Array.from(h.last().weights)).toEqual([3.5, 3.5, 3.5, 3.5, 3.5, 3.5]);
    expect(h.last().assignments).toEqual({ a: 0, b: 1, c: 2 }); // c keeps its slot

    const res = h.fed.submitUpdate(stale);
    expect(res).toMatchObject({ accepted: false, reason: 'late' });
    const { rejections } = h.status();
    expect(rejections.total).toBe(1);
    expect(rejections.byReason).toEqual({ late: 1 });
    expect(rejections.recent[0]).toMatchObject({ clientId: 'c', reason: 'late' });
    // a round-1 update from a participant that did reply in time is just for the wrong round
    expect(h.fed.submitUpdate(h.update('a', [0, 0, 0, 0, 0, 0], 100, { round: 1 }))).toMatchObject({ reason: 'wrong-round' });
    expect(h.status().rejections.byReason).toEqual({ late: 1, 'wrong-round': 1 });
    // c is still a participant of round 2 and may take part in it
    expect(h.fed.submitUpdate(h.update('c', [0, 0, 0, 0, 0, 0]))).toEqual({ accepted: true });
  });

  it('an update past the deadline whose timer has not fired yet (throttled worker) is late and drops the client', async () => {
    const h = make();
    await h.fed.start(CFG);
    h.register('a', 'b', 'c');
    h.fed.submitUpdate(h.update('a', [1, 1, 1, 1, 1, 1]));
    h.fed.submitUpdate(h.update('b', [1, 1, 1, 1, 1, 1]));
    h.clock.jump(10_500); // past the deadline timer (10 001 ms), which has not run
    expect(h.fed.submitUpdate(h.update('c', [5, 5, 5, 5, 5, 5]))).toMatchObject({ accepted: false, reason: 'late' });
    h.clock.advance(0);
    await flush();
    expect(h.status().history[0].dropped).toEqual([{ clientId: 'c', slot: 2, reason: 'late', role: 'honest', straggler: null }]);
    expect(Array.from(h.last().weights)).toEqual([2, 2, 2, 2, 2, 2]); // c's delta was not used
  });

  it('disconnect: a participant that goes away ends its part at once, frees its slot for a newcomer', async () => {
    const h = make();
    await h.fed.start(CFG);
    h.register('a', 'b', 'c');
    const t0 = h.clock.t;
    h.fed.submitUpdate(h.update('a', [1, 1, 1, 1, 1, 1]));
    h.fed.submitUpdate(h.update('b', [1, 1, 1, 1, 1, 1]));
    h.onGone.get('c')!();
    await flush();
    expect(h.status().history[0].dropped).toEqual([{ clientId: 'c', slot: 2, reason: 'disconnected', role: 'honest', straggler: null }]);
    expect(h.last()).toMatchObject({ round: 2, assignments: { a: 0, b: 1 }, numPartitions: 3, deadline: t0 + 250 + 10_000 });
    expect(h.status().clients.map((c) => c.clientId)).toEqual(['a', 'b']);

    h.register('d');
    const d = h.status().clients.find((c) => c.clientId === 'd')!;
    expect([d.slot, d.numSamples]).toEqual([2, 106]);
    expect(h.fed.submitUpdate(h.update('d', [0, 0, 0, 0, 0, 0]))).toMatchObject({ accepted: false, reason: 'not-selected' });
    await h.completeRound();
    expect(h.last()).toMatchObject({ round: 3, assignments: { a: 0, b: 1, d: 2 } });
  });

  it('rejects malformed updates with their reason, counts them, and still completes the round with the good ones', async () => {
    const h = make();
    await h.fed.start(CFG);
    h.register('a', 'b', 'c');
    const bad: Array<[unknown, string]> = [
      [h.update('a', [0, 0, NaN, 0, 0, 0]), 'non-finite'],
      [h.update('a', [0, 0, 0, 0, 0]), 'shape-mismatch'],
      [h.update('a', [0, 0, 0, 0, 0, 0], 100, { layers: [{ name: 'w', shape: [6] }] }), 'shape-mismatch'],
      [h.update('a', [0, 0, 0, 0, 0, 0], 100, { round: 2 }), 'wrong-round'],
      [h.update('zed', [0, 0, 0, 0, 0, 0]), 'unknown-client'],
      [h.update('a', [0, 0, 0, 0, 0, 0], 100, { v: 99 }), 'bad-version'],
      [null, 'malformed'],
    ];
    for (const [msg, reason] of bad) expect(h.fed.submitUpdate(msg)).toMatchObject({ accepted: false, reason });
    expect(h.fed.submitUpdate(h.update('a', [2, 2, 2, 2, 2, 2]))).toEqual({ accepted: true });
    expect(h.fed.submitUpdate(h.update('a', [9, 9, 9, 9, 9, 9]))).toMatchObject({ accepted: false, reason: 'duplicate' });
    expect(() => h.fed.register({ v: PROTOCOL_VERSION, type: 'register', clientId: 'x', kind: 'robot' })).toThrow(/malformed/);
    h.fed.submitUpdate(h.update('b', [2, 2, 2, 2, 2, 2]));
    h.fed.submitUpdate(h.update('c', [2, 2, 2, 2, 2, 2]));
    await flush();

    const { rejections, history } = h.status();
    expect(rejections.total).toBe(9);
    expect(rejections.byReason).toEqual({ 'non-finite': 1, 'shape-mismatch': 2, 'wrong-round': 1, 'unknown-client': 1, 'bad-version': 1, malformed: 2, duplicate: 1 });
    expect(rejections.recent[0]).toMatchObject({ reason: 'malformed', clientId: 'x', round: 1 });
    expect(history[0].clients.map((c) => c.clientId)).toEqual(['a', 'b', 'c']);
    expect(Array.from(h.last().weights)).toEqual([3, 3, 3, 3, 3, 3]); // 1 + 2, none of the bad deltas
    expect(h.status().state).toBe('running');
  });

  it('fraction 0.5 with 4 clients: 2 participants per round, as sampleSlots draws them', async () => {
    const h = make();
    await h.fed.start({ ...CFG, clients: 4, fraction: 0.5, seed: 7 });
    h.register('a', 'b', 'c', 'd');
    const ids = ['a', 'b', 'c', 'd'];
    for (let round = 1; round <= 3; round++) {
      const r = h.last();
      expect(r.round).toBe(round);
      const slots = Object.values(r.assignments).sort();
      expect(slots).toEqual(sampleSlots([0, 1, 2, 3], 0.5, 7, round));
      expect(slots).toHaveLength(2);
      for (const [id, slot] of Object.entries(r.assignments)) expect(id).toBe(ids[slot]);
      const outsider = ids.find((id) => !(id in r.assignments))!;
      expect(h.fed.submitUpdate(h.update(outsider, [0, 0, 0, 0, 0, 0]))).toMatchObject({ reason: 'not-selected' });
      await h.completeRound();
      expect(h.status().history[round - 1].participants).toHaveLength(2);
    }
  });

  it('finishes after config.rounds rounds and saves after every round', async () => {
    const h = make();
    await h.fed.start({ ...CFG, rounds: 3 });
    h.register('a', 'b', 'c');
    for (let i = 0; i < 3; i++) await h.completeRound([0.5, 0, 0, 0, 0, 0]);
    await flush();
    const s = h.status();
    expect(s.state).toBe('done');
    expect(s.round).toBe(3);
    expect(s.history.map((r) => r.round)).toEqual([1, 2, 3]);
    expect(h.rounds()).toHaveLength(3);
    // one save per round, plus the final 'done'
    expect(h.store.saves.map((x) => [x.run.round, x.run.state, x.run.history.length])).toEqual([
      [1, 'running', 1], [2, 'running', 2], [3, 'running', 3], [3, 'done', 3],
    ]);
    expect(h.store.data!.weights[0]).toBeCloseTo(2.5, 6); // 1 + 3 rounds × 0.5
    expect(s.history[2].accuracy).toBeCloseTo(7.5 / 6, 6); // mean of [2.5, 1, 1, 1, 1, 1]
  });

  it('pause during a round takes effect after it; start() without a config resumes at the next round', async () => {
    const h = make();
    await expect(h.fed.start()).rejects.toThrow(ConfigError);
    await h.fed.start(CFG);
    h.register('a', 'b', 'c');
    h.fed.pause();
    expect(h.status()).toMatchObject({ state: 'running', message: 'pausing after round 1' });
    await h.completeRound([1, 0, 0, 0, 0, 0]);
    expect(h.status()).toMatchObject({ state: 'paused', round: 1 });
    expect(h.rounds()).toHaveLength(1);
    expect(h.store.data!.run.state).toBe('paused');

    await h.fed.start();
    expect(h.status().state).toBe('running');
    expect(h.last()).toMatchObject({ round: 2, assignments: { a: 0, b: 1, c: 2 } });
    expect(h.last().weights[0]).toBe(2);
    await h.completeRound();
    expect(h.status().history).toHaveLength(2);
  });

  describe('persistence', () => {
    async function twoRounds() {
      const h1 = make();
      await h1.fed.start(CFG);
      h1.register('a', 'b', 'c');
      await h1.completeRound([1, 0, 0, 0, 0, 0]);
      await h1.completeRound([0, 1, 0, 0, 0, 0]);
      expect(h1.store.data!.run).toMatchObject({ round: 2, state: 'running' });
      h1.fed.dispose(); // the SharedWorker went away
      return h1;
    }

    it('a new coordinator over the same store resumes at round 3 with the stored history and weights', async () => {
      const h1 = await twoRounds();
      const h2 = make(h1.store);
      await h2.fed.restore();
      expect(h2.status()).toMatchObject({ state: 'waiting', round: 2, runId: h1.last().runId, numPartitions: 3 });
      expect(h2.status().history).toHaveLength(2);
      h2.register('c', 'a', 'b');
      const r = h2.last();
      expect(r).toMatchObject({ round: 3, runId: h1.last().runId, numPartitions: 3, assignments: { c: 0, a: 1, b: 2 } });
      expect(Array.from(r.weights)).toEqual([2, 2, 1, 1, 1, 1]);
      expect(Array.from(r.weights)).toEqual(Array.from(h1.store.data!.weights));
      await h2.completeRound();
      expect(h2.status().history.map((x) => x.round)).toEqual([1, 2, 3]);
    });

    it(`with fewer clients than partitions it waits RESUME_GRACE_MS (${RESUME_GRACE_MS} ms), then goes on`, async () => {
      const h1 = await twoRounds();
      const h2 = make(h1.store);
      await h2.fed.restore();
      h2.register('a', 'b');
      h2.clock.advance(RESUME_GRACE_MS - 1);
      expect(h2.rounds()).toHaveLength(0);
      expect(h2.status().state).toBe('waiting');
      h2.clock.advance(1);
      expect(h2.last()).toMatchObject({ round: 3, assignments: { a: 0, b: 1 }, numPartitions: 3 });
      expect(h2.status().state).toBe('running');
    });

    it('a finished run restores as done', async () => {
      const h1 = make();
      await h1.fed.start({ ...CFG, rounds: 1 });
      h1.register('a', 'b', 'c');
      await h1.completeRound();
      const h2 = make(h1.store);
      await h2.fed.restore();
      h2.register('a', 'b', 'c');
      expect(h2.status()).toMatchObject({ state: 'done', round: 1 });
      expect(h2.rounds()).toHaveLength(0);
    });
  });

  it('reset clears history, store and rejections and broadcasts a stop', async () => {
    const h = make();
    await h.fed.start(CFG);
    h.register('a', 'b', 'c');
    await h.completeRound();
    h.fed.submitUpdate(h.update('zed', [0, 0, 0, 0, 0, 0]));
    const runId = h.last().runId;
    expect(h.status().rejections.total).toBe(1);
    expect(h.store.data).not.toBeNull();

    await h.fed.reset();
    const s = h.status();
    expect(s).toMatchObject({ state: 'idle', runId: null, round: 0, history: [], rejections: { total: 0, byReason: {}, recent: [] } });
    expect(s.clients.map((c) => c.slot)).toEqual([null, null, null]);
    expect(await h.store.load()).toBeNull();
    expect(h.sent.at(-1)).toEqual({ v: PROTOCOL_VERSION, type: 'stop', runId });
    // the old round's timer is gone: nothing happens at its deadline
    h.clock.advance(20_000);
    await flush();
    expect(h.rounds()).toHaveLength(2);
  });

  it('start while a run is active, or with a bad config, throws a ConfigError', async () => {
    const h = make();
    await expect(h.fed.start({ rounds: 0 })).rejects.toThrow(/invalid rounds 0/);
    await expect(h.fed.start({ dataset: 'cifar' })).rejects.toBeInstanceOf(ConfigError);
    expect(h.status().state).toBe('idle');
    await h.fed.start(CFG);
    await expect(h.fed.start(CFG)).rejects.toThrow(/already waiting/);
    h.register('a', 'b', 'c');
    const err = await h.fed.start(CFG).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(/already running/);
    expect(h.rounds()).toHaveLength(1);
  });

  it('aggregates with the strategy the config names: coordinate-wise median', async () => {
    const h = make();
    await h.fed.start({ ...CFG, algorithm: 'median' });
    h.register('a', 'b', 'c');
    h.fed.submitUpdate(h.update('a', [1, 0, 0, 0, 0, 0], 100));
    h.fed.submitUpdate(h.update('b', [2, 5, 0, 0, 0, 0], 100));
    h.fed.submitUpdate(h.update('c', [100, -5, 0, 0, 0, 0], 900));
    await flush();
    // median per coordinate, ignoring n_k: [2, 0, 0, 0, 0, 0]
    expect(Array.from(h.last().weights)).toEqual([3, 1, 1, 1, 1, 1]);
  });

  it('fed-adaptive-next: a sign-flipped update is gated out, flagged and gets weight 0; ρ is recorded', async () => {
    const h = make();
    await h.fed.start({ ...CFG, algorithm: 'fed-adaptive-next', attack: 'sign-flip', attackers: 0.34 });
    expect(h.status().attackerSlots).toEqual([]); // not known before the partitions are
    h.register('a', 'b', 'c');
    const attackerSlot = h.status().attackerSlots;
    expect(attackerSlot).toHaveLength(1);
    const bySlot = Object.fromEntries(Object.entries(h.last().assignments).map(([id, s]) => [s, id]));
    const bad = bySlot[attackerSlot[0]];
    for (const id of ['a', 'b', 'c']) {
      const d = id === bad ? [-4, -4, -4, -4, -4, -4] : [1, 1.1, 0.9, 1, 1, 1];
      h.fed.submitUpdate(h.update(id, d));
    }
    await flush();
    const rec = h.status().history[0];
    const badRec = rec.clients.find((c) => c.clientId === bad)!;
    expect(badRec).toMatchObject({ role: 'attacker', weight: 0 });
    expect(badRec.flagged).toMatch(/gated out/);
    expect(rec.flagged.map((f) => f.clientId)).toEqual([bad]);
    for (const c of rec.clients) expect(c.reliability).toBeGreaterThan(0);
    expect(rec.attackSuccessRate).toBeNull(); // untargeted attack
    expect(h.status().clients.find((c) => c.clientId === bad)!.reliability).toBe(badRec.reliability);
  });

  it('a partial straggler is dropped under fedavg and aggregated under fedprox', async () => {
    for (const algorithm of ['fedavg', 'fedprox'] as const) {
      const h = make();
      await h.fed.start({ ...CFG, algorithm, stragglers: 0.34 });
      h.register('a', 'b', 'c');
      await h.completeRound([1, 1, 1, 1, 1, 1]);
      const rec = h.status().history[0];
      const stragglers = rec.clients.filter((c) => c.straggler === 'partial');
      if (algorithm === 'fedavg') {
        expect(rec.clients).toHaveLength(2);
        expect(rec.dropped).toHaveLength(1);
        expect(rec.dropped[0]).toMatchObject({ straggler: 'partial', reason: 'straggler: partial work (fedavg drops it)' });
      } else {
        expect(rec.clients).toHaveLength(3);
        expect(stragglers).toHaveLength(1);
        expect(rec.dropped).toEqual([]);
      }
    }
  });

  it('scaffold: updates without controlDelta are rejected; c goes out with the next round', async () => {
    const h = make();
    await h.fed.start({ ...CFG, algorithm: 'scaffold' });
    h.register('a', 'b', 'c');
    expect(h.last().control).toBeUndefined(); // c = 0 before the first aggregation
    expect(h.fed.submitUpdate(h.update('a', [1, 1, 1, 1, 1, 1]))).toMatchObject({ accepted: false, reason: 'malformed' });
    for (const id of ['a', 'b', 'c']) {
      const r = h.fed.submitUpdate(h.update(id, [1, 1, 1, 1, 1, 1], 100, { controlDelta: new Float32Array(6).fill(3) }));
      expect(r).toEqual({ accepted: true });
    }
    await flush();
    // c = 0 + (1/K)·Σ controlDelta = 3·3/3 = 3 per coordinate
    expect(Array.from(h.last().control!)).toEqual([3, 3, 3, 3, 3, 3]);
  });

  it('krum with too few clients fails before round 1 with a clear reason', async () => {
    const h = make();
    await h.fed.start({ ...CFG, algorithm: 'krum', byzantine: 1 });
    h.register('a', 'b', 'c');
    expect(h.status().state).toBe('error');
    expect(h.status().error).toMatch(/krum needs more than 2f \+ 2 = 4 clients per round .* this run has 3/);
    expect(h.rounds()).toHaveLength(0);
  });

  it('fltrust aggregates against the root-set update from the task', async () => {
    const h = make();
    await h.fed.start({ ...CFG, algorithm: 'fltrust' });
    h.register('a', 'b', 'c');
    h.fed.submitUpdate(h.update('a', [1, 1, 1, 1, 1, 1]));
    h.fed.submitUpdate(h.update('b', [2, 2, 2, 2, 2, 2]));
    h.fed.submitUpdate(h.update('c', [-1, -1, -1, -1, -1, -1]));
    await flush();
    // Δ₀ = 0.01·1: a and b rescaled to ‖Δ₀‖ with trust 1, c (cos −1) gets none → step 0.01 per coordinate.
    h.last().weights.forEach((w) => expect(w).toBeCloseTo(1.01, 6));
    expect(h.status().history[0].flagged.map((f) => f.clientId)).toEqual(['c']);
  });

  it('unknown strategy params and an attack without attackers are config errors', async () => {
    const h = make();
    await expect(h.fed.start({ algorithm: 'fedsgd' })).rejects.toThrow(/algorithm must be one of: fedavg, fedprox, scaffold/);
    await expect(h.fed.start({ attack: 'sign-flip' })).rejects.toThrow(/needs attackers > 0/);
    await expect(h.fed.start({ attackers: 0.2 })).rejects.toThrow(/need an attack/);
    await expect(h.fed.start({ tau: 0 })).rejects.toThrow(/invalid tau/);
    await expect(h.fed.start({ gate: 'maybe' })).rejects.toThrow(/gate must be true or false/);
  });

  it('fed-adaptive-next with a validation split scores each update on it and lowers the reliability of one that hurts', async () => {
    const calls: Array<{ n: number; samples: number }> = [];
    // The first vector is w_t (loss 1); an update whose first coordinate is negative raises the loss to 1.5.
    const validationLosses = async (list: Float32Array[], samples: number) => {
      calls.push({ n: list.length, samples });
      return list.map((w, i) => (i > 0 && w[0] < 1 ? 1.5 : 1));
    };
    const h = make(undefined, { validationLosses });
    await h.fed.start({ ...CFG, algorithm: 'fed-adaptive-next', validation: 500, attention: false });
    h.register('a', 'b', 'c');
    h.fed.submitUpdate(h.update('a', [1, 1, 1, 1, 1, 1]));
    h.fed.submitUpdate(h.update('b', [1, 1, 1, 1, 1, 1]));
    h.fed.submitUpdate(h.update('c', [-0.5, 1, 1, 1, 1, 1]));
    await flush();
    expect(calls).toEqual([{ n: 4, samples: 500 }]);
    const byId = Object.fromEntries(h.status().history[0].clients.map((c) => [c.clientId, c]));
    // increase 0.5 → u = γ_val·0.5 = 2.5 → ρ = 0.7 + 0.3e^{−2.5}
    expect(byId.c.reliability).toBeCloseTo(0.7 + 0.3 * Math.exp(-2.5), 9);
    expect(byId.a.reliability).toBe(1);
  });
});

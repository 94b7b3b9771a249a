import { describe, expect, it } from 'vitest';
import { resolveConfig } from './config';
import { labelHistogram } from './partition';
import {
  attackerSlots,
  expectedSteps,
  localEvalCount,
  partitionParams,
  proxySplit,
  runPool,
  ROOT_SET_SIZE,
  sampleSlots,
  serverHoldout,
  slotIndices,
  slotSplit,
  stragglerPlan,
  stragglerSlots,
  trainSeed,
  VALIDATION_POOL_SIZE,
} from './run-plan';

describe('sampleSlots', () => {
  const active = [7, 0, 5, 2, 3]; // order must not matter

  it('picks max(ceil(C·K), 1) distinct slots from the active ones, sorted', () => {
    for (const [fraction, m] of [[1, 5], [0.5, 3], [0.4, 2], [0.21, 2], [0.2, 1], [0.01, 1]] as const) {
      for (let round = 1; round <= 20; round++) {
        const s = sampleSlots(active, fraction, 1, round);
        expect(s, `C=${fraction}`).toHaveLength(m);
        expect(new Set(s).size).toBe(m);
        for (const slot of s) expect(active).toContain(slot);
        expect(s).toEqual([...s].sort((a, b) => a - b));
      }
    }
    expect(sampleSlots(active, 1, 1, 1)).toEqual([0, 2, 3, 5, 7]);
    expect(sampleSlots([], 0.5, 1, 1)).toEqual([]);
  });

  it('is deterministic per (seed, round) and independent of the order of the active slots', () => {
    for (let round = 1; round <= 10; round++) {
      expect(sampleSlots(active, 0.4, 3, round)).toEqual(sampleSlots([0, 2, 3, 5, 7], 0.4, 3, round));
    }
    // Regression pin (values of the current cyrb128/sfc32 streams): a resumed run must draw the same slots as before.
    const ten = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
    expect([1, 2, 3].map((r) => sampleSlots(ten, 0.3, 1, r))).toEqual([[0, 5, 7], [0, 2, 6], [2, 6, 7]]);
  });

  it('differs across rounds and seeds', () => {
    const slots = Array.from({ length: 20 }, (_, i) => i);
    const byRound = new Set(Array.from({ length: 10 }, (_, r) => sampleSlots(slots, 0.25, 1, r + 1).join()));
    expect(byRound.size).toBe(10); // 10 draws of 5 slots out of 20 (15504 subsets): all different
    const bySeed = new Set(Array.from({ length: 10 }, (_, seed) => sampleSlots(slots, 0.25, seed, 1).join()));
    expect(bySeed.size).toBe(10);
  });

  it('every active slot gets picked eventually (no slot is starved)', () => {
    const seen = new Set<number>();
    for (let round = 1; round <= 50; round++) for (const s of sampleSlots(active, 0.2, 1, round)) seen.add(s);
    expect([...seen].sort((a, b) => a - b)).toEqual([0, 2, 3, 5, 7]);
  });
});

describe('slotIndices', () => {
  const labels = Uint8Array.from({ length: 400 }, (_, i) => i % 10); // 10 classes × 40
  const cfg = resolveConfig({ partition: 'iid', seed: 4, maxSamples: 0 });

  it('is deterministic and partitions the training set left after the server holdout', () => {
    const parts = [0, 1, 2, 3].map((s) => slotIndices(labels, 10, cfg, 4, s));
    // 400 labels: a tenth each (40) is held out for the root set and the validation split.
    expect(parts.map((p) => p.length)).toEqual([80, 80, 80, 80]);
    const all = parts.flatMap((p) => Array.from(p)).sort((a, b) => a - b);
    const { root, validation, pool } = serverHoldout(labels, 10, cfg.seed);
    expect(all).toEqual(Array.from(pool));
    const held = new Set([...root, ...validation]);
    expect(held.size).toBe(80);
    for (const i of all) expect(held.has(i)).toBe(false);
    expect(slotIndices(labels, 10, { ...cfg }, 4, 2)).toEqual(parts[2]);
    expect(slotIndices(labels, 10, { ...cfg, seed: 5 }, 4, 2)).not.toEqual(parts[2]);
  });

  it('holds the FedDF proxy split out of every partition and of the server holdout; without it nothing changes', () => {
    const withProxy = resolveConfig({ partition: 'iid', seed: 4, maxSamples: 0, algorithm: 'feddf', proxySamples: 60, localEval: 0.1 });
    const { proxy, pool } = proxySplit(labels, 10, withProxy);
    expect(proxy).toHaveLength(60);
    expect(Array.from(proxy)).toEqual(Array.from(proxy).sort((a, b) => a - b));
    const { root, validation } = serverHoldout(labels, 10, withProxy.seed);
    const server = new Set([...root, ...validation]);
    for (const i of proxy) expect(server.has(i)).toBe(false);
    const proxySet = new Set(proxy);
    const clients = [0, 1, 2, 3].flatMap((s) => {
      const { train, eval: held } = slotSplit(labels, 10, withProxy, 4, s);
      return [...train, ...held];
    });
    for (const i of clients) expect(proxySet.has(i)).toBe(false);
    // clients share what is left: 400 − 80 (server) − 60 (proxy)
    expect(clients.sort((a, b) => a - b)).toEqual(Array.from(pool));
    expect(clients).toHaveLength(260);
    expect(proxySplit(labels, 10, { ...withProxy }).proxy).toEqual(proxy);
    expect(proxySplit(labels, 10, { ...withProxy, seed: 5 }).proxy).not.toEqual(proxy);
    // proxySamples 0 (the default) leaves every run's partitions as they were before the key existed
    expect(proxySplit(labels, 10, cfg).proxy).toHaveLength(0);
    expect(slotIndices(labels, 10, cfg, 4, 1)).toEqual(slotIndices(labels, 10, { ...cfg, proxySamples: 0 }, 4, 1));
  });

  it('respects maxSamples (a sorted, deterministic subset of the uncapped share; 0 = no cap)', () => {
    const full = slotIndices(labels, 10, cfg, 4, 1);
    const capped = slotIndices(labels, 10, { ...cfg, maxSamples: 30 }, 4, 1);
    expect(capped).toHaveLength(30);
    expect(Array.from(capped)).toEqual(Array.from(capped).sort((a, b) => a - b));
    for (const i of capped) expect(full).toContain(i);
    expect(slotIndices(labels, 10, { ...cfg, maxSamples: 30 }, 4, 1)).toEqual(capped);
    expect(slotIndices(labels, 10, { ...cfg, maxSamples: 500 }, 4, 1)).toEqual(full);
  });

  it('passes the partition parameters through', () => {
    const c = resolveConfig({ partition: 'labels', labelsPerClient: 2, maxSamples: 0 });
    expect(partitionParams(c)).toEqual({ scheme: 'labels', alpha: 0.5, shardsPerClient: 2, labelsPerClient: 2, beta: 0.5, imbalanceFactor: 10 });
    for (let s = 0; s < 5; s++) {
      const classes = new Set(Array.from(slotIndices(labels, 10, c, 5, s), (i) => labels[i]));
      expect(classes.size).toBeLessThanOrEqual(2);
    }
  });

  it('holds out a class-balanced root set of 100 and validation split of 500 on MNIST-sized data', () => {
    const big = Uint8Array.from({ length: 60_000 }, (_, i) => (i * 7) % 10);
    const h = serverHoldout(big, 10, 3);
    expect(h.root).toHaveLength(ROOT_SET_SIZE);
    expect(h.validation).toHaveLength(VALIDATION_POOL_SIZE);
    expect(labelHistogram(big, h.root, 10)).toEqual(new Array(10).fill(10));
    expect(labelHistogram(big, h.validation, 10)).toEqual(new Array(10).fill(50));
    expect(h.pool).toHaveLength(60_000 - 600);
    expect(serverHoldout(big, 10, 4).root).not.toEqual(h.root);
  });

  it('trainSeed differs per slot and round', () => {
    const seeds = new Set([0, 1, 2].flatMap((slot) => [1, 2, 3].map((round) => trainSeed(cfg, slot, round))));
    expect(seeds.size).toBe(9);
    expect(trainSeed(cfg, 1, 2)).toBe(trainSeed({ ...cfg }, 1, 2));
  });
});

describe('attackerSlots', () => {
  it('is empty without an attack and a fixed seeded set with one', () => {
    expect(attackerSlots(resolveConfig({}), 10)).toEqual([]);
    const cfg = resolveConfig({ attack: 'sign-flip', attackers: 0.2, seed: 3 });
    const a = attackerSlots(cfg, 10);
    expect(a).toHaveLength(2);
    expect(attackerSlots({ ...cfg }, 10)).toEqual(a);
    expect(attackerSlots(resolveConfig({ attack: 'sign-flip', attackers: 0.3 }), 10)).toHaveLength(3);
    // At least one attacker when the fraction is positive.
    expect(attackerSlots(resolveConfig({ attack: 'gaussian', attackers: 0.01 }), 4)).toHaveLength(1);
  });
});

describe('stragglerPlan', () => {
  const selected = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  it('picks round(fraction × m) stragglers per round, partial ones with 1..fullSteps−1 steps', () => {
    const cfg = resolveConfig({ stragglers: 0.5, seed: 2 });
    for (const round of [1, 2, 3]) {
      const plans = selected.map((s) => stragglerPlan(cfg, selected, round, s, 20));
      const chosen = plans.filter((p) => p !== null);
      expect(chosen).toHaveLength(5);
      for (const p of chosen) {
        expect(p!.mode).toBe('partial');
        if (p!.mode === 'partial') expect(p!.steps).toBeGreaterThanOrEqual(1), expect(p!.steps).toBeLessThanOrEqual(19);
      }
      expect([...stragglerSlots(cfg, selected, round).keys()].sort()).toEqual(selected.filter((_, i) => plans[i] !== null));
    }
    expect(stragglerPlan(resolveConfig({}), selected, 1, 0, 20)).toBeNull();
    expect(stragglerPlan(cfg, selected, 1, 42, 20)).toBeNull(); // not selected
  });
  it('late stragglers reply late', () => {
    const cfg = resolveConfig({ stragglers: 0.25, stragglerMode: 'late' });
    const plans = [0, 1, 2, 3].map((s) => stragglerPlan(cfg, [0, 1, 2, 3], 1, s, 10));
    expect(plans.filter((p) => p?.mode === 'late')).toHaveLength(1);
  });
});

describe('dataFraction and the local evaluation split', () => {
  // 6,000 labels, 10 classes, 600 each.
  const labels = Uint8Array.from({ length: 6000 }, (_, i) => i % 10);

  it('dataFraction draws a class-stratified share of the pool before partitioning, seeded', () => {
    const all = runPool(labels, 10, { seed: 3, dataFraction: 1 });
    const tenth = runPool(labels, 10, { seed: 3, dataFraction: 0.1 });
    expect(tenth.pool.length).toBe(Math.round(all.pool.length * 0.1));
    expect(labelHistogram(labels, tenth.pool, 10).every((c) => Math.abs(c - tenth.pool.length / 10) <= 1)).toBe(true);
    expect(new Set(tenth.pool).size).toBe(tenth.pool.length);
    for (const i of tenth.pool) expect(all.pool).toContain(i);
    expect(runPool(labels, 10, { seed: 3, dataFraction: 0.1 }).pool).toEqual(tenth.pool);
    expect(runPool(labels, 10, { seed: 4, dataFraction: 0.1 }).pool).not.toEqual(tenth.pool);
  });

  it('keeps the quantity skew that maxSamples flattens', () => {
    const cfg = (over: object) => resolveConfig({ partition: 'quantity', beta: 0.5, seed: 2, ...over });
    const sizes = (c: ReturnType<typeof cfg>) => Array.from({ length: 5 }, (_, s) => slotIndices(labels, 10, c, 5, s).length);
    const fraction = sizes(cfg({ dataFraction: 0.25, maxSamples: 0 }));
    const capped = sizes(cfg({ maxSamples: 300 }));
    // Quantity skew: the largest client holds many times the smallest after subsampling; a cap makes most equal.
    expect(Math.max(...fraction) / Math.min(...fraction)).toBeGreaterThan(3);
    expect(capped.filter((n) => n === 300).length).toBeGreaterThanOrEqual(3);
  });

  it('slotSplit holds out ⌊n·localEval⌋ (at least one) for federated evaluation, disjoint from training', () => {
    expect([localEvalCount(107, 0.1), localEvalCount(5, 0.1), localEvalCount(1, 0.1), localEvalCount(100, 0)]).toEqual([10, 1, 0, 0]);
    const cfg = resolveConfig({ partition: 'iid', seed: 1, maxSamples: 0 });
    const whole = slotIndices(labels, 10, cfg, 4, 2);
    const { train, eval: ev } = slotSplit(labels, 10, cfg, 4, 2);
    expect(ev.length).toBe(Math.floor(whole.length * 0.1));
    expect(train.length + ev.length).toBe(whole.length);
    expect([...train, ...ev].sort((a, b) => a - b)).toEqual(Array.from(whole));
    expect(slotSplit(labels, 10, cfg, 4, 2)).toEqual({ train, eval: ev });
    expect(slotSplit(labels, 10, { ...cfg, localEval: 0 }, 4, 2)).toEqual({ train: whole, eval: new Int32Array(0) });
  });

  it('expectedSteps: E·⌈n/B⌉, or the partial straggler’s own count', () => {
    expect(expectedSteps({ epochs: 2, batchSize: 16 }, 97, null)).toBe(14);
    expect(expectedSteps({ epochs: 2, batchSize: 16 }, 97, { mode: 'partial', steps: 3 })).toBe(3);
    expect(expectedSteps({ epochs: 1, batchSize: 16 }, 97, { mode: 'late' })).toBe(7);
  });
});


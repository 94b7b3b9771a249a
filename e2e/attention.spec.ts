import { expect, test } from '@playwright/test';
import { openClient, openDashboard, waitForStatus } from './helpers';

test('tab and worker clients federate an attention CNN (CBAM) under FedProx: it improves, memory flat', async ({ context }) => {
  const dashboard = await openDashboard(context);
  for (let i = 0; i < 2; i++) await openClient(context, 'wasm');
  await dashboard.evaluate(() => window.fedtab.addWorkers(1, 'wasm'));
  await waitForStatus(dashboard, (s) => s.clients.length === 3, 30_000, '3 registered clients');
  await dashboard.evaluate(() =>
    window.fedtab.start({
      dataset: 'mnist', model: 'cnn-s-cbam', partition: 'iid', algorithm: 'fedprox', mu: 0.01, rounds: 4, clients: 3,
      maxSamples: 400, batchSize: 16, lr: 0.05, evalSamples: 500, backend: 'wasm', seed: 5,
    }),
  );
  const s = await waitForStatus(dashboard, (x) => x.state === 'done', 200_000, '4 rounds');
  expect(s.config?.model).toBe('cnn-s-cbam');
  expect(s.clients.map((c) => c.kind).sort()).toEqual(['tab', 'tab', 'worker']);
  const acc = s.history.map((r) => r.accuracy!);
  expect(acc[3]).toBeGreaterThan(acc[0]);
  expect(acc[3]).toBeGreaterThan(0.7);
  for (const r of s.history) expect(r.clients).toHaveLength(3);
  // tf.memory() flat across rounds, on every client and in the coordinator.
  const perClient = (round: number) => Object.fromEntries(s.history[round - 1].clients.map((c) => [c.clientId, c.numTensors]));
  expect(perClient(4)).toEqual(perClient(2));
  expect(s.history[3].coordinatorTensors).toBe(s.history[1].coordinatorTensors);
});

test('a FedAKD run on long-tail data reports the imbalance metrics every round, consistent with its per-class recall', async ({ context }) => {
  const dashboard = await openDashboard(context);
  await dashboard.evaluate(() => window.fedtab.addWorkers(3, 'wasm'));
  await waitForStatus(dashboard, (s) => s.clients.length === 3, 30_000, '3 registered clients');
  await dashboard.evaluate(() =>
    window.fedtab.start({
      dataset: 'mnist', partition: 'longtail', imbalanceFactor: 50, algorithm: 'fedakd', kdLambda: 0.5, kdTemperature: 2, rounds: 3,
      clients: 3, maxSamples: 300, batchSize: 16, lr: 0.05, evalSamples: 1000, backend: 'wasm', seed: 3,
    }),
  );
  const s = await waitForStatus(dashboard, (x) => x.state === 'done', 200_000, '3 rounds');
  const counts = s.trainClassCounts!;
  expect(counts).toHaveLength(10);
  // The long tail: the most frequent class has about 50× the rarest.
  expect(Math.max(...counts) / Math.max(1, Math.min(...counts))).toBeGreaterThan(20);
  const byCount = counts.map((n, c) => ({ n, c })).sort((a, b) => b.n - a.n || a.c - b.c).map((x) => x.c);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  for (const r of s.history) {
    const recall = r.recall!;
    expect(r.balancedAccuracy).toBeCloseTo(mean(recall), 6);
    expect(r.worstClassRecall).toBeCloseTo(Math.min(...recall), 6);
    expect(r.headRecall).toBeCloseTo(mean(byCount.slice(0, 3).map((c) => recall[c])), 6);
    expect(r.tailRecall).toBeCloseTo(mean(byCount.slice(-3).map((c) => recall[c])), 6);
    expect(r.midRecall).toBeCloseTo(mean(byCount.slice(3, -3).map((c) => recall[c])), 6);
    expect(r.macroF1).toBeGreaterThan(0);
    expect(r.macroF1).toBeLessThanOrEqual(1);
  }
  // A long tail learns slowly: in 3 rounds it only has to improve (in Node, seeded: 0.13 → 0.29).
  expect(s.history.at(-1)!.accuracy).toBeGreaterThan(Math.max(0.2, s.history[0].accuracy!));
  const perClient = (round: number) => Object.fromEntries(s.history[round - 1].clients.map((c) => [c.clientId, c.numTensors]));
  expect(perClient(3)).toEqual(perClient(2));
  expect(s.history[2].coordinatorTensors).toBe(s.history[1].coordinatorTensors);
  // The dashboard shows it, head and tail coloured.
  await expect(dashboard.locator('.imbalance svg.recall-bars')).toBeVisible();
  await expect(dashboard.locator('.imbalance')).toContainText('tail');
});

test('the CBAM and FedAKD models train on webgl and webgpu too, and their updates are aggregated', async ({ context }) => {
  const dashboard = await openDashboard(context);
  const client = await openClient(context, 'auto');
  for (const [backend, algorithm] of [['webgl', 'fedprox'], ['webgpu', 'fedakd']] as const) {
    // localEval 0 and a short deadline: on SwiftShader a client's own evaluation can fail (README, known limits).
    await dashboard.evaluate(
      ({ b, a }) => window.fedtab.start({ model: 'cnn-s-cbam', algorithm: a, rounds: 1, clients: 1, maxSamples: 32, batchSize: 16, localEval: 0, evalSamples: 200, backend: b, roundDeadlineMs: 120_000 }),
      { b: backend, a: algorithm },
    );
    const s = await waitForStatus(dashboard, (x) => x.state === 'done', 200_000, `one ${backend} round`);
    const c = s.history[0].clients;
    expect(c).toHaveLength(1);
    expect(c[0].backend).toBe(backend);
    expect(c[0].steps).toBe(2);
    expect(c[0].updateNorm).toBeGreaterThan(0);
    expect(Number.isFinite(c[0].trainLoss)).toBe(true);
    await expect(client.locator('#backend')).toHaveText(backend);
  }
});

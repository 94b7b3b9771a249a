import { expect, test } from '@playwright/test';
import { openClient, openDashboard, roundsDone, status, waitForStatus } from './helpers';

test('3 tab clients and 2 worker clients federate MNIST IID to >= 95% within 5 rounds, memory flat', async ({ context }) => {
  const dashboard = await openDashboard(context);
  for (let i = 0; i < 3; i++) await openClient(context, 'wasm');
  await dashboard.evaluate(() => window.fedtab.addWorkers(2, 'wasm'));
  await waitForStatus(dashboard, (s) => s.clients.length === 5, 30_000, '5 registered clients');
  await dashboard.evaluate(() =>
    window.fedtab.start({ dataset: 'mnist', partition: 'iid', algorithm: 'fedavg', rounds: 5, clients: 5, maxSamples: 1200, backend: 'wasm', seed: 7 }),
  );
  const s = await waitForStatus(dashboard, (x) => x.state === 'done', 420_000, '5 rounds');
  expect(s.history).toHaveLength(5);
  expect(s.history.at(-1)!.accuracy).toBeGreaterThanOrEqual(0.95);
  const kinds = s.clients.map((c) => c.kind).sort();
  expect(kinds).toEqual(['tab', 'tab', 'tab', 'worker', 'worker']);
  expect(s.clients.every((c) => c.backend === 'wasm')).toBe(true);
  // Every round aggregated all five clients, with FedAvg weights n_k/n.
  for (const r of s.history) {
    expect(r.clients).toHaveLength(5);
    expect(r.clients.reduce((a, c) => a + c.weight, 0)).toBeCloseTo(1, 6);
    for (const c of r.clients) expect(c.weight).toBeCloseTo(c.numSamples / r.clients.reduce((a, x) => a + x.numSamples, 0), 6);
  }
  // Federated evaluation: every client scored every round's model on its own held-out split.
  for (const r of s.history) {
    expect(r.federatedEval!.clients.map((c) => c.clientId).sort()).toEqual(r.clients.map((c) => c.clientId).sort());
    for (const c of r.federatedEval!.clients) expect(c.accuracy).toBeGreaterThan(0.5);
  }
  expect(s.history.at(-1)!.federatedEval!.meanAccuracy).toBeGreaterThan(0.9);
  // tf.memory() does not grow across rounds, on clients or in the coordinator.
  const perClient = (round: number) => Object.fromEntries(s.history[round - 1].clients.map((c) => [c.clientId, c.numTensors]));
  expect(perClient(5)).toEqual(perClient(2));
  expect(s.history[4].coordinatorTensors).toBe(s.history[1].coordinatorTensors);
  // The dashboard shows it.
  await expect(dashboard.locator('#clients tbody tr')).toHaveCount(5);
  await expect(dashboard.locator('#chart svg')).toBeVisible();
});

test('a client on the webgpu backend trains and its update is aggregated', async ({ context }) => {
  const dashboard = await openDashboard(context);
  const client = await openClient(context, 'webgpu');
  // No federated evaluation (localEval 0): on SwiftShader the client's own evaluation of the final model fails (README,
  // known limits), and the run would then finish only at that evaluation's deadline.
  await dashboard.evaluate(() => window.fedtab.start({ rounds: 1, clients: 1, maxSamples: 64, batchSize: 32, backend: 'webgpu', localEval: 0, roundDeadlineMs: 90_000 }));
  const s = await waitForStatus(dashboard, (x) => x.state === 'done', 180_000, 'one webgpu round');
  const round = s.history[0];
  expect(round.clients).toHaveLength(1);
  expect(round.clients[0].backend).toBe('webgpu');
  expect(round.clients[0].weight).toBe(1);
  expect(round.clients[0].updateNorm).toBeGreaterThan(0);
  await expect(client.locator('#backend')).toHaveText('webgpu');
});

test('a client tab closed mid-round does not stall the round', async ({ context }) => {
  const dashboard = await openDashboard(context);
  const clients = [await openClient(context), await openClient(context), await openClient(context)];
  // Deadline far beyond how long the round takes; the closed tab must not make the round wait for it.
  await dashboard.evaluate(() => window.fedtab.start({ rounds: 2, clients: 3, maxSamples: 1000, roundDeadlineMs: 600_000 }));
  await waitForStatus(dashboard, (s) => s.round === 1 && s.clients.some((c) => c.state === 'training'), 120_000, 'round 1 training');
  const victim = await clients[2].evaluate(() => window.fedtabClient!.view().clientId);
  await clients[2].close();
  const s = await waitForStatus(dashboard, (x) => x.state === 'done', 240_000, 'both rounds');
  const r1 = s.history[0];
  expect(r1.dropped).toContainEqual(expect.objectContaining({ clientId: victim, reason: 'disconnected' }));
  expect(r1.clients.map((c) => c.clientId)).not.toContain(victim);
  expect(r1.clients).toHaveLength(2);
  expect(r1.seconds).toBeLessThan(120);
  expect(s.history[1].participants).not.toContain(victim);
  expect(s.clients.map((c) => c.clientId)).not.toContain(victim);
});

test('a malformed update is rejected with its reason and the round still completes', async ({ context }) => {
  const dashboard = await openDashboard(context);
  const [a] = [await openClient(context), await openClient(context)];
  // Listen for the round broadcast inside the client page, then forge an update with a NaN in it.
  const forged = a.evaluate(
    () =>
      new Promise<unknown>((resolve) => {
        const ch = new BroadcastChannel('fedtab/v2');
        ch.onmessage = async (ev) => {
          const msg = ev.data;
          if (msg.type !== 'round') return;
          ch.close();
          const me = window.fedtabClient!.identity()!;
          const delta = new Float32Array(msg.weights.length);
          delta[3] = Number.NaN;
          resolve(
            await window.fedtabClient!.coordinator.submitUpdate({
              v: 2, type: 'update', ...me, runId: msg.runId, round: msg.round, numSamples: 10, layers: msg.layers, delta,
              epochLosses: [1], batchLosses: [1], steps: 1, trainMs: 1, samplesPerSec: 1, backend: 'wasm', numTensors: 0,
            }),
          );
        };
      }),
  );
  await dashboard.evaluate(() => window.fedtab.start({ rounds: 1, clients: 2, maxSamples: 200 }));
  expect(await forged).toMatchObject({ accepted: false, reason: 'non-finite' });
  const s = await waitForStatus(dashboard, (x) => x.state === 'done', 120_000, 'the round');
  expect(s.rejections.byReason['non-finite']).toBe(1);
  expect(s.rejections.recent[0].detail).toContain('delta[3]');
  // The forging client's real update was still accepted: both clients are in the aggregate.
  expect(s.history[0].clients).toHaveLength(2);
  await expect(dashboard.locator('#rejections')).toContainText('non-finite');
});

test('closing every tab and reopening resumes at the stored round with history intact', async ({ context }) => {
  let dashboard = await openDashboard(context);
  let clients = [await openClient(context), await openClient(context)];
  await dashboard.evaluate(() => window.fedtab.start({ rounds: 4, clients: 2, maxSamples: 200 }));
  // Two rounds done and stored: closing every tab must lose none of what the coordinator says it saved.
  const before = await waitForStatus(dashboard, (x) => roundsDone(2)(x) && x.savedRounds >= 2, 180_000, 'two rounds, stored');
  const runId = before.runId;
  for (const p of [dashboard, ...clients]) await p.close();

  dashboard = await openDashboard(context);
  const reopened = await status(dashboard);
  expect(reopened.runId).toBe(runId);
  expect(reopened.history.length).toBeGreaterThanOrEqual(before.savedRounds);
  const storedRounds = reopened.history.length;
  // The same rounds as before the tabs closed (evaluations may have landed since).
  const core = (h: typeof before.history) => h.slice(0, 2).map(({ round, participants, clients }) => ({ round, participants, clients }));
  expect(core(reopened.history)).toEqual(core(before.history));
  clients = [await openClient(context), await openClient(context)];
  const s = await waitForStatus(dashboard, (x) => x.state === 'done', 240_000, 'the resumed run');
  expect(s.history.map((h) => h.round)).toEqual([1, 2, 3, 4]);
  // Resumed, not restarted: the rounds after the stored ones were trained by the reopened clients.
  const newIds = await Promise.all(clients.map((c) => c.evaluate(() => window.fedtabClient!.view().clientId)));
  for (const r of s.history.slice(storedRounds)) expect(r.clients.map((c) => c.clientId).sort()).toEqual([...newIds].sort());
});

test('a second load of the dataset makes no dataset request, from the pages, the workers or the coordinator', async ({ context, request }) => {
  // The server counts every request it answers (scripts/request-counter.ts), the SharedWorker's and workers' too.
  const datasetRequests = async () =>
    Object.entries((await (await request.get('/__fedtab/requests')).json()) as Record<string, number>).filter(([path]) => path.includes('/datasets/'));
  await request.delete('/__fedtab/requests');
  let dashboard = await openDashboard(context);
  let client = await openClient(context);
  await dashboard.evaluate(() => window.fedtab.start({ rounds: 1, clients: 1, maxSamples: 64 }));
  await waitForStatus(dashboard, (x) => x.state === 'done', 120_000, 'first run');
  // A fresh browser profile downloads: the counter sees it (so the check below can fail).
  expect((await datasetRequests()).map(([path]) => path)).toContain('/datasets/mnist/train-images.u8');
  await dashboard.evaluate(() => window.fedtab.reset());
  // Close everything, so the coordinator and the clients start from IndexedDB alone.
  await dashboard.close();
  await client.close();

  await request.delete('/__fedtab/requests');
  dashboard = await openDashboard(context);
  client = await openClient(context);
  await dashboard.evaluate(() => window.fedtab.addWorkers(1, 'wasm'));
  await dashboard.evaluate(() => window.fedtab.start({ rounds: 1, clients: 2, maxSamples: 64 }));
  const s = await waitForStatus(dashboard, (x) => x.state === 'done', 120_000, 'second run');
  expect(s.history).toHaveLength(1);
  expect(s.history[0].clients.map((c) => c.kind).sort()).toEqual(['tab', 'worker']);
  expect(await datasetRequests()).toEqual([]);
});

import { expect, test } from '@playwright/test';
import { openClient, openDashboard, waitForStatus } from './helpers';

test.setTimeout(360_000);

test('a FedMChain federation on mnist+fashion: clients of all three modality kinds train, unimodal accuracies and compressed bytes are reported, memory flat', async ({ context }) => {
  const dashboard = await openDashboard(context);
  await openClient(context, 'wasm');
  await dashboard.evaluate(() => window.fedtab.addWorkers(3, 'wasm'));
  await waitForStatus(dashboard, (s) => s.clients.length === 4, 30_000, '4 registered clients');
  await dashboard.evaluate(() =>
    window.fedtab.start({
      dataset: 'mnist+fashion', algorithm: 'fedmchain', syncEvery: 1, partition: 'dirichlet', alpha: 0.5, rounds: 3, clients: 4,
      maxSamples: 200, batchSize: 20, lr: 0.05, evalSamples: 1000, backend: 'wasm', seed: 5,
    }),
  );
  const s = await waitForStatus(dashboard, (x) => x.state === 'done', 300_000, '3 rounds');
  expect(s.config).toMatchObject({ model: 'mm-late', compress: 'topk' });
  // 4 partitions: 2 hold both modalities, 1 MNIST only, 1 Fashion-MNIST only; the client table says which.
  const cells = await dashboard.locator('#clients tbody tr td.col-modalities').allTextContents();
  expect(cells.sort()).toEqual(['Fashion-MNIST only', 'MNIST digits only', 'both', 'both']);
  const last = s.history.at(-1)!;
  expect(last.clients).toHaveLength(4);
  expect(last.accuracy).toBeGreaterThan(0.5);
  expect(last.unimodalAccuracy!.mnist).toBeGreaterThan(0.2);
  expect(last.unimodalAccuracy!.fashion).toBeGreaterThan(0.2);
  expect(last.bytesUp / last.denseBytesUp).toBeLessThan(0.16);
  await expect(dashboard.locator('.unimodal')).toContainText('each modality alone');
  await expect(dashboard.locator('.traffic').first()).toContainText('of dense');
  const perClient = (round: number) => Object.fromEntries(s.history[round - 1].clients.map((c) => [c.clientId, c.numTensors]));
  expect(perClient(3)).toEqual(perClient(2));
  expect(s.history[2].coordinatorTensors).toBe(s.history[1].coordinatorTensors);
});

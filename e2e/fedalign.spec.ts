import { expect, test } from '@playwright/test';
import { openClient, openDashboard, waitForStatus } from './helpers';

test.setTimeout(300_000);

const LORA = 7680; // cnn-s-lora's federated floats: fc1 A [4,1600], B [128,4]; proj A [4,128], B [64,4]

test('a FedAlign federation (a tab + 2 worker clients): only LoRA and features go up, each client gets its own LoRA over its port, local accuracy per client, memory flat', async ({ context }) => {
  const dashboard = await openDashboard(context);
  const tab = await openClient(context, 'wasm');
  await dashboard.evaluate(() => window.fedtab.addWorkers(2, 'wasm'));
  await waitForStatus(dashboard, (s) => s.clients.length === 3, 30_000, '3 registered clients');
  // The tab asks the coordinator, over its own port, for what round 2 carries for it.
  const ownExtras = tab.evaluate(
    () =>
      new Promise<{ keys: string[]; length: number; sameAsGlobal: boolean }>((resolve) => {
        const ch = new BroadcastChannel('fedtab/v2');
        ch.onmessage = async (ev) => {
          const msg = ev.data;
          if (msg.type !== 'round' || msg.round !== 2) return;
          ch.close();
          const me = window.fedtabClient!.identity()!;
          const x = await window.fedtabClient!.coordinator.roundExtras({ v: 2, type: 'extras', ...me, runId: msg.runId, round: 2 });
          const own = x.ownWeights;
          resolve({ keys: Object.keys(x), length: own.length, sameAsGlobal: own.every((v: number, i: number) => v === msg.weights[i]) });
        };
      }),
  );
  await dashboard.evaluate(() =>
    window.fedtab.start({
      algorithm: 'fedalign', dataset: 'mnist', partition: 'dirichlet', alpha: 0.5, rounds: 3, clients: 3, maxSamples: 150,
      batchSize: 16, evalSamples: 1000, localEval: 0, backend: 'wasm', seed: 5,
    }),
  );
  await expect(dashboard.locator('#banner .leak')).toContainText('FedAlign clients upload features');
  const s = await waitForStatus(dashboard, (x) => x.state === 'done' && x.history.at(-1)?.localAccuracy != null, 240_000, '3 rounds');
  expect(s.config).toMatchObject({ model: 'cnn-s-lora', loraOptimizer: 'adam', lr: 0.01 });
  expect(s.rejections.total).toBe(0);
  // Its own model (global FC128 LoRA + its own projection LoRA), nothing else, and not the global model.
  expect(await ownExtras).toEqual({ keys: ['ownWeights'], length: LORA, sameAsGlobal: false });
  s.history.forEach((r, i) => {
    expect(r.clients).toHaveLength(3);
    for (const c of r.clients) {
      // up: LoRA Δ + prototypes 10×64 + counts 10 + m features (64 + a label each), m ≤ 500
      const rest = c.bytesUp / 4 - LORA - 650;
      expect(rest % 65).toBe(0);
      expect(rest / 65).toBeLessThanOrEqual(500);
      // down: w_t and z_c (10×64), plus its own LoRA from round 2
      expect(c.bytesDown).toBe(4 * (LORA + 640 + (i > 0 ? LORA : 0)));
    }
  });
  const last = s.history.at(-1)!;
  expect(last.accuracy).toBeGreaterThan(0.2); // 10 classes: chance is 0.1
  expect(last.localAccuracyBySlot).toHaveLength(3);
  expect(last.localAccuracy).toBeGreaterThan(0.2);
  const perClient = (round: number) => Object.fromEntries(s.history[round - 1].clients.map((c) => [c.clientId, c.numTensors]));
  expect(perClient(3)).toEqual(perClient(2));
  expect(s.history[2].coordinatorTensors).toBe(s.history[1].coordinatorTensors);
});

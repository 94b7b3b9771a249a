// A client tab trains in a dedicated worker it owns: its page's main thread stays free while it trains.
import { expect, test } from '@playwright/test';
import { openDashboard, waitForStatus } from './helpers';

/** Long tasks longer than this on a training tab's main thread fail the test (issue 10). */
const MAX_LONG_TASK_MS = 200;

test('a client tab training CNN-S has no long task over 200 ms on its main thread', async ({ context }) => {
  const dashboard = await openDashboard(context);
  const tab = await context.newPage();
  tab.on('pageerror', (e) => console.log(`[client pageerror] ${e.message}`));
  // Installed before any of the page's scripts run; buffered, so nothing before the observer is missed either.
  await tab.addInitScript(() => {
    const w = window as unknown as { longTasks: Array<{ start: number; duration: number }> };
    w.longTasks = [];
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) w.longTasks.push({ start: e.startTime, duration: e.duration });
    }).observe({ type: 'longtask', buffered: true });
  });
  await tab.goto('/?role=client&backend=wasm');
  await tab.waitForFunction(() => window.fedtabClient !== undefined);
  await waitForStatus(dashboard, (s) => s.clients.length === 1 && s.clients[0].backend === 'wasm', 60_000, 'the tab registered on wasm');
  const me = await tab.evaluate(() => window.fedtabClient!.identity()!.clientId);

  // The measurement can fail: a 300 ms task on the page, before the run, is seen (and left out of the window below).
  // (As a task of the page's own: a script evaluated over the DevTools protocol is not reported as one.)
  await tab.evaluate(
    () =>
      new Promise<void>((done) =>
        setTimeout(() => {
          const t = performance.now();
          while (performance.now() - t < 300);
          done();
        }, 0),
      ),
  );
  await tab.waitForFunction(() => (window as unknown as { longTasks: Array<{ duration: number }> }).longTasks.some((t) => t.duration >= 300));

  const t0 = await tab.evaluate(() => performance.now());
  await dashboard.evaluate(() =>
    window.fedtab.start({
      dataset: 'mnist', model: 'cnn-s', partition: 'iid', rounds: 3, clients: 1, maxSamples: 600, batchSize: 16, lr: 0.05,
      evalSamples: 500, backend: 'wasm', seed: 11,
    }),
  );
  const s = await waitForStatus(dashboard, (x) => x.state === 'done', 200_000, '3 rounds');
  const t1 = await tab.evaluate(() => performance.now());

  // Training happened, in this tab's client: three rounds, each with its accepted update.
  expect(s.history.map((r) => r.round)).toEqual([1, 2, 3]);
  for (const r of s.history) expect(r.clients.map((c) => c.clientId)).toEqual([me]);
  const view = await tab.evaluate(() => window.fedtabClient!.view());
  expect(view.lossHistory.map((h) => h.round)).toEqual([1, 2, 3]);
  expect(view.lastResult?.accepted).toBe(true);

  const during = (await tab.evaluate(() => (window as unknown as { longTasks: Array<{ start: number; duration: number }> }).longTasks)).filter(
    (t) => t.start + t.duration >= t0 && t.start <= t1,
  );
  console.log(`long tasks on the training tab over ${((t1 - t0) / 1000).toFixed(1)} s of training: ${JSON.stringify(during.map((t) => Math.round(t.duration)))}`);
  expect(during.filter((t) => t.duration > MAX_LONG_TASK_MS)).toEqual([]);
});

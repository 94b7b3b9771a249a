// A rogue page on the same origin, as an attacker would write it: it forges sample counts, submits in another
// client's name, pokes the coordinator's port, and broadcasts forged rounds and stops. Every forgery must be rejected
// and counted, and the honest run must end where the same seed ends without the rogue page.
import { readdirSync } from 'node:fs';
import { expect, test, type Browser, type BrowserContext, type Page } from '@playwright/test';
import type { FederationConfig } from '../src/shared/config';
import type { CoordinatorStatus } from '../src/shared/status';
import { openClient, openDashboard, waitForStatus } from './helpers';

const CONFIG: Partial<FederationConfig> = {
  dataset: 'mnist', model: '2nn', partition: 'iid', clients: 4, maxSamples: 600, batchSize: 10, lr: 0.05,
  rounds: 3, evalSamples: 2000, backend: 'wasm', seed: 21,
};

/** Three worker clients and one client tab in a fresh browser profile (its own coordinator). */
async function federation(browser: Browser): Promise<{ context: BrowserContext; dashboard: Page; tab: Page }> {
  const context = await browser.newContext();
  const dashboard = await openDashboard(context);
  await dashboard.evaluate(() => window.fedtab.addWorkers(3, 'wasm'));
  const tab = await openClient(context, 'wasm');
  await waitForStatus(dashboard, (s) => s.clients.length === 4 && s.clients.every((c) => c.backend === 'wasm'), 60_000, '4 clients on wasm');
  return { context, dashboard, tab };
}

const run = async (dashboard: Page): Promise<CoordinatorStatus> => {
  await dashboard.evaluate((c) => window.fedtab.start(c), CONFIG);
  return waitForStatus(dashboard, (s) => s.state === 'done', 240_000, `${CONFIG.rounds} rounds`);
};

test('a rogue page is refused everything it forges, every refusal is counted, and the honest run is unaffected', async ({ browser }) => {
  test.setTimeout(480_000);
  const reference = await federation(browser);
  const ref = await run(reference.dashboard);
  await reference.context.close();

  const { context, dashboard, tab } = await federation(browser);
  const coordinatorScript = readdirSync('dist/assets').find((f) => /^coordinator-.*\.js$/.test(f));
  expect(coordinatorScript, 'the built coordinator script').toBeTruthy();
  // The client tab turns rogue: beside its honest client, its page forges whatever it can.
  await tab.evaluate((script) => {
    const w = window as unknown as { rogue: Record<string, unknown[]> };
    w.rogue = { ownForgeries: [], impersonations: [], portReplies: [], stolen: [] };
    const client = window.fedtabClient!;
    const ch = new BroadcastChannel('fedtab/v2');
    let forgedFor = 0;
    ch.onmessage = async (ev) => {
      const msg = ev.data;
      const me = client.identity()!;
      if (msg.rogue || msg.type !== 'round' || msg.round <= forgedFor || !(me.clientId in msg.assignments)) return;
      forgedFor = msg.round;
      const base = { v: 2, type: 'update', runId: msg.runId, round: msg.round, layers: msg.layers, delta: new Float32Array(msg.weights.length), epochLosses: [1], batchLosses: [1], trainMs: 1, samplesPerSec: 1, backend: 'wasm', numTensors: 0 };
      // (1) its own update, claiming a huge share of the data: it would take the whole FedAvg step.
      w.rogue.ownForgeries.push(await client.coordinator.submitUpdate({ ...base, ...me, numSamples: 1e9, steps: 1 }));
      // (2) an update in an honest client's name (ids are in every round's assignments).
      const victim = Object.keys(msg.assignments).find((id) => id !== me.clientId)!;
      w.rogue.impersonations.push(await client.coordinator.submitUpdate({ ...base, clientId: victim, secret: me.secret, numSamples: 540, steps: 54 }));
      // (3) forged broadcasts: a round that would tie everyone up, a stop for the live run, a replay of the real round.
      // Marked so that this listener skips them; the clients' schema drops the extra field.
      const post = (m: object) => new BroadcastChannel('fedtab/v2').postMessage({ ...m, rogue: true });
      post({ ...msg, round: msg.round + 1, config: { ...msg.config, epochs: 100 } }); // valid config, signatures no longer match
      post({ ...msg, round: msg.round + 1, config: { ...msg.config, epochs: 1e6 } }); // fails the config schema
      post({ v: 2, type: 'stop', runId: msg.runId, auth: msg.auth });
      post(msg);
    };
    // (4) its own raw port to the coordinator: Comlink's SET and GET, and controls from a client port.
    const port = new SharedWorker(`/assets/${script}`, { type: 'module', name: 'fedtab-coordinator' }).port;
    const pending = new Map<string, (v: unknown) => void>();
    port.onmessage = (e) => pending.get(e.data.id)?.(e.data);
    const call = (id: string, m: Record<string, unknown>) => new Promise((resolve) => {
      pending.set(id, resolve);
      port.postMessage({ id, ...m });
    });
    const raw = (value: unknown) => ({ type: 'RAW', value });
    void (async () => {
      const reply = async (id: string, m: Record<string, unknown>) => w.rogue.portReplies.push({ id, reply: await call(id, m) });
      await reply('set-proto', { type: 'SET', path: ['__proto__', 'polluted'], value: raw(true) });
      await reply('set-status', { type: 'SET', path: ['status'], value: raw(null) });
      await reply('get', { type: 'GET', path: ['status'] });
      const lock = `fedtab-client-rogue-${crypto.randomUUID()}`;
      void navigator.locks.request(lock, () => new Promise(() => {}));
      const register = { v: 2, type: 'register', kind: 'tab', backend: 'wasm', probe: [], userAgent: 'rogue', lock };
      await reply('register', { type: 'APPLY', path: ['register'], argumentList: [raw(register)] });
      await reply('register-again', { type: 'APPLY', path: ['register'], argumentList: [raw(register)] });
      await reply('reset', { type: 'APPLY', path: ['reset'], argumentList: [] });
      // (5) steal every other client's life lock (navigator.locks lists them): the coordinator must not drop them.
      const held = (await navigator.locks.query()).held ?? [];
      for (const l of held) {
        if (l.name?.startsWith('fedtab-client-') && l.name !== lock) void navigator.locks.request(l.name, { steal: true }, async () => {});
      }
      w.rogue.stolen = held.filter((l) => l.name !== lock).map((l) => l.name!);
    })();
  }, coordinatorScript!);

  const s = await run(dashboard);
  const rogue = await tab.evaluate(() => (window as unknown as { rogue: Record<string, Array<Record<string, unknown>>> }).rogue);

  // (1) and (2): refused with their own reasons, every round.
  expect(rogue.ownForgeries).toHaveLength(3);
  for (const r of rogue.ownForgeries) expect(r).toMatchObject({ accepted: false, reason: 'wrong-sample-count' });
  expect(rogue.impersonations).toHaveLength(3);
  for (const r of rogue.impersonations) expect(r).toMatchObject({ accepted: false, reason: 'wrong-connection' });
  // (4): Comlink's SET and GET never reach the API; a client port cannot control the run; one client per port.
  const replies = Object.fromEntries(rogue.portReplies.map((p) => [p.id, p.reply as { value?: { value?: { message?: string } } }]));
  for (const id of ['set-proto', 'set-status', 'get', 'reset']) expect(replies[id]?.value?.value?.message, id).toMatch(/^forbidden: /);
  expect(replies['register-again']?.value?.value?.message).toMatch(/registration-refused: this connection already has client/);
  expect(s.registrationsRefused).toBe(1);
  // Counted on the coordinator.
  expect(s.rejections.byReason['wrong-sample-count']).toBe(3);
  expect(s.rejections.byReason['wrong-connection']).toBe(3);
  expect(s.rejections.byReason.forbidden).toBe(4);
  // (3): every client dropped the forged round and stop (bad signature), the broken config (malformed) and the replay.
  const dropped = (await waitForStatus(dashboard, (x) => (x.broadcastsDropped['bad-signature'] ?? 0) >= 4 * 2 * 3, 30_000, 'clients reporting dropped broadcasts')).broadcastsDropped;
  expect(dropped['bad-signature']).toBe(4 * 2 * 3);
  expect(dropped.malformed).toBe(4 * 3);
  expect(dropped.stale).toBe(4 * 3);
  // (5): the stolen locks did not cost anyone their place.
  expect(rogue.stolen.length).toBeGreaterThanOrEqual(4);
  // The honest run: every round aggregated all four updates, and it ends where the run without the rogue ended.
  expect(s.history.map((r) => r.clients.length)).toEqual([4, 4, 4]);
  expect(s.history.every((r) => r.skipped === null)).toBe(true);
  expect(Math.abs(s.history.at(-1)!.accuracy! - ref.history.at(-1)!.accuracy!)).toBeLessThanOrEqual(0.01);
  // Federated evaluation: every client scored every round's model on its own split.
  for (const r of s.history) {
    expect(r.federatedEval!.clients).toHaveLength(4);
    for (const c of r.federatedEval!.clients) expect(c.accuracy).toBeGreaterThan(0.5);
    expect(r.federatedEval!.worst10Accuracy).toBeLessThanOrEqual(r.federatedEval!.meanAccuracy);
  }
  await expect(dashboard.locator('#summary')).toContainText('forged or bad broadcasts dropped');
  await context.close();
});

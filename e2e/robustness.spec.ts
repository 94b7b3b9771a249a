// Bad clients and stragglers on real browser clients (Web Workers started by the dashboard), and the Node runtime
// checked against the browser on the same small run.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import type { FederationConfig } from '../src/shared/config';
import type { CoordinatorStatus } from '../src/shared/status';
import { openDashboard, waitForStatus } from './helpers';

/** Small and quick on 2 cores: 2NN, 4 clients × 600 MNIST images (all trained on: no federated evaluation), 4 rounds. */
const SMALL: Partial<FederationConfig> = {
  dataset: 'mnist', model: '2nn', partition: 'iid', clients: 4, maxSamples: 600, localEval: 0, batchSize: 10, lr: 0.05,
  rounds: 4, evalSamples: 2000, backend: 'wasm', seed: 11,
};

async function runToDone(dashboard: Page, config: Partial<FederationConfig>): Promise<CoordinatorStatus> {
  await dashboard.evaluate(() => window.fedtab.reset());
  await dashboard.evaluate((c) => window.fedtab.start(c), config);
  return waitForStatus(dashboard, (s) => s.state === 'done', 200_000, `${config.rounds} rounds`);
}

async function dashboardWithWorkers(context: Parameters<typeof openDashboard>[0], n: number): Promise<Page> {
  const dashboard = await openDashboard(context);
  await dashboard.evaluate((k) => window.fedtab.addWorkers(k, 'wasm'), n);
  await waitForStatus(dashboard, (s) => s.clients.length === n && s.clients.every((c) => c.backend === 'wasm'), 60_000, `${n} clients on wasm`);
  return dashboard;
}

test('fed-adaptive-next flags 1 sign-flipping attacker among 4 and stays within 3 pp of the clean run', async ({ context }) => {
  const dashboard = await dashboardWithWorkers(context, 4);
  const clean = await runToDone(dashboard, { ...SMALL, algorithm: 'fed-adaptive-next' });
  const attacked = await runToDone(dashboard, { ...SMALL, algorithm: 'fed-adaptive-next', attack: 'sign-flip', attackers: 0.25 });

  expect(attacked.attackerSlots).toHaveLength(1);
  for (const r of attacked.history) {
    const bad = r.clients.find((c) => c.role === 'attacker')!;
    expect(bad.slot).toBe(attacked.attackerSlots[0]);
    expect(bad.flagged, `round ${r.round}`).toMatch(/gated out/);
    expect(bad.weight).toBe(0);
    expect(r.flagged.map((f) => f.clientId)).toContain(bad.clientId);
    for (const c of r.clients.filter((x) => x.role === 'honest')) expect(c.weight).toBeGreaterThan(0.2);
  }
  const cleanAcc = clean.history.at(-1)!.accuracy!;
  const attackedAcc = attacked.history.at(-1)!.accuracy!;
  expect(cleanAcc).toBeGreaterThan(0.85);
  expect(Math.abs(attackedAcc - cleanAcc)).toBeLessThanOrEqual(0.03);
  // The dashboard says it is not a clean run, and marks the attacker in the heatmap.
  await expect(dashboard.getByText(/simulates 1 attacker/)).toBeVisible();
  await expect(dashboard.locator('svg text', { hasText: '⚔' }).first()).toBeVisible();

  // The same attack under FedAvg does real damage: the defence is what kept the accuracy.
  const undefended = await runToDone(dashboard, { ...SMALL, algorithm: 'fedavg', attack: 'sign-flip', attackers: 0.25, rounds: 2 });
  expect(undefended.history.at(-1)!.accuracy).toBeLessThan(cleanAcc - 0.1);
});

test('a late straggler is dropped from its round and its late update is counted', async ({ context }) => {
  const dashboard = await dashboardWithWorkers(context, 4);
  const s = await runToDone(dashboard, { ...SMALL, rounds: 2, stragglers: 0.25, stragglerMode: 'late', roundDeadlineMs: 15_000 });
  for (const r of s.history) {
    expect(r.participants).toHaveLength(4);
    expect(r.clients).toHaveLength(3);
    expect(r.dropped).toHaveLength(1);
    expect(r.dropped[0]).toMatchObject({ reason: 'deadline', straggler: 'late' });
    expect(r.clients.map((c) => c.clientId)).not.toContain(r.dropped[0].clientId);
  }
  // Each late update arrives after its round closed and is rejected as late.
  const done = await waitForStatus(dashboard, (x) => (x.rejections.byReason.late ?? 0) >= 2, 30_000, 'two late rejections');
  expect(done.rejections.byReason.late).toBe(2);
  expect(done.rejections.recent.filter((r) => r.reason === 'late').map((r) => r.clientId).sort()).toEqual(
    s.history.map((r) => r.dropped[0].clientId).sort(),
  );
});

test('the Node runtime matches the browser on a small run', async ({ context }) => {
  const config = { ...SMALL, algorithm: 'fedavg' as const, rounds: 3 };
  const dashboard = await dashboardWithWorkers(context, 4);
  const browser = await runToDone(dashboard, config);

  const out = join(mkdtempSync(join(tmpdir(), 'fedtab-node-')), 'run.json');
  const flags = Object.entries(config)
    .filter(([k]) => k !== 'clients')
    .flatMap(([k, v]) => [`--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`, String(v)]);
  execFileSync('npx', ['tsx', 'scripts/federate.ts', '--runtime', 'node', '--clients', '4', ...flags, '--out', out], { stdio: 'pipe', timeout: 180_000 });
  const node = JSON.parse(readFileSync(out, 'utf8')) as { config: FederationConfig; rounds: CoordinatorStatus['history'] };

  expect(node.config).toEqual(browser.config);
  expect(node.rounds).toHaveLength(3);
  // Same partitions, seeds and wasm kernels; only the order updates arrive in (float summation) may differ.
  node.rounds.forEach((r, i) => {
    expect(r.clients.map((c) => c.numSamples).sort()).toEqual(browser.history[i].clients.map((c) => c.numSamples).sort());
    expect(Math.abs(r.accuracy! - browser.history[i].accuracy!), `round ${i + 1}`).toBeLessThanOrEqual(0.01);
  });
});

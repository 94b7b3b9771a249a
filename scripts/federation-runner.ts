// Drives a whole federation in headless Chromium: one dashboard tab, N client tabs, M worker clients.
import { chromium, type Browser, type Page } from '@playwright/test';
import { configToQuery, type FederationConfig } from '../src/shared/config';
import { RunnerError } from './runner-error';
import { settledRounds, type CoordinatorStatus, type RoundRecord } from '../src/shared/status';
import { launchOptions } from './browser';
import { ensureBuilt, serveDist } from './serve';
// window.fedtab's type comes with the dashboard module.
import type {} from '../src/ui/dashboard';

export interface RunnerOptions {
  config: FederationConfig;
  tabs: number;
  workers: number;
  /** Give up after this long (ms). */
  timeoutMs: number;
  log: (line: string) => void;
  onRound?: (round: RoundRecord, status: CoordinatorStatus) => void;
}

export interface RunResult {
  status: CoordinatorStatus;
  wallSeconds: number;
  userAgent: string;
}

export { RunnerError };


async function launch(): Promise<Browser> {
  try {
    return await chromium.launch(launchOptions());
  } catch (e) {
    const msg = e instanceof Error ? e.message.split('\n')[0] : String(e);
    throw new RunnerError(
      `no usable browser: ${msg}\n  Install Debian's chromium (apt-get install -y chromium) or set CHROMIUM_PATH to a Chromium binary.`,
    );
  }
}

export async function runFederation(opts: RunnerOptions): Promise<RunResult> {
  const { config, log } = opts;
  await ensureBuilt(log);
  const browser = await launch();
  const server = await serveDist().catch(async (e: unknown) => {
    await browser.close();
    throw e;
  });
  const failures: string[] = [];
  const watch = (page: Page, name: string) => {
    page.on('pageerror', (e) => failures.push(`${name}: ${e.message}`));
    page.on('crash', () => failures.push(`${name} crashed`));
  };
  const t0 = Date.now();
  try {
    const context = await browser.newContext();
    const dashboard = await context.newPage();
    watch(dashboard, 'dashboard');
    await dashboard.goto(`${server.url}?${configToQuery(config)}`);
    await dashboard.waitForFunction(() => 'fedtab' in window, undefined, { timeout: 30_000 });
    const userAgent = await dashboard.evaluate(() => navigator.userAgent);
    for (let i = 0; i < opts.tabs; i++) {
      const page = await context.newPage();
      watch(page, `client tab ${i + 1}`);
      await page.goto(`${server.url}?role=client&backend=${config.backend}`);
    }
    if (opts.workers > 0) await dashboard.evaluate(([n, b]) => window.fedtab.addWorkers(n, b), [opts.workers, config.backend] as const);
    log(`${opts.tabs} tab + ${opts.workers} worker clients opened; starting ${config.rounds} rounds of ${config.algorithm} on ${config.dataset} (${config.partition})`);
    await dashboard.evaluate((c) => window.fedtab.start(c), { ...config, clients: opts.tabs + opts.workers });

    let printed = 0;
    let lastMessage = '';
    for (;;) {
      if (failures.length) throw new RunnerError(`a page failed: ${failures.join('; ')}`);
      if (Date.now() - t0 > opts.timeoutMs) throw new RunnerError(`timed out after ${Math.round(opts.timeoutMs / 1000)} s`);
      const status = await dashboard.evaluate(() => window.fedtab.status());
      const broken = status.clients.filter((c) => c.state === 'error');
      if (broken.length) throw new RunnerError(`client crashed: ${broken.map((c) => `${c.clientId}: ${c.error}`).join('; ')}`);
      if (status.state === 'error') throw new RunnerError(`coordinator error: ${status.error ?? status.message}`);
      if (printed === 0 && status.message !== lastMessage && status.history.length === 0) log(`  ${(lastMessage = status.message)}`);
      for (const ready = settledRounds(status); printed < ready; printed++) opts.onRound?.(status.history[printed], status);
      if (status.state === 'done') {
        const last = status.history.at(-1);
        if (!last || !Number.isFinite(last.accuracy)) throw new RunnerError('the run finished without a global test accuracy');
        return { status, wallSeconds: (Date.now() - t0) / 1000, userAgent };
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  } finally {
    await browser.close().catch(() => undefined);
    await server.close().catch(() => undefined);
  }
}

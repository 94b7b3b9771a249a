// Shared steps for the browser tests: open the dashboard and clients, wait on the coordinator's status.
import { expect, type BrowserContext, type Page } from '@playwright/test';
import { configToQuery, type FederationConfig } from '../src/shared/config';
import type { CoordinatorStatus } from '../src/shared/status';
import type {} from '../src/ui/dashboard';
import type {} from '../src/ui/client-page';

export async function openDashboard(context: BrowserContext, config: Partial<FederationConfig> = {}): Promise<Page> {
  const page = await context.newPage();
  page.on('pageerror', (e) => console.log(`[dashboard pageerror] ${e.message}`));
  await page.goto(`/?${configToQuery(config)}`);
  await page.waitForFunction(() => 'fedtab' in window);
  return page;
}

export async function openClient(context: BrowserContext, backend = 'wasm'): Promise<Page> {
  const page = await context.newPage();
  page.on('pageerror', (e) => console.log(`[client pageerror] ${e.message}`));
  await page.goto(`/?role=client&backend=${backend}`);
  await page.waitForFunction(() => window.fedtabClient !== undefined);
  return page;
}

export const status = (dashboard: Page): Promise<CoordinatorStatus> => dashboard.evaluate(() => window.fedtab.status());

/** Polls the coordinator until `ready` holds, failing fast on a coordinator or client error. */
export async function waitForStatus(
  dashboard: Page,
  ready: (s: CoordinatorStatus) => boolean,
  timeoutMs: number,
  what: string,
): Promise<CoordinatorStatus> {
  const t0 = Date.now();
  let s = await status(dashboard);
  while (!ready(s)) {
    expect(s.state, `coordinator: ${s.error ?? s.message}`).not.toBe('error');
    const broken = s.clients.filter((c) => c.state === 'error');
    expect(broken.map((c) => c.error), 'client errors').toEqual([]);
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}; last status: ${s.state} round ${s.round}: ${s.message}`);
    await dashboard.waitForTimeout(250);
    s = await status(dashboard);
  }
  return s;
}

export const roundsDone = (n: number) => (s: CoordinatorStatus) => s.history.length >= n;

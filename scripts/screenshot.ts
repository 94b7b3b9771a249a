// npx tsx scripts/screenshot.ts [out.png] [width] [height]: the dashboard after a short non-IID run of 4 worker
// clients (2NN, Dirichlet α = 0.3, 5 rounds), full page, for the README (docs/dashboard.png).
import { chromium } from '@playwright/test';
import { launchOptions } from './browser';
import { ensureBuilt, serveDist } from './serve';

const [out = 'docs/dashboard.png', width = '1366', height = '768'] = process.argv.slice(2);
await ensureBuilt();
const server = await serveDist();
const browser = await chromium.launch(launchOptions());
try {
  const page = await (await browser.newContext({ viewport: { width: Number(width), height: Number(height) } })).newPage();
  await page.goto(`${server.url}?model=2nn&partition=dirichlet&alpha=0.3&rounds=5&maxSamples=600&batchSize=10&lr=0.05&backend=wasm&clients=4&evalSamples=2000&seed=3`);
  await page.waitForFunction(() => 'fedtab' in window);
  await page.evaluate(() => window.fedtab.addWorkers(4, 'wasm'));
  await page.evaluate(() => window.fedtab.start({}));
  for (let i = 0; i < 300 && (await page.evaluate(() => window.fedtab.status())).state !== 'done'; i++) await page.waitForTimeout(1000);
  await page.waitForTimeout(1500); // one more poll of the dashboard
  await page.screenshot({ path: out, fullPage: true });
  console.log(`wrote ${out}`);
} finally {
  await browser.close();
  await server.close();
}

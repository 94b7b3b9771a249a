// npx tsx scripts/screenshot.ts [out.png] [width] [height] [query]: the dashboard after a short non-IID run of 4 worker
// clients (2NN, Dirichlet α = 0.3, 5 rounds), full page, for the README (docs/dashboard.png). `query` replaces the run's
// config (its `clients` worker clients, default 4); docs/screenshots/imbalance-metrics.png is
//   npx tsx scripts/screenshot.ts docs/screenshots/imbalance-metrics.png 1366 768 \
//     'model=2nn&partition=longtail&imbalanceFactor=100&rounds=5&maxSamples=0&batchSize=32&lr=0.05&backend=wasm&clients=4&evalSamples=2000&seed=3'
// and docs/screenshots/attention-cbam.png (attention-ca.png: model=cnn-s-ca-mlp), what the attention looks at, is
//   npx tsx scripts/screenshot.ts docs/screenshots/attention-cbam.png 1366 768 \
//     'model=cnn-s-cbam&algorithm=fedprox&rounds=4&evalSamples=500&maxSamples=400&batchSize=16&lr=0.05&clients=3&backend=wasm&seed=5'
import { chromium } from '@playwright/test';
import { launchOptions } from './browser';
import { ensureBuilt, serveDist } from './serve';

const DASHBOARD_RUN = 'model=2nn&partition=dirichlet&alpha=0.3&rounds=5&maxSamples=600&batchSize=10&lr=0.05&backend=wasm&clients=4&evalSamples=2000&seed=3';
const [out = 'docs/dashboard.png', width = '1366', height = '768', query = DASHBOARD_RUN] = process.argv.slice(2);
const workers = Number(new URLSearchParams(query).get('clients') ?? 4);
await ensureBuilt();
const server = await serveDist();
const browser = await chromium.launch(launchOptions());
try {
  const page = await (await browser.newContext({ viewport: { width: Number(width), height: Number(height) } })).newPage();
  await page.goto(`${server.url}?${query}`);
  await page.waitForFunction(() => 'fedtab' in window);
  await page.evaluate((n) => window.fedtab.addWorkers(n, 'wasm'), workers);
  await page.evaluate(() => window.fedtab.start({}));
  for (let i = 0; i < 300 && (await page.evaluate(() => window.fedtab.status())).state !== 'done'; i++) await page.waitForTimeout(1000);
  await page.waitForTimeout(1500); // one more poll of the dashboard
  await page.screenshot({ path: out, fullPage: true });
  console.log(`wrote ${out}`);
} finally {
  await browser.close();
  await server.close();
}

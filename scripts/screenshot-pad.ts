// npx tsx scripts/screenshot-pad.ts: the drawing pads after a 3-round 2NN run of a tab and a worker client: a drawn 7 on
// the client tab (docs/screenshots/client-draw-pad.png), a picked test image on the dashboard (dashboard-draw-pad.png)
// and the dashboard's confusion matrix (confusion-matrix.png).
import { chromium } from '@playwright/test';
import { launchOptions } from './browser';
import { ensureBuilt, serveDist } from './serve';
await ensureBuilt();
const server = await serveDist();
const browser = await chromium.launch(launchOptions());
try {
  const ctx = await browser.newContext({ viewport: { width: 1366, height: 900 } });
  const dash = await ctx.newPage();
  await dash.goto(`${server.url}?model=2nn&rounds=3&maxSamples=600&batchSize=10&lr=0.05&backend=wasm&clients=2&evalSamples=1000&seed=3`);
  await dash.waitForFunction(() => 'fedtab' in window);
  const tab = await ctx.newPage();
  await tab.goto(`${server.url}?role=client&backend=wasm`);
  await tab.waitForFunction(() => window.fedtabClient !== undefined);
  await dash.evaluate(() => window.fedtab.addWorkers(1, 'wasm'));
  await dash.evaluate(() => window.fedtab.start({}));
  for (let i = 0; i < 200 && (await dash.evaluate(() => window.fedtab.status())).state !== 'done'; i++) await dash.waitForTimeout(1000);
  await dash.bringToFront();
  await dash.waitForTimeout(1500);
  await dash.locator('#pad [data-act="pick"]').click();
  await dash.waitForTimeout(2500);
  await dash.locator('.try-model').screenshot({ path: 'docs/screenshots/dashboard-draw-pad.png' });
  await dash.locator('#confusion-section').screenshot({ path: 'docs/screenshots/confusion-matrix.png' });
  await tab.bringToFront();
  // Mouse events only land inside the viewport: bring the pad into view before drawing on it.
  await tab.locator('#pad canvas').scrollIntoViewIfNeeded();
  const box = (await tab.locator('#pad canvas').boundingBox())!;
  // A "7": a bar across the top, then a diagonal down.
  await tab.mouse.move(box.x + 50, box.y + 45);
  await tab.mouse.down();
  await tab.mouse.move(box.x + 150, box.y + 45, { steps: 8 });
  await tab.mouse.move(box.x + 85, box.y + 170, { steps: 10 });
  await tab.mouse.up();
  await tab.waitForTimeout(1500);
  await tab.screenshot({ path: 'docs/screenshots/client-draw-pad.png', fullPage: true });
  console.log(await tab.locator('.pad-answers').innerText());
} finally {
  await browser.close();
  await server.close();
}

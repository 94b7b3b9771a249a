// npx tsx scripts/screenshot-classroom.ts: the classroom as a teacher and a student see it, for the README. An
// embedded broker, the teacher's dashboard (1366×768 and 1920×1080), two students in browser contexts of their own
// (one at phone size, 390×844), a 3-round run; and the join form a student sees without a code in the link.
import { chromium } from '@playwright/test';
import { launchOptions } from './browser';
import { startEmbeddedBroker } from './brokers';
import { ensureBuilt, serveDist } from './serve';

const OUT = 'docs/screenshots';
await ensureBuilt();
const broker = await startEmbeddedBroker();
const server = await serveDist();
const browser = await chromium.launch(launchOptions());
try {
  const teacher = await (await browser.newContext({ viewport: { width: 1366, height: 768 } })).newPage();
  await teacher.goto(`${server.url}?broker=${encodeURIComponent(broker.url)}`);
  await teacher.waitForFunction(() => window.fedtab?.classroom, undefined, { polling: 200 });
  const join = await teacher.evaluate(() => window.fedtab.classroom!.joinUrl);
  await teacher.screenshot({ path: `${OUT}/classroom-waiting-1366.png` });
  const students = [];
  for (const viewport of [{ width: 390, height: 844 }, { width: 1280, height: 800 }]) {
    const p = await (await browser.newContext({ viewport, isMobile: viewport.width < 500, hasTouch: viewport.width < 500 })).newPage();
    await p.goto(join.replace('role=client', 'role=client&backend=wasm'));
    students.push(p);
  }
  await teacher.evaluate(() => window.fedtab.start({ rounds: 3, clients: 3, minClients: 2, enrollment: 'open', maxSamples: 400, batchSize: 16, backend: 'wasm' }));
  // While the run goes, the classroom folds to one line above the chart.
  for (let i = 0; i < 300 && (await teacher.evaluate(() => window.fedtab.status())).history.length < 1; i++) await teacher.waitForTimeout(500);
  await teacher.waitForTimeout(1000);
  await teacher.screenshot({ path: `${OUT}/classroom-running-1366.png` });
  for (let i = 0; i < 300 && (await teacher.evaluate(() => window.fedtab.status())).state !== 'done'; i++) await teacher.waitForTimeout(1000);
  await teacher.waitForTimeout(2500);
  // Done: the classroom is open again, with its devices.
  await teacher.evaluate(() => document.querySelector('#classroom-section')!.scrollIntoView());
  await teacher.screenshot({ path: `${OUT}/classroom-1366.png` });
  await teacher.setViewportSize({ width: 1920, height: 1080 });
  await teacher.waitForTimeout(1000);
  await teacher.screenshot({ path: `${OUT}/classroom-1920.png`, fullPage: true });
  await students[0].screenshot({ path: `${OUT}/classroom-student-phone.png`, fullPage: true });
  const form = await (await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true })).newPage();
  await form.goto(join.split('#')[0]);
  await form.fill('#code', 'abcd efgh jkmu');
  await form.click('button');
  await form.screenshot({ path: `${OUT}/classroom-join-form.png` });
  console.log(`wrote ${OUT}/classroom-*.png`);
} finally {
  await browser.close();
  await server.close();
  await broker.close();
}

// A classroom over a real MQTT broker (the embedded aedes, with a 32 KiB message limit so updates travel in parts):
// students join from browser contexts of their own (no shared SharedWorker: only the broker connects them), a late
// joiner fills an open slot, a device that loses the network keeps its slot, and the teacher removes one; outsiders'
// messages are refused and counted; the broker's bytes and round trip land in the round records.
import { expect, test, type Browser, type Page } from '@playwright/test';
import mqtt from 'mqtt';
import { INSECURE_HOST } from '../scripts/browser';
import { startEmbeddedBroker, type RunningBroker } from '../scripts/brokers';
import { roomFromCode, topics } from '../src/shared/mqtt/room-code';
import { status, waitForStatus } from './helpers';

const LIMIT = 32 * 1024;
let broker: RunningBroker;
test.beforeAll(async () => {
  broker = await startEmbeddedBroker({ maxMessageBytes: LIMIT });
});
test.afterAll(async () => broker?.close());

async function openStudent(browser: Browser, joinUrl: string): Promise<Page> {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.on('pageerror', (e) => console.log(`[student pageerror] ${e.message}`));
  // A student's own device: the join link, with the wasm backend so the test does not wait on a probe.
  await page.goto(joinUrl.replace('role=client', 'role=client&backend=wasm'));
  // Polled by interval: a page of another window gets no animation frames to poll on.
  await page.waitForFunction(() => window.fedtabClient !== undefined, undefined, { polling: 250 });
  return page;
}

test('students join over the broker, train, rejoin, get removed; outsiders are refused', async ({ browser, context }) => {
  const dashboard = await context.newPage();
  dashboard.on('pageerror', (e) => console.log(`[dashboard pageerror] ${e.message}`));
  await dashboard.goto(`/?broker=${encodeURIComponent(broker.url)}&maxMessage=${LIMIT}`);
  await dashboard.waitForFunction(() => window.fedtab?.classroom !== null && window.fedtab?.classroom !== undefined);
  const { code, joinUrl } = await dashboard.evaluate(() => ({ code: window.fedtab.classroom!.code, joinUrl: window.fedtab.classroom!.joinUrl }));
  expect(code).toMatch(/^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$/);
  expect(joinUrl).toContain(`#room=${code}`);
  await expect(dashboard.locator('#classroom-section svg')).toBeVisible(); // the QR code
  await expect(dashboard.locator('#room-code')).toHaveText(code);

  // Open enrollment: three planned slots, the run starts with two students.
  await dashboard.evaluate(() =>
    window.fedtab.start({ rounds: 6, clients: 3, minClients: 2, enrollment: 'open', maxSamples: 400, batchSize: 16, backend: 'wasm', roundDeadlineMs: 120_000 }),
  );
  const a = await openStudent(browser, joinUrl);
  const b = await openStudent(browser, joinUrl);
  let s = await waitForStatus(dashboard, (x) => x.history.length >= 1, 150_000, 'round 1 with two students');
  expect(s.clients.filter((c) => c.kind === 'remote')).toHaveLength(2);
  expect(s.history[0].participants).toHaveLength(2);

  // A late joiner takes the free slot and trains from a later round. It opens the link by a name that is not
  // localhost, so its page is not a secure context (no crypto.subtle, no Web Locks, no WebGPU): a phone on the LAN.
  const c = await openStudent(browser, joinUrl.replace('//127.0.0.1:', `//${INSECURE_HOST}:`));
  expect(await c.evaluate(() => [window.isSecureContext, typeof crypto.subtle])).toEqual([false, 'undefined']);
  s = await waitForStatus(dashboard, (x) => x.history.some((h) => h.participants.length === 3), 150_000, 'a round with the late joiner');

  // Outsiders: bytes with no room signature, and a replayed device message, are refused and counted.
  const room = roomFromCode(code);
  const spy = mqtt.connect(broker.url, { protocolVersion: 4 });
  const captured: Buffer[] = [];
  await new Promise((r) => spy.on('connect', r));
  await new Promise((r) => spy.subscribe(topics(room).teacher, r));
  spy.on('message', (_t, p) => captured.push(Buffer.from(p)));
  await expect.poll(() => captured.length, { timeout: 10_000 }).toBeGreaterThan(0);
  spy.publish(topics(room).teacher, Buffer.from('{"callId":1,"method":"register"}'));
  spy.publish(topics(room).teacher, captured[0]);
  await expect
    .poll(async () => dashboard.evaluate(() => window.fedtab.classroom!.stats().rejected), { timeout: 10_000 })
    .toMatchObject({ unsigned: 1, replayed: 1 });
  spy.end();

  // A network loss: the broker drops every connection, MQTT.js reconnects, the devices keep their clients and slots.
  const before = (await status(dashboard)).clients.filter((x) => x.kind === 'remote').map((x) => `${x.clientId}@${x.slot}`).sort();
  const roundsBefore = (await status(dashboard)).history.length;
  expect(roundsBefore, 'rounds left to see one after the network loss').toBeLessThan(6);
  broker.dropClients();
  s = await waitForStatus(dashboard, (x) => x.history.length >= roundsBefore + 1, 150_000, 'a round after the network came back');
  expect(s.clients.filter((x) => x.kind === 'remote').map((x) => `${x.clientId}@${x.slot}`).sort()).toEqual(before);

  // Every round has its broker traffic; the parts were under the limit (the broker would have refused bigger frames).
  s = await waitForStatus(dashboard, (x) => x.state === 'done', 200_000, 'the run to finish');
  for (const h of s.history) {
    expect(h.broker, `round ${h.round}`).not.toBeNull();
    expect(h.broker!.bytesOut).toBeGreaterThan(h.bytesDown > 0 ? 0 : -1);
    expect(h.broker!.bytesIn).toBeGreaterThan(0);
  }
  expect(s.history.at(-1)!.accuracy).toBeGreaterThan(0.4);
  expect(s.broker!.rttMs).not.toBeNull();
  expect(s.broker!.devices).toBe(3);
  await expect(dashboard.locator('#rounds')).toContainText('broker RTT');
  // The run JSON a teacher downloads carries the same broker numbers.
  const download = dashboard.waitForEvent('download');
  await dashboard.locator('#download-run').click();
  const file = await (await download).path();
  const json = JSON.parse(await import('node:fs/promises').then((fs) => fs.readFile(file, 'utf8'))) as typeof s;
  expect(json.history.map((h) => h.broker)).toEqual(s.history.map((h) => h.broker));

  // The teacher removes one device: its page says so and its client leaves the coordinator.
  const removedId = (await c.evaluate(() => window.fedtabClient!.identity()!.clientId));
  const deviceId = (await dashboard.evaluate(() => window.fedtab.classroom!.devices())).find((d) => d.clientId === removedId)!.deviceId;
  dashboard.once('dialog', (d) => void d.accept());
  await dashboard.locator(`button[data-remove="${deviceId}"]`).click();
  await expect(c.locator('#room-status')).toContainText('the teacher removed this device');
  await waitForStatus(dashboard, (x) => !x.clients.some((cl) => cl.clientId === removedId), 30_000, 'the removed client to leave');
  await expect(dashboard.locator(`tr[data-device="${deviceId}"]`)).toContainText('removed');
  await expect(a.locator('#room-status')).toContainText(`room ${code}`);
  await expect(b.locator('#backend')).toHaveText('wasm');
});

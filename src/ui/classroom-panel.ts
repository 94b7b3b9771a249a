// The dashboard's classroom: opened when the page is given a broker (?broker=ws://…), it keeps a room (its code in
// this browser's localStorage, so a reload keeps students' links valid), runs the hub (classroom-hub.ts) between the
// broker and this browser's coordinator, and shows the join link, its QR code, the devices and the broker's numbers.
import * as Comlink from 'comlink';
import { renderSVG } from 'uqr';
import type { DashboardApi } from '../server-worker/api';
import { formatBytes } from '../shared/format-bytes';
import { CHANNEL_NAME } from '../shared/protocol';
import { formatRoomCode, newRoomCode, roomFromCode } from '../shared/mqtt/room-code';
import { parseBrokerUrl, RoomLink } from '../shared/mqtt/room-link';
import { DEFAULT_MESSAGE_BYTES } from '../shared/mqtt/envelope';
import { ClassroomHub, type DeviceRow } from './classroom-hub';
import { esc, fmt } from './html';

const CODE_KEY = 'fedtab-room-code';

export interface ClassroomHandle {
  code: string;
  joinUrl: string;
  hub: ClassroomHub;
  link: RoomLink;
}

/** The link a student opens: the app's client page, the broker, and the room code in the fragment (never sent to a server). */
export function joinUrl(base: string, brokerUrl: string, code: string, maxMessageBytes: number | null): string {
  const url = new URL(base);
  url.search = '';
  url.searchParams.set('role', 'client');
  url.searchParams.set('broker', brokerUrl);
  if (maxMessageBytes) url.searchParams.set('maxMessage', String(maxMessageBytes));
  url.hash = `room=${formatRoomCode(code)}`;
  return url.toString();
}

/** Holds a Web Lock until released: the coordinator watches it as the remote client's life. */
function holdLock(name: string): { release(): void } {
  let release: () => void = () => {};
  const held = new Promise<void>((r) => (release = r));
  void navigator.locks.request(name, () => held);
  return { release: () => release() };
}

const stateBadge = (d: DeviceRow) => `<span class="badge ${d.state === 'online' ? 'idle' : d.state === 'removed' ? 'error' : 'waiting'}">${esc(d.state)}</span>`;

export function openClassroom(el: HTMLElement, api: Comlink.Remote<DashboardApi>, params: URLSearchParams): ClassroomHandle | null {
  const raw = params.get('broker');
  if (!raw) return null;
  const brokerUrl = parseBrokerUrl(raw);
  const maxParam = params.get('maxMessage');
  const maxMessageBytes = maxParam ? Number(maxParam) : null;
  if (maxMessageBytes !== null && !(Number.isInteger(maxMessageBytes) && maxMessageBytes >= 4096)) throw new Error(`maxMessage must be an integer ≥ 4096 bytes (got ${maxParam})`);
  const stored = params.get('room') ?? localStorage.getItem(CODE_KEY);
  let code: string;
  try {
    code = formatRoomCode(stored ?? newRoomCode());
  } catch {
    code = newRoomCode();
  }
  localStorage.setItem(CODE_KEY, code);
  const room = roomFromCode(code);
  const hub = new ClassroomHub({ room, connectPort: (p) => api.connectWorkerPort(Comlink.transfer(p, [p])), holdLock, now: () => Date.now() });
  let linkDetail = 'connecting to the broker';
  const link = new RoomLink({
    brokerUrl,
    room,
    self: 'teacher',
    subscribe: hub.subscriptions,
    maxMessageBytes: maxMessageBytes ?? undefined,
    onMessage: (...a) => hub.onMessage(...a),
    onState: (st, d) => {
      linkDetail = d;
      hub.onLinkState(st);
    },
  });
  hub.attach(link);
  // Every broadcast of this browser's coordinator goes to the room as well: the devices check its signatures.
  const channel = new BroadcastChannel(CHANNEL_NAME);
  channel.onmessage = (e) => hub.relayBroadcast(e.data);
  // Students need this machine's LAN address, not 127.0.0.1: `npm run classroom` passes it as ?join=.
  const url = joinUrl(params.get('join') ?? `${location.origin}${location.pathname}`, params.get('studentBroker') ?? brokerUrl, code, maxMessageBytes);

  el.hidden = false;
  // A <details>: open while students join, folded to its summary line while a run goes (the dashboard toggles it),
  // so the chart stays above the fold on a projector.
  el.innerHTML = `<details id="classroom-details" class="settings" open><summary><b class="settings-title">Classroom</b> <span id="classroom-line" class="config-summary"></span> <span class="toggle"><span class="when-closed">Show the join code</span><span class="when-open">Hide</span></span></summary>
    <p class="help">Students join from their own devices through the broker.</p>
    <div class="classroom">
      <div class="qr" title="scan to join">${renderSVG(url, { border: 1 })}</div>
      <div class="join">
        <p class="room-code">Room code <b id="room-code">${esc(code)}</b></p>
        <p>Join link: <a id="join-link" href="${esc(url)}" target="_blank" rel="noopener">${esc(url)}</a></p>
        <p class="help">Open it on a laptop or phone on the same network (or scan the code). Each device becomes one client; nothing but model updates leaves it.</p>
        <p class="help">Broker <code>${esc(brokerUrl)}</code>, messages up to ${esc(formatBytes(maxMessageBytes ?? DEFAULT_MESSAGE_BYTES))} (larger ones travel in parts). The broker sees the weights and updates, not the room code.</p>
        <div id="broker-numbers" class="summary"></div>
      </div>
    </div>
    <table id="devices"><thead><tr><th>device</th><th>client</th><th>state</th><th>joined</th><th>last heard</th><th>came back</th><th title="broker bytes of this device's calls and their replies">bytes in / out</th><th></th></tr></thead><tbody></tbody></table></details>`;
  const $ = (id: string) => el.querySelector<HTMLElement>(`#${id}`)!;
  el.addEventListener('click', (e) => {
    const btn = (e.target as HTMLElement).closest<HTMLButtonElement>('button[data-remove]');
    if (btn && confirm(`Remove device ${btn.dataset.remove}? Its client stops, and this tab of it cannot rejoin (a new tab with the room code can).`)) hub.remove(btn.dataset.remove!);
  });
  // The table is rebuilt every second ("N s ago"): not while a button in it is pressed, or the click would be lost.
  let pressing = false;
  const table = $('devices');
  table.addEventListener('pointerdown', (e) => void (pressing = (e.target as HTMLElement).closest('button') !== null));
  for (const ev of ['pointerup', 'pointercancel', 'pointerleave'] as const) table.addEventListener(ev, () => void setTimeout(() => (pressing = false)));
  const ago = (t: number) => `${Math.max(0, Math.round((Date.now() - t) / 1000))} s ago`;
  const render = () => {
    const s = hub.stats();
    const rejected = Object.entries(s.rejected).filter(([, n]) => n);
    const lastRound = s.rounds.at(-1);
    $('broker-numbers').innerHTML = `
      <div><b>broker</b> ${esc(link.state)} <small>${esc(linkDetail)}</small></div>
      <div><b>devices</b> ${s.online} online of ${s.devices}</div>
      <div title="the teacher's own message to the broker and back"><b>broker round trip</b> ${s.rttMs === null ? '–' : `${fmt(s.rttMs, 0)} ms`}</div>
      <div><b>over the broker</b> ${esc(formatBytes(s.bytesIn))} in, ${esc(formatBytes(s.bytesOut))} out${lastRound ? ` <small>(round ${lastRound.round}: ${esc(formatBytes(lastRound.bytesIn))} in, ${esc(formatBytes(lastRound.bytesOut))} out)</small>` : ''}</div>
      <div class="${rejected.length ? 'error' : ''}" title="messages refused at the room level: from outside the room, unsigned, altered, replayed, or from a removed device"><b>refused</b> ${rejected.length ? esc(rejected.map(([r, n]) => `${r} ${n}`).join(', ')) : 'none'}</div>`;
    $('classroom-line').textContent = `room ${code} · ${s.online} of ${s.devices} devices online · join at ${url.split('?')[0]}`;
    if (pressing) return;
    const rows = hub.rows();
    table.querySelector('tbody')!.innerHTML = rows.length
      ? rows
          .map((d) => `<tr data-device="${esc(d.deviceId)}"><td><code>${esc(d.deviceId.slice(0, 8))}</code></td><td>${esc(d.clientId ?? '–')}</td><td>${stateBadge(d)}</td><td>${ago(d.joinedAt)}</td><td>${ago(d.lastSeen)}</td><td>${d.rejoins || ''}</td><td>${esc(formatBytes(d.bytesIn))} / ${esc(formatBytes(d.bytesOut))}</td><td>${d.state === 'removed' ? '' : `<button data-remove="${esc(d.deviceId)}">Remove</button>`}</td></tr>`)
          .join('')
      : '<tr><td colspan="8">No device has joined yet.</td></tr>';
  };
  setInterval(() => {
    hub.tick();
    render();
    void api.reportBroker(hub.stats()).catch(() => undefined);
  }, 1000);
  setInterval(() => hub.ping(), 5000);
  hub.ping();
  render();
  return { code, joinUrl: url, hub, link };
}

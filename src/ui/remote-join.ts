// A student device's way into a classroom: the room code from the join link's fragment (or typed in), the broker from
// ?broker=, and a port that carries the client protocol over the broker (remote-link.ts) instead of to a coordinator
// in this browser.
import * as Comlink from 'comlink';
import { connectRemote, deviceIdOf, roomChannelName, type RemoteStatus } from '../client/remote-link';
import { formatBytes } from '../shared/format-bytes';
import { RoomCodeError, formatRoomCode, roomFromCode } from '../shared/mqtt/room-code';
import { parseBrokerUrl } from '../shared/mqtt/room-link';
import { esc } from './html';

export interface RemoteJoin {
  port: MessagePort;
  channelName: string;
  code: string;
  status(): RemoteStatus;
}

/** The room code in the link's fragment (#room=…), or null. */
export function roomCodeOf(hash: string): string | null {
  return new URLSearchParams(hash.replace(/^#/, '')).get('room');
}

/** Asks for the room code when the link has none; resolves once one is entered that reads as a code. */
function askForCode(root: HTMLElement, problem: string | null): Promise<string> {
  root.innerHTML = `<section class="join-form"><h1>Join a fedtab classroom</h1>
    <form id="join"><label>Room code <input id="code" name="code" autocomplete="off" autocapitalize="characters" placeholder="ABCD-EFGH-JKMN" size="16" required></label> <button>Join</button></form>
    <p class="help">The code is on the teacher's screen, next to the QR code.</p>
    <p class="error" role="alert">${esc(problem ?? '')}</p></section>`;
  return new Promise((resolve) => {
    root.querySelector('form')!.addEventListener('submit', (e) => {
      e.preventDefault();
      const raw = root.querySelector<HTMLInputElement>('#code')!.value;
      try {
        resolve(formatRoomCode(raw));
      } catch (err) {
        root.querySelector('.error')!.textContent = err instanceof RoomCodeError ? err.message : String(err);
      }
    });
  });
}

export async function joinRoom(root: HTMLElement, params: URLSearchParams, onStatus: (s: RemoteStatus) => void): Promise<RemoteJoin> {
  const brokerUrl = parseBrokerUrl(params.get('broker')!);
  let code = roomCodeOf(location.hash);
  let problem: string | null = null;
  try {
    if (code) code = formatRoomCode(code);
  } catch (e) {
    problem = e instanceof Error ? e.message : String(e);
    code = null;
  }
  code ??= await askForCode(root, problem);
  history.replaceState(null, '', `${location.pathname}${location.search}#room=${code}`);
  const maxParam = params.get('maxMessage');
  const room = roomFromCode(code);
  const remote = connectRemote({ brokerUrl, room, deviceId: deviceIdOf(sessionStorage), maxMessageBytes: maxParam ? Number(maxParam) : undefined, onStatus });
  const { port1, port2 } = new MessageChannel();
  Comlink.expose(remote.api, port1);
  return { port: port2, channelName: roomChannelName(room), code, status: remote.status };
}

export function roomStatusHtml(code: string, s: RemoteStatus): string {
  if (s.removed) return `<p class="error" role="alert"><b>${esc(s.removed)}.</b> This device's client has stopped; ask the teacher if that was a mistake.</p>`;
  const rejected = Object.entries(s.rejected).filter(([, n]) => n);
  return `<p class="room-status"><b>Classroom</b> room ${esc(code)} · broker ${esc(s.link)} <small>${esc(s.detail)}</small> · ${esc(formatBytes(s.bytesIn))} in, ${esc(formatBytes(s.bytesOut))} out${
    rejected.length ? ` · <span class="error">refused ${esc(rejected.map(([r, n]) => `${r} ${n}`).join(', '))}</span>` : ''
  }</p>`;
}

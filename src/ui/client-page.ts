// A client tab: shows what its client holds and how it learns; the client trains in a dedicated worker this tab owns
// (src/client/tab-client.ts), so the page stays responsive.
import { BACKENDS, type BackendChoice, type DatasetId } from '../shared/config';
import { classNames } from '../shared/class-names';
import { mountDrawPad } from './draw-pad';
import type { ClientView } from '../client/runtime';
import { startTabClient, type TabClientHandle } from '../client/tab-client';
import { lineChartSvg } from './chart-svg';
import { connectCoordinator } from './coordinator-link';
import { joinRoom, roomStatusHtml } from './remote-join';
import { droppedCounts, esc, fmt, labelledHistogramSvg } from './html';
import { sampleStripHtml } from './sample-strip';

declare global {
  interface Window {
    fedtabClient?: TabClientHandle;
  }
}

function render(root: HTMLElement, v: ClientView): void {
  const dropped = droppedCounts(v.broadcastsDropped).text;
  const names = classNames((v.dataset ?? 'mnist') as DatasetId);
  root.innerHTML = `
    <header><h1>fedtab <small>client ${esc(v.clientId)}</small></h1><span class="badge ${v.state}">${esc(v.state)}</span><span>${esc(v.message)}</span></header>
    <section class="summary">
      <div><b>kind</b> ${v.kind}</div>
      <div><b>backend</b> <span id="backend">${esc(v.backend)}</span></div>
      <div><b>partition</b> ${v.slot ?? '–'}</div>
      <div><b>samples</b> ${v.numSamples || '–'}</div>
      <div><b>round</b> ${v.round ?? '–'}</div>
      <div><b>local loss</b> ${fmt(v.localLoss, 4)}</div>
      <div><b>samples/s</b> ${fmt(v.samplesPerSec, 0)}</div>
      <div><b>tensors</b> ${v.numTensors}</div>
      <div title="federated evaluation: the global model on the 10% of this client's data it never trains on"><b>global model on my data</b> ${
        v.evalHistory.length ? `${fmt(v.evalHistory.at(-1)!.accuracy * 100, 1)}% (round ${v.evalHistory.at(-1)!.round})` : '–'
      }</div>
      ${dropped ? `<div class="error" title="broadcasts this client refused: unsigned, forged, replayed or malformed"><b>broadcasts dropped</b> ${esc(dropped)}</div>` : ''}
      <div><b>role</b> <span id="role" class="${v.role === 'honest' ? '' : 'error'}">${v.role === 'honest' ? 'honest' : `⚔ simulated ${esc(v.role)}`}</span>${
        v.straggler ? ` · straggler (${esc(v.straggler)})` : ''
      }</div>
    </section>
    ${v.error ? `<p class="error" role="alert">${esc(v.error)}</p>` : ''}
    <section><h2>Label histogram <small>how many of my training images each class has</small></h2>${labelledHistogramSvg(v.labelHistogram, names)}</section>
    ${v.sampleImages ? `<section class="my-samples"><h2>Some of my training images <small>from this client’s own data, shown only here</small></h2>${sampleStripHtml(v.sampleImages, names)}</section>` : ''}
    <section><h2>Backend probe</h2><ul>${
      v.probe.length
        ? v.probe.map((p) => `<li>${p.backend}: ${p.ok ? `${p.samplesPerSec} samples/s` : esc(p.error ?? 'failed')}</li>`).join('')
        : '<li>not probed (backend chosen explicitly or pending)</li>'
    }</ul></section>
    <section class="chart">${
      v.lossHistory.length
        ? lineChartSvg([{ label: 'local training loss', color: '#d62728', values: v.lossHistory.map((h) => h.loss) }], {
            title: 'my training loss',
            yAxis: 'zero',
            yLabel: 'local training loss',
            xLabel: 'round I trained in (1st, 2nd, …)',
            legend: false,
          })
        : ''
    }${
      v.evalHistory.length > 1
        ? lineChartSvg([{ label: 'global model on this client’s own data', color: '#ff7f0e', values: v.evalHistory.map((h) => h.accuracy) }], {
            title: 'global model on my own data',
            yAxis: 'percent',
            yLabel: 'accuracy on my data (%)',
            xLabel: 'evaluation (1st, 2nd, …)',
            legend: false,
          })
        : ''
    }</section>`;
}

export async function startClientPage(root: HTMLElement, params: URLSearchParams): Promise<void> {
  const requested = params.get('backend') ?? 'auto';
  if (!(BACKENDS as readonly string[]).includes(requested)) throw new Error(`unknown backend "${requested}"; valid: ${BACKENDS.join(', ')}`);
  // ?broker=: a student's device in a classroom, its coordinator in the teacher's dashboard; otherwise this browser's.
  let roomStatus: HTMLElement | null = null;
  let code = '';
  const room = params.get('broker')
    ? await joinRoom(root, params, (st) => {
        if (roomStatus) roomStatus.innerHTML = roomStatusHtml(code, st);
        if (st.removed) window.fedtabClient?.stop();
      })
    : null;
  code = room?.code ?? '';
  const port = room?.port ?? connectCoordinator().port;
  root.innerHTML = '<div id="room-status"></div><div id="client-view">connecting to the coordinator…</div><section><h2>Test the models yourself <small>the global model and this client’s own, after its last training</small></h2><div id="pad"></div></section>';
  const viewRoot = root.querySelector<HTMLElement>('#client-view')!;
  roomStatus = root.querySelector<HTMLElement>('#room-status')!;
  if (room) roomStatus.innerHTML = roomStatusHtml(room.code, room.status());
  let dataset: string | null = null;
  let round: number | null = null;
  let pad: { refresh(): void } | null = null;
  const onView = (v: ClientView) => {
    render(viewRoot, v);
    // A new round's models are in once the client is idle again: the pad's answer follows them.
    if (v.state === 'idle' && v.round !== round) {
      round = v.round;
      pad?.refresh();
    }
  };
  window.fedtabClient = await startTabClient({ port, backend: requested as BackendChoice, onView: (v) => onView(v), remote: room ? { channelName: room.channelName } : undefined });
  pad = mountDrawPad(root.querySelector<HTMLElement>('#pad')!, {
    predict: (pixels) => window.fedtabClient!.predict(pixels),
    testImage: () => window.fedtabClient!.nextOwnImage(),
    testImageLabel: 'Pick one of my images',
    classNames: () => classNames((dataset = window.fedtabClient!.view().dataset ?? dataset ?? 'mnist') as DatasetId),
  });
  onView(window.fedtabClient.view());
}

// The coordinator dashboard: controls, live chart, client table, rejections; and window.fedtab for automation.
import { CONFIG_FIELDS, DEFAULT_CONFIG, configFromQuery, resolveConfig, type FederationConfig } from '../shared/config';
import type { CoordinatorStatus } from '../shared/status';
import { clearDatasetCache } from '../client/dataset-store';
import { roundsChart } from './chart-svg';
import { addWorkerClient, connectCoordinator } from './coordinator-link';
import { esc, fmt, histogramSvg } from './html';

export interface FedtabHandle {
  status(): Promise<CoordinatorStatus>;
  start(config?: Partial<FederationConfig>): Promise<void>;
  pause(): Promise<void>;
  resume(): Promise<void>;
  reset(): Promise<void>;
  addWorkers(n: number, backend?: string): Promise<number>;
  openClientTab(): Window | null;
}

declare global {
  interface Window {
    fedtab: FedtabHandle;
  }
}

const FORM_KEYS: Array<keyof FederationConfig> = [
  'dataset', 'model', 'partition', 'alpha', 'algorithm', 'mu', 'rounds', 'epochs', 'batchSize', 'lr',
  'fraction', 'clients', 'maxSamples', 'seed', 'backend', 'roundDeadlineMs',
];

function formHtml(cfg: FederationConfig): string {
  return FORM_KEYS.map((key) => {
    const rule = CONFIG_FIELDS[key];
    const input = rule.values
      ? `<select name="${key}">${rule.values.map((v) => `<option${v === cfg[key] ? ' selected' : ''}>${esc(v)}</option>`).join('')}</select>`
      : `<input name="${key}" type="number" step="any" value="${esc(cfg[key])}">`;
    return `<label title="${esc(rule.help)}">${esc(key)} ${input}</label>`;
  }).join('');
}

export async function startDashboard(root: HTMLElement, params: URLSearchParams): Promise<void> {
  const { api } = connectCoordinator();
  const urlConfig = configFromQuery(params);
  const workers: Worker[] = [];
  root.innerHTML = `
    <header><h1>fedtab <small>coordinator</small></h1><span id="state" class="badge">…</span><span id="message"></span></header>
    <section class="controls">
      <form id="config">${formHtml(resolveConfig(urlConfig))}</form>
      <div class="buttons">
        <button id="start">Start</button><button id="pause">Pause</button><button id="resume">Resume</button><button id="reset">Reset</button>
        <button id="open-tab">Open client tab</button><button id="clear-datasets" title="Forget the datasets cached in this browser's IndexedDB">Clear cached datasets</button>
        <label>workers <input id="n-workers" type="number" min="1" max="32" value="2"></label><button id="add-workers">Add worker clients</button>
      </div>
      <p id="error" class="error" role="alert"></p><p id="notice" role="status"></p>
    </section>
    <section class="summary" id="summary"></section>
    <section class="chart" id="chart"></section>
    <section><h2>Clients</h2><table id="clients"><thead><tr>
      <th>id</th><th>kind</th><th>backend</th><th>samples</th><th>labels</th><th>status</th><th>slot</th><th>last update ‖Δ‖</th><th>agg. weight</th><th>samples/s</th><th>loss</th>
    </tr></thead><tbody></tbody></table></section>
    <section><h2>Rejected messages <span id="rej-total"></span></h2><ul id="rejections"></ul></section>`;
  const $ = <T extends HTMLElement>(id: string) => root.querySelector<T>(`#${id}`)!;
  const showError = (e: unknown) => ($('error').textContent = e instanceof Error ? e.message : e ? String(e) : '');

  const formConfig = (): Partial<FederationConfig> => {
    const data = new FormData($<HTMLFormElement>('config'));
    return Object.fromEntries([...data.entries()].map(([k, v]) => [k, String(v)])) as Partial<FederationConfig>;
  };

  const handle: FedtabHandle = {
    status: () => api.status(),
    // Precedence: explicit argument, then URL query, then defaults (the form mirrors URL + defaults).
    start: async (config) => api.start(resolveConfig({ ...urlConfig, ...config })),
    pause: () => api.pause(),
    resume: () => api.start(),
    reset: () => api.reset(),
    addWorkers: async (n, backend = params.get('backend') ?? DEFAULT_CONFIG.backend) => {
      if (!Number.isInteger(n) || n < 1 || n > 64) throw new Error('addWorkers needs an integer between 1 and 64');
      for (let i = 0; i < n; i++) workers.push(await addWorkerClient(api, backend));
      return workers.length;
    },
    openClientTab: () => {
      const q = new URLSearchParams({ role: 'client' });
      const b = params.get('backend');
      if (b) q.set('backend', b);
      return window.open(`${location.pathname}?${q}`, '_blank');
    },
  };
  window.fedtab = handle;

  const act = (id: string, fn: () => Promise<unknown> | unknown) =>
    $(id).addEventListener('click', async (ev) => {
      ev.preventDefault();
      showError('');
      try {
        await fn();
      } catch (e) {
        showError(e);
      }
    });
  act('start', () => api.start(resolveConfig(formConfig())));
  act('pause', handle.pause);
  act('resume', handle.resume);
  act('reset', handle.reset);
  act('open-tab', handle.openClientTab);
  act('clear-datasets', async () => {
    await clearDatasetCache();
    $('notice').textContent = 'Cached datasets cleared; clients download them again on their next load.';
  });
  act('add-workers', () => handle.addWorkers(Number($<HTMLInputElement>('n-workers').value)));

  let lastRounds = -1;
  let shownRunId: string | null = null;
  const render = (s: CoordinatorStatus) => {
    // Show the config of the run in progress (started elsewhere, or restored), not just the URL's.
    if (s.runId !== shownRunId && s.config) {
      shownRunId = s.runId;
      $<HTMLFormElement>('config').innerHTML = formHtml(s.config);
    }
    $('state').textContent = s.state;
    $('state').className = `badge ${s.state}`;
    $('message').textContent = s.message;
    if (s.error) showError(s.error);
    const last = s.history.at(-1);
    $('summary').innerHTML = `
      <div><b>round</b> ${s.round} / ${s.config?.rounds ?? '–'}</div>
      <div><b>test accuracy</b> ${fmt(last?.accuracy, 4)}</div>
      <div><b>test loss</b> ${fmt(last?.loss, 4)}</div>
      <div><b>recall per class</b> ${histogramSvg(last?.recall ?? null, 120, 24, 1)}</div>
      <div><b>algorithm</b> ${esc(s.config?.algorithm ?? '–')}</div>
      <div><b>partition</b> ${esc(s.config?.partition ?? '–')} (TV ${fmt(s.heterogeneityTV)})</div>
      <div><b>clients</b> ${s.clients.length}</div>
      <div><b>coordinator backend</b> ${esc(s.coordinatorBackend ?? '–')}</div>`;
    if (s.history.length !== lastRounds) {
      lastRounds = s.history.length;
      $('chart').innerHTML = s.history.length ? roundsChart(s.history, 'global model on the test set') : '<p>No rounds yet.</p>';
    }
    $('clients').querySelector('tbody')!.innerHTML = s.clients
      .map(
        (c) => `<tr data-client="${esc(c.clientId)}" class="${c.state}">
          <td>${esc(c.clientId)}</td><td>${c.kind}</td>
          <td title="${esc(c.probe.map((p) => `${p.backend}: ${p.ok ? `${p.samplesPerSec} samples/s` : p.error}`).join('\n'))}">${esc(c.backend)}</td>
          <td>${c.numSamples || '–'}</td><td>${histogramSvg(c.labelHistogram)}</td>
          <td>${esc(c.state)}${c.error ? ` <span class="error">${esc(c.error)}</span>` : ''}</td><td>${c.slot ?? '–'}</td>
          <td>${fmt(c.lastUpdateNorm)}</td><td>${fmt(c.lastWeight)}</td><td>${fmt(c.samplesPerSec, 0)}</td><td>${fmt(c.localLoss)}</td>
        </tr>`,
      )
      .join('');
    $('rej-total').textContent = s.rejections.total
      ? `(${s.rejections.total}: ${Object.entries(s.rejections.byReason).map(([r, n]) => `${r} ${n}`).join(', ')})`
      : '(none)';
    $('rejections').innerHTML = s.rejections.recent
      .slice(0, 10)
      .map((r) => `<li><b>${esc(r.reason)}</b> from ${esc(r.clientId ?? '?')} in round ${r.round}: ${esc(r.detail)}</li>`)
      .join('');
  };

  const poll = async () => {
    try {
      render(await api.status());
    } catch (e) {
      showError(e);
    }
    setTimeout(poll, 500);
  };
  await poll();
}

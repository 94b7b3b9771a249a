// The coordinator dashboard: controls, live chart, weight heatmap, round log, client table, rejections; and
// window.fedtab for automation.
import { DEFAULT_CONFIG, configFromQuery, resolveConfig, type DatasetId, type FederationConfig } from '../shared/config';
import type { CoordinatorStatus } from '../shared/status';
import { clearDatasetCache, loadDataset } from '../shared/data/dataset-store';
import { classNames } from '../shared/class-names';
import { confusionSvg } from './confusion-view';
import { mountDrawPad } from './draw-pad';
import { roundsChart, runLabel, type EarlierRun } from './chart-svg';
import { applyVisibility, configSummary, formHtml, readForm } from './config-form';
import { explainerHtml, isActiveState, keyNumbersHtml, roundStepsHtml } from './explainer';
import { addWorkerClient, connectCoordinator } from './coordinator-link';
import { sampleStripHtml } from './sample-strip';
import type { ClientView } from '../client/runtime';
import { ATTACKER_MARK, STRAGGLER_MARK, weightHeatmapSvg } from './heatmap-svg';
import { attentionHtml, paintAttention } from './attention-view';
import { imbalanceSummaryHtml } from './imbalance-view';
import { brokerSummaryHtml, modalityCell, trafficSummaryHtml, unimodalSummaryHtml } from './traffic-view';
import { openClassroom } from './classroom-panel';
import type { DeviceRow } from './classroom-hub';
import type { BrokerStats } from '../shared/broker-stats';
import { formatBytes } from '../shared/format-bytes';
import { modalityPlan } from '../shared/run-plan';
import { droppedCounts, esc, fmt, histogramSvg } from './html';
import { attackBannerHtml, reliabilitySparklines, roundIssuesHtml, roundTableHtml } from './round-table';
import { featureLeakNoticeHtml } from './feature-leak';

export interface FedtabHandle {
  status(): Promise<CoordinatorStatus>;
  start(config?: Partial<FederationConfig>): Promise<void>;
  pause(): Promise<void>;
  resume(): Promise<void>;
  reset(): Promise<void>;
  addWorkers(n: number, backend?: string): Promise<number>;
  openClientTab(): Window | null;
  /** With ?broker=: the room students join (code, link, devices, broker numbers), and removing a device. */
  classroom: {
    code: string;
    joinUrl: string;
    devices(): DeviceRow[];
    stats(): BrokerStats;
    remove(deviceId: string): boolean;
  } | null;
}

declare global {
  interface Window {
    fedtab: FedtabHandle;
  }
}

/** Sets innerHTML only when it changed, so a 500 ms poll does not rebuild (and flicker) identical DOM. */
function setHtml(el: HTMLElement, html: string): void {
  if (el.dataset.html === html) return;
  el.dataset.html = html;
  el.innerHTML = html;
}

export async function startDashboard(root: HTMLElement, params: URLSearchParams): Promise<void> {
  const { api } = connectCoordinator();
  const urlConfig = configFromQuery(params);
  const workers: Worker[] = [];
  /** This page's own worker clients' sample strips, by client id, from the views they post here (never via the coordinator). */
  const workerStrips = new Map<string, string>();
  const onWorkerView = (v: ClientView) => {
    if (v.clientId) workerStrips.set(v.clientId, sampleStripHtml(v.sampleImages, classNames((v.dataset ?? 'mnist') as DatasetId), { max: 6, size: 28, captions: false }));
  };
  root.innerHTML = `
    <header><h1>fedtab <small>coordinator</small></h1><span id="state" class="badge">…</span><span id="message"></span></header>
    <div id="banner"></div>
    <section class="controls">
      <div class="buttons">
        <button id="start">Start</button><button id="pause">Pause</button><button id="resume">Resume</button><button id="reset">Reset</button>
        <button id="open-tab">Open client tab</button><button id="clear-datasets" title="Forget the datasets cached in this browser's IndexedDB">Clear cached datasets</button><button id="download-run" title="The run as JSON: config, every round's record (accuracy, bytes, broker traffic), clients, rejections">Download run JSON</button>
        <label>workers <input id="n-workers" type="number" min="1" max="32" value="2"></label><button id="add-workers">Add worker clients</button>
      </div>
      <p id="error" class="error" role="alert"></p><p id="notice" role="status"></p>
      <details id="settings" class="settings" open>
        <summary><b class="settings-title">Settings</b> <span id="config-summary" class="config-summary"></span> <span class="toggle"><span class="when-closed">Change settings</span><span class="when-open">Hide settings</span></span></summary>
        <form id="config">${formHtml(resolveConfig(urlConfig))}</form>
      </details>
    </section>
    <section id="classroom-section" hidden></section>
    <section class="now" id="now"><div class="key-numbers" id="key-numbers"></div><div id="round-steps"></div></section>
    <details class="explainer" id="explainer"><summary>What is happening? <small>federated learning in plain words</small></summary><div id="explainer-body"></div></details>
    <section class="chart" id="chart"></section>
    <section class="summary" id="summary"></section>
    <section class="try-model"><h2>Test the model yourself <small>draw a digit, or pick a test image: the current global model's answer, updated every round</small></h2><div id="pad"></div></section>
    <section id="confusion-section" hidden><h2>Where the model goes wrong <small id="confusion-round"></small></h2><div id="confusion"></div></section>
    <section id="attention-section" hidden><h2>What the attention looks at <small id="attention-round"></small></h2><div id="attention"></div></section>
    <section><h2>Latest round: dropped and flagged clients</h2><div id="round-issues"></div></section>
    <section><h2>Aggregation weights <small>clients × rounds; hover a cell for weight, ρ and reasons</small></h2><div id="heatmap" class="heatmap-wrap"></div></section>
    <section><h2>Rounds</h2><div id="rounds"></div></section>
    <section><h2>Clients <small>${ATTACKER_MARK} simulated attacker, ${STRAGGLER_MARK} straggled last round</small></h2><table id="clients"><thead><tr>
      <th>id</th><th>kind</th><th>backend</th><th>samples</th><th>labels</th><th>status</th><th>slot</th><th class="col-modalities" title="mnist+fashion: the modalities this client's partition holds">modalities</th><th title="bytes of its update last round, as sent">sent</th><th title="federated evaluation: the latest global model on this client's own held-out images">accuracy on own data</th><th>last update ‖Δ‖</th><th>agg. weight</th><th>reliability ρ</th><th>ρ over rounds</th><th>samples/s</th><th>loss</th><th title="broadcasts this client refused: unsigned, forged or replayed">dropped broadcasts</th><th title="a few of this client's own training images: shown for the worker clients this page started (a tab shows its own)">my images</th>
    </tr></thead><tbody></tbody></table></section>
    <section><h2>Rejected messages <span id="rej-total"></span></h2><ul id="rejections"></ul></section>`;
  const $ = <T extends HTMLElement>(id: string) => root.querySelector<T>(`#${id}`)!;
  const showError = (e: unknown) => ($('error').textContent = e instanceof Error ? e.message : e ? String(e) : '');

  const form = $<HTMLFormElement>('config');
  const formConfig = (): Partial<FederationConfig> => readForm(form);
  applyVisibility(form);
  form.addEventListener('change', () => applyVisibility(form));
  form.addEventListener('input', () => applyVisibility(form));

  const handle: FedtabHandle = {
    status: () => api.status(),
    // Precedence: explicit argument, then URL query, then defaults (the form mirrors URL + defaults).
    start: async (config) => api.start(resolveConfig({ ...urlConfig, ...config })),
    pause: () => api.pause(),
    resume: () => api.start(),
    reset: () => api.reset(),
    addWorkers: async (n, backend = params.get('backend') ?? DEFAULT_CONFIG.backend) => {
      if (!Number.isInteger(n) || n < 1 || n > 64) throw new Error('addWorkers needs an integer between 1 and 64');
      for (let i = 0; i < n; i++) workers.push(await addWorkerClient(api, backend, onWorkerView));
      return workers.length;
    },
    openClientTab: () => {
      const q = new URLSearchParams({ role: 'client' });
      const b = params.get('backend');
      if (b) q.set('backend', b);
      return window.open(`${location.pathname}?${q}`, '_blank');
    },
    classroom: null,
  };
  window.fedtab = handle;
  try {
    const room = openClassroom($('classroom-section'), api, params);
    handle.classroom = room && { code: room.code, joinUrl: room.joinUrl, devices: () => room.hub.rows(), stats: () => room.hub.stats(), remove: (id) => room.hub.remove(id) };
  } catch (e) {
    showError(`classroom: ${e instanceof Error ? e.message : String(e)}`);
  }

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
  act('download-run', async () => {
    const s = await api.status();
    const blob = new Blob([JSON.stringify({ tool: 'fedtab dashboard', createdAt: new Date().toISOString(), ...s }, null, 1)], { type: 'application/json' });
    const a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = `fedtab-${s.runId ?? 'no-run'}.json`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
  });
  act('add-workers', () => handle.addWorkers(Number($<HTMLInputElement>('n-workers').value)));

  let historyKey = '';
  let attentionKey = '';
  let sparks = new Map<string, string>();
  let shownRunId: string | null = null;
  // Earlier runs of this session, for the chart's grey overlay: each run this page saw, kept (in page memory only)
  // once it finished or was replaced, keyed by runId; the newest 5. `seen` numbers runs in the order they appeared.
  const EARLIER_MAX = 5;
  const earlierRuns = new Map<string, EarlierRun>();
  const seen = new Map<string, number>();
  let latest: { runId: string; label: string; accuracy: Array<number | null>; done: boolean } | null = null;
  const keepEarlier = (r: NonNullable<typeof latest>) => {
    if (!r.accuracy.some((a) => a !== null)) return;
    earlierRuns.delete(r.runId);
    earlierRuns.set(r.runId, { label: r.label, accuracy: r.accuracy });
    while (earlierRuns.size > EARLIER_MAX) earlierRuns.delete(earlierRuns.keys().next().value!);
  };
  const trackRuns = (s: CoordinatorStatus) => {
    if (latest && latest.runId !== s.runId) keepEarlier(latest);
    if (!s.runId || !s.config) {
      latest = null;
      return;
    }
    if (!seen.has(s.runId)) seen.set(s.runId, seen.size + 1);
    latest = { runId: s.runId, label: `run ${seen.get(s.runId)}: ${runLabel(s.config)}`, accuracy: s.history.map((h) => h.accuracy), done: s.state === 'done' };
    if (latest.done) keepEarlier(latest);
  };
  /** The form's config, for the settings line and the explainer before a run has one; null while it does not validate. */
  const formOrNull = (): FederationConfig | null => {
    try {
      return resolveConfig(formConfig());
    } catch {
      return null;
    }
  };
  // Presenter layout: the settings collapse into their summary line when a run starts, and open again when it ends
  // (only on those changes, so a click on "Change settings" stays put between polls).
  let wasActive: boolean | null = null;
  const renderPresenter = (s: CoordinatorStatus) => {
    const active = isActiveState(s.state);
    if (active !== wasActive) {
      wasActive = active;
      $<HTMLDetailsElement>('settings').open = !active;
      const room = root.querySelector<HTMLDetailsElement>('#classroom-details');
      if (room) room.open = !active;
    }
    const cfg = s.config ?? formOrNull();
    setHtml($('config-summary'), cfg ? esc(configSummary(cfg, s.config ? s.numPartitions || s.clients.length : s.clients.length)) : '');
    setHtml($('key-numbers'), keyNumbersHtml(s));
    setHtml($('round-steps'), roundStepsHtml(s));
    setHtml($('explainer-body'), explainerHtml(cfg, s.heterogeneityTV));
  };
  const render = (s: CoordinatorStatus) => {
    trackRuns(s);
    // Show the config of the run in progress (started elsewhere, or restored), not just the URL's.
    if (s.runId !== shownRunId && s.config) {
      shownRunId = s.runId;
      form.innerHTML = formHtml(s.config);
      applyVisibility(form);
    }
    const attackerSlots = s.attackerSlots ?? [];
    if (s.config) shownDataset = s.config.dataset;
    setHtml($('banner'), attackBannerHtml(s.config, attackerSlots) + featureLeakNoticeHtml(s.config));
    $('state').textContent = s.state;
    $('state').className = `badge ${s.state}`;
    $('message').textContent = s.message;
    if (s.error) showError(s.error);
    renderPresenter(s);
    const last = s.history.at(-1);
    const evaluated = [...s.history].reverse().find((h) => h.accuracy !== null);
    const asr = evaluated?.attackSuccessRate;
    const allDropped = droppedCounts(s.broadcastsDropped);
    const dropped = allDropped.total ? `${allDropped.total} (${allDropped.text})` : '';
    const skipped = s.history.filter((h) => h.skipped).length;
    const attack = s.config && s.config.attack !== 'none' ? s.config.attack : null;
    setHtml($('summary'), `
      <div><b>test accuracy</b> ${fmt(evaluated?.accuracy, 4)}${evaluated && evaluated !== last ? ` <small>(round ${evaluated.round})</small>` : ''}</div>
      <div><b>test loss</b> ${fmt(evaluated?.loss, 4)}</div>
      ${unimodalSummaryHtml(evaluated)}
      ${typeof evaluated?.localAccuracy === 'number' ? `<div title="each client's model (its own under FedAlign and local-only LoRA, the global one otherwise) on the test set weighted to that client's label mix, averaged over clients"><b>on each client's label mix</b> ${fmt(evaluated.localAccuracy * 100, 1)}%</div>` : ''}
      ${imbalanceSummaryHtml(evaluated, s.trainClassCounts ?? null)}
      ${trafficSummaryHtml(s.history, s.config?.compress)}
      ${brokerSummaryHtml(last?.broker ?? null, s.broker)}
      ${typeof asr === 'number' ? `<div class="asr"><b>attack success rate</b> ${fmt(asr * 100, 1)}%</div>` : ''}
      <div><b>algorithm</b> ${esc(s.config?.algorithm ?? '–')}</div>
      ${attack ? `<div class="attack"><b>attack</b> ${ATTACKER_MARK} ${esc(attack)} × ${attackerSlots.length || esc(s.config?.attackers)}</div>` : ''}
      ${last && typeof last.aggregateMs === 'number' ? `<div><b>aggregation</b> ${fmt(last.aggregateMs, 0)} ms</div>` : ''}
      ${last?.serverDistill ? `<div title="FedDF: Adam steps on the unlabelled proxy split; the weights kept are those with the best server-validation loss"><b>server distillation</b> ${last.serverDistill.steps} steps, kept step ${last.serverDistill.bestStep}, validation loss ${fmt(last.serverDistill.validationLossBefore, 3)} → ${fmt(last.serverDistill.validationLoss, 3)}</div>` : ''}
      <div title="TV: total-variation distance between the clients' label mixes and the global one, averaged (0 = IID, 1 = disjoint)"><b>partition</b> ${esc(s.config?.partition ?? '–')} (TV ${fmt(s.heterogeneityTV)})</div>
      <div><b>clients</b> ${s.clients.length}${s.registrationsRefused ? ` <span class="error" title="registrations the coordinator refused: too many clients, or too many from one connection">(${s.registrationsRefused} refused)</span>` : ''}</div>
      ${last?.federatedEval ? `<div title="federated evaluation: the global model on each client's own held-out data"><b>on clients' data</b> mean ${fmt(last.federatedEval.meanAccuracy * 100, 1)}%, worst 10% ${fmt(last.federatedEval.worst10Accuracy * 100, 1)}%</div>` : ''}
      ${dropped ? `<div class="error" title="broadcasts the clients refused to act on (unsigned, forged, replayed), as their heartbeats report"><b>forged or bad broadcasts dropped</b> ${esc(dropped)}</div>` : ''}
      ${skipped ? `<div class="error"><b>rounds not aggregated as usual</b> ${skipped}</div>` : ''}
      <div><b>coordinator backend</b> ${esc(s.coordinatorBackend ?? '–')}</div>`);
    // The history only grows between rounds: rebuild the round-derived views only when it changed.
    // A round's evaluations land after it (beside the next round): they change the key too.
    const key = `${s.runId}:${s.history.length}:${attackerSlots.length}:${s.history.filter((h) => h.accuracy !== null).length}:${s.history.filter((h) => h.federatedEval).length}`;
    if (key !== historyKey) {
      historyKey = key;
      const earlier = [...earlierRuns].filter(([id]) => id !== s.runId).map(([, r]) => r);
      $('chart').innerHTML = s.history.length || earlier.length
        ? roundsChart(s.history, 'global model on the test set', { earlier, runLabel: latest?.label })
        : '<p>No rounds yet.</p>';
      $('heatmap').innerHTML = s.history.length ? weightHeatmapSvg(s.history, { attackerSlots }) : '<p>No rounds yet.</p>';
      const cm = evaluated?.confusion;
      $('confusion-section').hidden = !cm;
      if (cm && s.config) {
        $('confusion-round').textContent = `confusion matrix of the global model after round ${evaluated.round}, on the test set`;
        $('confusion').innerHTML = confusionSvg(cm, classNames(s.config.dataset));
      }
      pad.refresh();
      $('rounds').innerHTML = roundTableHtml(s.history);
      $('round-issues').innerHTML = roundIssuesHtml(last, attackerSlots);
      const threshold = s.config?.algorithm === 'fed-adaptive-next' ? s.config.reliabilityThreshold : null;
      sparks = reliabilitySparklines(s.history, threshold);
    }
    // Only models with attention layers have a snapshot; it changes once per evaluated round.
    $('attention-section').hidden = !s.attention;
    const nextAttention = s.attention ? `${s.runId}:${s.attention.round}` : '';
    if (s.attention && nextAttention !== attentionKey) {
      $('attention-round').textContent = `from the global model after round ${s.attention.round}, on the first test image of ${s.attention.images.length} classes`;
      $('attention').innerHTML = attentionHtml(s.attention);
      paintAttention($('attention'), s.attention);
    }
    attentionKey = nextAttention;
    const modalities = s.config ? modalityPlan(s.config, s.numPartitions) : null;
    $('clients').classList.toggle('paired', modalities !== null);
    const sent = new Map((last?.clients ?? []).map((c) => [c.clientId, c.bytesUp]));
    const fedEval = [...s.history].reverse().find((h) => h.federatedEval)?.federatedEval;
    const ownAccuracy = new Map((fedEval?.clients ?? []).map((c) => [c.clientId, c.accuracy]));
    const stragglers = new Map<string, string>();
    for (const c of last?.clients ?? []) if (c.straggler) stragglers.set(c.clientId, c.straggler);
    for (const d of last?.dropped ?? []) if (d.straggler) stragglers.set(d.clientId, d.straggler);
    $('clients').querySelector('tbody')!.innerHTML = s.clients
      .map((c) => {
        const attacker = c.slot !== null && attackerSlots.includes(c.slot);
        const straggler = stragglers.get(c.clientId);
        const marks =
          (attacker ? ` <span class="mark attacker" title="simulated attacker">${ATTACKER_MARK}</span>` : '') +
          (straggler ? ` <span class="mark straggler" title="straggled last round (${esc(straggler)})">${STRAGGLER_MARK}</span>` : '');
        return `<tr data-client="${esc(c.clientId)}" class="${esc(c.state)}${attacker ? ' attacker' : ''}">
          <td>${esc(c.clientId)}${marks}</td><td>${c.kind}</td>
          <td title="${esc(c.probe.map((p) => `${p.backend}: ${p.ok ? `${p.samplesPerSec} samples/s` : p.error}`).join('\n'))}">${esc(c.backend)}</td>
          <td>${c.numSamples || '–'}</td><td>${histogramSvg(c.labelHistogram, 100, 20, s.config ? classNames(s.config.dataset) : undefined)}</td>
          <td>${esc(c.state)}${c.error ? ` <span class="error">${esc(c.error)}</span>` : ''}</td><td>${c.slot ?? '–'}</td>
          <td class="col-modalities">${modalityCell(modalities && c.slot !== null ? (modalities[c.slot] ?? null) : null)}</td><td>${sent.has(c.clientId) ? esc(formatBytes(sent.get(c.clientId)!)) : ''}</td><td>${ownAccuracy.has(c.clientId) ? `${fmt(ownAccuracy.get(c.clientId)! * 100, 1)}%` : '–'}</td>
          <td>${fmt(c.lastUpdateNorm)}</td><td>${fmt(c.lastWeight)}</td><td>${fmt(c.reliability)}</td><td>${sparks.get(c.clientId) ?? '–'}</td>
          <td>${fmt(c.samplesPerSec, 0)}</td><td>${fmt(c.localLoss)}</td>
          <td>${droppedCounts(c.broadcastsDropped).total || ''}</td><td class="col-samples">${workerStrips.get(c.clientId) ?? ''}</td>
        </tr>`;
      })
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
  // The drawing pad asks the coordinator's global model; test images come from this browser's dataset cache.
  let shownDataset: DatasetId = 'mnist';
  let testSet: { images: Uint8Array; labels: Uint8Array; name: string } | null = null;
  let picks = 0;
  const pad = mountDrawPad($('pad'), {
    predict: async (pixels) => {
      const p = await api.predict(pixels);
      return p ? [{ label: 'global model', round: p.round, probabilities: p.probabilities }] : null;
    },
    classNames: () => classNames(shownDataset),
    testImage: async () => {
      // The paired dataset's drawing pad speaks MNIST: a two-modality model sees a drawing as its MNIST image.
      const name = shownDataset === 'fashion-mnist' ? 'fashion-mnist' : 'mnist';
      if (testSet?.name !== name) testSet = { name, ...(await loadDataset(name, { parts: ['test-images', 'test-labels'] })).dataset.test };
      // Steps through the test set by a stride coprime with its size: every image, in a scrambled, repeatable order.
      const i = (picks++ * 7919) % testSet.labels.length;
      return { pixels: testSet.images.slice(i * 784, (i + 1) * 784), label: testSet.labels[i] };
    },
  });
  await poll();
}

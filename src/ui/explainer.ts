// What is happening, in plain words, for a presenter and a class (issue 10): the big numbers (round, test accuracy),
// a step diagram of where the current round is (broadcast → local training → aggregation → evaluation), and a short
// "what is happening" panel that explains the parts of federated learning that apply to the current config.
// Pure string builders: the dashboard feeds them its CoordinatorStatus.
import type { FederationConfig } from '../shared/config';
import { isEvalRound } from '../shared/run-plan';
import type { ClientRow, CoordinatorStatus, RoundRecord } from '../shared/status';
import { isStrategyName, strategyDefinition } from '../shared/strategies/registry';
import { esc } from './html';

export const ROUND_STEPS = ['broadcast', 'training', 'aggregation', 'evaluation'] as const;
export type RoundStep = (typeof ROUND_STEPS)[number];
export type StepState = 'todo' | 'active' | 'done' | 'skipped';

const STEP_NAMES: Record<RoundStep, string> = {
  broadcast: 'Send the model',
  training: 'Local training',
  aggregation: 'Combine updates',
  evaluation: 'Test the model',
};

/** Running states: the dashboard collapses its settings into one line in these. */
export const ACTIVE_STATES: readonly CoordinatorStatus['state'][] = ['preparing', 'waiting', 'running', 'paused'];
export const isActiveState = (state: CoordinatorStatus['state']): boolean => ACTIVE_STATES.includes(state);

export type StepsStatus = Pick<CoordinatorStatus, 'state' | 'round' | 'message' | 'history' | 'clients' | 'config'>;

export interface RoundProgress {
  round: number;
  rounds: number | null;
  steps: Record<RoundStep, StepState>;
  /** Updates the coordinator has received this round, and how many it waits for; null when not known. */
  received: number | null;
  expected: number | null;
  /** The clients holding a partition, with what each is doing now. */
  clients: Array<{ clientId: string; slot: number | null; state: ClientRow['state']; progress?: ClientRow['progress'] }>;
  /** One line on what the run is doing, in plain words. */
  note: string;
}

/** "round 3: 2/4 updates" / "round 3: training on 4 clients": the coordinator's message is where the count lives. */
export function receivedFromMessage(message: string, round: number): { received: number; expected: number } | null {
  const got = /^round (\d+): (\d+)\/(\d+) updates/.exec(message);
  if (got && Number(got[1]) === round) return { received: Number(got[2]), expected: Number(got[3]) };
  const sent = /^round (\d+): training on (\d+) clients?/.exec(message);
  if (sent && Number(sent[1]) === round) return { received: 0, expected: Number(sent[2]) };
  return null;
}

const all = (state: StepState): Record<RoundStep, StepState> => ({ broadcast: state, training: state, aggregation: state, evaluation: state });

/** Where the current round is, from the status alone. Null with no run (idle, error before a run). */
export function roundProgress(s: StepsStatus): RoundProgress | null {
  if (!s.config || s.state === 'idle') return null;
  const cfg = s.config;
  const clients = s.clients.filter((c) => c.slot !== null && c.state !== 'gone').map((c) => ({ clientId: c.clientId, slot: c.slot, state: c.state, progress: c.progress }));
  const base = { round: s.round, rounds: cfg.rounds, received: null, expected: null, clients };
  if (s.state === 'preparing') return { ...base, steps: all('todo'), note: 'Getting ready: loading the data and splitting it between the clients.' };
  if (s.state === 'waiting') return { ...base, steps: all('todo'), note: 'Waiting for enough clients to join before round 1.' };
  if (s.state === 'error') return { ...base, steps: all('todo'), note: 'The run stopped with an error.' };
  const closed = s.history.find((h) => h.round === s.round);
  if (closed || s.round === 0) {
    if (!closed) return { ...base, steps: all('todo'), note: 'Starting round 1.' };
    const tested = !isEvalRound(cfg, closed.round) ? 'skipped' : closed.accuracy !== null ? 'done' : 'active';
    const steps = { broadcast: 'done', training: 'done', aggregation: 'done', evaluation: tested } as const;
    const note =
      s.state === 'done' ? `Finished: ${closed.round} rounds.` :
      s.state === 'paused' ? `Paused after round ${closed.round}.` :
      tested === 'active' ? `Round ${closed.round} combined; testing the new global model.` :
      `Round ${closed.round} done; the next one starts now.`;
    return { ...base, steps, note };
  }
  // The round is in progress: its updates are coming in.
  const counts = receivedFromMessage(s.message, s.round);
  const busy = clients.filter((c) => c.state === 'training' || c.state === 'uploading').length;
  const received = counts?.received ?? null;
  const expected = counts?.expected ?? null;
  let steps: Record<RoundStep, StepState>;
  let note: string;
  if (received !== null && expected !== null && expected > 0 && received >= expected) {
    steps = { broadcast: 'done', training: 'done', aggregation: 'active', evaluation: 'todo' };
    note = `All ${expected} updates are in; the server combines them.`;
  } else if ((received ?? 0) === 0 && busy === 0) {
    steps = { broadcast: 'active', training: 'todo', aggregation: 'todo', evaluation: 'todo' };
    note = `Sending the global model to the clients for round ${s.round}.`;
  } else {
    steps = { broadcast: 'done', training: 'active', aggregation: 'todo', evaluation: 'todo' };
    note = expected !== null ? `${received} of ${expected} clients done training.` : `${busy} client${busy === 1 ? '' : 's'} training.`;
  }
  if (!isEvalRound(cfg, s.round)) steps.evaluation = 'skipped';
  // The model of the round before is tested beside this one.
  const previous = s.history.find((h) => h.round === s.round - 1);
  if (previous && previous.accuracy === null && isEvalRound(cfg, previous.round)) note += ` Round ${previous.round}’s model is being tested meanwhile.`;
  if (s.state === 'paused') note = `Pausing after round ${s.round}. ${note}`;
  return { ...base, received, expected, steps, note };
}

const CLIENT_WORDS: Partial<Record<ClientRow['state'], string>> = {
  training: 'training',
  uploading: 'sending update',
  evaluating: 'testing',
  idle: 'idle',
  loading: 'loading data',
  starting: 'starting',
  error: 'error',
};

/** The step diagram: four steps, the current one highlighted, with each client's state under local training. */
export function roundStepsHtml(s: StepsStatus): string {
  const p = roundProgress(s);
  if (!p) return '';
  const mark = (st: StepState) => (st === 'done' ? '✓' : st === 'active' ? '▶' : st === 'skipped' ? '–' : '');
  const detail = (step: RoundStep): string => {
    if (step === 'training') {
      const done = p.received !== null && p.expected !== null ? `<span class="count">${p.received}/${p.expected} clients done</span>` : '';
      // Each client's state while the clients train; once the step is over, the count says it all.
      if (p.steps.training !== 'active') return '';
      const chips = p.clients
        .map((c) => {
          // Batches done of the round's total, from the client's heartbeat, while it trains this round.
          const batches = c.state === 'training' && c.progress && c.progress.round === p.round ? ` ${c.progress.steps}/${c.progress.total} batches` : '';
          return `<li class="client ${esc(c.state)}" title="${esc(c.clientId)}">#${c.slot} ${esc(CLIENT_WORDS[c.state] ?? c.state)}${batches}</li>`;
        })
        .join('');
      return `${done}${chips ? `<ul class="clients" title="each client's state and batches done, as its last heartbeat (every 2 s) reported them">${chips}</ul>` : ''}`;
    }
    if (step === 'evaluation' && p.steps.evaluation === 'skipped') return '<span class="count">not this round</span>';
    return '';
  };
  const steps = ROUND_STEPS.map(
    (step) =>
      `<li class="step ${p.steps[step]}" data-step="${step}"><span class="step-name"><span class="mark">${mark(p.steps[step])}</span>${STEP_NAMES[step]}</span>${detail(step)}</li>`,
  ).join('<li class="arrow" aria-hidden="true">→</li>');
  return `<div class="round-steps"><ol class="steps" aria-label="where round ${p.round} is">${steps}</ol><p class="step-note">${esc(p.note)}</p></div>`;
}

const pct1 = (v: number | null | undefined) => (typeof v === 'number' && Number.isFinite(v) ? `${(v * 100).toFixed(1)}%` : '–');

/** The numbers a class reads from the back of the room: the round, and the latest test accuracy. */
export function keyNumbersHtml(s: Pick<CoordinatorStatus, 'round' | 'config' | 'history'>): string {
  const evaluated = [...s.history].reverse().find((h: RoundRecord) => h.accuracy !== null);
  const last = s.history.at(-1);
  const of = evaluated && evaluated !== last ? `<small>after round ${evaluated.round}</small>` : '';
  return (
    `<div class="key-number round"><span class="key-label">Round</span><span class="key-value">${s.round}<small> / ${s.config?.rounds ?? '–'}</small></span></div>` +
    `<div class="key-number accuracy" title="share of the test images (never seen by any client) the global model gets right"><span class="key-label">Test accuracy</span><span class="key-value">${pct1(evaluated?.accuracy)}</span>${of}</div>`
  );
}

/** What the server does with the updates, per strategy, in plain words (others: the registry's one line). */
const STRATEGY_WORDS: Partial<Record<string, string>> = {
  fedavg: 'averages the updates, each client counting by how many images it has (FedAvg)',
  fedprox: 'averages the updates like FedAvg; each client was also pulled back toward the global model while training, so it drifts less on its own data (FedProx)',
  scaffold: 'averages the updates, and clients correct their training by how their direction differs from everyone’s (SCAFFOLD)',
  fednova: 'averages the updates, evening out clients that took more or fewer training steps (FedNova)',
  fedavgm: 'averages the updates and keeps momentum from earlier rounds (FedAvgM)',
  fedadam: 'averages the updates and takes an Adam step with them (FedAdam)',
  fedyogi: 'averages the updates and takes a Yogi step with them (FedYogi)',
  fedadagrad: 'averages the updates and takes an Adagrad step with them (FedAdagrad)',
  krum: 'keeps only the one update that is closest to the others, so outliers do not count (Krum)',
  'multi-krum': 'averages the few updates closest to the others, leaving outliers out (Multi-Krum)',
  bulyan: 'picks the updates closest to the others, then averages their middle values (Bulyan)',
  median: 'takes the middle value of every weight across the updates, so a few extreme ones cannot drag it (median)',
  'trimmed-mean': 'cuts the highest and lowest values of every weight, then averages the rest (trimmed mean)',
  fltrust: 'trains a little itself on trusted data, and trusts each update as far as it points the same way (FLTrust)',
  clip: 'shrinks updates that are too big, then averages them (norm clipping)',
  'fed-adaptive-next': 'weights each update by how well it agrees with the common direction and how reliable its client has been; unreliable clients count less or are left out (Fed-Adaptive-Next)',
  qfedavg: 'averages the updates, giving clients with a high loss more say, for fairness (q-FedAvg)',
};

const ATTACK_WORDS: Record<Exclude<FederationConfig['attack'], 'none'>, string> = {
  'label-flip': 'train on deliberately wrong labels (every class swapped for another)',
  'targeted-label-flip': 'teach the model to read 7s as 1s, while the rest stays right (a targeted, sneaky attack)',
  'sign-flip': 'send their update pointing the opposite way, scaled up',
  gaussian: 'send random noise instead of a real update',
  scaling: 'scale their update up so it outweighs the honest ones',
  alie: 'send updates that look statistically normal but pull the model off course (“a little is enough”)',
};

const pctOf = (v: number) => `${+(v * 100).toFixed(1)}%`;

interface ExplainerItem {
  key: string;
  title: string;
  text: string;
}

/** The panel's paragraphs for this config: the attack and stragglers only when the run has them. */
export function explainerItems(cfg: FederationConfig | null, heterogeneityTV: number | null): ExplainerItem[] {
  const c = cfg;
  const items: ExplainerItem[] = [];
  items.push({
    key: 'idea',
    title: 'The idea',
    text: 'Each client (a browser tab or worker) keeps its own pictures; they never leave it. Only the shared “global” model travels: the clients learn together without pooling their data.',
  });
  items.push({
    key: 'broadcast',
    title: 'Send the model',
    text: `Every round the server sends the current global model to ${c && c.fraction < 1 ? `a random ${pctOf(c.fraction)} of the clients` : 'the clients'}.`,
  });
  items.push({
    key: 'training',
    title: 'Local training',
    text: c
      ? `Each client trains its copy on its own pictures only: ${c.epochs} pass${c.epochs === 1 ? '' : 'es'} over them, ${c.batchSize} pictures at a time, learning rate ${c.lr}.`
      : 'Each client trains its copy of the model on its own pictures only.',
  });
  items.push({
    key: 'updates',
    title: 'Updates',
    text:
      'A client sends back only how its model changed (its update), not its pictures.' +
      (c && c.compress !== 'none' ? ` Here the updates are shrunk before sending (${c.compress}) to save bandwidth.` : ''),
  });
  const name = c?.algorithm ?? 'fedavg';
  const words = STRATEGY_WORDS[name] ?? (isStrategyName(name) ? `combines the updates with ${name}: ${strategyDefinition(name).summary}` : 'combines the updates');
  items.push({ key: 'aggregation', title: 'Combine (aggregation)', text: `The server ${words}. The result is the new global model.` });
  items.push({
    key: 'evaluation',
    title: 'Test',
    text: 'The new global model is tested on pictures no client trained on: that is the test accuracy in the big number and the chart.',
  });
  const tv = typeof heterogeneityTV === 'number' && Number.isFinite(heterogeneityTV) ? heterogeneityTV.toFixed(2) : null;
  items.push({
    key: 'non-iid',
    title: c && c.partition !== 'iid' ? 'Non-IID data (this run)' : 'Non-IID data',
    text:
      c && c.partition !== 'iid'
        ? `This run splits the data non-IID (${c.partition}): clients see different mixes of classes, like students who have each seen only some digits. Their updates pull in different directions, which makes learning harder.`
        : 'This run splits the data IID: every client gets a fair mix of all classes. Real data is rarely like that (non-IID): clients see different mixes, and their updates pull apart.',
  });
  items.push({
    key: 'tv',
    title: 'The TV number',
    text: `The TV next to the partition in the summary is the total-variation distance between each client’s mix of classes and the mix of all the data, averaged over clients: 0 = IID (the same mix), 1 = disjoint (no class in common).${tv ? ` This run: TV ${tv}.` : ''}`,
  });
  if (c && c.attack !== 'none') {
    items.push({
      key: 'attack',
      title: 'Attack (this run)',
      text: `${pctOf(c.attackers)} of the clients are simulated attackers: they ${ATTACK_WORDS[c.attack]}${c.forgeLosses ? ', and report honest-looking losses to hide' : ''}. A robust strategy tries to spot them and give their updates little or no weight; plain averaging lets them in.`,
    });
  }
  if (c && c.stragglers > 0) {
    items.push({
      key: 'stragglers',
      title: 'Slow clients (this run)',
      text: `${pctOf(c.stragglers)} of each round’s clients are slow: they ${c.stragglerMode === 'late' ? 'answer after the round’s time limit, so their update is left out' : 'send back only part of their training'}.`,
    });
  }
  return items;
}

/** The panel's body (the dashboard wraps it in a collapsible <details>). */
export function explainerHtml(cfg: FederationConfig | null, heterogeneityTV: number | null): string {
  return `<dl class="explainer-items">${explainerItems(cfg, heterogeneityTV)
    .map((i) => `<div class="item ${esc(i.key)}"><dt>${esc(i.title)}</dt><dd>${esc(i.text)}</dd></div>`)
    .join('')}</dl>`;
}

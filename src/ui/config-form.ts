// The dashboard's config form: grouped fields, strategy hyperparameters shown only for the strategy that reads
// them, and a separate fieldset for simulated attackers and stragglers. Hidden fields are disabled, so they are
// not submitted and resolveConfig fills in their defaults.
import { CONFIG_FIELDS, DEFAULT_CONFIG, type FederationConfig } from '../shared/config';
import { isStrategyName, STRATEGY_PARAMS, strategyDefinition } from '../shared/strategies/registry';
import { SERVER_OPT_PARAMS } from '../shared/strategies/server-opt-params';
import { fieldText } from './field-labels';
import { esc } from './html';

type Key = keyof FederationConfig;

export interface FormGroup {
  id: string;
  legend: string;
  className?: string;
  note?: string;
  fields: Key[];
}

const OPT_KEYS = Object.keys(SERVER_OPT_PARAMS) as Key[];
/** Every strategy's parameters (the registry's order), after the server optimizer's. */
const STRATEGY_KEYS = (Object.keys(STRATEGY_PARAMS) as Key[]).filter((k) => !OPT_KEYS.includes(k));

export const FORM_GROUPS: readonly FormGroup[] = [
  {
    id: 'cfg-data',
    legend: 'Data',
    fields: ['dataset', 'modalityNoise', 'modalityBoth', 'modalityMnistOnly', 'ogmAlpha', 'partition', 'alpha', 'shardsPerClient', 'labelsPerClient', 'beta', 'imbalanceFactor', 'dataFraction', 'maxSamples', 'proxySamples', 'localEval', 'evalSamples', 'evalEvery'],
  },
  {
    id: 'cfg-training',
    legend: 'Training',
    fields: ['model', 'rounds', 'epochs', 'batchSize', 'lr', 'clients', 'enrollment', 'minClients', 'fraction', 'roundDeadlineMs', 'seed', 'backend'],
  },
  { id: 'cfg-strategy', legend: 'Aggregation strategy', fields: ['algorithm', ...STRATEGY_KEYS] },
  {
    id: 'cfg-uplink',
    legend: 'Uplink compression',
    note: 'How client updates travel; every strategy aggregates them decoded. Bytes per round are reported against dense float32.',
    fields: ['compress', 'topk', 'errorFeedback'],
  },
  { id: 'cfg-server-opt', legend: 'Server optimizer', note: 'Applied to every strategy’s aggregate (FedOpt).', fields: OPT_KEYS },
  {
    id: 'cfg-bad-clients',
    legend: 'Simulated bad clients (for teaching/research)',
    className: 'bad-clients',
    note: 'Off unless you pick an attack and a fraction of attackers. A run with attackers or stragglers is not a clean baseline.',
    fields: ['attack', 'attackers', 'attackScale', 'forgeLosses', 'stragglers', 'stragglerMode'],
  },
];

type Values = Readonly<Partial<Record<Key, unknown>>>;
const value = (v: Values, k: Key) => String(v[k] ?? DEFAULT_CONFIG[k]);
const definition = (v: Values) => (isStrategyName(value(v, 'algorithm')) ? strategyDefinition(value(v, 'algorithm')) : strategyDefinition('fedavg'));
const serverOpt = (v: Values) => definition(v).serverOpt ?? value(v, 'serverOpt');
const partitionIn = (...schemes: string[]) => (v: Values) => schemes.includes(value(v, 'partition'));
const ADAPTIVE = ['adam', 'yogi', 'adagrad'];

/** When a field is relevant, given the form's current values (strings, as read from the form). */
export const SHOW_WHEN: Partial<Record<Key, (v: Values) => boolean>> = {
  alpha: partitionIn('dirichlet', 'longtail'),
  shardsPerClient: partitionIn('shards'),
  labelsPerClient: partitionIn('labels'),
  beta: partitionIn('quantity'),
  imbalanceFactor: partitionIn('longtail'),
  modalityNoise: (v) => value(v, 'dataset') === 'mnist+fashion',
  modalityBoth: (v) => value(v, 'dataset') === 'mnist+fashion',
  modalityMnistOnly: (v) => value(v, 'dataset') === 'mnist+fashion',
  ogmAlpha: (v) => value(v, 'dataset') === 'mnist+fashion',
  topk: (v) => value(v, 'compress') === 'topk',
  errorFeedback: (v) => value(v, 'compress') === 'topk',
  // A strategy's own parameters show with it, as its definition lists them.
  ...Object.fromEntries(STRATEGY_KEYS.map((k) => [k, (v: Values) => Object.hasOwn(definition(v).params, k)])),
  serverOpt: (v) => definition(v).serverOpt === undefined,
  serverMomentum: (v) => serverOpt(v) === 'momentum',
  serverBeta1: (v) => ADAPTIVE.includes(serverOpt(v)),
  serverBeta2: (v) => serverOpt(v) === 'adam' || serverOpt(v) === 'yogi',
  serverEps: (v) => ADAPTIVE.includes(serverOpt(v)),
  attackers: (v) => value(v, 'attack') !== 'none',
  attackScale: (v) => ['sign-flip', 'gaussian', 'scaling', 'alie'].includes(value(v, 'attack')),
  forgeLosses: (v) => value(v, 'attack') !== 'none',
  stragglerMode: (v) => Number(value(v, 'stragglers')) > 0,
};

/** Whether `key` is relevant given the form's current values. */
export function isShown(key: Key, values: Values): boolean {
  return SHOW_WHEN[key]?.(values) ?? true;
}

/** The tooltip keeps the config key (what the URL, the CLI and experiment files call it) and the schema's own help. */
export function fieldTitle(key: Key): string {
  const help = CONFIG_FIELDS[key].help;
  return help && help !== key ? `${key} — ${help}` : key;
}

function fieldHtml(key: Key, cfg: FederationConfig): string {
  const rule = CONFIG_FIELDS[key];
  const words = fieldText(key);
  const shown = isShown(key, cfg);
  const off = shown ? '' : ' disabled';
  const attrs = `data-field="${key}"${shown ? '' : ' hidden'} title="${esc(fieldTitle(key))}"`;
  const help = `<small class="help">${esc(words.help)}</small>`;
  if (rule.kind === 'bool') {
    return `<label class="check" ${attrs}><span class="name"><input name="${key}" id="cfg-${key}" type="checkbox" value="true"${cfg[key] ? ' checked' : ''}${off}> ${esc(words.label)}</span>${help}</label>`;
  }
  const input = rule.values
    ? `<select name="${key}" id="cfg-${key}"${off}>${rule.values.map((v) => `<option${v === cfg[key] ? ' selected' : ''}>${esc(v)}</option>`).join('')}</select>`
    : `<input name="${key}" id="cfg-${key}" type="number" step="${rule.kind === 'int' ? '1' : 'any'}" value="${esc(cfg[key])}" placeholder="${esc(DEFAULT_CONFIG[key])}"${off}>`;
  return `<label ${attrs}><span class="name">${esc(words.label)}</span>${input}${help}</label>`;
}

const DATASET_NAMES: Record<string, string> = { mnist: 'MNIST digits', 'fashion-mnist': 'Fashion-MNIST clothes', 'mnist+fashion': 'MNIST + Fashion-MNIST' };

/** The partition in a few words: the scheme and the one parameter that sets how uneven it is. */
export function partitionText(cfg: Pick<FederationConfig, 'partition' | 'alpha' | 'shardsPerClient' | 'labelsPerClient' | 'beta' | 'imbalanceFactor'>): string {
  switch (cfg.partition) {
    case 'iid': return 'IID (fair mix)';
    case 'dirichlet': return `Dirichlet α=${cfg.alpha}`;
    case 'longtail': return `long tail ×${cfg.imbalanceFactor}, α=${cfg.alpha}`;
    case 'shards': return `${cfg.shardsPerClient} shards per client`;
    case 'labels': return `${cfg.labelsPerClient} classes per client`;
    case 'quantity': return `quantity skew β=${cfg.beta}`;
    case 'fedprox': return 'FedProx MNIST (2 digits each, power-law sizes)';
    default: return String(cfg.partition);
  }
}

/**
 * The run's setup on one line, for the collapsed settings while a run is going: dataset, partition, model, strategy,
 * rounds, clients, and the attack (and stragglers) when there are any. `clients`: the clients taking part, when known.
 */
export function configSummary(cfg: FederationConfig, clients?: number): string {
  const n = cfg.clients > 0 ? cfg.clients : clients;
  const parts = [
    DATASET_NAMES[cfg.dataset] ?? cfg.dataset,
    partitionText(cfg),
    cfg.model,
    cfg.algorithm,
    `${cfg.rounds} round${cfg.rounds === 1 ? '' : 's'}`,
    n ? `${n} client${n === 1 ? '' : 's'}` : 'any clients',
  ];
  if (cfg.attack !== 'none') parts.push(`attack: ${cfg.attack} by ${+(cfg.attackers * 100).toFixed(1)}% of clients`);
  if (cfg.stragglers > 0) parts.push(`${+(cfg.stragglers * 100).toFixed(1)}% stragglers (${cfg.stragglerMode})`);
  return parts.join(' · ');
}

/** The whole form body: one fieldset per group, every config key once. */
export function formHtml(cfg: FederationConfig): string {
  return FORM_GROUPS.map(
    (g) =>
      `<fieldset id="${g.id}"${g.className ? ` class="${g.className}"` : ''}><legend>${esc(g.legend)}</legend>` +
      `${g.note ? `<p class="note">${esc(g.note)}</p>` : ''}${g.fields.map((k) => fieldHtml(k, cfg)).join('')}</fieldset>`,
  ).join('');
}

/** The form controls this module reads: a structural subset of HTMLInputElement / HTMLSelectElement. */
export interface FormControl {
  name: string;
  type: string;
  value: string;
  checked?: boolean;
  disabled: boolean;
}

/**
 * The submitted config: enabled controls only (hidden fields are disabled), checkboxes as "true"/"false"
 * (FormData would leave unchecked ones out), blank numbers left out so their default applies.
 */
export function formValues(controls: Iterable<FormControl>): Partial<Record<Key, string>> {
  const out: Partial<Record<Key, string>> = {};
  for (const c of controls) {
    if (!c.name || c.disabled || !Object.hasOwn(CONFIG_FIELDS, c.name)) continue;
    if (c.type === 'checkbox') out[c.name as Key] = c.checked ? 'true' : 'false';
    else if (c.value.trim() !== '') out[c.name as Key] = c.value;
  }
  return out;
}

function controlsOf(form: HTMLFormElement): FormControl[] {
  return [...form.elements].filter((e): e is HTMLInputElement | HTMLSelectElement => e instanceof HTMLInputElement || e instanceof HTMLSelectElement);
}

/** Reads the form as a partial config for resolveConfig. */
export function readForm(form: HTMLFormElement): Partial<FederationConfig> {
  return formValues(controlsOf(form)) as Partial<FederationConfig>;
}

/** Shows the fields relevant to the current algorithm / partition / attack and hides (disables) the rest. */
export function applyVisibility(form: HTMLFormElement): void {
  const values: Partial<Record<Key, string>> = {};
  for (const c of controlsOf(form)) values[c.name as Key] = c.type === 'checkbox' ? String(c.checked) : c.value;
  for (const label of form.querySelectorAll<HTMLElement>('[data-field]')) {
    const key = label.dataset.field as Key;
    const shown = isShown(key, values);
    label.hidden = !shown;
    const control = label.querySelector<HTMLInputElement | HTMLSelectElement>('input, select');
    if (control) control.disabled = !shown;
  }
}

// The dashboard's config form: grouped fields, strategy hyperparameters shown only for the strategy that reads
// them, and a separate fieldset for simulated attackers and stragglers. Hidden fields are disabled, so they are
// not submitted and resolveConfig fills in their defaults.
import { CONFIG_FIELDS, DEFAULT_CONFIG, type FederationConfig } from '../shared/config';
import { esc } from './html';

type Key = keyof FederationConfig;

export interface FormGroup {
  id: string;
  legend: string;
  className?: string;
  note?: string;
  fields: Key[];
}

export const FORM_GROUPS: readonly FormGroup[] = [
  {
    id: 'cfg-data',
    legend: 'Data',
    fields: ['dataset', 'partition', 'alpha', 'shardsPerClient', 'labelsPerClient', 'beta', 'imbalanceFactor', 'maxSamples', 'evalSamples'],
  },
  {
    id: 'cfg-training',
    legend: 'Training',
    fields: ['model', 'rounds', 'epochs', 'batchSize', 'lr', 'clients', 'minClients', 'fraction', 'roundDeadlineMs', 'seed', 'backend'],
  },
  {
    id: 'cfg-strategy',
    legend: 'Aggregation strategy',
    fields: [
      'algorithm', 'serverLr', 'mu',
      'tau', 'gate', 'reference', 'attention', 'weighting', 'reliabilityThreshold', 'emaDecay', 'gammaDelta', 'gammaV', 'gammaN', 'clipToMedian', 'validation', 'gammaVal',
      'epsilon', 'noise', 'byzantine', 'multiKrumM', 'trimBeta', 'clipNorm', 'clipNoise',
    ],
  },
  {
    id: 'cfg-bad-clients',
    legend: 'Simulated bad clients (for teaching/research)',
    className: 'bad-clients',
    note: 'Off unless you pick an attack and a fraction of attackers. A run with attackers or stragglers is not a clean baseline.',
    fields: ['attack', 'attackers', 'attackScale', 'forgeLosses', 'stragglers', 'stragglerMode'],
  },
];

/** A field is shown when `key`'s current value is in `in`, not in `notIn`, or (positive) a number > 0. */
export interface ShowWhen {
  key: Key;
  in?: readonly string[];
  notIn?: readonly string[];
  positive?: boolean;
}

const FAN = ['fed-adaptive-next'];
export const SHOW_WHEN: Partial<Record<Key, ShowWhen>> = {
  alpha: { key: 'partition', in: ['dirichlet', 'longtail'] },
  shardsPerClient: { key: 'partition', in: ['shards'] },
  labelsPerClient: { key: 'partition', in: ['labels'] },
  beta: { key: 'partition', in: ['quantity'] },
  imbalanceFactor: { key: 'partition', in: ['longtail'] },
  // FedAtt steps with ε instead of the server learning rate.
  serverLr: { key: 'algorithm', notIn: ['fedatt'] },
  mu: { key: 'algorithm', in: ['fedprox'] },
  tau: { key: 'algorithm', in: FAN },
  gate: { key: 'algorithm', in: FAN },
  reference: { key: 'algorithm', in: FAN },
  attention: { key: 'algorithm', in: FAN },
  weighting: { key: 'algorithm', in: FAN },
  reliabilityThreshold: { key: 'algorithm', in: FAN },
  emaDecay: { key: 'algorithm', in: FAN },
  gammaDelta: { key: 'algorithm', in: FAN },
  gammaV: { key: 'algorithm', in: FAN },
  gammaN: { key: 'algorithm', in: FAN },
  clipToMedian: { key: 'algorithm', in: FAN },
  validation: { key: 'algorithm', in: FAN },
  gammaVal: { key: 'algorithm', in: FAN },
  epsilon: { key: 'algorithm', in: ['fedatt'] },
  noise: { key: 'algorithm', in: ['fedatt'] },
  byzantine: { key: 'algorithm', in: ['krum', 'multi-krum'] },
  multiKrumM: { key: 'algorithm', in: ['multi-krum'] },
  trimBeta: { key: 'algorithm', in: ['trimmed-mean'] },
  clipNorm: { key: 'algorithm', in: ['clip'] },
  clipNoise: { key: 'algorithm', in: ['clip'] },
  attackers: { key: 'attack', notIn: ['none'] },
  attackScale: { key: 'attack', in: ['sign-flip', 'gaussian', 'scaling', 'alie'] },
  forgeLosses: { key: 'attack', notIn: ['none'] },
  stragglerMode: { key: 'stragglers', positive: true },
};

/** Whether `key` is relevant given the form's current values (strings, as read from the form). */
export function isShown(key: Key, values: Readonly<Partial<Record<Key, unknown>>>): boolean {
  const rule = SHOW_WHEN[key];
  if (!rule) return true;
  const v = String(values[rule.key] ?? DEFAULT_CONFIG[rule.key]);
  if (rule.in && !rule.in.includes(v)) return false;
  if (rule.notIn && rule.notIn.includes(v)) return false;
  if (rule.positive && !(Number(v) > 0)) return false;
  return true;
}

function fieldHtml(key: Key, cfg: FederationConfig): string {
  const rule = CONFIG_FIELDS[key];
  const shown = isShown(key, cfg);
  const off = shown ? '' : ' disabled';
  const attrs = `data-field="${key}"${shown ? '' : ' hidden'} title="${esc(rule.help)}"`;
  if (rule.kind === 'bool') {
    return `<label class="check" ${attrs}><input name="${key}" id="cfg-${key}" type="checkbox" value="true"${cfg[key] ? ' checked' : ''}${off}> ${esc(key)}</label>`;
  }
  const input = rule.values
    ? `<select name="${key}" id="cfg-${key}"${off}>${rule.values.map((v) => `<option${v === cfg[key] ? ' selected' : ''}>${esc(v)}</option>`).join('')}</select>`
    : `<input name="${key}" id="cfg-${key}" type="number" step="${rule.kind === 'int' ? '1' : 'any'}" value="${esc(cfg[key])}" placeholder="${esc(DEFAULT_CONFIG[key])}"${off}>`;
  return `<label ${attrs}>${esc(key)} ${input}</label>`;
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
    if (!c.name || c.disabled || !(c.name in CONFIG_FIELDS)) continue;
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

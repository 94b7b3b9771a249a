import { describe, expect, it } from 'vitest';
import { ALGORITHMS, CONFIG_KEYS, DEFAULT_CONFIG, resolveConfig, type FederationConfig } from '../shared/config';
import { configSummary, FORM_GROUPS, fieldTitle, formHtml, formValues, isShown, partitionText, type FormControl } from './config-form';
import { FIELD_TEXT } from './field-labels';

/** The controls formHtml renders, parsed back into FormControl objects (no DOM in Node). */
function controls(html: string): FormControl[] {
  const flags = (attrs: string) => ({ name: /name="([^"]+)"/.exec(attrs)![1]!, disabled: / disabled/.test(attrs) });
  const selects = [...html.matchAll(/<select([^>]*)>([\s\S]*?)<\/select>/g)].map((m) => ({
    ...flags(m[1]!), type: 'select-one', value: /<option selected>([^<]*)</.exec(m[2]!)?.[1] ?? '',
  }));
  const inputs = [...html.matchAll(/<input([^>]*)>/g)].map((m) => ({
    ...flags(m[1]!), type: /type="([^"]+)"/.exec(m[1]!)![1]!, value: /value="([^"]*)"/.exec(m[1]!)?.[1] ?? '', checked: / checked/.test(m[1]!),
  }));
  return [...selects, ...inputs];
}

describe('config form', () => {
  it('has every config key exactly once', () => {
    const keys = FORM_GROUPS.flatMap((g) => g.fields);
    expect(new Set(keys).size).toBe(keys.length);
    expect([...keys].sort()).toEqual([...CONFIG_KEYS].sort());
    expect(controls(formHtml(DEFAULT_CONFIG)).map((c) => c.name).sort()).toEqual([...CONFIG_KEYS].sort());
  });

  it('offers every strategy and puts the bad clients in their own fieldset', () => {
    const html = formHtml(DEFAULT_CONFIG);
    for (const a of ALGORITHMS) expect(html).toContain(`<option${a === 'fedavg' ? ' selected' : ''}>${a}</option>`);
    const bad = html.match(/<fieldset id="cfg-bad-clients" class="bad-clients">.*?<\/fieldset>/)?.[0] ?? '';
    expect(bad).toContain('Simulated bad clients (for teaching/research)');
    for (const k of ['attack', 'attackers', 'attackScale', 'forgeLosses', 'stragglers', 'stragglerMode']) expect(bad).toContain(`name="${k}"`);
  });

  it('shows the hyperparameters of the selected strategy and its server optimizer only', () => {
    const strategyKeys = FORM_GROUPS.find((g) => g.id === 'cfg-strategy')!.fields.filter((k) => k !== 'algorithm');
    const optKeys = FORM_GROUPS.find((g) => g.id === 'cfg-server-opt')!.fields;
    const shown = (over: Partial<FederationConfig>) => [...strategyKeys, ...optKeys].filter((k) => isShown(k, { ...DEFAULT_CONFIG, ...over })).sort();
    expect(shown({ algorithm: 'fedavg' })).toEqual(['serverLr', 'serverOpt']);
    expect(shown({ algorithm: 'fedprox' })).toEqual(['mu', 'serverLr', 'serverOpt']);
    expect(shown({ algorithm: 'fedatt' })).toEqual(['epsilon', 'noise', 'serverLr', 'serverOpt']);
    expect(shown({ algorithm: 'krum' })).toEqual(['byzantine', 'serverLr', 'serverOpt']);
    expect(shown({ algorithm: 'bulyan' })).toEqual(['byzantine', 'serverLr', 'serverOpt']);
    expect(shown({ algorithm: 'multi-krum' })).toEqual(['byzantine', 'multiKrumM', 'serverLr', 'serverOpt']);
    expect(shown({ algorithm: 'trimmed-mean' })).toEqual(['serverLr', 'serverOpt', 'trimBeta']);
    expect(shown({ algorithm: 'clip' })).toEqual(['clipNoise', 'clipNorm', 'serverLr', 'serverOpt']);
    expect(shown({ algorithm: 'qfedavg' })).toEqual(['q', 'serverLr', 'serverOpt']);
    // A FedOpt alias fixes its optimizer: no choice offered, its own settings shown.
    expect(shown({ algorithm: 'fedavgm' })).toEqual(['serverLr', 'serverMomentum']);
    expect(shown({ algorithm: 'fedadam' })).toEqual(['serverBeta1', 'serverBeta2', 'serverEps', 'serverLr']);
    expect(shown({ algorithm: 'fedadagrad' })).toEqual(['serverBeta1', 'serverEps', 'serverLr']);
    expect(shown({ algorithm: 'fed-adaptive-next', serverOpt: 'yogi' })).toEqual(
      ['attention', 'clipToMedian', 'emaDecay', 'gammaDelta', 'gammaN', 'gammaV', 'gammaVal', 'gate', 'reference', 'reliabilityThreshold', 'serverBeta1', 'serverBeta2', 'serverEps', 'serverLr', 'serverOpt', 'tau', 'validation', 'weighting'].sort(),
    );
  });

  it('submits unchecked boxes as "false", skips disabled and blank fields, and passes resolveConfig', () => {
    const cfg: FederationConfig = { ...DEFAULT_CONFIG, algorithm: 'fed-adaptive-next', gate: false, attack: 'none' };
    const values = formValues(controls(formHtml(cfg)));
    expect(values.gate).toBe('false');
    expect(values.attention).toBe('true');
    expect(values.mu).toBeUndefined(); // fedprox only: hidden and disabled
    expect(values.attackers).toBeUndefined();
    expect(resolveConfig(values)).toEqual(cfg);
    expect(formValues([{ name: 'lr', type: 'number', value: ' ', disabled: false }])).toEqual({});
  });

  it('round-trips a run with an attack and stragglers', () => {
    const cfg: FederationConfig = {
      ...DEFAULT_CONFIG, algorithm: 'krum', byzantine: 2, attack: 'sign-flip', attackers: 0.2, attackScale: 3, forgeLosses: true,
      stragglers: 0.3, stragglerMode: 'late', partition: 'dirichlet', alpha: 0.1,
    };
    expect(resolveConfig(formValues(controls(formHtml(cfg))))).toEqual(cfg);
  });

  it('hides the attack fields when the attack is none, so a stale attacker fraction cannot fail resolveConfig', () => {
    const cfg = { ...DEFAULT_CONFIG, attack: 'none' as const, attackers: 0.2, forgeLosses: true };
    expect(() => resolveConfig(formValues(controls(formHtml(cfg))))).not.toThrow();
  });

  it('labels every field in plain words with a visible help, keeping the key, name and id for scripts and tests', () => {
    const html = formHtml(DEFAULT_CONFIG);
    const labels = [...html.matchAll(/<label[^>]*data-field="([^"]+)"[^>]*>([\s\S]*?)<\/label>/g)];
    expect(labels.map((m) => m[1]).sort()).toEqual([...CONFIG_KEYS].sort());
    for (const [whole, key, body] of labels) {
      const k = key as keyof FederationConfig;
      expect(body).toContain(`name="${k}"`);
      expect(body).toContain(`id="cfg-${k}"`);
      expect(body).toContain(`<span class="name">`);
      expect(body).toContain(`<small class="help">${FIELD_TEXT[k].help.replace(/&/g, '&amp;').replace(/'/g, '&#39;')}</small>`);
      expect(whole).toMatch(new RegExp(`title="${k}\\b`));
    }
    expect(fieldTitle('alpha')).toBe('alpha — Dirichlet α (dirichlet, longtail)');
    expect(html).toContain('title="alpha — Dirichlet α (dirichlet, longtail)"');
    expect(html).toContain('Unevenness α');
  });

  it('sums the run up on one line: dataset, partition, model, strategy, rounds, clients, and the attack only when set', () => {
    const cfg: FederationConfig = { ...DEFAULT_CONFIG, partition: 'dirichlet', alpha: 0.3, model: '2nn', rounds: 5, clients: 4 };
    expect(configSummary(cfg)).toBe('MNIST digits · Dirichlet α=0.3 · 2nn · fedavg · 5 rounds · 4 clients');
    expect(configSummary(DEFAULT_CONFIG, 3)).toBe('MNIST digits · IID (fair mix) · cnn-s · fedavg · 5 rounds · 3 clients');
    expect(configSummary(DEFAULT_CONFIG)).toContain('any clients');
    const attacked = { ...cfg, algorithm: 'krum' as const, attack: 'sign-flip' as const, attackers: 0.25, stragglers: 0.5, stragglerMode: 'late' as const };
    expect(configSummary(attacked)).toBe('MNIST digits · Dirichlet α=0.3 · 2nn · krum · 5 rounds · 4 clients · attack: sign-flip by 25% of clients · 50% stragglers (late)');
    expect(partitionText({ ...DEFAULT_CONFIG, partition: 'labels', labelsPerClient: 2 })).toBe('2 classes per client');
    expect(partitionText({ ...DEFAULT_CONFIG, partition: 'longtail', imbalanceFactor: 100, alpha: 1 })).toBe('long tail ×100, α=1');
  });
});

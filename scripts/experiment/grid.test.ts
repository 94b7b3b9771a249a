import { describe, expect, it } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import { ConfigError } from '../../src/shared/config';
import { createRng } from '../../src/shared/prng';
import { mutate } from '../../src/shared/test-fuzz';
import { parseSpec, planRuns } from './grid';

const SPEC = {
  name: 'demo',
  title: 'Demo',
  scale: '2NN, K=4',
  clients: 4,
  base: { model: '2nn', rounds: 3 },
  strategies: [{ label: 'fedavg', algorithm: 'fedavg' }, { label: 'fan', algorithm: 'fed-adaptive-next', tau: 0.5 }],
  axes: {
    data: [{ label: 'iid', partition: 'iid' }, { label: 'dir0.1', partition: 'dirichlet', alpha: 0.1 }],
    attack: [{ label: 'clean' }, { label: 'sf', attack: 'sign-flip', attackers: 0.25 }],
  },
  seeds: [1, 2, 3],
  baseline: 'fedavg',
  targets: [0.9],
  lastRounds: 2,
};

describe('experiment grid', () => {
  it('takes up to 10,000 virtual clients in the node runtime, 200 real tabs in the browser one', () => {
    expect(parseSpec({ ...SPEC, clients: 10_000 }).clients).toBe(10_000);
    expect(() => parseSpec({ ...SPEC, clients: 10_001 })).toThrow(/from 1 to 10000/);
    expect(() => parseSpec({ ...SPEC, clients: 201, runtime: 'browser' })).toThrow(/at most 200 real tabs/);
  });

  it('crosses every axis with the strategies and seeds, configs resolved', () => {
    const runs = planRuns(parseSpec(SPEC));
    expect(runs).toHaveLength(2 * 2 * 2 * 3);
    expect(new Set(runs.map((r) => r.id)).size).toBe(24);
    const r = runs.find((x) => x.cell === 'dir0.1 | sf | fan' && x.seed === 2)!;
    expect(r.group).toBe('dir0.1 | sf');
    expect(r.strategy).toBe('fan');
    expect(r.config).toMatchObject({ model: '2nn', rounds: 3, partition: 'dirichlet', alpha: 0.1, attack: 'sign-flip', attackers: 0.25, algorithm: 'fed-adaptive-next', tau: 0.5, seed: 2, clients: 4 });
    expect(r.labels).toEqual({ data: 'dir0.1', attack: 'sf', strategy: 'fan' });
    expect(r.id).toBe('dir0.1_sf_fan_seed_2');
    // 'clean' patches nothing: the base's defaults stand.
    expect(runs.find((x) => x.cell === 'iid | clean | fedavg')!.config.attack).toBe('none');
  });

  it('rejects a bad file with a reason that names the problem', () => {
    expect(() => parseSpec({ ...SPEC, baseline: 'fedsgd' })).toThrow(/baseline "fedsgd" is not one of/);
    expect(() => parseSpec({ ...SPEC, seeds: [] })).toThrow(/seeds/);
    expect(() => parseSpec({ ...SPEC, typo: 1 })).toThrow(/unknown key "typo"/);
    expect(() => parseSpec({ ...SPEC, strategies: [{ algorithm: 'fedavg' }] })).toThrow(/needs a non-empty "label"/);
    expect(() => parseSpec({ ...SPEC, name: 'Bad Name' })).toThrow(/name/);
    expect(parseSpec({ ...SPEC, extraColumns: ['stability', 'imbalance'] }).extraColumns).toEqual(['stability', 'imbalance']);
    expect(() => parseSpec({ ...SPEC, extraColumns: ['tail'] })).toThrow(/"extraColumns" must be an array of "imbalance", "stability"/);
    // Config errors surface before anything runs, naming the run.
    const bad = parseSpec({ ...SPEC, strategies: [{ label: 'fedavg', algorithm: 'fedavg', tau: -1 }] });
    expect(() => planRuns(bad)).toThrow(/run "iid \| clean \| fedavg" seed 1: invalid tau -1/);
  });

  it('seeded fuzz: mutations of every committed experiment file plan runs or fail with a ConfigError, never another error', () => {
    const rng = createRng('experiment-fuzz');
    const dir = new URL('../../experiments/', import.meta.url);
    const files = readdirSync(dir).filter((f) => f.endsWith('.json'));
    expect(files.length).toBeGreaterThanOrEqual(10);
    let planned = 0, refused = 0;
    for (const f of files) {
      const spec = JSON.parse(readFileSync(new URL(f, dir), 'utf8')) as Record<string, unknown>;
      expect(planRuns(parseSpec(spec)).length, f).toBeGreaterThan(0); // the file itself is valid
      for (let i = 0; i < 40; i++) {
        try {
          planRuns(parseSpec(mutate(rng, spec)));
          planned++;
        } catch (e) {
          if (!(e instanceof ConfigError)) throw new Error(`${f}, mutation ${i}: ${e instanceof Error ? e.stack : String(e)}`);
          refused++;
        }
      }
    }
    expect(refused).toBeGreaterThan(files.length * 10);
    expect(planned).toBeGreaterThan(0);
  });
});

import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, type FederationConfig } from '../shared/config';
import type { ClientRow, RoundRecord } from '../shared/status';
import { explainerHtml, explainerItems, isActiveState, keyNumbersHtml, receivedFromMessage, roundProgress, roundStepsHtml, type StepsStatus } from './explainer';

const cfg: FederationConfig = { ...DEFAULT_CONFIG, rounds: 3, partition: 'dirichlet', alpha: 0.3 };
const client = (slot: number, state: ClientRow['state']) => ({ clientId: `w${slot}`, slot, state }) as ClientRow;
const record = (round: number, accuracy: number | null) => ({ round, accuracy }) as RoundRecord;
const status = (over: Partial<StepsStatus>): StepsStatus => ({ state: 'running', round: 1, message: '', history: [], clients: [], config: cfg, ...over });
const steps = (s: StepsStatus) => roundProgress(s)!.steps;

describe('round steps', () => {
  it('reads the received updates from the coordinator message of this round only', () => {
    expect(receivedFromMessage('round 2: 3/4 updates', 2)).toEqual({ received: 3, expected: 4 });
    expect(receivedFromMessage('round 2: training on 4 clients', 2)).toEqual({ received: 0, expected: 4 });
    expect(receivedFromMessage('round 1: 3/4 updates', 2)).toBeNull();
    expect(receivedFromMessage('waiting for Start', 2)).toBeNull();
  });

  it('follows a round: broadcast, local training with the clients done, aggregation, evaluation', () => {
    const idle = [client(0, 'idle'), client(1, 'idle')];
    expect(steps(status({ message: 'round 1: training on 2 clients', clients: idle }))).toEqual({ broadcast: 'active', training: 'todo', aggregation: 'todo', evaluation: 'todo' });
    const training = status({ message: 'round 1: 1/2 updates', clients: [client(0, 'idle'), client(1, 'training')] });
    expect(steps(training)).toEqual({ broadcast: 'done', training: 'active', aggregation: 'todo', evaluation: 'todo' });
    const html = roundStepsHtml(training);
    expect(html).toContain('1/2 clients done');
    expect(html).toContain('<li class="client training" title="w1">#1 training</li>');
    // With the batches its heartbeat reported for this round (an older round's count is not shown).
    const busy = status({ message: 'round 1: 0/2 updates', clients: [{ ...client(0, 'training'), progress: { round: 1, steps: 12, total: 40 } }, { ...client(1, 'training'), progress: { round: 0, steps: 40, total: 40 } }] });
    expect(roundStepsHtml(busy)).toContain('#0 training 12/40 batches</li>');
    expect(roundStepsHtml(busy)).toContain('#1 training</li>');
    expect(html).toMatch(/<li class="step active" data-step="training">/);
    expect(steps(status({ message: 'round 1: 2/2 updates', clients: idle }))).toMatchObject({ training: 'done', aggregation: 'active' });
    expect(roundStepsHtml(status({ message: 'round 1: 2/2 updates', clients: idle }))).not.toContain('class="client');
    expect(steps(status({ history: [record(1, null)], clients: idle }))).toEqual({ broadcast: 'done', training: 'done', aggregation: 'done', evaluation: 'active' });
    expect(steps(status({ history: [record(1, 0.9)] }))).toMatchObject({ evaluation: 'done' });
    // Clients training without a count in the message still count as local training.
    expect(steps(status({ message: 'something else', clients: [client(0, 'training')] }))).toMatchObject({ training: 'active' });
  });

  it('says when the previous round is being tested beside this one, and skips rounds that are not tested', () => {
    const p = roundProgress(status({ round: 2, history: [record(1, null)], message: 'round 2: 0/2 updates', clients: [client(0, 'training')] }))!;
    expect(p.note).toContain('Round 1’s model is being tested meanwhile');
    const sparse = { ...cfg, evalEvery: 2, rounds: 3 };
    expect(steps(status({ config: sparse, round: 1, history: [record(1, null)] })).evaluation).toBe('skipped');
    expect(roundStepsHtml(status({ config: sparse, round: 1, history: [record(1, null)] }))).toContain('not this round');
  });

  it('shows nothing without a run, and no step yet while preparing or waiting', () => {
    expect(roundStepsHtml(status({ state: 'idle', config: null }))).toBe('');
    expect(roundProgress(status({ state: 'waiting', round: 0 }))!.note).toMatch(/Waiting for enough clients/);
    expect(Object.values(steps(status({ state: 'preparing', round: 0 })))).toEqual(['todo', 'todo', 'todo', 'todo']);
    expect(roundProgress(status({ state: 'done', round: 3, history: [record(3, 0.8)] }))!.note).toBe('Finished: 3 rounds.');
    expect(roundProgress(status({ state: 'paused', round: 2, history: [record(2, 0.8)] }))!.note).toBe('Paused after round 2.');
  });

  it('collapses the settings in the running states only', () => {
    expect(['preparing', 'waiting', 'running', 'paused'].every((s) => isActiveState(s as never))).toBe(true);
    expect(['idle', 'done', 'error'].some((s) => isActiveState(s as never))).toBe(false);
  });
});

describe('key numbers', () => {
  it('shows the round and the latest test accuracy in percent', () => {
    const html = keyNumbersHtml({ round: 2, config: cfg, history: [record(1, 0.7123), record(2, null)] });
    expect(html).toContain('2<small> / 3</small>');
    expect(html).toContain('71.2%');
    expect(html).toContain('after round 1');
    expect(keyNumbersHtml({ round: 0, config: null, history: [] })).toContain('–');
  });
});

describe('what is happening', () => {
  it('explains local training, updates, aggregation, non-IID and TV; the attack only when one is set', () => {
    const keys = explainerItems(cfg, 0.51).map((i) => i.key);
    expect(keys).toEqual(['idea', 'broadcast', 'training', 'updates', 'aggregation', 'evaluation', 'non-iid', 'tv']);
    const html = explainerHtml(cfg, 0.51);
    expect(html).toContain('total-variation distance');
    expect(html).toContain('0 = IID');
    expect(html).toContain('1 = disjoint');
    expect(html).toContain('This run: TV 0.51.');
    expect(html).toContain('non-IID (dirichlet)');
    expect(html).not.toContain('attacker');
    const attacked = explainerItems({ ...cfg, algorithm: 'krum', attack: 'sign-flip', attackers: 0.25 }, null);
    const attack = attacked.find((i) => i.key === 'attack')!;
    expect(attack.text).toContain('25% of the clients are simulated attackers');
    expect(attack.text).toContain('opposite way');
    expect(attacked.find((i) => i.key === 'aggregation')!.text).toContain('Krum');
    expect(explainerItems({ ...cfg, stragglers: 0.5, stragglerMode: 'late' }, null).find((i) => i.key === 'stragglers')!.text).toContain('time limit');
  });

  it('describes the IID case and works before any run', () => {
    expect(explainerHtml({ ...DEFAULT_CONFIG, partition: 'iid' }, 0.02)).toContain('splits the data IID');
    expect(explainerHtml(null, null)).toContain('Local training');
    // Every strategy gets a sentence (its own, or the registry's one line).
    for (const algorithm of ['fedavg', 'fedmchain', 'signsgd', 'fedntd'] as const) {
      expect(explainerItems({ ...cfg, algorithm }, null).find((i) => i.key === 'aggregation')!.text.length).toBeGreaterThan(30);
    }
  });
});

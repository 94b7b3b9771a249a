// The in-process runtime end to end on real MNIST (needs `npm run datasets`, which `npm install` runs).
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { ALGORITHMS, resolveConfig } from '../src/shared/config';
import { runInProcess } from './node-runtime';

const SMALL = { model: '2nn', maxSamples: 150, batchSize: 10, lr: 0.05, rounds: 3, evalSamples: 1000, seed: 5 } as const;

describe('runInProcess', () => {
  it('federates 4 virtual clients to a useful model, tensors flat across rounds', async () => {
    const rounds: number[] = [];
    const { status } = await runInProcess({ config: resolveConfig(SMALL), clients: 4, timeoutMs: 60_000, onRound: (r) => rounds.push(r.round) });
    expect(rounds).toEqual([1, 2, 3]);
    expect(status.state).toBe('done');
    expect(status.clients.map((c) => c.kind)).toEqual(['node', 'node', 'node', 'node']);
    expect(status.history.at(-1)!.accuracy).toBeGreaterThan(0.7);
    for (const r of status.history) expect(r.clients).toHaveLength(4);
    expect(status.history[2].coordinatorTensors).toBe(status.history[1].coordinatorTensors);
  }, 60_000);

  it('runs a targeted attack against fedavg and reports its success rate; leaks no tensors', async () => {
    const before = tf.memory().numTensors;
    const cfg = resolveConfig({ ...SMALL, attack: 'targeted-label-flip', attackers: 0.5, partition: 'iid' });
    const { status } = await runInProcess({ config: cfg, clients: 4, timeoutMs: 60_000 });
    expect(status.attackerSlots).toHaveLength(2);
    for (const r of status.history) {
      expect(r.attackSuccessRate).not.toBeNull();
      expect(r.clients.filter((c) => c.role === 'attacker')).toHaveLength(2);
    }
    // Half the clients teach 7 → 1: a good share of test 7s end up as 1s.
    expect(status.history.at(-1)!.attackSuccessRate!).toBeGreaterThan(0.2);
    expect(tf.memory().numTensors).toBe(before);
  }, 60_000);

  it('fails with the coordinator\'s reason instead of hanging', async () => {
    await expect(runInProcess({ config: resolveConfig({ ...SMALL, algorithm: 'krum' }), clients: 3, timeoutMs: 30_000 })).rejects.toThrow(
      /krum needs more than 2f \+ 2 = 4 clients per round/,
    );
  });

  it('every strategy trains end to end: 5 clients, 2 rounds, above 50% on MNIST (Krum keeps one update: ~54%)', async () => {
    const finals: Record<string, number> = {};
    for (const algorithm of ALGORITHMS) {
      const cfg = resolveConfig({ ...SMALL, rounds: 2, algorithm, byzantine: 1 });
      const { status } = await runInProcess({ config: cfg, clients: 5, timeoutMs: 60_000 });
      finals[algorithm] = status.history.at(-1)!.accuracy;
    }
    for (const [name, acc] of Object.entries(finals)) expect(acc, `${name} in ${JSON.stringify(finals)}`).toBeGreaterThan(0.5);
  }, 120_000);
});

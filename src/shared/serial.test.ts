import { describe, expect, it } from 'vitest';
import { serialQueue } from './serial';

const tick = () => new Promise((r) => setTimeout(r, 1));

describe('serialQueue', () => {
  it('runs calls one after another, in call order, even when a later one is quicker', async () => {
    const serial = serialQueue();
    const log: string[] = [];
    const job = (name: string, ticks: number) => async () => {
      log.push(`${name}+`);
      for (let i = 0; i < ticks; i++) await tick();
      log.push(`${name}-`);
      return name;
    };
    const results = await Promise.all([serial(job('a', 3)), serial(job('b', 0)), serial(job('c', 1))]);
    expect(results).toEqual(['a', 'b', 'c']);
    expect(log).toEqual(['a+', 'a-', 'b+', 'b-', 'c+', 'c-']);
  });

  it('a failed call rejects for its caller only; the next one still runs', async () => {
    const serial = serialQueue();
    const failed = serial(async () => {
      throw new Error('boom');
    });
    const next = serial(async () => 42);
    await expect(failed).rejects.toThrow('boom');
    await expect(next).resolves.toBe(42);
  });
});

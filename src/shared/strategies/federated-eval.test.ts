import { describe, expect, it } from 'vitest';
import { evaluators } from './federated-eval';

describe('evaluators', () => {
  it('every slot holder evaluates; empty slots are skipped', () => {
    expect(evaluators(['a', null, 'c'])).toEqual({ a: 0, c: 2 });
  });

  it('more holders than one broadcast signs for: that many, spread evenly over the slots', () => {
    const holders = Array.from({ length: 10 }, (_, i) => (i === 3 ? null : `c${i}`));
    // 9 holders (slots 0–2, 4–9), 4 picked at ⌊i·9/4⌋ of them: the 1st, 3rd, 5th and 7th.
    expect(evaluators(holders, 4)).toEqual({ c0: 0, c2: 2, c5: 5, c7: 7 });
    expect(Object.keys(evaluators(Array.from({ length: 10_000 }, (_, i) => `c${i}`)))).toHaveLength(1024);
  });
});

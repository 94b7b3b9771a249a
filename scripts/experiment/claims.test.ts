import { describe, expect, it } from 'vitest';
import { checkClaims, claimsMarkdown, type Claim } from './claims';
import type { RunRecord } from './summary';

const run = (strategy: string, group: string, seed: number, accuracy: number[], tail = 0.5): RunRecord => ({
  id: `${group}-${strategy}-${seed}`, cell: `${group} | ${strategy}`, strategy, group, seed, accuracy, evaluatedAccuracy: accuracy,
  imbalance: { balancedAccuracy: [null], macroF1: [null], headRecall: [0.9], tailRecall: [tail], worstClassRecall: [null] },
});

// Baseline oscillates by 0.1 every round; "calm" by 0.02 (seed 1) / 0.04 (seed 2) / 0.03 (seed 3).
const osc = (d: number) => [0.5, 0.5 + d, 0.5, 0.5 + d, 0.5];
const RUNS = [
  run('base', 'g', 1, osc(0.1), 0.2), run('base', 'g', 2, osc(0.1), 0.3), run('base', 'g', 3, osc(0.1), 0.25),
  run('calm', 'g', 1, osc(0.02), 0.4), run('calm', 'g', 2, osc(0.04), 0.5), run('calm', 'g', 3, osc(0.03), 0.45),
  run('calm', 'other', 1, osc(0.02)),
];
const claim = (c: Partial<Claim>): Claim => ({ label: 'x', metric: 'meanAbsChange', a: { strategy: 'calm', group: 'g' }, b: { strategy: 'base', group: 'g' }, expect: 'lower', ...c });

describe('checkClaims', () => {
  it('pairs by seed and reads the t-interval of a − b', () => {
    const [r] = checkClaims(RUNS, [claim({})], 2);
    // meanAbsChange: base 0.1, calm 0.02 / 0.04 / 0.03 → diffs −0.08, −0.06, −0.07: mean −0.07, sd 0.01, t(2) = 4.303
    expect(r.n).toBe(3);
    expect(r.mean).toBeCloseTo(-0.07, 9);
    expect(r.ci![0]).toBeCloseTo(-0.07 - (4.303 * 0.01) / Math.sqrt(3), 6);
    expect(r.verdict).toBe('holds');
    expect(checkClaims(RUNS, [claim({ expect: 'higher' })], 2)[0].verdict).toBe('does not hold');
  });

  it('within: the whole interval inside ±margin; final imbalance metrics; too few pairs', () => {
    expect(checkClaims(RUNS, [claim({ expect: 'within', margin: 0.2 })], 2)[0].verdict).toBe('holds');
    expect(checkClaims(RUNS, [claim({ expect: 'within', margin: 0.05 })], 2)[0].verdict).toBe('does not hold');
    // tail recall: calm − base = +0.2 in every seed
    const [t] = checkClaims(RUNS, [claim({ metric: 'tailRecall', expect: 'higher' })], 2);
    expect(t.mean).toBeCloseTo(0.2, 9);
    expect(t.verdict).toBe('holds');
    const [few] = checkClaims(RUNS, [claim({ a: { strategy: 'calm', group: 'other' } })], 2);
    expect(few.verdict).toMatch(/inconclusive/);
    // group * pools groups, pairing by (group, seed): 3 pairs in g, none in 'other' (no base there)
    expect(checkClaims(RUNS, [claim({ a: { strategy: 'calm', group: '*' }, b: { strategy: 'base', group: '*' } })], 2)[0].n).toBe(3);
    expect(claimsMarkdown([t])).toContain('| x | tailRecall | calm @ g − base @ g | higher (interval > 0) | +20.00 [+20.00, +20.00] pp (n=3) | **holds** |');
  });
});

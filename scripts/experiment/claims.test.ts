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

  it('mnistAlone / fashionAlone: the last measured head accuracy; runs without it drop out of the pairs', () => {
    const mm = (strategy: string, seed: number, fashion: Array<number | null>, mnist: Array<number | null> = [0.95, 0.97]): RunRecord => ({
      ...run(strategy, 'mm', seed, [0.8, 0.9]), unimodal: { mnist, fashion },
    });
    const runs = [
      // chain − joint on fashion alone (last measured): 0.80 − 0.70, 0.84 − 0.72 (round 2 not evaluated), 0.78 − 0.70
      // → diffs 0.10, 0.12, 0.08: mean 0.10, sd 0.02, t(2) = 4.303 → [0.0503, 0.1497].
      mm('joint', 1, [0.6, 0.7]), mm('joint', 2, [0.72, null]), mm('joint', 3, [0.65, 0.7]),
      mm('chain', 1, [0.7, 0.8]), mm('chain', 2, [0.75, 0.84]), mm('chain', 3, [0.7, 0.78]),
      // Seed 4: joint never measured (single-modality or stored before the field) → that pair is dropped.
      mm('joint', 4, [null, null], [null, null]), mm('chain', 4, [0.7, 0.9]),
    ];
    const c = (x: Partial<Claim>) => claim({ a: { strategy: 'chain', group: 'mm' }, b: { strategy: 'joint', group: 'mm' }, ...x });
    const [up, down, same] = checkClaims(runs, [c({ metric: 'fashionAlone', expect: 'higher' }), c({ metric: 'fashionAlone', expect: 'lower' }), c({ metric: 'mnistAlone', expect: 'within', margin: 0.001 })], 2);
    expect(up.n).toBe(3);
    expect(up.mean).toBeCloseTo(0.1, 9);
    expect(up.ci![0]).toBeCloseTo(0.1 - (4.303 * 0.02) / Math.sqrt(3), 6);
    expect(up.verdict).toBe('holds');
    expect(down.verdict).toBe('does not hold');
    // mnist alone is 0.97 in both arms: diffs 0, interval [0, 0] within ±0.1 pp; seed 4 dropped here too.
    expect(same).toMatchObject({ n: 3, mean: 0, ci: [0, 0], verdict: 'holds' });
    // No run measured it: no pairs, no NaN.
    const [none] = checkClaims(RUNS, [claim({ metric: 'fashionAlone', expect: 'higher' })], 2);
    expect(none).toMatchObject({ n: 0, mean: null, ci: null, verdict: 'inconclusive (fewer than 2 pairs)' });
    expect(claimsMarkdown([up, none])).toContain('| x | fashionAlone | chain @ mm − joint @ mm | higher (interval > 0) | +10.00 [+5.03, +14.97] pp (n=3) | **holds** |');
    expect(claimsMarkdown([up, none])).not.toMatch(/NaN/);
  });
});

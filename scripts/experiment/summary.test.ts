import { describe, expect, it } from 'vitest';
import {
  csvField,
  finalAccuracy,
  glanceTable,
  meanStd,
  pairedTCi,
  plotSvg,
  smoothedRoundsToTarget,
  summarize,
  tQuantile975,
  toCsv,
  toMarkdown,
  trafficSvg,
  type RunRecord,
  type SummaryOptions,
} from './summary.ts';
import { roundsToTarget } from '../../src/shared/metrics.ts';

const G = 'mnist | dirichlet α=0.1 | none';

function run(strategy: string, seed: number, accuracy: number[], extra: Partial<RunRecord> = {}, group = G): RunRecord {
  return { id: `${group} | ${strategy} | s${seed}`, cell: `${group} | ${strategy}`, strategy, group, seed, accuracy, ...extra };
}

const OPTS: SummaryOptions = { targets: [0.9], lastRounds: 2, baseline: 'fedavg', bootstrapSamples: 500, seed: 7 };

// Baseline finals (mean of last 2 rounds): 0.80, 0.85, 0.90 → mean 0.85, std sqrt((0.05² + 0 + 0.05²)/2) = 0.05.
const BASE = [
  run('fedavg', 1, [0.5, 0.8, 0.8]),
  run('fedavg', 2, [0.5, 0.8, 0.9]),
  run('fedavg', 3, [0.6, 0.9, 0.9]),
];
// Method finals: 0.81, 0.87, 0.93 → paired diffs 0.01, 0.02, 0.03.
const METHOD = [
  run('fed-adaptive-next', 1, [0.6, 0.81, 0.81]),
  run('fed-adaptive-next', 2, [0.6, 0.84, 0.9]),
  run('fed-adaptive-next', 3, [0.7, 0.93, 0.93]),
];

describe('rounds to target', () => {
  // Best-so-far reaches 0.9 at round 2 (a spike); the 3-round moving average only at round 7:
  // r3 (0.5+0.92+0.6)/3 = 0.673, r4 0.74, r5 0.743, r6 (0.7+0.93+0.95)/3 = 0.86, r7 (0.93+0.95+0.96)/3 = 0.9467.
  const curve = [0.5, 0.92, 0.6, 0.7, 0.93, 0.95, 0.96];

  it('best-so-far and smoothed differ on a spiky curve', () => {
    expect(roundsToTarget(curve, 0.9)).toBe(2);
    expect(smoothedRoundsToTarget(curve, 0.9)).toBe(7);
    expect(roundsToTarget(curve, 0.99)).toBeNull();
    expect(smoothedRoundsToTarget(curve, 0.99)).toBeNull();
    // Rounds 1–2 average what exists: round 2 averages (0.5 + 0.92) / 2 = 0.71.
    expect(smoothedRoundsToTarget(curve, 0.71)).toBe(2);
    expect(smoothedRoundsToTarget([0.95], 0.9)).toBe(1);
  });

  it('per cell: median with reached counts, "> T" when fewer than half reached', () => {
    const runs = [
      run('fedavg', 1, [0.5, 0.92, 0.6, 0.7, 0.93, 0.95, 0.96]), // R 2, R̃ 7
      run('fedavg', 2, [0.5, 0.6, 0.91, 0.92, 0.93, 0.95, 0.96]), // R 3, R̃ 5 ((0.91+0.92+0.93)/3 = 0.92)
      run('fedavg', 3, [0.5, 0.6, 0.7, 0.8, 0.85, 0.86, 0.87]), // never
    ];
    const [row] = summarize(runs, { ...OPTS, targets: [0.9, 0.95] });
    expect(row.rounds).toBe(7);
    // Censored R: 2, 3, 8 → median 3; smoothed 7, 5, 8 → 7.
    expect(row.targets[0].best).toEqual({ median: 3, reached: 2, n: 3 });
    expect(row.targets[0].smoothed).toEqual({ median: 7, reached: 2, n: 3 });
    // 0.95: R 6, 6, never → 6 (2/3); smoothed: r7 avg (0.93+0.95+0.96)/3 < 0.95 for both → 0/3.
    expect(row.targets[1].best).toEqual({ median: 6, reached: 2, n: 3 });
    expect(row.targets[1].smoothed).toEqual({ median: null, reached: 0, n: 3 });
    const md = toMarkdown([row], { ...OPTS, targets: [0.9, 0.95] }, { title: 't', command: 'c', scale: 's' });
    expect(md).toContain('| 3 (2/3) | 7 (2/3) | 6 (2/3) | > 7 (0/3) |');
  });
});

describe('summarize', () => {
  it('final accuracy mean ± sample std over 3 seeds', () => {
    expect(finalAccuracy([0.5, 0.8, 0.9], 2)).toBeCloseTo(0.85, 12);
    expect(finalAccuracy([0.5, 0.8, 0.9], 10)).toBeCloseTo(2.2 / 3, 12); // shorter run: all rounds
    const [row] = summarize(BASE, OPTS);
    expect(row.n).toBe(3);
    expect(row.seeds).toEqual([1, 2, 3]);
    expect(row.finalAccuracy.mean).toBeCloseTo(0.85, 12);
    expect(row.finalAccuracy.std).toBeCloseTo(0.05, 12);
    expect(row.bestAccuracy).toBeCloseTo((0.8 + 0.9 + 0.9) / 3, 12);
    expect(meanStd([0.7])).toEqual({ mean: 0.7, std: 0, n: 1 });
    const md = toMarkdown([row], OPTS, { title: 't', command: 'c', scale: 's' });
    expect(md).toContain('85.0 ± 5.0');
  });

  it('paired difference with a Student-t CI (3 seeds, t_{0.975,2} = 4.303)', () => {
    expect(tQuantile975(2)).toBe(4.303);
    expect(tQuantile975(30)).toBe(2.042);
    expect(tQuantile975(31)).toBe(1.96);
    const rows = summarize([...METHOD, ...BASE], OPTS);
    expect(rows.map((r) => r.strategy)).toEqual(['fedavg', 'fed-adaptive-next']); // baseline first
    expect(rows[0].vsBaseline).toBeNull();
    const c = rows[1].vsBaseline!;
    expect(c.baselineCell).toBe(`${G} | fedavg`);
    expect(c.pairedSeeds).toEqual([1, 2, 3]);
    // diffs 0.01, 0.02, 0.03: mean 0.02, sd 0.01, se 0.01/√3 = 0.0057735, half-width 4.303 · 0.0057735 = 0.024843.
    expect(c.diffMean).toBeCloseTo(0.02, 12);
    expect(c.diffCi![0]).toBeCloseTo(0.02 - 0.024843, 5);
    expect(c.diffCi![1]).toBeCloseTo(0.02 + 0.024843, 5);
    // A single pair has no CI.
    const one = pairedTCi([0.01]);
    expect(one).toEqual({ mean: 0.01, ci: null });
    const md = toMarkdown(rows, OPTS, { title: 't', command: 'c', scale: 's' });
    expect(md).toContain('+2.0 [−0.5, +4.5] (n=3)');
  });

  it('only seeds present in both cells are paired; groups without a baseline get no comparison', () => {
    const rows = summarize([...BASE.slice(0, 2), ...METHOD, run('fedprox', 1, [0.9, 0.9], {}, 'other')], OPTS);
    const m = rows.find((r) => r.strategy === 'fed-adaptive-next')!;
    expect(m.vsBaseline!.pairedSeeds).toEqual([1, 2]);
    expect(m.vsBaseline!.diffMean).toBeCloseTo(0.015, 12);
    expect(rows.find((r) => r.group === 'other')!.vsBaseline).toBeNull();
    expect(toMarkdown(rows, OPTS, { title: 't', command: 'c', scale: 's' })).toContain('no baseline');
  });

  it('rounds-to-target reduction: seeded bootstrap, deterministic, CI contains the estimate', () => {
    const curve = (r: number, T = 15) => Array.from({ length: T }, (_, i) => (i + 1 >= r ? 0.92 : 0.5));
    // Method R 5, 6, 7, 5 and baseline R 10, 10, 12, never (→ T + 1 = 16).
    const runs = [
      ...[5, 6, 7, 5].map((r, i) => run('fan (attention only)', i + 1, curve(r))),
      ...[10, 10, 12, 99].map((r, i) => run('fedavg', i + 1, curve(r))),
    ];
    const opts = { ...OPTS, targets: [0.9, 0.95], bootstrapSamples: 1000, seed: 3 };
    const a = summarize(runs, opts)[1].vsBaseline!;
    // 1 − median(5,5,6,7) / median(10,10,12,16) = 1 − 5.5 / 11 = 0.5.
    expect(a.reductions[0].estimate).toBeCloseTo(0.5, 12);
    const [lo, hi] = a.reductions[0].ci!;
    expect(lo).toBeLessThanOrEqual(0.5);
    expect(hi).toBeGreaterThanOrEqual(0.5);
    expect(lo).toBeLessThan(hi);
    // Nobody reached 0.95: no estimate.
    expect(a.reductions[1]).toEqual({ target: 0.95, estimate: null, ci: null });
    // Every resample's reduction lies between 1 − 7/10 and 1 − 5/16.
    expect(lo).toBeGreaterThanOrEqual(0.3 - 1e-12);
    expect(hi).toBeLessThanOrEqual(0.6875 + 1e-12);
    // Same seed → identical CI, also with the runs in another order; the seed does steer the resamples.
    expect(summarize(runs, opts)[1].vsBaseline!.reductions[0].ci).toEqual([lo, hi]);
    expect(summarize([...runs].reverse(), opts).find((r) => !r.isBaseline)!.vsBaseline!.reductions[0].ci).toEqual([lo, hi]);
    const few = [1, 2, 3, 4, 5].map((seed) => summarize(runs, { ...opts, seed, bootstrapSamples: 5 })[1].vsBaseline!.reductions[0].ci);
    expect(new Set(few.map((ci) => JSON.stringify(ci))).size).toBeGreaterThan(1);
    const md = toMarkdown(summarize(runs, opts), opts, { title: 't', command: 'c', scale: 's' });
    expect(md).toContain('+50.0% [');
    expect(md).toContain('counts as R = its number of rounds + 1');
  });

  it('final attack success rate when present', () => {
    const runs = [
      run('fedavg', 1, [0.9, 0.9, 0.9], { attackSuccessRate: [0.5, 0.2, 0.4] }), // 0.3
      run('fedavg', 2, [0.9, 0.9, 0.9], { attackSuccessRate: [null, 0.5, null] }), // 0.5 (nulls skipped)
    ];
    const [row] = summarize(runs, OPTS);
    expect(row.finalAsr!.mean).toBeCloseTo(0.4, 12);
    expect(row.finalAsr!.std).toBeCloseTo(Math.sqrt(0.02), 12);
    expect(summarize(BASE, OPTS)[0].finalAsr).toBeNull();
  });
});

describe('extra columns', () => {
  const im = (last: number, prev: number | null = null) => ({
    balancedAccuracy: [prev, last],
    macroF1: [prev, last - 0.1],
    headRecall: [prev, 0.9],
    tailRecall: [prev, last - 0.3],
    worstClassRecall: [prev, 0.1],
  });
  const meta = { title: 't', command: 'c', scale: 's' };

  it('imbalance: the last evaluated round of each run, mean ± std over seeds; shown only when asked for and measured', () => {
    const runs = [
      run('fedavg', 1, [0.5, 0.8], { imbalance: im(0.7, 0.4) }),
      run('fedavg', 2, [0.5, 0.8], { imbalance: im(0.8) }),
      run('fedavg', 3, [0.5, 0.8]), // stored before the metrics existed
    ];
    const opts = { ...OPTS, extraColumns: ['imbalance' as const] };
    const [row] = summarize(runs, opts);
    // Balanced accuracy 0.7 and 0.8 → mean 0.75, sample std √((0.05² · 2) / 1) = 0.0707107.
    expect(row.imbalance!.balancedAccuracy).toMatchObject({ mean: 0.75, n: 2 });
    expect(row.imbalance!.balancedAccuracy!.std).toBeCloseTo(Math.SQRT2 * 0.05, 12);
    expect(row.imbalance!.tailRecall!.mean).toBeCloseTo(0.45, 12);
    const md = toMarkdown([row], opts, meta);
    expect(md).toContain('| Balanced acc % ⁷ | Macro-F1 % ⁷ | Head recall % ⁷ | Tail recall % ⁷ | Worst-class recall % ⁷ |');
    expect(md).toContain('| 75.0 ± 7.1 (2/3) | 65.0 ± 7.1 (2/3) | 90.0 ± 0.0 (2/3) | 45.0 ± 7.1 (2/3) | 10.0 ± 0.0 (2/3) |');
    expect(toCsv([row]).split('\r\n')[0]).toContain(',final_balanced_accuracy_mean,final_balanced_accuracy_std,final_balanced_accuracy_n,final_macro_f1_mean,');
    // Not asked for, or asked for with no run measuring them: the table is the one made before them.
    expect(summarize(runs, OPTS)[0].imbalance).toBeNull();
    expect(summarize(BASE, opts)[0].imbalance).toBeNull();
    expect(toMarkdown(summarize(BASE, opts), opts, meta)).toBe(toMarkdown(summarize(BASE, OPTS), OPTS, meta));
    expect(toCsv(summarize(BASE, opts))).toBe(toCsv(summarize(BASE, OPTS)));
    expect(() => summarize(BASE, { ...OPTS, extraColumns: ['nope' as never] })).toThrow(/unknown extra columns "nope"/);
  });

  it('stability: std over the last N evaluated rounds, mean |Δacc|, diverging rounds', () => {
    const runs = [
      // Evaluated: 0.5, 0.7, 0.6, 0.8 (4 → N = 2). Last 2: 0.6, 0.8 → std √(0.02) = 0.141421; |Δ| 0.2, 0.1, 0.2 → 0.5/3.
      // Losses 1, 11 (> 10 × 1), NaN: 2 diverging.
      run('fedavg', 1, [0.5, 0.5, 0.7, 0.6, 0.8], {
        evaluatedAccuracy: [0.5, null, 0.7, 0.6, 0.8],
        testLoss: [1, null, 11, NaN, 0.5],
      }),
      // Evaluated 0.6 ×5: std 0, |Δ| 0; no diverging round.
      run('fedavg', 2, [0.6, 0.6, 0.6, 0.6, 0.6], { testLoss: [1, 1, 1, 1, 1] }),
    ];
    const opts = { ...OPTS, extraColumns: ['stability' as const] };
    const [row] = summarize(runs, opts);
    const st = row.stability!;
    expect(st.window).toBe(2); // the shortest run has 4 evaluated rounds
    expect(st.accuracyStd!.mean).toBeCloseTo(Math.SQRT2 / 20, 12); // (0.141421 + 0) / 2
    expect(st.meanAbsChange!.mean).toBeCloseTo(0.5 / 6, 12); // (0.5/3 + 0) / 2
    expect(st).toMatchObject({ divergingRounds: 2, divergingSeeds: 1, seedsWithLoss: 2 });
    const md = toMarkdown([row], opts, meta);
    expect(md).toContain('| Acc std (last 2) pp ⁸ | Mean \\|Δacc\\| pp ⁸ | Diverging rounds ⁸ |');
    // 7.07 ± 10.00 pp: the std of (0.141421, 0) is 0.1; 8.33 ± 11.79: the std of (0.1667, 0) is 0.11785.
    expect(md).toContain('| 7.07 ± 10.00 | 8.33 ± 11.79 | 2 (1/2 seeds) |');
    expect(md).toContain("each run's last 2 (min(20, half the evaluated rounds of the shortest run))");
    const csv = toCsv([row]).split('\r\n').map((l) => l.split(',').slice(-7));
    expect(csv[0]).toEqual(['stability_window', 'acc_std_last_n_mean', 'acc_std_last_n_std', 'mean_abs_delta_acc_mean', 'mean_abs_delta_acc_std', 'diverging_rounds', 'diverging_seeds']);
    [2, Math.SQRT2 / 20, 0.1, 0.5 / 6, Math.SQRT2 / 12, 2, 1].forEach((x, i) => expect(Number(csv[1][i])).toBeCloseTo(x, 12));
    // Runs with no evaluated-accuracy series use their accuracy curve, and without losses there is no divergence count.
    expect(summarize([run('fedavg', 1, [0.5, 0.7])], opts)[0].stability).toMatchObject({ window: 1, accuracyStd: { mean: 0 }, seedsWithLoss: 0 });
  });
});

describe('modalities columns', () => {
  const meta = { title: 't', command: 'c', scale: 's' };
  const opts: SummaryOptions = { ...OPTS, extraColumns: ['modalities'] };
  const uni = (mnist: Array<number | null>, fashion: Array<number | null>) => ({ unimodal: { mnist, fashion } });
  const runs = [
    // Last measured: mnist 0.96 (round 3 not evaluated), fashion 0.7.
    run('mm-late', 1, [0.5, 0.8, 0.8], uni([0.9, 0.96, null], [0.6, 0.7, null])),
    run('mm-late', 2, [0.5, 0.8, 0.9], uni([0.9, 0.95, 0.98], [0.6, 0.7, 0.8])),
    // Single-modality or stored before the field: all null.
    run('mm-late', 3, [0.6, 0.9, 0.9], uni([null, null, null], [null, null, null])),
  ];

  it("each run's last measured head accuracy, mean ± std over the seeds that have one", () => {
    const [row] = summarize(runs, opts);
    // mnist 0.96, 0.98 → mean 0.97, std √(2 · 0.01²) = 0.0141421; fashion 0.7, 0.8 → mean 0.75, std 0.0707107.
    expect(row.modalities!.mnist!.n).toBe(2);
    expect(row.modalities!.mnist!.mean).toBeCloseTo(0.97, 12);
    expect(row.modalities!.mnist!.std).toBeCloseTo(Math.SQRT2 * 0.01, 12);
    expect(row.modalities!.fashion!.mean).toBeCloseTo(0.75, 12);
    expect(row.modalities!.fashion!.std).toBeCloseTo(Math.SQRT2 * 0.05, 12);
    const md = toMarkdown([row], opts, meta);
    expect(md).toContain('| Best acc % | MNIST alone % ¹⁰ | Fashion alone % ¹⁰ | R@90% ¹ |');
    expect(md).toContain('| 97.0 ± 1.4 (2/3) | 75.0 ± 7.1 (2/3) |');
    expect(md).toContain("¹⁰ mnist+fashion: test accuracy of each modality's head alone");
    const csv = toCsv([row]).split('\r\n').map((l) => l.split(',').slice(-6));
    expect(csv[0]).toEqual(['mnist_alone_mean', 'mnist_alone_std', 'mnist_alone_n', 'fashion_alone_mean', 'fashion_alone_std', 'fashion_alone_n']);
    [0.97, Math.SQRT2 * 0.01, 2, 0.75, Math.SQRT2 * 0.05, 2].forEach((x, i) => expect(Number(csv[1][i])).toBeCloseTo(x, 12));
  });

  it('not asked for, or no run measured it: null and the table made before it; never NaN', () => {
    expect(summarize(runs, OPTS)[0].modalities).toBeNull();
    const none = [run('fedavg', 1, [0.5, 0.8], uni([null, null], [null, null])), run('fedavg', 2, [0.5, 0.9])];
    expect(summarize(none, opts)[0].modalities).toBeNull();
    expect(toMarkdown(summarize(none, opts), opts, meta)).toBe(toMarkdown(summarize(none, OPTS), OPTS, meta));
    expect(toCsv(summarize(none, opts))).toBe(toCsv(summarize(none, OPTS)));
    // One modality measured, the other not: that one is null, shown "—", empty in the CSV.
    const half = summarize([run('fedavg', 1, [0.5, 0.8], uni([0.9, null], [null, null]))], opts);
    expect(half[0].modalities).toEqual({ mnist: { mean: 0.9, std: 0, n: 1 }, fashion: null });
    expect(toMarkdown(half, opts, meta)).toContain('| 90.0 ± 0.0 | — |');
    expect(toCsv(half).split('\r\n')[1].split(',').slice(-6)).toEqual(['0.9', '0', '1', '', '', '']);
    expect(toMarkdown(half, opts, meta) + toCsv(half)).not.toMatch(/NaN/);
  });

  it('rejects malformed series', () => {
    expect(() => summarize([run('fedavg', 1, [0.5, 0.8], uni([0.9], [null, null]))], opts)).toThrow(/1 mnist unimodal accuracy values for 2 rounds/);
    expect(() => summarize([run('fedavg', 1, [0.5, 0.8], uni([0.9, 0.9], [null, 1.5]))], opts)).toThrow(/fashion unimodal accuracy 1.5 in round 2/);
  });
});

describe('traffic columns', () => {
  const meta = { title: 't', command: 'c', scale: 's' };
  const opts: SummaryOptions = { ...OPTS, targets: [0.9, 0.99], extraColumns: ['traffic'] };
  const bytes = (up: Array<number | null>, down: Array<number | null>, dense: Array<number | null>) => ({
    traffic: { bytesUp: up, bytesDown: down, denseBytesUp: dense },
  });
  const M = 1e6;
  // 2 seeds × 3 rounds, 1 MB up, 2 MB down and 5 MB dense per round; best-so-far reaches 0.9 at round 2 in both.
  const SIMPLE = [
    run('fedavg', 1, [0.5, 0.92, 0.95], bytes([M, M, M], [2 * M, 2 * M, 2 * M], [5 * M, 5 * M, 5 * M])),
    run('fedavg', 2, [0.6, 0.91, 0.93], bytes([M, M, M], [2 * M, 2 * M, 2 * M], [5 * M, 5 * M, 5 * M])),
  ];

  it('MB per round, share of dense, MB to target (2 seeds, 3 rounds, 1 MB a round)', () => {
    const [row] = summarize(SIMPLE, opts);
    expect(row.traffic).toEqual({
      upPerRound: { mean: 1, std: 0, n: 2 },
      downPerRound: { mean: 2, std: 0, n: 2 },
      upShareOfDense: 0.2, // 6 MB / 30 MB
      upToTarget: [
        { target: 0.9, medianMB: 2, reached: 2, n: 2 }, // R = 2 → 1 + 1 MB
        { target: 0.99, medianMB: null, reached: 0, n: 2 },
      ],
    });
    const md = toMarkdown([row], opts, meta);
    expect(md).toContain('| R̃@99% ² | Up MB/round ⁹ | Down MB/round ⁹ | Up vs dense ⁹ | Up MB to 90% ⁹ | Up MB to 99% ⁹ | Δ final acc');
    expect(md).toContain('| 1.00 ± 0.00 | 2.00 ± 0.00 | 20.0% | 2.00 (2/2) | not reached (0/2) | baseline |');
    expect(md).toContain('MB = 10^6 bytes');
    const [head, line] = toCsv([row]).split('\r\n').map((l) => l.split(',').slice(-12));
    expect(head).toEqual([
      'up_mb_per_round_mean', 'up_mb_per_round_std', 'up_mb_per_round_n', 'down_mb_per_round_mean', 'down_mb_per_round_std', 'up_share_of_dense',
      'up_mb_to_target_median@0.9', 'up_mb_to_target_reached@0.9', 'up_mb_to_target_n@0.9',
      'up_mb_to_target_median@0.99', 'up_mb_to_target_reached@0.99', 'up_mb_to_target_n@0.99',
    ]);
    expect(line).toEqual(['1', '0', '2', '2', '0', '0.2', '2', '2', '2', '', '0', '2']);
  });

  it('seeds that differ, a seed that never reaches the target, a missing round, a run from before byte counts', () => {
    const runs = [
      // Up 1, 2, 3 MB (mean 2); R@0.9 = 2 → 1 + 2 = 3 MB. Down 2 MB a round.
      run('fedavg', 1, [0.5, 0.95, 0.6], bytes([M, 2 * M, 3 * M], [2 * M, 2 * M, 2 * M], [4 * M, 4 * M, 4 * M])),
      // Up 3 MB a round (mean 3); never reaches 0.9 → 9 MB spent + one more mean round = 12 MB. Down: round 1 missing → 1 MB.
      run('fedavg', 2, [0.5, 0.6, 0.7], bytes([3 * M, 3 * M, 3 * M], [null, M, M], [6 * M, 6 * M, 6 * M])),
      run('fedavg', 3, [0.5, 0.6, 0.7]), // stored before byte counts
    ];
    const [row] = summarize(runs, opts);
    const t = row.traffic!;
    expect(t.upPerRound.mean).toBeCloseTo(2.5, 12);
    expect(t.upPerRound.std).toBeCloseTo(Math.SQRT1_2, 12); // √((0.5² + 0.5²) / 1)
    expect(t.upPerRound.n).toBe(2);
    expect(t.downPerRound!.mean).toBeCloseTo(1.5, 12);
    expect(t.upShareOfDense).toBeCloseTo(0.5, 12); // (6 + 9) / (12 + 18)
    // 1 of 2 reached: half, so the median (3 + 12) / 2 stands, as R's does.
    expect(t.upToTarget[0]).toEqual({ target: 0.9, medianMB: 7.5, reached: 1, n: 2 });
    const md = toMarkdown([row], opts, meta);
    expect(md).toContain('| 2.50 ± 0.71 (2/3) | 1.50 ± 0.71 (2/3) | 50.0% | 7.50 (1/2) | not reached (0/2) |');
    // Small values keep 3 significant digits.
    const tiny = run('fedavg', 1, [0.95], bytes([40_000], [400_000], [2_000_000]));
    expect(toMarkdown(summarize([tiny], opts), opts, meta)).toContain('| 0.0400 ± 0.0000 | 0.400 ± 0.000 | 2.0% | 0.0400 (1/1) |');
  });

  it('no traffic columns unless asked for; runs without byte counts give null, not NaN', () => {
    expect(summarize(SIMPLE, OPTS)[0].traffic).toBeNull();
    const plain = { ...opts, extraColumns: [] };
    expect(toMarkdown(summarize(SIMPLE, plain), plain, meta)).not.toContain('MB');
    expect(toCsv(summarize(SIMPLE, plain))).not.toContain('_mb_');
    // Old runs: no traffic field, or all-null series as writeSummary builds them.
    const old = [
      run('fedavg', 1, [0.5, 0.92, 0.95]),
      run('fedavg', 2, [0.6, 0.91, 0.93], bytes([null, null, null], [null, null, null], [null, null, null])),
    ];
    expect(summarize(old, opts)[0].traffic).toBeNull();
    expect(toMarkdown(summarize(old, opts), opts, meta)).toBe(toMarkdown(summarize(old, plain), plain, meta));
    expect(toCsv(summarize(old, opts))).toBe(toCsv(summarize(old, plain)));
    expect(trafficSvg(old, opts)).toBeNull();
    // A cell without byte counts next to one with them: dashes and empty CSV fields, never NaN.
    const mixed = summarize([...SIMPLE, ...old.map((r) => ({ ...r, id: `${r.id} old`, cell: `${G} | fedprox`, strategy: 'fedprox' }))], opts);
    expect(mixed[1].traffic).toBeNull();
    const md = toMarkdown(mixed, opts, meta);
    expect(md).toContain('| — | — | — | — | — |');
    expect(md + toCsv(mixed)).not.toMatch(/NaN|undefined/);
    expect(() => summarize([run('fedavg', 1, [0.5, 0.6], bytes([M], [M, M], [M, M]))], opts)).toThrow(/has 1 bytesUp values for 2 rounds/);
    expect(() => summarize([run('fedavg', 1, [0.5], bytes([-1], [M], [M]))], opts)).toThrow(/bytesUp -1 in round 1/);
  });

  it('traffic.svg: accuracy on a fixed 0–100% axis against mean cumulative uplink MB (log axis), legend outside', () => {
    const other = [run('int8', 1, [0.4, 0.8, 0.9], bytes([M / 4, M / 4, M / 4], [M, M, M], [M, M, M]))];
    const svg = trafficSvg([...SIMPLE, ...other], opts)!;
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.match(/<polyline/g)).toHaveLength(2);
    expect(svg).toContain('fedavg (n=2)');
    expect(svg).toContain('int8 (n=1)');
    // fedavg: cumulative 1, 2, 3 MB with mean accuracy 0.55, 0.915, 0.94; x decades 0.1–10 MB over 520 px from x = 64,
    // y 100% at 30 and 0% at 290: x = 64 + 520 (log10(v) + 1) / 2.
    expect(svg).toContain('points="324.0,147.0 402.3,52.1 448.1,45.6"');
    for (const v of ['0', '20', '100']) expect(svg).toContain(`text-anchor="end" fill="#444">${v}</text>`);
    for (const v of ['0.1', '0.2', '0.5', '1', '2', '5', '10']) expect(svg).toContain(`fill="#444">${v}</text>`);
    expect(svg).toContain('cumulative uplink MB (10^6 bytes, log scale), mean over seeds');
    expect(svg).toContain('test accuracy %, mean over seeds');
    // The legend sits right of the plot area (which ends at x = 584).
    expect(svg).toMatch(/<text x="628" y="\d+" fill="#1f77b4">fedavg \(n=2\)<\/text>/);
  });
});

describe('rendering', () => {
  const meta = {
    title: 'FedAdaptive-Next vs FedAvg',
    command: 'npm run experiment -- --grid small --seeds 3',
    scale: '4 clients, 3 rounds, 3 seeds, 2000 samples per client',
  };

  it('markdown states the exact command and the scale above the table', () => {
    const md = toMarkdown(summarize([...BASE, ...METHOD], OPTS), OPTS, meta);
    expect(md.startsWith('# FedAdaptive-Next vs FedAvg\n')).toBe(true);
    expect(md).toContain('```sh\nnpm run experiment -- --grid small --seeds 3\n```');
    expect(md).toContain('Scale: 4 clients, 3 rounds, 3 seeds, 2000 samples per client');
    expect(md.indexOf('Scale:')).toBeLessThan(md.indexOf('| Group |'));
    // Pipes inside the group name are escaped so the table keeps its columns.
    expect(md).toContain('| mnist \\| dirichlet α=0.1 \\| none | fedavg | 3 |');
    // A command with backticks still round-trips inside a longer fence.
    expect(toMarkdown([], OPTS, { ...meta, command: 'echo ```x```' })).toContain('````sh\necho ```x```\n````');
  });

  it('at a glance: groups × strategies of final accuracy, with ASR where measured', () => {
    const other = 'fmnist | iid | none';
    const rows = summarize(
      [...BASE, ...METHOD, run('fedavg', 1, [0.5, 0.7, 0.7], { attackSuccessRate: [0.1, 0.2, 0.4] }, other)],
      OPTS,
    );
    const t = glanceTable(rows).split('\n');
    expect(t[0]).toBe('| Group | fedavg | fed-adaptive-next |');
    expect(t[2]).toBe(`| ${G.replace(/\|/g, '\\|')} | 85.0 | 87.0 |`);
    // ASR is the mean of the last 2 rounds: (0.2 + 0.4)/2; the method has no run in that group.
    expect(t[3]).toBe('| fmnist \\| iid \\| none | 70.0 (ASR 30.0) | — |');
    const md = toMarkdown(rows, OPTS, meta);
    expect(md.indexOf('At a glance:')).toBeLessThan(md.indexOf('In full:'));
  });

  it('CSV quotes fields with commas, quotes and newlines (RFC 4180)', () => {
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('x\ny')).toBe('"x\ny"');
    expect(csvField('plain')).toBe('plain');
    expect(csvField(null)).toBe('');
    const runs = [run('fan (attention, only)', 1, [0.9, 0.95]), run('fedavg', 1, [0.8, 0.9])];
    const csv = toCsv(summarize(runs, OPTS));
    const lines = csv.split('\r\n');
    expect(lines[0].startsWith('cell,group,strategy,is_baseline,n,seeds,rounds,final_acc_mean')).toBe(true);
    expect(lines[2]).toContain(`"${G} | fan (attention, only)",${G},"fan (attention, only)",false,1,1,2,`);
    expect(lines).toHaveLength(4); // header, 2 rows, trailing empty
    expect(lines[3]).toBe('');
  });

  it('plot: one panel per group, one line per strategy', () => {
    const svg = plotSvg([...BASE, ...METHOD, run('fedavg', 1, [0.2, 0.4], {}, 'fmnist | iid | none')], OPTS);
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.match(/<polyline/g)).toHaveLength(3);
    expect(svg).toContain('fed-adaptive-next (n=3)');
    expect(svg).toContain('fmnist | iid | none: mean test accuracy over seeds');
    expect(svg).toContain('height="600"');
  });
});

describe('bad input', () => {
  it('throws clear errors', () => {
    expect(() => summarize([], OPTS)).toThrow(/no runs/);
    expect(() => summarize([run('fedavg', 1, [])], OPTS)).toThrow(/has no accuracy values/);
    expect(() => summarize([run('fedavg', 1, [0.5]), { ...run('fedavg', 1, [0.6]), id: 'other' }], OPTS)).toThrow(
      /duplicate runs for cell ".*fedavg" seed 1/,
    );
    expect(() => summarize(BASE, { ...OPTS, lastRounds: 0 })).toThrow(/lastRounds must be an integer ≥ 1/);
    expect(() => summarize([run('fedavg', 1, [0.5, NaN])], OPTS)).toThrow(/accuracy NaN in round 2/);
    expect(() => summarize([BASE[0], BASE[0]], OPTS)).toThrow(/duplicate run id/);
    expect(() => plotSvg([], OPTS)).toThrow(/no runs/);
  });
});

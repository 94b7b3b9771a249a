// Pre-registered claim checks of an experiment file ("claims"): each compares a metric of two cells, paired by seed
// (same seed: same partition and client sampling), and reads the paired 95% t-interval of the difference a − b against
// what the claim expects. Pure, so it is unit-tested.
import * as v from 'valibot';
import { lastRoundsStd, meanAbsChange } from '../../src/shared/stability';
import { evaluatedOf, finalAccuracy, IMBALANCE_KEYS, lastMeasured, pairedTCi, tableStabilityWindow, type RunRecord } from './summary';

export const CLAIM_METRICS = ['finalAccuracy', 'accuracyStd', 'meanAbsChange', ...IMBALANCE_KEYS, 'mnistAlone', 'fashionAlone', 'localAccuracy'] as const;
export type ClaimMetric = (typeof CLAIM_METRICS)[number];

/** A cell; group "*" on both sides pools every group, pairing by (group, seed). */
const side = v.strictObject({ strategy: v.pipe(v.string(), v.minLength(1)), group: v.pipe(v.string(), v.minLength(1)) });
export const CLAIM_SCHEMA = v.strictObject({
  /** What is claimed, in words. */
  label: v.pipe(v.string(), v.minLength(1)),
  metric: v.picklist(CLAIM_METRICS, `"metric" must be one of ${CLAIM_METRICS.join(', ')}`),
  a: side,
  b: side,
  /** lower / higher: the interval of a − b lies below / above 0; within: inside ±margin. */
  expect: v.picklist(['lower', 'higher', 'within'], '"expect" must be lower, higher or within'),
  /** For "within", in the metric's unit (fractions of 1 for accuracies). */
  margin: v.optional(v.pipe(v.number(), v.minValue(0))),
});
export type Claim = v.InferOutput<typeof CLAIM_SCHEMA>;

export interface ClaimResult {
  claim: Claim;
  /** Pairs (seeds, or group × seed when pooled). */
  n: number;
  mean: number | null;
  ci: [number, number] | null;
  verdict: 'holds' | 'does not hold' | 'inconclusive (fewer than 2 pairs)';
}

export function metricOf(r: RunRecord, metric: ClaimMetric, lastRounds: number, window: number): number {
  const evaluated = evaluatedOf(r);
  if (metric === 'finalAccuracy') return finalAccuracy(r.accuracy, lastRounds);
  if (metric === 'accuracyStd') return lastRoundsStd(evaluated, window);
  if (metric === 'meanAbsChange') return meanAbsChange(evaluated);
  // mnist+fashion: a modality head's accuracy alone in the last round that measured it; NaN (pair dropped) where none did.
  if (metric === 'mnistAlone') return lastMeasured(r.unimodal?.mnist) ?? NaN;
  if (metric === 'fashionAlone') return lastMeasured(r.unimodal?.fashion) ?? NaN;
  // Each client's model on its own label mix (FedAlign's local accuracy), in the last round that measured it.
  if (metric === 'localAccuracy') return lastMeasured(r.localAccuracy) ?? NaN;
  return lastMeasured(r.imbalance?.[metric]) ?? NaN;
}

export function checkClaims(runs: RunRecord[], claims: readonly Claim[], lastRounds: number): ClaimResult[] {
  // One stability window for the whole table, as the summary uses.
  const window = tableStabilityWindow(runs);
  return claims.map((claim) => {
    const pooled = claim.a.group === '*' && claim.b.group === '*';
    const key = (r: RunRecord) => (pooled ? `${r.group}|${r.seed}` : String(r.seed));
    const pick = (s: Claim['a']) => new Map(runs.filter((r) => r.strategy === s.strategy && (s.group === '*' || r.group === s.group)).map((r) => [key(r), r]));
    const a = pick(claim.a);
    const b = pick(claim.b);
    const diffs = [...a.keys()].filter((k) => b.has(k))
      .map((k) => metricOf(a.get(k)!, claim.metric, lastRounds, window) - metricOf(b.get(k)!, claim.metric, lastRounds, window))
      .filter(Number.isFinite);
    if (diffs.length < 2) return { claim, n: diffs.length, mean: diffs.length ? diffs[0] : null, ci: null, verdict: 'inconclusive (fewer than 2 pairs)' };
    const { mean, ci } = pairedTCi(diffs);
    const [lo, hi] = ci!;
    const m = claim.margin ?? 0;
    const holds = claim.expect === 'lower' ? hi < 0 : claim.expect === 'higher' ? lo > 0 : lo >= -m && hi <= m;
    return { claim, n: diffs.length, mean, ci, verdict: holds ? 'holds' : 'does not hold' };
  });
}

export function claimsMarkdown(results: readonly ClaimResult[]): string {
  const pp = (x: number) => `${x >= 0 ? '+' : '−'}${Math.abs(100 * x).toFixed(2)}`;
  const rows = results.map((r) => {
    // Every claim metric is a fraction of 1, shown in percentage points.
    const unit = ' pp';
    const diff = r.mean === null ? '—' : `${pp(r.mean)}${r.ci ? ` [${pp(r.ci[0])}, ${pp(r.ci[1])}]` : ''}${unit}`;
    const want = r.claim.expect === 'within' ? `within ±${(100 * (r.claim.margin ?? 0)).toFixed(1)}${unit}` : `${r.claim.expect} (interval ${r.claim.expect === 'lower' ? '< 0' : '> 0'})`;
    return `| ${r.claim.label} | ${r.claim.metric} | ${r.claim.a.strategy} @ ${r.claim.a.group} − ${r.claim.b.strategy} @ ${r.claim.b.group} | ${want} | ${diff} (n=${r.n}) | **${r.verdict}** |`;
  });
  return [
    '## Pre-registered claims',
    '',
    '| Claim | Metric | Difference a − b | Expected | Mean [95% CI] | Verdict |',
    '| --- | --- | --- | --- | ---: | --- |',
    ...rows,
    '',
    'Paired by seed (same partition, same client sampling; the same initial weights where the two models have the same layers; group * pools every group, paired by group and seed); 95% CI from Student t with n − 1 df. accuracyStd: std of test accuracy over the last N evaluated rounds (N as in the table); meanAbsChange: mean |acc_t − acc_{t−1}|; other metrics: the final round (finalAccuracy: mean of the last rounds).',
    '',
  ].join('\n');
}

// Training-stability statistics of one run's test curve (spec §3): how much the global model's accuracy oscillates,
// and in how many rounds its loss blew up. Inputs are per round, null where the round was not evaluated (evalEvery).

/** Spec §3 measures the std over the last 20 rounds; a short run uses its second half. */
export const STABILITY_MAX_WINDOW = 20;
/** A round "diverges" when its test loss exceeds this many times the first evaluated round's. */
export const DIVERGENCE_FACTOR = 10;

const evaluated = (xs: ReadonlyArray<number | null>): number[] => xs.filter((x): x is number => x !== null);

/** N for lastRoundsStd: min(20, ⌊half the evaluated rounds⌋), at least 1. */
export function stabilityWindow(evaluatedRounds: number): number {
  return Math.max(1, Math.min(STABILITY_MAX_WINDOW, Math.floor(evaluatedRounds / 2)));
}

/** Sample standard deviation (n − 1) of the last `n` evaluated accuracies; 0 with one, NaN with none. */
export function lastRoundsStd(accuracies: ReadonlyArray<number | null>, n: number): number {
  const xs = evaluated(accuracies).slice(-n);
  if (xs.length === 0) return NaN;
  if (xs.length === 1) return 0;
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  return Math.sqrt(xs.reduce((s, x) => s + (x - m) ** 2, 0) / (xs.length - 1));
}

/** Mean |acc_t − acc_{t−1}| over consecutive evaluated rounds (a skipped round is bridged); NaN with fewer than 2. */
export function meanAbsChange(accuracies: ReadonlyArray<number | null>): number {
  const xs = evaluated(accuracies);
  if (xs.length < 2) return NaN;
  let s = 0;
  for (let i = 1; i < xs.length; i++) s += Math.abs(xs[i] - xs[i - 1]);
  return s / (xs.length - 1);
}

/**
 * Evaluated rounds whose test loss is NaN or infinite, or above DIVERGENCE_FACTOR × the first evaluated round's loss
 * (when that one is finite). `losses` holds null for a round not evaluated, NaN for a loss that was not a number.
 */
export function divergingRounds(losses: ReadonlyArray<number | null>): number {
  const xs = evaluated(losses);
  const ref = xs[0];
  return xs.filter((x) => !Number.isFinite(x) || (Number.isFinite(ref) && x > DIVERGENCE_FACTOR * ref)).length;
}

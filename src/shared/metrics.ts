// Evaluation metrics on plain arrays (predicted class ids vs true labels).

function checkPair(fn: string, pred: ArrayLike<number>, labels: ArrayLike<number>): void {
  if (pred.length !== labels.length) throw new Error(`${fn}: ${pred.length} predictions for ${labels.length} labels`);
}

/** Fraction correct; NaN for empty input. */
export function accuracyFromPredictions(pred: ArrayLike<number>, labels: ArrayLike<number>): number {
  checkPair('accuracyFromPredictions', pred, labels);
  let ok = 0;
  for (let i = 0; i < pred.length; i++) if (pred[i] === labels[i]) ok++;
  return pred.length === 0 ? NaN : ok / pred.length;
}

/** cm[trueLabel][predicted]. */
export function confusionMatrix(pred: ArrayLike<number>, labels: ArrayLike<number>, numClasses: number): Int32Array[] {
  checkPair('confusionMatrix', pred, labels);
  const cm = Array.from({ length: numClasses }, () => new Int32Array(numClasses));
  for (let i = 0; i < pred.length; i++) {
    const t = labels[i], p = pred[i];
    if (!(t >= 0 && t < numClasses && p >= 0 && p < numClasses && Number.isInteger(t) && Number.isInteger(p))) {
      throw new Error(`confusionMatrix: sample ${i} has label ${t} / prediction ${p} outside 0..${numClasses - 1}`);
    }
    cm[t][p]++;
  }
  return cm;
}

/** cm[trueLabel][predicted], as confusionMatrix builds it or as it reads back from JSON. */
export type Confusion = ReadonlyArray<ArrayLike<number>>;

function rowSum(row: ArrayLike<number>): number {
  let n = 0;
  for (let j = 0; j < row.length; j++) n += row[j];
  return n;
}

/** Mean of the finite values; NaN when there are none (a class with no test samples has recall NaN and is skipped). */
function meanFinite(xs: readonly number[]): number {
  const ok = xs.filter(Number.isFinite);
  return ok.length ? ok.reduce((a, b) => a + b, 0) / ok.length : NaN;
}

/** R_c = TP_c / (TP_c + FN_c) per row of cm[true][pred]; NaN for a class with no samples. */
export function perClassRecall(cm: Confusion): number[] {
  return Array.from(cm, (row, c) => {
    const n = rowSum(row);
    return n === 0 ? NaN : row[c] / n;
  });
}

/** Mean per-class recall over the classes that have test samples; NaN with none. */
export function balancedAccuracy(cm: Confusion): number {
  return meanFinite(perClassRecall(cm));
}

/**
 * Mean over the classes present in the test set of F1_c = 2·P_c·R_c / (P_c + R_c), 0 when P_c + R_c = 0. A class
 * never predicted has P_c = 0 (not NaN), so a model that ignores a class is charged for it. NaN with no samples.
 */
export function macroF1(cm: Confusion): number {
  const f1: number[] = [];
  for (let c = 0; c < cm.length; c++) {
    const n = rowSum(cm[c]);
    if (n === 0) continue;
    let predicted = 0;
    for (const row of cm) predicted += row[c];
    const tp = cm[c][c];
    const p = predicted === 0 ? 0 : tp / predicted;
    const r = tp / n;
    f1.push(p + r === 0 ? 0 : (2 * p * r) / (p + r));
  }
  return f1.length ? f1.reduce((a, b) => a + b, 0) / f1.length : NaN;
}

export interface ClassGroups {
  head: number[];
  mid: number[];
  tail: number[];
}

/** Spec §6: head = the 3 most frequent training classes, tail = the 3 rarest. */
export const HEAD_TAIL_SIZE = 3;

/**
 * Head / mid / tail class ids (each ascending) of a run's global training class counts. Classes are ranked by count,
 * a tie going to the lower class id as the more frequent; classes with no training samples are in no group. With n
 * classes present, head and tail take min(3, ⌊n/2⌋) classes each so that they never overlap, and mid the rest: the
 * spec's 3/(n−6)/3 from n = 6 up (n = 6 leaves mid empty), 2/1/2 at 5, 2/0/2 at 4, 1/1/1 at 3, 1/0/1 at 2, 0/1/0 at 1.
 */
export function headMidTail(trainClassCounts: ArrayLike<number>): ClassGroups {
  const order = Array.from(trainClassCounts, (n, c) => ({ n, c }))
    .filter((x) => x.n > 0)
    .sort((a, b) => b.n - a.n || a.c - b.c)
    .map((x) => x.c);
  const g = Math.min(HEAD_TAIL_SIZE, Math.floor(order.length / 2));
  const asc = (xs: number[]) => xs.sort((a, b) => a - b);
  return { head: asc(order.slice(0, g)), mid: asc(order.slice(g, order.length - g)), tail: asc(order.slice(order.length - g)) };
}

/** Mean recall over `classes`, skipping classes with no test samples (NaN recall); NaN when none is left. */
export function groupRecall(recall: readonly number[], classes: readonly number[]): number {
  return meanFinite(classes.map((c) => recall[c] ?? NaN));
}

/** The lowest recall of a class with test samples; NaN when there is none. */
export function worstClassRecall(recall: readonly number[]): number {
  const ok = recall.filter(Number.isFinite);
  return ok.length ? Math.min(...ok) : NaN;
}

/** Spec §6's imbalance metrics of one evaluation, fractions of 1; NaN where a metric has nothing to average (e.g. an empty mid group). */
export interface ImbalanceMetrics {
  balancedAccuracy: number;
  macroF1: number;
  headRecall: number;
  midRecall: number;
  tailRecall: number;
  worstClassRecall: number;
  headClasses: number[];
  tailClasses: number[];
}

/** `cm` on the test set; head / mid / tail from the run's global training class counts (headMidTail). */
export function imbalanceMetrics(cm: Confusion, trainClassCounts: ArrayLike<number>): ImbalanceMetrics {
  const recall = perClassRecall(cm);
  const groups = headMidTail(trainClassCounts);
  return {
    balancedAccuracy: balancedAccuracy(cm),
    macroF1: macroF1(cm),
    headRecall: groupRecall(recall, groups.head),
    midRecall: groupRecall(recall, groups.mid),
    tailRecall: groupRecall(recall, groups.tail),
    worstClassRecall: worstClassRecall(recall),
    headClasses: groups.head,
    tailClasses: groups.tail,
  };
}

/** First 1-based round whose best-so-far accuracy ≥ target, or null (NaN and null, a round not evaluated, are skipped). */
export function roundsToTarget(accuracies: ReadonlyArray<number | null>, target: number): number | null {
  let best = -Infinity;
  for (let i = 0; i < accuracies.length; i++) {
    const a = accuracies[i];
    if (a !== null && a > best) best = a;
    if (best >= target) return i + 1;
  }
  return null;
}

/** Share of class `source` samples predicted as `target` (a targeted attack's success rate); NaN with no `source` samples. */
export function attackSuccessRate(cm: Confusion, source: number, target: number): number {
  const row = cm[source];
  const n = rowSum(row);
  return n === 0 ? NaN : row[target] / n;
}

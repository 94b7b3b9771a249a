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

/** R_c = TP_c / (TP_c + FN_c) per row of cm[true][pred]; NaN for a class with no samples. */
export function perClassRecall(cm: Int32Array[]): number[] {
  return cm.map((row, c) => {
    let n = 0;
    for (let j = 0; j < row.length; j++) n += row[j];
    return n === 0 ? NaN : row[c] / n;
  });
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
export function attackSuccessRate(cm: Int32Array[], source: number, target: number): number {
  const row = cm[source];
  let n = 0;
  for (let j = 0; j < row.length; j++) n += row[j];
  return n === 0 ? NaN : row[target] / n;
}

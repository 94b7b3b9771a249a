// Local accuracy (spec §4, issue 9's FedAlign metrics): each client's model scored on a test split with that client's
// own label mix. The coordinator knows every partition's class counts and holds each slot's personal model (FedAlign,
// local LoRA), so it computes this itself from per-class test recall, without asking clients to evaluate:
//   acc_k = Σ_c p_{k,c}·recall_c(w_k),  p_{k,c} = n_{k,c}/n_k, over the classes with test samples (renormalised).
// A strategy without personal models scores the global model for every slot (only p changes), at no extra cost.

/** Σ_c p_c·recall_c with p the histogram's shares, over classes whose recall is a number; NaN for an empty histogram. */
export function labelMatchedAccuracy(recall: readonly number[], histogram: readonly number[]): number {
  let num = 0;
  let den = 0;
  histogram.forEach((n, c) => {
    const r = recall[c];
    if (n > 0 && Number.isFinite(r)) {
      num += n * r;
      den += n;
    }
  });
  return den > 0 ? num / den : NaN;
}

export interface LocalAccuracy {
  /** Mean over the slots that hold training data. */
  mean: number;
  /** Per slot (NaN for an empty one). */
  bySlot: number[];
}

/**
 * acc_k for every slot: with personal[k] where the strategy keeps one (scored by `evaluate`, per-class recall on
 * the test set), else with the global model's `globalRecall`.
 */
export async function localAccuracy(
  histograms: readonly (readonly number[])[],
  globalRecall: readonly number[],
  personal: Readonly<Record<number, Float32Array>> | undefined,
  evaluate: (weights: Float32Array) => Promise<{ recall: readonly number[] }>,
): Promise<LocalAccuracy | null> {
  if (histograms.length === 0) return null;
  const bySlot: number[] = [];
  for (let k = 0; k < histograms.length; k++) {
    const own = personal?.[k];
    const recall = own ? (await evaluate(own)).recall : globalRecall;
    bySlot.push(labelMatchedAccuracy(recall, histograms[k]));
  }
  const scored = bySlot.filter(Number.isFinite);
  return { mean: scored.length ? scored.reduce((a, b) => a + b, 0) / scored.length : NaN, bySlot };
}

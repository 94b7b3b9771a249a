// Bulyan (El Mhamdi, Guerraoui, Rouault, "The Hidden Vulnerability of Distributed Learning in Byzantium",
// ICML 2018, arXiv 1802.07927) over Krum, on n update vectors of which f may be Byzantine; requires n ≥ 4f + 3.
//   Selection: θ = n − 2f times, run Krum on the REMAINING updates R (n' = |R|):
//     score(k) = Σ_{j ∈ N_k} ‖Δ_k − Δ_j‖²,  N_k = the max(1, n' − f − 2) nearest other j ∈ R
//     move argmin score (ties: lower original index) from R to the selection set S.
//   Aggregation, per coordinate i: of the θ values {Δ_k[i] : k ∈ S} keep the β = θ − 2f closest to their median
//     and average them.
// The late Krum rounds have n' < 2f + 3 (the last one n' = 2f + 1), where n' − f − 2 ≤ 0 would make every score 0
// and hand the pick to index order — an outlier listed first would then be selected. Like Flower's aggregate_krum
// (which its Bulyan calls), we therefore always sum at least the single nearest distance.
import { byClient, deltas, validateInput } from './common';
import { BYZANTINE, krumScore } from './krum';
import { defineStrategy } from './strategy';
import { meanAroundMedianColumns } from './kernels/mean-around-median';
import { pairwiseSquaredDistances } from './vector-math';

export function bulyanMinUpdates(f: number): number {
  return 4 * f + 3;
}

/**
 * Selection order by iterated Krum on the pairwise squared distances `dist` (n×n, row-major).
 * Returns θ original indices in selection order.
 */
function iteratedKrum(dist: Float64Array, n: number, f: number, theta: number): number[] {
  const remaining: number[] = Array.from({ length: n }, (_, k) => k);
  const selected: number[] = [];
  const others = new Float64Array(n);
  while (selected.length < theta) {
    const np = remaining.length;
    const nearest = Math.min(np - 1, Math.max(1, np - f - 2));
    let best = -1;
    let bestScore = Infinity;
    // `remaining` stays in ascending original order, so the first strict minimum is the lowest-index tie.
    for (const k of remaining) {
      const s = krumScore(dist, n, k, remaining, nearest, others);
      if (best < 0 || s < bestScore) {
        best = k;
        bestScore = s;
      }
    }
    selected.push(best);
    remaining.splice(remaining.indexOf(best), 1);
  }
  return selected;
}

/** Throws Error(`bulyan needs n >= 4f + 3: n=${n}, f=${f}`) when too few. */
export function bulyanAggregate(ds: readonly Float32Array[], f: number): { aggregate: Float64Array; selected: number[] } {
  if (!Number.isInteger(f) || f < 0) throw new Error(`bulyan: f must be an integer >= 0, got ${f}`);
  const n = ds.length;
  if (n < bulyanMinUpdates(f)) throw new Error(`bulyan needs n >= 4f + 3: n=${n}, f=${f}`);
  const len = ds[0].length;
  for (const d of ds) if (d.length !== len) throw new Error(`bulyan: length mismatch (${d.length} vs ${len})`);

  const theta = n - 2 * f;
  const beta = theta - 2 * f;
  // One distance matrix; every Krum round reads its sub-matrix on the remaining updates.
  const selected = iteratedKrum(pairwiseSquaredDistances(ds), n, f, theta);

  return { aggregate: meanAroundMedianColumns(selected.map((k) => ds[k]), beta), selected };
}

export const bulyan = defineStrategy({
  name: 'bulyan',
  summary: 'Krum selection of n − 2f updates, then a per-coordinate mean of the n − 4f closest to the median (§9); needs n ≥ 4f + 3',
  params: { byzantine: BYZANTINE },
  keepsPartialWork: true,
  needsAllUpdates: true,
  minUpdates: (p) => bulyanMinUpdates(p.byzantine),
  shortfall: { kind: 'skip' },
  create: (p) => ({
    name: 'bulyan',
    initState: () => null,
    aggregate(input) {
      validateInput('bulyan', input);
      const { updates } = input;
      const { aggregate, selected } = bulyanAggregate(deltas(updates), p.byzantine);
      const chosen = new Set(selected);
      // The coordinate-wise trimmed mean has no per-client weight: the selected clients share it equally.
      const weights = updates.map((_, k) => (chosen.has(k) ? 1 / selected.length : 0));
      return {
        result: {
          step: aggregate,
          clientWeights: byClient(updates, weights),
          flagged: updates.flatMap((u, k) => (chosen.has(k) ? [] : [{ clientId: u.clientId, reason: `bulyan: not selected by Krum (kept ${selected.length} of ${updates.length})` }])),
        },
        state: null,
      };
    },
  }),
});


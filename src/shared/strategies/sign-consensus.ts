// FedMChain's Sparse Sign-guided Consensus Aggregation (SSCA), spec §5 "Server SSCA" [I]: sign agreement A_kj
// between the (sparse) client updates, agglomerative clustering on 1 − A with threshold 0.5, keep the largest
// cluster, TIES-merge it (Yadav et al. NeurIPS'23). signMajority is the §5 reference baseline, signSGD with
// majority vote (Bernstein et al. 2018). Pure Float32Array math: the strategy applies η_g and rejects non-finite
// deltas (validateInput) before calling in.

/** §5: agglomerative clustering merges clients whose sign distance 1 − A is below 0.5 (they agree on > half). */
export const SSCA_THRESHOLD = 0.5;

export interface SscaOptions {
  /** Merge while the closest clusters' average distance 1 − A is < threshold (default 0.5). */
  threshold?: number;
}

export interface SscaResult {
  /** TIES merge of the kept clients' deltas (η_g not applied). */
  step: Float32Array;
  /** Client indices (into deltas) of the largest cluster, ascending. */
  kept: number[];
  /** The other clusters, logged as suspicious; same order as agglomerativeClusters. */
  suspicious: number[][];
  /** K×K row-major A_kj. */
  agreement: Float64Array;
}

/** Length shared by all deltas; throws on an empty list or a length mismatch. */
function checkDeltas(who: string, deltas: readonly Float32Array[]): number {
  if (deltas.length === 0) throw new Error(`${who}: no deltas`);
  const len = deltas[0].length;
  for (const d of deltas) if (d.length !== len) throw new Error(`${who}: length mismatch (${d.length} vs ${len})`);
  return len;
}

/**
 * A = #{i : s_ai = s_bi ≠ 0} / #{i : s_ai ≠ 0 ∧ s_bi ≠ 0}, s = sign. Magnitudes are ignored. With no common
 * support the ratio is 0/0; we define it as 0 (nothing agrees), so disjoint sparse updates are never merged.
 */
export function signAgreement(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new Error(`signAgreement: length mismatch (${a.length} vs ${b.length})`);
  let agree = 0;
  let common = 0;
  for (let i = 0; i < a.length; i++) {
    // A float32×float32 product is exact in float64, so its sign is s_ai·s_bi (no underflow to 0).
    const p = a[i] * b[i];
    if (p !== 0) {
      common++;
      if (p > 0) agree++;
    }
  }
  return common > 0 ? agree / common : 0;
}

function hasSupport(v: Float32Array): boolean {
  for (let i = 0; i < v.length; i++) if (v[i] !== 0) return true;
  return false;
}

/** K×K row-major A_kj, symmetric; the diagonal is 1 for a nonzero vector and 0 for a zero one (no support). */
export function agreementMatrix(deltas: readonly Float32Array[]): Float64Array {
  const k = deltas.length;
  if (k > 0) checkDeltas('agreementMatrix', deltas);
  const a = new Float64Array(k * k);
  for (let i = 0; i < k; i++) {
    a[i * k + i] = hasSupport(deltas[i]) ? 1 : 0;
    for (let j = 0; j < i; j++) a[i * k + j] = a[j * k + i] = signAgreement(deltas[i], deltas[j]);
  }
  return a;
}

/**
 * Average-linkage agglomerative clustering of k items on a k×k distance matrix (row-major; the upper triangle
 * is read). Merges the closest pair of clusters while their average pairwise distance is strictly < threshold.
 * Average linkage is our choice [I]: §5 says only "agglomerative clustering on 1 − A with threshold 0.5"; single
 * linkage would chain a drifting attacker into the honest group, complete linkage splits honest clients on one
 * noisy pair. Deterministic: equal distances go to the pair with the lowest (smallest-member) indices.
 * Returns clusters sorted by size descending, then by smallest member; members ascending.
 */
export function agglomerativeClusters(distance: Float64Array, k: number, threshold: number): number[][] {
  if (!Number.isInteger(k) || k < 0 || distance.length !== k * k) {
    throw new Error(`agglomerativeClusters: ${distance.length} distances for k=${k}; need k×k`);
  }
  if (!Number.isFinite(threshold)) throw new Error(`agglomerativeClusters: threshold must be finite, got ${threshold}`);
  // Kept ordered by smallest member, so scan order = tie order. sums[a][b] = Σ distances between clusters a and b
  // (exact merge update; the average is sums / (|a|·|b|)).
  const clusters: number[][] = Array.from({ length: k }, (_, i) => [i]);
  const sums: number[][] = Array.from({ length: k }, (_, i) =>
    Array.from({ length: k }, (_, j) => distance[Math.min(i, j) * k + Math.max(i, j)]),
  );
  for (;;) {
    const pair = closestPair(clusters, sums, threshold);
    if (!pair) break;
    mergeInto(clusters, sums, pair[0], pair[1]);
  }
  return clusters
    .map((c) => [...c].sort((x, y) => x - y))
    .sort((x, y) => y.length - x.length || x[0] - y[0]);
}

/** First pair (a < b in scan order) with the smallest average distance, if that is < threshold. */
function closestPair(clusters: readonly number[][], sums: readonly number[][], threshold: number): [number, number] | null {
  let best: [number, number] | null = null;
  let bestD = threshold;
  for (let a = 0; a < clusters.length; a++) {
    for (let b = a + 1; b < clusters.length; b++) {
      const d = sums[a][b] / (clusters[a].length * clusters[b].length);
      if (d < bestD) {
        bestD = d;
        best = [a, b];
      }
    }
  }
  return best;
}

/** Merge cluster b into a (a < b, so a keeps the smaller member and the list stays ordered). */
function mergeInto(clusters: number[][], sums: number[][], a: number, b: number): void {
  for (let c = 0; c < clusters.length; c++) {
    if (c === a || c === b) continue;
    sums[a][c] += sums[b][c];
    sums[c][a] = sums[a][c];
  }
  clusters[a] = clusters[a].concat(clusters[b]);
  clusters.splice(b, 1);
  sums.splice(b, 1);
  for (const row of sums) row.splice(b, 1);
}

/** The largest cluster is kept, the rest are suspicious; equal sizes → the cluster holding the lowest index. */
export function largestCluster(clusters: readonly (readonly number[])[]): { kept: number[]; suspicious: number[][] } {
  if (clusters.length === 0) throw new Error('largestCluster: no clusters');
  const low = (c: readonly number[]) => Math.min(...c);
  let best = 0;
  for (let c = 1; c < clusters.length; c++) {
    const dn = clusters[c].length - clusters[best].length;
    if (dn > 0 || (dn === 0 && low(clusters[c]) < low(clusters[best]))) best = c;
  }
  return {
    kept: [...clusters[best]],
    suspicious: clusters.filter((_, c) => c !== best).map((c) => [...c]),
  };
}

/**
 * TIES merge (§5 step 4): elect γ_i = sign(Σ_k Δ_{k,i}) (the sum, so magnitudes vote, not a count), then the
 * disjoint mean Δ_i = mean{Δ_{k,i} : sign(Δ_{k,i}) = γ_i}. Zeros never count (they are TopK-dropped coordinates,
 * not votes for 0); γ_i = 0 gives 0. Accumulates in float64.
 */
export function tiesMerge(deltas: readonly Float32Array[]): Float32Array {
  const len = checkDeltas('tiesMerge', deltas);
  const sum = new Float64Array(len);
  for (const d of deltas) for (let i = 0; i < len; i++) sum[i] += d[i];
  const agreeing = new Float64Array(len);
  const count = new Uint32Array(len);
  for (const d of deltas) {
    for (let i = 0; i < len; i++) {
      const v = d[i];
      const s = sum[i];
      if (s > 0 ? v > 0 : s < 0 && v < 0) {
        agreeing[i] += v;
        count[i]++;
      }
    }
  }
  const out = new Float32Array(len);
  for (let i = 0; i < len; i++) if (count[i] > 0) out[i] = agreeing[i] / count[i];
  return out;
}

/** signSGD with majority vote (§5 step 5): scale·sign(Σ_k sign(Δ_k)); a tied vote gives 0. */
export function signMajority(deltas: readonly Float32Array[], scale = 1): Float32Array {
  const len = checkDeltas('signMajority', deltas);
  if (!Number.isFinite(scale)) throw new Error(`signMajority: scale must be finite, got ${scale}`);
  const votes = new Int32Array(len);
  for (const d of deltas) for (let i = 0; i < len; i++) votes[i] += d[i] > 0 ? 1 : d[i] < 0 ? -1 : 0;
  const out = new Float32Array(len);
  for (let i = 0; i < len; i++) if (votes[i] !== 0) out[i] = votes[i] > 0 ? scale : -scale;
  return out;
}

/** SSCA for one modality: agreement → clusters on 1 − A → keep the largest → TIES merge of the kept deltas. */
export function ssca(deltas: readonly Float32Array[], opts: SscaOptions = {}): SscaResult {
  checkDeltas('ssca', deltas);
  const agreement = agreementMatrix(deltas);
  const distance = agreement.map((a) => 1 - a);
  const clusters = agglomerativeClusters(distance, deltas.length, opts.threshold ?? SSCA_THRESHOLD);
  const { kept, suspicious } = largestCluster(clusters);
  return { step: tiesMerge(kept.map((k) => deltas[k])), kept, suspicious, agreement };
}

// FedAlign's query-based aggregation (spec §4, browser-feasible specification, server step (b)): the class
// ("text") features z_c are queries, the clients' class prototypes u_{j,c} are keys.
//   π_{j,c} ∝ exp(cos(z_c, u_{j,c})/τ_a)·n_{j,c}, normalised over clients j (τ_a = 0.1)
//   β_{kj}  ∝ Σ_{c∈C_k} (n_{k,c}/n_k)·π_{j,c}, normalised over j; client k's high-level LoRA = Σ_j β_{kj} LoRA_j.
// Pure arithmetic on typed arrays, no tfjs. [I] choices: cos with a zero vector is 0; a class nobody holds gets
// π = 0 for every client; a client with no samples gets the global weights n_j/n (uniform when n = 0).
import { cosine, weightedSum } from './vector-math';

export interface ClientPrototypes {
  /** u_{j,c} per class c, null when the client has no sample of c. */
  u: (Float32Array | null)[];
  /** n_{j,c} per class c. */
  n: number[];
}

/** π[j][c]: client j's share of class c (each class's column sums to 1 over the clients that hold it, else 0). */
export function classRelevance(z: readonly Float32Array[], prototypes: readonly ClientPrototypes[], tauA = 0.1): number[][] {
  if (!(tauA > 0)) throw new Error(`classRelevance: tauA must be > 0, got ${tauA}`);
  const numClasses = z.length;
  prototypes.forEach((p, j) => {
    if (p.u.length !== numClasses || p.n.length !== numClasses) {
      throw new Error(`classRelevance: client ${j} has ${p.u.length} prototypes / ${p.n.length} counts for ${numClasses} classes`);
    }
  });
  const pi = prototypes.map(() => new Array<number>(numClasses).fill(0));
  for (let c = 0; c < numClasses; c++) {
    // Work with log-scores cos/τ_a + log n; subtracting their max keeps exp ≤ 1 (cos/τ_a reaches ±10 at τ_a = 0.1,
    // and with small τ_a or large n a plain exp·n would overflow or lose the small clients).
    const logits: number[] = [];
    let max = -Infinity;
    prototypes.forEach((p, j) => {
      const n = p.n[c];
      if (!(n >= 0)) throw new Error(`classRelevance: client ${j} class ${c} count ${n} is not >= 0`);
      const u = p.u[c];
      if (n === 0) {
        logits.push(-Infinity);
        return;
      }
      if (!u) throw new Error(`classRelevance: client ${j} reports ${n} samples of class ${c} but no prototype`);
      if (u.length !== z[c].length) throw new Error(`classRelevance: client ${j} class ${c} prototype has ${u.length} dims, z_c has ${z[c].length}`);
      const l = cosine(z[c], u) / tauA + Math.log(n);
      logits.push(l);
      if (l > max) max = l;
    });
    if (max === -Infinity) continue; // nobody holds class c
    let sum = 0;
    const e = logits.map((l) => (l === -Infinity ? 0 : Math.exp(l - max)));
    for (const v of e) sum += v;
    e.forEach((v, j) => (pi[j][c] = v / sum));
  }
  return pi;
}

/** β[k][j]: how much client j's LoRA goes into client k's; rows sum to 1. counts[k][c] = n_{k,c}. */
export function clientMixing(pi: readonly (readonly number[])[], counts: readonly (readonly number[])[]): number[][] {
  const clients = pi.length;
  if (counts.length !== clients) throw new Error(`clientMixing: ${counts.length} count rows for ${clients} clients`);
  const totals = counts.map((row) => row.reduce((s, v) => s + v, 0));
  const all = totals.reduce((s, v) => s + v, 0);
  const fallback = totals.map((t) => (all > 0 ? t / all : 1 / clients));
  return counts.map((row, k) => {
    if (row.length !== pi[0].length) throw new Error(`clientMixing: client ${k} has ${row.length} counts for ${pi[0].length} classes`);
    const beta = new Array<number>(clients).fill(0);
    if (totals[k] > 0) {
      row.forEach((n, c) => {
        if (n === 0) return; // c ∉ C_k
        for (let j = 0; j < clients; j++) beta[j] += (n / totals[k]) * pi[j][c];
      });
    }
    const sum = beta.reduce((s, v) => s + v, 0);
    // Σ_j π_{j,c} = 1 for every c that k holds, so sum is 1 up to rounding; it is 0 only for a client without data.
    return sum > 0 ? beta.map((b) => b / sum) : fallback.slice();
  });
}

/** Σ_j w_j·v_j, accumulated in float64 (a float32 running sum loses small contributions). */
export function mixVectors(weights: readonly number[], vectors: readonly Float32Array[]): Float32Array {
  if (weights.length !== vectors.length) throw new Error(`mixVectors: ${weights.length} weights for ${vectors.length} vectors`);
  if (vectors.length === 0) throw new Error('mixVectors: no vectors');
  const len = vectors[0].length;
  vectors.forEach((v, j) => {
    if (v.length !== len) throw new Error(`mixVectors: vector ${j} has length ${v.length}, expected ${len}`);
  });
  return Float32Array.from(weightedSum(vectors, weights));
}

// Fed-Adaptive-Next, exactly as spec §2.2 (attention aggregation + Dynamic Weighting Strategy). S = received updates.
//
// 1. Reference r_t = g_{t−1} := w_t − w_{t−1}, the step the server applied last round (input.previousStep). Round 1, no
//    previous step, or a previous step of another length: the coordinate-wise median of {Δ_k}. Per layer, a
//    previous step that is zero in that layer (e.g. nothing was applied) also falls back to the median's layer.
// 2. Attention per layer l on flattened tensors (over all of S, before DWS drops anyone):
//      c_k^l = cos(Δ_k^l, r^l),   h_k^l = mean_{j≠k} cos(Δ_k^l, Δ_j^l)  (0 when |S| = 1)
//      a_k^l = softmax_k((½c_k^l + ½h_k^l)/τ) · 1[c_k^l > 0], renormalised over k   (τ = ∞: uniform; gate optional)
//    cos with a zero vector is 0, so a zero Δ_k^l is gated out.
// 3. DWS: δ_k = [(L_k^(E) − L_k^(1))/L_k^(1)]_+ (0 with fewer than 2 epochs or L^(1) <= 0),
//    n̂_k = [z(‖Δ_k‖) − 2]_+, v̂_k = [z(v_k) − 2]_+ with v_k = std/mean of the last epoch's batch losses (population
//    std; 0 with fewer than 2 batches or mean <= 0), z(x) = (x − med)/(1.4826·MAD) over S (0 if MAD = 0);
//    u_k = γ_δ δ_k + γ_v v̂_k + γ_n n̂_k (+ γ_val·[val_k]_+ with a server validation split; val_k is the relative
//    validation-loss increase of w_t + Δ_k over w_t: our choice of scale for the spec's optional Zeno-like term),  r_k = e^{−u_k},  ρ_k ← d·ρ_k + (1 − d)·r_k (d = emaDecay 0.7; ρ starts
//    at 1 per clientId and persists across rounds in state), then drop every client with ρ_k < threshold (0.1).
// 4. Clip Δ_k ← Δ_k·min(1, M/‖Δ_k‖), M = median ‖Δ_j‖ over S (received updates, before drops).
//    p_k^l ∝ n_k·a_k^l·ρ_k over kept clients, normalised;  Δ^l = Σ_k p_k^l Δ_k^l (then the server optimizer).
//    Fallback, per layer: if Σ_k n_k a_k^l ρ_k = 0 (every kept client gated out in layer l), that layer's step is
//    the coordinate-wise median of the kept clients' clipped Δ_k^l; its layerWeights are the nominal 1/|kept|.
//    A kept client gated out in every (non-empty) layer is flagged 'gated out: cos<=0 in all layers'. If DWS drops
//    every client, w is kept unchanged (step 0) and all are flagged.
// Reference variants (spec §2.2 ablations): 'previous-step' (above, the default), 'median' (the coordinate-wise
// median of {Δ_k} every round), 'root-update' (FLTrust's Δ₀ on the server root set, input.serverUpdate).
// Ablations: attention=false → a ≡ 1 and no gate; weighting=false → ρ ≡ 1, no drops, ρ state untouched;
// τ = ∞ with gate=false, clipToMedian=false and weighting=false is FedAvg.
import * as v from 'valibot';
import { boolField, enumField, numberField } from '../schema/fields';
import { defineStrategy, type AggregationInput, type AggregationResult, type StrategyUpdate } from './strategy';
import { byClient, deltas, validateInput } from './common';
import { clipFactor } from './clip';
import { meanCosines, squaresAndDots } from './kernels/mean-cosine';
import { coordinateMedian, cosineFromDots, median, robustZ, softmax, weightedSum } from './vector-math';

export interface FedAdaptiveNextState {
  /** ρ_k per clientId; a client not present has ρ = 1. */
  reliability: Readonly<Record<string, number>>;
}

/** Fed-Adaptive-Next's reference direction (spec §2.2 and its ablations). */
export const FAN_REFERENCES = ['previous-step', 'median', 'root-update'] as const;

export const FAN_PARAMS = {
  tau: numberField({ default: 0.2, gt: 0, infinite: true, help: 'Fed-Adaptive-Next attention temperature τ (Infinity = uniform)' }),
  gate: boolField(true, 'Fed-Adaptive-Next cosine gate 1[c > 0]'),
  reference: enumField(FAN_REFERENCES, 'previous-step', 'Fed-Adaptive-Next reference direction r_t'),
  attention: boolField(true, 'Fed-Adaptive-Next attention (false = DWS-only ablation)'),
  weighting: boolField(true, 'Fed-Adaptive-Next dynamic weighting (false = attention-only ablation)'),
  reliabilityThreshold: numberField({ default: 0.1, min: 0, max: 1, help: 'Fed-Adaptive-Next: drop a client whose reliability ρ is below this' }),
  emaDecay: numberField({ default: 0.7, min: 0, max: 1, help: 'Fed-Adaptive-Next reliability EMA decay' }),
  gammaDelta: numberField({ default: 5, min: 0, max: 1e6, help: 'Fed-Adaptive-Next γ_δ (loss divergence)' }),
  gammaV: numberField({ default: 1, min: 0, max: 1e6, help: 'Fed-Adaptive-Next γ_v (batch-loss variation)' }),
  gammaN: numberField({ default: 1, min: 0, max: 1e6, help: 'Fed-Adaptive-Next γ_n (update norm)' }),
  clipToMedian: boolField(true, 'Fed-Adaptive-Next: clip updates to the median norm'),
  validation: numberField({ default: 0, int: true, min: 0, max: 500, help: 'Fed-Adaptive-Next server validation images (0 = off; spec: 500)' }),
  gammaVal: numberField({ default: 5, min: 0, max: 1e6, help: 'Fed-Adaptive-Next γ_val (validation loss increase)' }),
};
export type FanParams = v.InferOutput<v.ObjectSchema<typeof FAN_PARAMS, undefined>>;

/** [(L^(E) − L^(1))/L^(1)]_+ */
export function lossDivergence(epochLosses: readonly number[]): number {
  if (epochLosses.length < 2) return 0;
  const first = epochLosses[0];
  const last = epochLosses[epochLosses.length - 1];
  if (!(first > 0)) return 0;
  return Math.max(0, (last - first) / first);
}

/** Coefficient of variation std/mean (population std). */
export function coefficientOfVariation(xs: readonly number[]): number {
  if (xs.length < 2) return 0;
  let mean = 0;
  for (const x of xs) mean += x;
  mean /= xs.length;
  if (!(mean > 0)) return 0;
  let v = 0;
  for (const x of xs) v += (x - mean) * (x - mean);
  return Math.sqrt(v / xs.length) / mean;
}

export interface DwsTerms {
  delta: number[];
  normHat: number[];
  varHat: number[];
  /** [validation loss increase]_+ (0 without a server validation split). */
  val: number[];
  u: number[];
  r: number[];
}

/** The DWS terms δ, n̂, v̂, u, r for one round's updates. */
export function dwsTerms(
  updates: readonly StrategyUpdate[],
  norms: readonly number[],
  p: FanParams,
  validationIncrease?: Readonly<Record<string, number>>,
): DwsTerms {
  const delta = updates.map((u) => lossDivergence(u.epochLosses));
  const normHat = robustZ(norms).map((z) => Math.max(0, z - 2));
  const varHat = robustZ(updates.map((u) => coefficientOfVariation(u.batchLosses))).map((z) => Math.max(0, z - 2));
  const val = updates.map((x) => Math.max(0, validationIncrease?.[x.clientId] ?? 0));
  const u = updates.map((_, k) => p.gammaDelta * delta[k] + p.gammaV * varHat[k] + p.gammaN * normHat[k] + p.gammaVal * val[k]);
  return { delta, normHat, varHat, val, u, r: u.map((x) => Math.exp(-x)) };
}

/** Reference r_t as one full-length vector, layer by layer (previous step, or the median where that is missing/zero). */
function reference(input: AggregationInput, ranges: ReadonlyArray<readonly [number, number]>, ds: Float32Array[], prev: Float32Array | null): Float32Array {
  const usePrev = ranges.map(([s, e]) => prev !== null && hasNonzero(prev, s, e));
  if (prev && usePrev.every(Boolean)) return prev;
  const ref = new Float32Array(input.global.length);
  let med: Float64Array | null = null;
  ranges.forEach(([s, e], l) => {
    if (usePrev[l]) {
      ref.set(prev!.subarray(s, e), s);
    } else {
      med ??= coordinateMedian(ds);
      for (let i = s; i < e; i++) ref[i] = med[i];
    }
  });
  return ref;
}

function hasNonzero(v: Float32Array, s: number, e: number): boolean {
  for (let i = s; i < e; i++) if (v[i] !== 0) return true;
  return false;
}

const who = 'fed-adaptive-next';

export const fedAdaptiveNext = defineStrategy({
  name: who,
  summary: 'per-layer attention from the cosine to the reference direction and to the other updates, positive-cosine gate, median fallback; Dynamic Weighting (reliability ρ); clipping at the median norm; optional server validation term (§2.2)',
  params: FAN_PARAMS,
  keepsPartialWork: true,
  needsAllUpdates: true,
  needs: (p) => ({ rootUpdate: p.attention && p.reference === 'root-update', validation: p.validation }),
  create: (params) => ({
    name: who,
    initState: (): FedAdaptiveNextState => ({ reliability: {} }),
    aggregate(input, state: FedAdaptiveNextState) {
      const { ranges } = validateInput(who, input);
      const { updates, global } = input;
      const m = updates.length;
      const ds = deltas(updates);
      const total = global.length;

      // 1. Reference.
      let ref: Float32Array | null = null;
      if (params.attention) {
        if (params.reference === 'root-update') {
          if (!input.serverUpdate || input.serverUpdate.length !== total) {
            throw new Error(`${who}: reference 'root-update' needs input.serverUpdate (the root-set update Δ₀) of ${total} values`);
          }
          ref = input.serverUpdate;
        } else {
          const last = input.previousStep;
          const prev = params.reference === 'previous-step' && input.round > 1 && last?.length === total ? last : null;
          ref = reference(input, ranges, ds, prev);
        }
      }

      // 2. Attention a[l][k], from ‖Δ_k^l‖², ‖r^l‖² and ⟨Δ_k^l, r^l⟩ (one pass per layer) and the mean cosines h
      // (one more, kernels/mean-cosine.ts: O(m·d), not the O(m²·d) of every pairwise cosine).
      const attn: number[][] = [];
      const layerSq: Float64Array[] = [];
      const gatedEverywhere = new Array<boolean>(m).fill(true);
      const useGate = params.attention && params.gate;
      for (const [s, e] of ranges) {
        const { sq, dr } = squaresAndDots(ref ? [...ds, ref] : ds, ref, s, e);
        layerSq.push(sq);
        if (!ref || !dr) {
          attn.push(new Array<number>(m).fill(1));
          continue;
        }
        const c = ds.map((_, k) => cosineFromDots(dr[k], sq[k], sq[m]));
        const h = meanCosines(ds, sq.subarray(0, m), s, e);
        const a = softmax(c.map((ck, k) => 0.5 * ck + 0.5 * h[k]), params.tau);
        if (useGate) {
          for (let k = 0; k < m; k++) {
            if (c[k] > 0) gatedEverywhere[k] = false;
            else a[k] = 0;
          }
          const sum = a.reduce((x, y) => x + y, 0);
          if (sum > 0) for (let k = 0; k < m; k++) a[k] /= sum;
        }
        attn.push(a);
      }
      const norms = ds.map((_, k) => Math.sqrt(layerSq.reduce((acc, sq) => acc + sq[k], 0)));

      // 3. DWS.
      const flagged: AggregationResult['flagged'] = [];
      let rho = new Array<number>(m).fill(1);
      let reliability: Record<string, number> | undefined;
      let nextReliability = state.reliability;
      const kept = new Array<boolean>(m).fill(true);
      if (params.weighting) {
        const t = dwsTerms(updates, norms, params, input.validationIncrease);
        const d = params.emaDecay;
        rho = updates.map((u, k) => d * (state.reliability[u.clientId] ?? 1) + (1 - d) * t.r[k]);
        reliability = byClient(updates, rho);
        nextReliability = { ...state.reliability, ...reliability };
        updates.forEach((u, k) => {
          if (rho[k] < params.reliabilityThreshold) {
            kept[k] = false;
            flagged.push({
              clientId: u.clientId,
              reason:
                `reliability ${rho[k].toFixed(2)} < ${params.reliabilityThreshold}` +
                ` (δ=${t.delta[k].toPrecision(3)}, n̂=${t.normHat[k].toPrecision(3)}, v̂=${t.varHat[k].toPrecision(3)}` +
                (input.validationIncrease ? `, val=${t.val[k].toPrecision(3)}` : '') +
                `, r=${t.r[k].toPrecision(3)})`,
            });
          }
        });
      }
      const keptIdx = updates.map((_, k) => k).filter((k) => kept[k]);

      // 4. Clip, weight, update.
      const bound = median(norms);
      const scale = norms.map((nk) => (params.clipToMedian ? clipFactor(nk, bound) : 1));
      const step = new Float64Array(total);
      const layerWeights: Record<string, number[]> = {};
      for (const u of updates) layerWeights[u.clientId] = [];
      const meanWeight = new Array<number>(m).fill(0);
      ranges.forEach(([s, e], l) => {
        const q = updates.map((u, k) => (kept[k] ? u.numSamples * attn[l][k] * rho[k] : 0));
        const sum = q.reduce((x, y) => x + y, 0);
        let p: number[];
        if (sum > 0) {
          p = q.map((x) => x / sum);
          weightedSum(ds, p.map((pk, k) => pk * scale[k]), step, s, e, 1, true); // step is fresh: zeros
        } else if (keptIdx.length > 0) {
          const med = coordinateMedian(keptIdx.map((k) => ds[k].subarray(s, e)), keptIdx.map((k) => scale[k]));
          step.set(med, s);
          p = kept.map((kk) => (kk ? 1 / keptIdx.length : 0));
        } else {
          p = new Array<number>(m).fill(0);
        }
        p.forEach((pk, k) => {
          layerWeights[updates[k].clientId].push(pk);
          meanWeight[k] += (pk * (e - s)) / total;
        });
      });
      if (useGate) {
        const allGated = keptIdx.length > 0 && keptIdx.every((k) => gatedEverywhere[k]);
        for (const k of keptIdx) {
          if (!gatedEverywhere[k]) continue;
          flagged.push({
            clientId: updates[k].clientId,
            reason: allGated
              ? 'gated out: cos<=0 in all layers (every client gated out: all layers fell back to the coordinate-wise median)'
              : 'gated out: cos<=0 in all layers',
          });
        }
      }
      return {
        result: { step, clientWeights: byClient(updates, meanWeight), layerWeights, flagged, ...(reliability ? { reliability } : {}) },
        state: { reliability: nextReliability },
      };
    },
  }),
});

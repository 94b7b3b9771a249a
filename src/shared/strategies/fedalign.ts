// FedAlign (spec §4, arXiv 2411.15837; most of it our design [I]). Clients (ClientSide.align, model cnn-s-lora)
// train only LoRA factors against the downloaded class features z_c with CE + μ·L_orth, and upload per-class
// prototypes u_{k,c} with counts n_{k,c}, up to F correctly classified features per class, and Δ of their LoRA.
// Server, each round:
//   (a) the text encoder T_θ trains one epoch (Adam, textLr) on the pooled features; z_c ← T_θ(e_c);
//   (b) query-based aggregation: π_{j,c} ∝ exp(cos(z_c, u_{j,c})/τ_a)·n_{j,c}, β_{kj} ∝ Σ_{c∈C_k} (n_{k,c}/n_k)·π_{j,c};
//       client k's high-level (projection) LoRA = Σ_j β_{kj} proj_j, the low-level (FC128) LoRA = Σ_j (n_j/n) fc1_j
//       for everyone. w_k = own_k + Δ_k, own_k being what slot k was sent (w_t before it has one).
// Downlink: z_c on the broadcast (classFeatures), the global model w_{t+1} = Σ_j (n_j/n) w_j (its FC128 part is the
// global low-level LoRA; its projection part is what the test-set evaluation and a slot without its own model use),
// and over each selected client's own port its own model (global FC128 + its own projection LoRA) as ownWeights.
import { numberField } from '../schema/fields';
import { classFeatures, FEATURE_DIM, initTextEncoder, trainTextEncoder } from '../ml/text-encoder';
import { deriveSeed } from '../prng';
import { byClient, validateInput } from './common';
import { ALIGN_MU, LORA_OPTIMIZER, blockRange, clientModels, HIGH_LEVEL_PREFIX, LOW_LEVEL_PREFIX, ownPayload, type OwnWeights } from './lora-common';
import { classRelevance, clientMixing, type ClientPrototypes } from './query-aggregation';
import { defineStrategy, type UploadProblem } from './strategy';
import { weightedSum } from './vector-math';

const who = 'fedalign';
/** Classes of every dataset fedtab has (MNIST, Fashion-MNIST). */
export const ALIGN_CLASSES = 10;
/** The clients' cosine temperature τ (cnn-s-lora's COSINE_TAU), which the text encoder trains with too. */
const TAU = 0.07;
const TEXT_BATCH = 64;

export interface FedAlignState {
  /** θ of the text encoder. */
  theta: Float32Array;
  /** z_c = T_θ(e_c), [C × 64]. */
  z: Float32Array;
  own: OwnWeights;
}

type Params = { alignFeatures: number };

const shapes = (p: Params) => ({
  classFeatures: { length: ALIGN_CLASSES * FEATURE_DIM },
  prototypes: { length: ALIGN_CLASSES * FEATURE_DIM },
  protoCounts: { length: ALIGN_CLASSES },
  features: { width: FEATURE_DIM, maxRows: ALIGN_CLASSES * p.alignFeatures },
  featureLabels: { width: 1, maxRows: ALIGN_CLASSES * p.alignFeatures },
});

/** What the lengths alone do not say: counts are the coordinator's own, labels are real classes within the cap. */
export function checkAlignUpload(p: Params, e: Readonly<Record<string, Float32Array>>, slot: { classCounts: readonly number[] }): UploadProblem | null {
  const counts = e.protoCounts;
  const c = counts.length;
  for (let k = 0; k < c; k++) {
    const n = counts[k];
    if (!Number.isInteger(n) || n < 0) return { reason: 'malformed', detail: `protoCounts[${k}] is ${n}, not a count` };
    if (n !== (slot.classCounts[k] ?? 0)) return { reason: 'wrong-sample-count', detail: `protoCounts[${k}] is ${n}; the slot holds ${slot.classCounts[k] ?? 0} samples of class ${k}` };
    if (n === 0 && e.prototypes.subarray(k * FEATURE_DIM, (k + 1) * FEATURE_DIM).some((x) => x !== 0)) {
      return { reason: 'malformed', detail: `prototypes: class ${k} has no samples but a non-zero prototype` };
    }
  }
  const labels = e.featureLabels;
  if (labels.length * FEATURE_DIM !== e.features.length) {
    return { reason: 'shape-mismatch', detail: `${e.features.length / FEATURE_DIM} feature rows but ${labels.length} feature labels` };
  }
  const per = new Array<number>(c).fill(0);
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i];
    if (!Number.isInteger(y) || y < 0 || y >= c) return { reason: 'malformed', detail: `featureLabels[${i}] is ${y}, not a class in 0..${c - 1}` };
    if (++per[y] > p.alignFeatures) return { reason: 'too-large', detail: `more than ${p.alignFeatures} features of class ${y}` };
    if (per[y] > counts[y]) return { reason: 'malformed', detail: `${per[y]} features of class ${y}, which the slot holds ${counts[y]} samples of` };
  }
  return null;
}

function prototypesOf(e: Readonly<Record<string, Float32Array>>): ClientPrototypes {
  const n = Array.from(e.protoCounts);
  return { n, u: n.map((k, c) => (k > 0 ? e.prototypes.slice(c * FEATURE_DIM, (c + 1) * FEATURE_DIM) : null)) };
}

export const fedalign = defineStrategy({
  name: who,
  summary: 'FedAlign: frozen pre-trained CNN-S + LoRA (model cnn-s-lora); server text encoder for the class features, query-based per-client projection LoRA, global FC128 LoRA (§4); uploads features',
  params: {
    alignMu: ALIGN_MU,
    loraOptimizer: LORA_OPTIMIZER,
    alignTauA: numberField({ default: 0.1, gt: 0, max: 10, help: 'fedalign: temperature τ_a of the class-wise relevance π ∝ exp(cos(z_c, u_{j,c})/τ_a)·n_{j,c}' }),
    alignFeatures: numberField({ default: 50, int: true, min: 0, max: 500, help: 'fedalign: most correctly classified features a client uploads per class' }),
    textLr: numberField({ default: 1e-3, gt: 0, max: 1, help: "fedalign: Adam step size of the server's text encoder (one epoch per round)" }),
  },
  keepsPartialWork: true,
  client: (p) => ({ align: { mu: p.alignMu, optimizer: p.loraOptimizer, upload: { featuresPerClass: p.alignFeatures } } }),
  payload: { broadcast: ['classFeatures'], perSlot: ['ownWeights'], upload: ['prototypes', 'protoCounts', 'features', 'featureLabels'] },
  extraShapes: shapes,
  checkUpload: (p, e, slot) => checkAlignUpload(p, e, slot),
  create: (p) => ({
    name: who,
    initState: (): FedAlignState => {
      const theta = initTextEncoder();
      return { theta, z: classFeatures(theta, ALIGN_CLASSES), own: {} };
    },
    configureRound: (state: FedAlignState, ctx) => ({ broadcast: { classFeatures: state.z.slice() }, perSlot: ownPayload(state.own, ctx.slots) }),
    modelExtras: (state: FedAlignState) => ({ classFeatures: state.z.slice() }),
    personalWeights: (state: FedAlignState) => state.own,
    aggregate(input, state: FedAlignState) {
      const { totalSamples } = validateInput(who, input);
      // The FC128 block gets the global mean, like every coordinate outside the head; it must exist all the same.
      blockRange(who, input.layers, LOW_LEVEL_PREFIX);
      const [highA, highB] = blockRange(who, input.layers, HIGH_LEVEL_PREFIX);
      const extras = input.updates.map((u) => {
        const e = u.extras;
        for (const k of ['prototypes', 'protoCounts', 'features', 'featureLabels']) {
          if (!e?.[k]) throw new Error(`${who}: client '${u.clientId}' sent no ${k}`);
        }
        return e!;
      });
      // (a) the text encoder, on everyone's features pooled in update order
      const rows = extras.reduce((s, e) => s + e.featureLabels.length, 0);
      const features = new Float32Array(rows * FEATURE_DIM);
      const labels = new Int32Array(rows);
      let at = 0;
      for (const e of extras) {
        features.set(e.features, at * FEATURE_DIM);
        labels.set(Int32Array.from(e.featureLabels), at);
        at += e.featureLabels.length;
      }
      const text = trainTextEncoder(state.theta, features, labels, {
        numClasses: ALIGN_CLASSES, lr: p.textLr, tau: TAU, batchSize: TEXT_BATCH, seed: deriveSeed(input.seed, who, 'text', input.round),
      });
      const z = classFeatures(text.theta, ALIGN_CLASSES);
      // (b) query-based aggregation
      const protos = extras.map(prototypesOf);
      const zRows = Array.from({ length: ALIGN_CLASSES }, (_, c) => z.subarray(c * FEATURE_DIM, (c + 1) * FEATURE_DIM));
      const beta = clientMixing(classRelevance(zRows, protos, p.alignTauA), protos.map((q) => q.n));
      const models = clientModels(input, state.own);
      const share = input.updates.map((u) => u.numSamples / totalSamples);
      const mean = weightedSum(models, share);
      const step = new Float64Array(input.global.length);
      for (let i = 0; i < step.length; i++) step[i] = mean[i] - input.global[i];
      const heads = models.map((m) => m.subarray(highA, highB));
      const own: Record<number, Float32Array> = { ...state.own };
      input.updates.forEach((u, k) => {
        const mine = Float32Array.from(mean);
        mine.set(Float32Array.from(weightedSum(heads, beta[k])), highA);
        own[u.slot] = mine;
      });
      return { result: { step, clientWeights: byClient(input.updates, share), flagged: [] }, state: { theta: text.theta, z, own } };
    },
  }),
});

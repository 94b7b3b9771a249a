// FedMChain (spec §5) [I]: clients train modality-wise in a chain (ClientSide.chain); the server runs SSCA per
// modality. For each modality m with layers named `${m}_…` (modalityBlocks):
//   contributors = the updates whose slot holds m, by modalityAvailability(numClients, seed) — the function the
//                  clients and the coordinator use, so the server checks availability itself and never trusts a
//                  client: the m-block of an update from a slot lacking m is ignored, whatever it holds. An
//                  all-zero m-block (a straggler that never reached m, or TopK dropped it all) is no vote either:
//                  it has no signs, so it would agree with nobody and be flagged, or even win a tie for largest;
//   ssca(blocks, threshold) → agreement, clustering on 1 − A, keep the largest cluster, TIES merge of the kept;
//   step[m] = η_g · merge (η_g = sscaLr); clients in the other clusters are flagged (mean agreement with the kept).
// A modality nobody contributed to this round gets step 0. The `shared` block (layers of no modality: a
// concatenation head; none for late fusion) gets a TIES merge over all updates, without clustering. A model with
// no `mnist_`/`fashion_` layers (any non-multimodal model) is all `shared`: fedmchain degrades to a TIES merge.
// clientWeights: per client, the share of the aggregated coordinates it was kept for (Σ over blocks with at least
// one contributor of |block|·[kept in block]), normalised to sum to 1 over kept clients; the TIES merge itself has
// no per-client weight (a coordinate's mean runs over the kept clients that agree with the elected sign).
import { MODALITIES, type Modality } from '../data/paired-modalities';
import { gatherRanges, modalityBlocks, rangesSize, scatterRanges, type Ranges } from '../ml/modality-layout';
import { enumField, numberField } from '../schema/fields';
import { validateInput } from './common';
import { ssca, SSCA_THRESHOLD, tiesMerge } from './sign-consensus';
import { defineStrategy, type AggregationInput, type ChainOrder } from './strategy';

const who = 'fedmchain';

/** 'joint': the "no chain" ablation, every held modality trained at once on the fused loss. */
export const CHAIN_ORDERS = ['weak-last', 'round-robin', 'joint'] as const satisfies readonly ChainOrder[];
/** 'fedavg': the ablation that replaces SSCA by the sample-weighted mean over the clients holding each modality. */
export const CHAIN_SERVERS = ['ssca', 'fedavg'] as const;

/**
 * The modalities a client visits in one chain cycle of round `round` (1-based). weak-last: MODALITIES order (mnist,
 * the dominant one, first; fashion, the weak one, last) restricted to `held`; round-robin: that list rotated left by
 * round − 1, so each held modality takes its turn first. Modalities the client lacks are skipped; unknown names and
 * duplicates in `held` are dropped.
 */
export function chainOrderFor(order: ChainOrder, round: number, held: readonly Modality[]): Modality[] {
  if (!Number.isInteger(round) || round < 1) throw new Error(`chainOrderFor: round must be an integer >= 1 (1-based), got ${round}`);
  const list = MODALITIES.filter((m) => held.includes(m));
  if (order === 'weak-last' || order === 'joint' || list.length === 0) return list;
  if (order !== 'round-robin') throw new Error(`chainOrderFor: unknown order '${String(order)}'; valid: ${CHAIN_ORDERS.join(', ')}`);
  const r = (round - 1) % list.length;
  return [...list.slice(r), ...list.slice(0, r)];
}

/** The slot's modalities; a slot outside 0..numClients−1 is malformed input. */
function heldBy(who: string, availability: ReadonlyArray<readonly Modality[]>, clientId: string, slot: number): readonly Modality[] {
  if (!Number.isInteger(slot) || slot < 0 || slot >= availability.length) {
    throw new Error(`${who}: client '${clientId}' has slot ${slot}; must be an integer in 0..${availability.length - 1}`);
  }
  return availability[slot];
}

export const fedmchain = defineStrategy({
  name: who,
  summary: 'FedMChain: modality-wise chain training on the clients; server SSCA per modality (sign clustering + TIES merge) (§5)',
  params: {
    sscaThreshold: numberField({ default: SSCA_THRESHOLD, gt: 0, max: 1, help: 'fedmchain: SSCA merges clusters while their sign distance 1 − A is below this' }),
    sscaLr: numberField({ default: 1, gt: 0, max: 100, help: 'fedmchain: SSCA step size η_g on the merged update' }),
    chainOrder: enumField(CHAIN_ORDERS, 'weak-last', 'fedmchain: modality order of a chain cycle'),
    chainEpochs: numberField({ default: 1, int: true, min: 1, max: 100, help: 'fedmchain: local epochs E_m per modality phase' }),
    lambdaEc: numberField({ default: 1, min: 0, max: 100, help: 'fedmchain: weight λ_ec of the error-compensation term' }),
    chainServer: enumField(CHAIN_SERVERS, 'ssca', 'fedmchain: server aggregation per modality (fedavg: the ablation without SSCA)'),
    syncEvery: numberField({ default: 2, int: true, min: 1, max: 100, help: 'fedmchain: chain cycles H per round (synchronise every H cycles)' }),
  },
  keepsPartialWork: true,
  needsAllUpdates: true,
  client: (p) => ({ chain: { order: p.chainOrder, epochs: p.chainEpochs, lambdaEc: p.lambdaEc, cycles: p.syncEvery } }),
  create: (params) => ({
    name: who,
    initState: () => null,
    aggregate(input: AggregationInput) {
      validateInput(who, input);
      const { updates, global } = input;
      // The coordinator's own plan of who holds what (none on a single-modality run: everyone holds everything).
      const availability = input.modalities ?? null;
      const held = updates.map((u) => (availability ? heldBy(who, availability, u.clientId, u.slot) : MODALITIES));
      const blocks = modalityBlocks(input.layers);
      const step = new Float64Array(global.length);
      const keptCoords = new Float64Array(updates.length);
      const reasons: string[][] = updates.map(() => []);

      for (const m of MODALITIES) {
        const r = blocks[m];
        const size = rangesSize(r);
        if (size === 0) continue;
        const members: number[] = [];
        const blockDeltas: Float32Array[] = [];
        updates.forEach((u, k) => {
          if (!held[k].includes(m)) return;
          const b = gatherRanges(u.delta, r);
          if (b.some((x) => x !== 0)) {
            members.push(k);
            blockDeltas.push(b);
          }
        });
        if (members.length === 0) continue; // step stays 0 on a block nobody holding m moved
        if (params.chainServer === 'fedavg') {
          scatterScaled(step, r, weightedMean(blockDeltas, members.map((k) => updates[k].numSamples)), params.sscaLr);
          for (const k of members) keptCoords[k] += size;
          continue;
        }
        const res = ssca(blockDeltas, { threshold: params.sscaThreshold });
        scatterScaled(step, r, res.step, params.sscaLr);
        for (const i of res.kept) keptCoords[members[i]] += size;
        const n = members.length;
        for (const i of res.suspicious.flat()) {
          let agree = 0;
          for (const j of res.kept) agree += res.agreement[i * n + j];
          reasons[members[i]].push(`sign disagreement with the largest cluster on ${m} (agreement ${(agree / res.kept.length).toFixed(2)})`);
        }
      }

      const shared = blocks.shared;
      const sharedSize = rangesSize(shared);
      if (sharedSize > 0) {
        scatterScaled(step, shared, tiesMerge(updates.map((u) => gatherRanges(u.delta, shared))), params.sscaLr);
        for (let k = 0; k < updates.length; k++) keptCoords[k] += sharedSize;
      }

      const total = keptCoords.reduce((a, b) => a + b, 0);
      const clientWeights: Record<string, number> = {};
      updates.forEach((u, k) => (clientWeights[u.clientId] = total > 0 ? keptCoords[k] / total : 0));
      const flagged = updates.flatMap((u, k) => (reasons[k].length > 0 ? [{ clientId: u.clientId, reason: reasons[k].join('; ') }] : []));
      return { result: { step, clientWeights, flagged }, state: null };
    },
  }),
});

/** Σ_k n_k Δ_k / Σ_k n_k in float64. */
function weightedMean(deltas: readonly Float32Array[], counts: readonly number[]): Float32Array {
  const acc = new Float64Array(deltas[0].length);
  const total = counts.reduce((a, b) => a + b, 0);
  deltas.forEach((d, k) => {
    const w = counts[k] / total;
    for (let i = 0; i < d.length; i++) acc[i] += w * d[i];
  });
  return Float32Array.from(acc);
}

function scatterScaled(step: Float64Array, r: Ranges, part: Float32Array, lr: number): void {
  scatterRanges(step, r, lr === 1 ? part : Float64Array.from(part, (x) => lr * x));
}

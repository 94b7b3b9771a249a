// Local-only LoRA (spec §4 baseline): no aggregation. Each slot keeps its own LoRA factors across rounds (sent back
// over its own port as ownWeights); nothing of one client reaches another. The round's global model, which only the
// coordinator's test-set evaluation reads, is the sample-weighted mean of the clients' own models [I]: what one
// averaging at the end would give.
import { byClient, validateInput } from './common';
import { ALIGN_MU, LORA_OPTIMIZER, clientModels, ownPayload, type OwnWeights } from './lora-common';
import { defineStrategy } from './strategy';
import { weightedSum } from './vector-math';

const who = 'local-lora';

export interface LocalLoraState {
  own: OwnWeights;
}

export const localLora = defineStrategy({
  name: who,
  summary: 'local-only LoRA on the frozen pre-trained CNN-S (model cnn-s-lora): every client keeps its own LoRA, no aggregation (§4 baseline)',
  params: { alignMu: ALIGN_MU, loraOptimizer: LORA_OPTIMIZER },
  keepsPartialWork: true,
  client: (p) => ({ align: { mu: p.alignMu, optimizer: p.loraOptimizer, upload: null } }),
  payload: { perSlot: ['ownWeights'] },
  create: () => ({
    name: who,
    initState: (): LocalLoraState => ({ own: {} }),
    configureRound: (state: LocalLoraState, ctx) => ({ perSlot: ownPayload(state.own, ctx.slots) }),
    personalWeights: (state: LocalLoraState) => state.own,
    aggregate(input, state: LocalLoraState) {
      const { totalSamples } = validateInput(who, input);
      const models = clientModels(input, state.own);
      const p = input.updates.map((u) => u.numSamples / totalSamples);
      const mean = weightedSum(models, p);
      const step = new Float64Array(input.global.length);
      for (let i = 0; i < step.length; i++) step[i] = mean[i] - input.global[i];
      const own: Record<number, Float32Array> = { ...state.own };
      input.updates.forEach((u, k) => (own[u.slot] = models[k]));
      return { result: { step, clientWeights: byClient(input.updates, p), flagged: [] }, state: { own } };
    },
  }),
});

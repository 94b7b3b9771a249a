// FedAvg-LoRA (spec §4 baseline): FedAvg of every LoRA factor of cnn-s-lora (the frozen body never travels), the
// clients training the same objective as FedAlign's (CE of the cosine logits + μ·L_orth) against the fixed class
// features T_θ₀(e_c): what FedAlign's server side (text encoder, query-based aggregation) adds is measured against it.
import { fedAvgStrategy } from './fedavg';
import { ALIGN_MU, LORA_OPTIMIZER } from './lora-common';
import { defineStrategy } from './strategy';

export const fedavgLora = defineStrategy({
  name: 'fedavg-lora',
  summary: 'FedAvg of all LoRA factors on the frozen pre-trained CNN-S (model cnn-s-lora), fixed class features (§4 baseline)',
  params: { alignMu: ALIGN_MU, loraOptimizer: LORA_OPTIMIZER },
  keepsPartialWork: false,
  client: (p) => ({ align: { mu: p.alignMu, optimizer: p.loraOptimizer, upload: null } }),
  create: () => fedAvgStrategy('fedavg-lora'),
});

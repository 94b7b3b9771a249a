// FedAKD (spec §6, our reading of the source text [I]): every client's model carries feature attention before the
// classifier and trains on CE + λ·τ²·KL(teacher ‖ student), the teacher being the frozen global model it received,
// optionally with an attention-transfer term β; the server averages like FedAvg, optionally followed by FedDF.
import { boolField, enumField, numberField } from '../schema/fields';
import { distillBudget, SERVER_DISTILL_PARAMS } from './distill-params';
import { fedAvgStrategy } from './fedavg';
import { defineStrategy } from './strategy';

export const fedakd = defineStrategy({
  name: 'fedakd',
  summary: 'clients with feature attention distil from the global model (CE + λτ²KL); FedAvg server, optional FedDF',
  params: {
    kdLambda: numberField({ default: 0.5, min: 0, max: 100, help: 'FedAKD: weight λ of the distillation term' }),
    kdTemperature: numberField({ default: 2, gt: 0, max: 100, help: 'FedAKD: distillation temperature τ' }),
    attentionTransfer: numberField({ default: 0, min: 0, max: 1e4, help: "FedAKD: weight β of the attention-transfer term (0 = off; the spec's value is 100)" }),
    akdAttention: enumField(['feature', 'pooling'] as const, 'feature', 'FedAKD: feature attention on the FC features, or attention pooling over the last conv map'),
    serverDistill: boolField(false, 'FedDF server distillation of the averaged model on the unlabelled proxy split (needs proxySamples)'),
    ...SERVER_DISTILL_PARAMS,
  },
  keepsPartialWork: false,
  client: (p) => ({
    featureHead: p.akdAttention,
    distill: { kind: 'kd', lambda: p.kdLambda, tau: p.kdTemperature, attentionTransfer: p.attentionTransfer },
  }),
  needs: (p) => (p.serverDistill ? { distill: distillBudget(p) } : {}),
  create: () => fedAvgStrategy('fedakd'),
});

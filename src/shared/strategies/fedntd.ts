// FedNTD (Lee et al. NeurIPS'22): CE + β·τ²·KL over the not-true classes, distilled from the frozen global model, so a
// client forgets less of the classes it lacks; FedAvg server. Defaults β = 1, τ = 3 are the paper's code's [P*].
import { numberField } from '../schema/fields';
import { fedAvgStrategy } from './fedavg';
import { defineStrategy } from './strategy';

export const fedntd = defineStrategy({
  name: 'fedntd',
  summary: 'clients distil the global model on the not-true classes only (CE + βτ²KL); FedAvg server',
  params: {
    ntdBeta: numberField({ default: 1, min: 0, max: 100, help: 'FedNTD: weight β of the not-true distillation term' }),
    ntdTemperature: numberField({ default: 3, gt: 0, max: 100, help: 'FedNTD: distillation temperature τ' }),
  },
  keepsPartialWork: false,
  client: (p) => ({ distill: { kind: 'ntd', beta: p.ntdBeta, tau: p.ntdTemperature } }),
  create: () => fedAvgStrategy('fedntd'),
});

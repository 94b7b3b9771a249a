// FedDF (Lin et al. NeurIPS'20) alone: plain clients, FedAvg, then server distillation of the average towards the
// clients' averaged logits on the unlabelled proxy split, with early stopping on the server validation split.
import { distillBudget, SERVER_DISTILL_PARAMS } from './distill-params';
import { fedAvgStrategy } from './fedavg';
import { defineStrategy } from './strategy';

export const feddf = defineStrategy({
  name: 'feddf',
  summary: 'FedAvg, then distils the average on an unlabelled proxy split towards the mean client logits',
  params: { ...SERVER_DISTILL_PARAMS },
  keepsPartialWork: false,
  needs: (p) => ({ distill: distillBudget(p) }),
  create: () => fedAvgStrategy('feddf'),
});

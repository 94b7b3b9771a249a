// FedAvg with logit adjustment (Menon et al. ICLR'21): clients train on CE(z + τ·log π, y), π the run's global class
// prior, which the coordinator computes from its own class counts of every partition and sends with each round.
import { numberField } from '../schema/fields';
import { fedAvgStrategy } from './fedavg';
import { defineStrategy } from './strategy';

export const fedavgLa = defineStrategy({
  name: 'fedavg-la',
  summary: "FedAvg whose clients train on logit-adjusted cross-entropy, CE(z + τ log π, y), with the run's class prior",
  params: { laTau: numberField({ default: 1, min: 0, max: 10, help: 'logit adjustment τ' }) },
  keepsPartialWork: false,
  client: (p) => ({ logitAdjust: p.laTau }),
  needs: () => ({ classPrior: true }),
  create: () => fedAvgStrategy('fedavg-la'),
});

// FedProx (Li et al. MLSys 2020), spec §2.3: clients minimise F_k(w) + (μ/2)‖w − w_t‖², i.e. add μ(w − w_t) to
// every gradient; the server step is FedAvg's, and partial work from stragglers is aggregated, not dropped.
import { numberField } from '../schema/fields';
import { fedAvgStrategy } from './fedavg';
import { defineStrategy } from './strategy';

export const fedprox = defineStrategy({
  name: 'fedprox',
  summary: 'clients add μ(w − w_t) to their gradients; server as FedAvg but keeps partial work',
  params: { mu: numberField({ default: 0.01, min: 0, max: 100, help: 'FedProx proximal weight μ' }) },
  keepsPartialWork: true,
  client: (p) => ({ proximalMu: p.mu }),
  create: () => fedAvgStrategy('fedprox'),
});

// FedAvgM and FedOpt under the names Flower gives them (spec §9): FedAvg's aggregate with a fixed server optimizer.
// The optimizer itself is server-optimizer.ts; any other strategy takes one with config.serverOpt.
import { fedAvgStrategy } from './fedavg';
import type { ServerOptimizerName } from './server-optimizer';
import { defineStrategy } from './strategy';

function alias(name: string, serverOpt: ServerOptimizerName, summary: string) {
  return defineStrategy({
    name,
    summary,
    params: {},
    serverOpt,
    keepsPartialWork: true,
    create: () => fedAvgStrategy(name),
  });
}

export const fedavgm = alias('fedavgm', 'momentum', 'FedAvg with server momentum: v ← βv + Δ, w ← w + ηv (Hsu et al. 2019)');
export const fedadam = alias('fedadam', 'adam', 'FedAvg with a server Adam step on Δ (Reddi et al. 2021)');
export const fedyogi = alias('fedyogi', 'yogi', 'FedAvg with a server Yogi step on Δ (Reddi et al. 2021)');
export const fedadagrad = alias('fedadagrad', 'adagrad', 'FedAvg with a server Adagrad step on Δ (Reddi et al. 2021)');

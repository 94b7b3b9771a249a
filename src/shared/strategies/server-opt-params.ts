// The server optimizer's config fields (spec §9): they apply to every strategy's aggregated update, so they are
// run settings rather than one strategy's parameters.
import { enumField, numberField } from '../schema/fields';
import { SERVER_OPTIMIZERS, type ServerOptimizerName, type ServerOptimizerParams } from './server-optimizer';

export const SERVER_OPT_PARAMS = {
  serverOpt: enumField(SERVER_OPTIMIZERS, 'sgd', 'server optimizer applied to the aggregated update (FedOpt: sgd, momentum = FedAvgM, adam, yogi, adagrad)'),
  serverLr: numberField({ default: 0, min: 0, max: 100, help: "server learning rate η (0 = the optimizer's default: 1 for sgd, 0.1 for momentum, 0.01 for adam/yogi/adagrad)" }),
  serverMomentum: numberField({ default: 0.9, min: 0, max: 0.999, help: 'server momentum β (momentum / FedAvgM)' }),
  serverBeta1: numberField({ default: 0.9, min: 0, max: 0.999, help: 'first-moment decay β1 (adam, yogi, adagrad)' }),
  serverBeta2: numberField({ default: 0.99, min: 0, max: 0.9999, help: 'second-moment decay β2 (adam, yogi)' }),
  serverEps: numberField({ default: 1e-3, gt: 0, max: 1, help: 'adaptivity τ of adam/yogi/adagrad (also v₀ = τ²)' }),
};

/**
 * η when serverLr is 0. Our choices [I]: sgd 1 (FedAvg); momentum 0.1 = 1 − β, so that at a steady update the step
 * η/(1 − β) equals FedAvg's (Hsu et al. tune η_l instead); adaptive 0.01, inside Reddi et al.'s best range for
 * their EMNIST CNN (they grid η per task).
 */
export const DEFAULT_SERVER_LR: Readonly<Record<ServerOptimizerName, number>> = { sgd: 1, momentum: 0.1, adam: 0.01, yogi: 0.01, adagrad: 0.01 };

export function serverOptimizerParams(cfg: Omit<ServerOptimizerParams, 'serverOpt'> & { serverOpt: ServerOptimizerName }): ServerOptimizerParams {
  return { ...cfg, serverLr: cfg.serverLr > 0 ? cfg.serverLr : DEFAULT_SERVER_LR[cfg.serverOpt] };
}

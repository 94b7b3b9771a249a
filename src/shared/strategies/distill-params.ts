// FedDF server distillation's settings (spec §6), shared by every strategy that can distil on the server.
import { numberField } from '../schema/fields';
import type { DistillNeeds } from './strategy';

export const SERVER_DISTILL_PARAMS = {
  distillSteps: numberField({ default: 500, int: true, min: 1, max: 10_000, help: 'FedDF: most Adam steps of server distillation per round' }),
  distillPatience: numberField({ default: 100, int: true, min: 1, max: 10_000, help: 'FedDF: stop after this many steps without a better server-validation loss' }),
};

/** The budget a strategy's needs() asks the server for. */
export const distillBudget = (p: { distillSteps: number; distillPatience: number }): DistillNeeds => ({ steps: p.distillSteps, patience: p.distillPatience });

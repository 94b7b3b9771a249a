// The coordinator's tf side in the SharedWorker: picks its backend and loads what its strategy needs.
import type { FederationConfig } from '../shared/config';
import { useBackend } from '../shared/ml/backend';
import { loadDataset } from '../shared/data/dataset-store';
import { loadRunDataset } from '../shared/data/run-dataset';
import { createTask } from './eval-task';
import { strategyDefinition } from '../shared/strategies/registry';
import type { Task } from './types';
import { ensureRunModel } from '../shared/ml/pretrained-store';

/** wasm is the fastest CPU path; cpu is the fallback. */
export async function initEvalBackend(): Promise<string> {
  for (const b of ['wasm', 'cpu'] as const) if (await useBackend(b)) return b;
  throw new Error('neither wasm nor cpu backend could start');
}

/** Training images only when the server trains (FLTrust's root set, FedDF's proxy) or scores updates (a validation split). */
export function coordinatorNeedsTrainImages(config: FederationConfig): boolean {
  const needs = strategyDefinition(config.algorithm).needs?.(config as never) ?? {};
  return !!needs.rootUpdate || (needs.validation ?? 0) > 0 || !!needs.distill;
}

export async function loadTask(config: FederationConfig): Promise<Task> {
  const parts = ['train-labels', 'test-images', 'test-labels'] as const;
  const dataset = await loadRunDataset(config, async (name) =>
    (await loadDataset(name, { parts: coordinatorNeedsTrainImages(config) ? [...parts, 'train-images'] : [...parts] })).dataset,
  );
  await ensureRunModel(config);
  return createTask(dataset, config);
}

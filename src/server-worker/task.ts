// The coordinator's tf side: builds the global model and evaluates it on the full test set.
import * as tf from '@tensorflow/tfjs';
import type { FederationConfig } from '../shared/config';
import { useBackend } from '../client/backend';
import { loadDataset } from '../client/dataset-store';
import { buildModel, evaluate, layerSpecs, setFlatWeights } from '../client/models';
import type { Task } from './federation';

/** wasm is the fastest CPU path; cpu is the fallback. */
export async function initEvalBackend(): Promise<string> {
  for (const b of ['wasm', 'cpu'] as const) if (await useBackend(b)) return b;
  throw new Error('neither wasm nor cpu backend could start');
}

export async function loadTask(config: FederationConfig): Promise<Task> {
  const { dataset } = await loadDataset(config.dataset, { parts: ['train-labels', 'test-images', 'test-labels'] });
  const model = buildModel(config.model);
  return {
    numClasses: dataset.numClasses,
    trainLabels: dataset.train.labels,
    layers: layerSpecs(model),
    async evaluate(weights) {
      setFlatWeights(model, weights);
      const r = await evaluate(model, dataset.test.images, dataset.test.labels);
      return { ...r, numTensors: tf.memory().numTensors };
    },
    dispose: () => model.dispose(),
  };
}

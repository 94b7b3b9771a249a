// The dataset a run's config names, from whatever loads the image datasets (IndexedDB in a browser, disk in Node):
// one of them, or `mnist+fashion` paired from both.
import type { FederationConfig } from '../config';
import type { DatasetName } from '../dataset-manifest';
import type { Dataset } from './dataset-store';
import { PAIRED_DATASET, pairDatasets } from './paired-dataset';

const paired = new WeakMap<Dataset, Map<number, Dataset>>();

export async function loadRunDataset(cfg: Pick<FederationConfig, 'dataset' | 'modalityNoise'>, load: (name: DatasetName) => Promise<Dataset> | Dataset): Promise<Dataset> {
  if (cfg.dataset !== PAIRED_DATASET) return load(cfg.dataset as DatasetName);
  const [mnist, fashion] = await Promise.all([load('mnist'), load('fashion-mnist')]);
  // Pairing (and noise over 47M pixels) once per loaded dataset and noise level.
  let byNoise = paired.get(mnist);
  if (!byNoise) paired.set(mnist, (byNoise = new Map()));
  let d = byNoise.get(cfg.modalityNoise);
  if (!d) byNoise.set(cfg.modalityNoise, (d = pairDatasets(mnist, fashion, cfg.modalityNoise)));
  return d;
}

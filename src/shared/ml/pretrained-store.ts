// The pre-trained CNN-S bodies a run's model needs (cnn-s-lora: the other dataset's), loaded once per thread.
// buildRunModel is synchronous, so callers await ensureRunModel(cfg) first. The loader is the browser's (fetch
// /pretrained/<file>, sha256 checked) unless the Node runtime installs its own (fs, produced on demand).
import type { FederationConfig } from '../config';
import type { DatasetName } from '../dataset-manifest';
import { sha256Hex } from '../crypto/sha256';
import { parsePretrained, pretrainedFiles, pretrainedSource, PretrainedError, type Pretrained } from './pretrained';

export type PretrainedLoader = (dataset: DatasetName) => Promise<Pretrained>;

const loaded = new Map<DatasetName, Pretrained>();
const pending = new Map<DatasetName, Promise<Pretrained>>();

async function fetchPretrained(dataset: DatasetName): Promise<Pretrained> {
  const files = pretrainedFiles(dataset);
  const get = async (f: string) => {
    const r = await fetch(`/pretrained/${f}`);
    if (!r.ok) throw new PretrainedError(`/pretrained/${f}: HTTP ${r.status} (run \`npm run pretrain\` on the server's checkout)`);
    return r;
  };
  const meta: unknown = await (await get(files.json)).json();
  const bin = new Uint8Array(await (await get(files.bin)).arrayBuffer());
  const p = parsePretrained(bin, meta);
  // Not crypto.subtle: a classroom device on http has none.
  const hex = await sha256Hex(bin);
  if (hex !== p.meta.sha256) throw new PretrainedError(`${files.bin} does not match its sha256 (${hex} ≠ ${p.meta.sha256})`);
  return p;
}

let loader: PretrainedLoader = fetchPretrained;

export function setPretrainedLoader(fn: PretrainedLoader): void {
  loader = fn;
}

export async function ensurePretrained(dataset: DatasetName): Promise<Pretrained> {
  const have = loaded.get(dataset);
  if (have) return have;
  let p = pending.get(dataset);
  if (!p) {
    p = loader(dataset).then(
      (x) => (loaded.set(dataset, x), pending.delete(dataset), x),
      (e: unknown) => {
        pending.delete(dataset);
        throw e;
      },
    );
    pending.set(dataset, p);
  }
  return p;
}

/** The loaded weights (throws when ensurePretrained has not finished for `dataset`). */
export function pretrainedOf(dataset: DatasetName): Pretrained {
  const p = loaded.get(dataset);
  if (!p) throw new PretrainedError(`the CNN-S pre-trained on ${dataset} is not loaded (await ensureRunModel first)`);
  return p;
}

/** The model id whose body is pre-trained: its runs need the weights loaded before buildRunModel. */
export const PRETRAINED_MODELS: readonly string[] = ['cnn-s-lora', 'cnn-s-ft'];

/** Loads what buildRunModel(cfg) will need. */
export async function ensureRunModel(cfg: Pick<FederationConfig, 'model' | 'dataset'>): Promise<void> {
  if (PRETRAINED_MODELS.includes(cfg.model)) await ensurePretrained(pretrainedSource(cfg.dataset as DatasetName));
}

// The pre-trained CNN-S bodies a run's model needs (cnn-s-lora: the other dataset's), loaded once per thread.
// buildRunModel is synchronous, so callers await ensureRunModel(cfg) first. The loader is the browser's (fetched
// from /pretrained/ once, then from IndexedDB, sha256 checked) unless the Node runtime installs its own (fs, produced
// on demand).
import type { FederationConfig } from '../config';
import type { DatasetName } from '../dataset-manifest';
import { sha256Hex } from '../crypto/sha256';
import { createStore, get, set, type UseStore } from 'idb-keyval';
import { parsePretrained, parsePretrainedMeta, pretrainedFiles, pretrainedSource, PretrainedError, type Pretrained } from './pretrained';

export type PretrainedLoader = (dataset: DatasetName) => Promise<Pretrained>;

const loaded = new Map<DatasetName, Pretrained>();
const pending = new Map<DatasetName, Promise<Pretrained>>();

/** Where the browser keeps the weights it fetched: one IndexedDB store, entries keyed by their sha256. */
export const PRETRAINED_CACHE_DB = 'fedtab-pretrained';
let idb: UseStore | null = null;
const cache = (): UseStore => (idb ??= createStore(PRETRAINED_CACHE_DB, 'weights'));

/**
 * The browser's loader: the small .json always from the server (it names the sha256 of the weights), the .bin from
 * IndexedDB when an entry with that sha256 is there, else from the server and then cached. Every .bin, cached or
 * fetched, is checked against the sha256 (not with crypto.subtle: a classroom device on http has none).
 */
export async function fetchPretrained(dataset: DatasetName): Promise<Pretrained> {
  const files = pretrainedFiles(dataset);
  const fetchOk = async (f: string) => {
    const r = await fetch(`/pretrained/${f}`);
    if (!r.ok) throw new PretrainedError(`/pretrained/${f}: HTTP ${r.status} (run \`npm run pretrain\` on the server's checkout)`);
    return r;
  };
  const meta: unknown = await (await fetchOk(files.json)).json();
  const want = parsePretrainedMeta(meta).sha256;
  const cached = await get<Uint8Array>(want, cache()).catch(() => undefined);
  if (cached instanceof Uint8Array && (await sha256Hex(cached)) === want) return parsePretrained(cached, meta);
  const bin = new Uint8Array(await (await fetchOk(files.bin)).arrayBuffer());
  const p = parsePretrained(bin, meta);
  const hex = await sha256Hex(bin);
  if (hex !== want) throw new PretrainedError(`${files.bin} does not match its sha256 (${hex} ≠ ${want})`);
  await set(want, bin, cache()).catch((e: unknown) => console.warn('fedtab: the pre-trained weights were not cached', e));
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

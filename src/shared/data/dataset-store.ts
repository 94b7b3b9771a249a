// Loads a converted dataset (public/datasets/<name>/) and caches it in IndexedDB.
// Runs in a window, a dedicated Worker or a SharedWorker: no DOM APIs beyond fetch, IndexedDB, navigator.locks (where there).
//
// IndexedDB layout (database DATASET_CACHE_DB, object store DATASET_CACHE_STORE, string keys):
//   <name>/manifest             the manifest JSON, so cached loads need no network at all
//   <name>/<file>/meta          FileMeta; written in the same transaction as the chunks
//   <name>/<file>/c00000 ...    ArrayBuffer chunks of at most MAX_CHUNK_BYTES
import { createStore, get, set, type UseStore } from 'idb-keyval';
import { sha256Hex } from '../crypto/sha256';
import {
  DATASET_PARTS,
  isDatasetName,
  parseManifest,
  partFile,
  type DatasetFile,
  type DatasetManifest,
  type DatasetName,
  type DatasetPart,
} from '../dataset-manifest.ts';

export const DATASET_CACHE_DB = 'fedtab-datasets';
export const DATASET_CACHE_STORE = 'chunks';
/** Single IndexedDB values over ~127 MB fail in Chrome; 16 MiB keeps each put small. */
export const MAX_CHUNK_BYTES = 16 * 1024 * 1024;

export interface Split { count: number; images: Uint8Array; labels: Uint8Array }
export interface Dataset {
  name: DatasetName;
  manifest: DatasetManifest;
  numClasses: number;
  imageShape: [number, number, number];
  train: Split;
  test: Split;
}
export interface LoadProgress { phase: 'cache' | 'fetch' | 'verify' | 'store'; file: string; loaded: number; total: number }
export interface LoadOptions {
  /** Folder holding <name>/manifest.json. Default: `${import.meta.env.BASE_URL}datasets/` resolved against self.location. */
  baseUrl?: string;
  /** Files to load; the others come back as empty arrays. Default: all four. */
  parts?: readonly DatasetPart[];
  onProgress?: (p: LoadProgress) => void;
  /** Chunk size for new cache entries (tests use a small one). At most MAX_CHUNK_BYTES. */
  chunkBytes?: number;
}
export interface LoadResult { dataset: Dataset; fromCache: boolean; fetchedFiles: string[] }

export class DatasetError extends Error {
  override name = 'DatasetError';
}
/** Downloaded bytes do not match the manifest. */
export class DatasetIntegrityError extends DatasetError {
  override name = 'DatasetIntegrityError';
}

interface FileMeta { sha256: string; bytes: number; chunkBytes: number; chunks: number }

let idb: UseStore | undefined;
const store = (): UseStore => (idb ??= createStore(DATASET_CACHE_DB, DATASET_CACHE_STORE));

const manifestKey = (name: DatasetName) => `${name}/manifest`;
const filePrefix = (name: DatasetName, file: string) => `${name}/${file}/`;
const metaKey = (name: DatasetName, file: string) => `${filePrefix(name, file)}meta`;
const chunkKey = (name: DatasetName, file: string, i: number) => `${filePrefix(name, file)}c${String(i).padStart(5, '0')}`;
// Keys are ASCII, so this range holds exactly the keys that start with `prefix`.
const prefixRange = (prefix: string) => IDBKeyRange.bound(prefix, `${prefix}\uffff`);

const req = <T>(r: IDBRequest<T>) =>
  new Promise<T>((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
const done = (tx: IDBTransaction) =>
  new Promise<void>((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onabort = tx.onerror = () => reject(tx.error ?? new DOMException('transaction aborted', 'AbortError'));
  });

/** Serialises work on one cache entry across tabs and workers (so the second waiter finds it cached). */
const localLocks = new Map<string, Promise<unknown>>();
function withLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const locks = typeof navigator !== 'undefined' ? navigator.locks : undefined;
  if (locks?.request) return locks.request(`fedtab-dataset:${key}`, fn);
  // No Web Locks: serialise within this context only; cross-context races stay safe because
  // every write is one atomic transaction and every read is hash-checked.
  const run = (localLocks.get(key) ?? Promise.resolve()).then(fn, fn);
  localLocks.set(key, run.catch(() => undefined));
  return run;
}


function defaultBaseUrl(): string {
  return `${import.meta.env?.BASE_URL ?? '/'}datasets/`;
}

function resolveBase(baseUrl: string | undefined): URL {
  const raw = baseUrl ?? defaultBaseUrl();
  try {
    return new URL(raw.endsWith('/') ? raw : `${raw}/`, globalThis.location?.href);
  } catch {
    throw new DatasetError(`cannot resolve dataset baseUrl ${JSON.stringify(raw)} (pass an absolute URL outside a browser)`);
  }
}

interface Ctx {
  name: DatasetName;
  base: URL;
  chunkBytes: number;
  fetched: string[];
  progress: (phase: LoadProgress['phase'], file: string, loaded: number, total: number) => void;
}

async function httpGet(ctx: Ctx, file: string): Promise<Response> {
  const url = new URL(`${ctx.name}/${file}`, ctx.base).href;
  let res: Response;
  try {
    // The bytes live in IndexedDB afterwards; keep them out of the HTTP cache too.
    res = await fetch(url, { cache: 'no-store' });
  } catch (err) {
    throw new DatasetError(`GET ${url} failed: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!res.ok) throw new DatasetError(`GET ${url} failed: HTTP ${res.status} ${res.statusText}${hint}`);
  // Dev servers answer unknown paths with index.html and status 200.
  if (res.headers.get('content-type')?.includes('text/html')) throw new DatasetError(`GET ${url} returned HTML, not dataset data${hint}`);
  return res;
}
const hint = ' (were the datasets generated? run `npx tsx scripts/prepare-datasets.ts`)';

async function fetchManifest(ctx: Ctx): Promise<DatasetManifest> {
  const res = await httpGet(ctx, 'manifest.json');
  let json: unknown;
  try {
    json = await res.json();
  } catch {
    throw new DatasetError(`${ctx.name}/manifest.json is not valid JSON${hint}`);
  }
  const manifest = parseManifest(json);
  if (manifest.name !== ctx.name) throw new DatasetError(`${ctx.name}/manifest.json describes dataset "${manifest.name}"`);
  ctx.fetched.push('manifest.json');
  return manifest;
}

async function getManifest(ctx: Ctx): Promise<{ manifest: DatasetManifest; cached: boolean }> {
  return withLock(manifestKey(ctx.name), async () => {
    const raw = await get(manifestKey(ctx.name), store()).catch(() => undefined);
    if (raw !== undefined) {
      try {
        const manifest = parseManifest(raw);
        if (manifest.name === ctx.name) return { manifest, cached: true };
      } catch { /* unreadable cached manifest: replace it below */ }
    }
    const manifest = await fetchManifest(ctx);
    await set(manifestKey(ctx.name), manifest, store()).catch(warnCache);
    return { manifest, cached: false };
  });
}

function warnCache(err: unknown): void {
  // Cache writes are best effort (quota, private mode): the data is already verified in memory.
  console.warn('dataset cache write failed:', err);
}

async function downloadFile(ctx: Ctx, entry: DatasetFile): Promise<Uint8Array<ArrayBuffer>> {
  const res = await httpGet(ctx, entry.file);
  const out = new Uint8Array(entry.bytes);
  const mismatch = (got: string) =>
    new DatasetIntegrityError(`${ctx.name}/${entry.file}: downloaded ${got} bytes, manifest says ${entry.bytes}`);
  let loaded = 0;
  ctx.progress('fetch', entry.file, 0, entry.bytes);
  if (res.body) {
    const reader = res.body.getReader();
    for (;;) {
      const { done: end, value } = await reader.read();
      if (end) break;
      if (loaded + value.length > out.length) {
        await reader.cancel().catch(() => undefined);
        throw mismatch(`at least ${loaded + value.length}`);
      }
      out.set(value, loaded);
      loaded += value.length;
      ctx.progress('fetch', entry.file, loaded, entry.bytes);
    }
  } else {
    const buf = new Uint8Array(await res.arrayBuffer());
    if (buf.length !== out.length) throw mismatch(String(buf.length));
    out.set(buf);
    loaded = buf.length;
    ctx.progress('fetch', entry.file, loaded, entry.bytes);
  }
  if (loaded !== entry.bytes) throw mismatch(String(loaded));
  ctx.fetched.push(entry.file);
  ctx.progress('verify', entry.file, 0, entry.bytes);
  const hash = await sha256Hex(out);
  if (hash !== entry.sha256) {
    throw new DatasetIntegrityError(`${ctx.name}/${entry.file}: sha256 of downloaded bytes is ${hash}, manifest says ${entry.sha256}`);
  }
  ctx.progress('verify', entry.file, entry.bytes, entry.bytes);
  return out;
}

/** Replaces everything cached for one file in a single transaction, so readers see all of it or none. */
async function storeFile(ctx: Ctx, entry: DatasetFile, bytes: Uint8Array<ArrayBuffer>): Promise<void> {
  ctx.progress('store', entry.file, 0, entry.bytes);
  const chunks = Math.ceil(bytes.length / ctx.chunkBytes);
  const meta: FileMeta = { sha256: entry.sha256, bytes: entry.bytes, chunkBytes: ctx.chunkBytes, chunks };
  await store()('readwrite', (s) => {
    s.delete(prefixRange(filePrefix(ctx.name, entry.file)));
    for (let i = 0; i < chunks; i++) {
      // slice() copies: a subarray would structured-clone the whole underlying buffer into every chunk.
      s.put(bytes.slice(i * ctx.chunkBytes, (i + 1) * ctx.chunkBytes).buffer, chunkKey(ctx.name, entry.file, i));
    }
    s.put(meta, metaKey(ctx.name, entry.file));
    return done(s.transaction);
  });
  ctx.progress('store', entry.file, entry.bytes, entry.bytes);
}

async function deleteRange(prefix: string): Promise<void> {
  await store()('readwrite', (s) => {
    s.delete(prefixRange(prefix));
    return done(s.transaction);
  });
}

function asBytes(v: unknown): Uint8Array | null {
  if (v instanceof ArrayBuffer) return new Uint8Array(v);
  if (ArrayBuffer.isView(v)) return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  return null;
}

/** Returns the cached file if it is complete and its sha256 matches; otherwise drops it and returns null. */
async function readCachedFile(ctx: Ctx, entry: DatasetFile): Promise<Uint8Array<ArrayBuffer> | null> {
  const prefix = filePrefix(ctx.name, entry.file);
  let records: Map<string, unknown>;
  try {
    // Meta and chunks in one read transaction: a consistent snapshot even if another context is writing.
    records = await store()('readonly', async (s) => {
      const range = prefixRange(prefix);
      const [keys, values] = await Promise.all([req(s.getAllKeys(range)), req(s.getAll(range))]);
      return new Map(keys.map((k, i) => [String(k), values[i]]));
    });
  } catch {
    return null;
  }
  if (records.size === 0) return null;
  ctx.progress('cache', entry.file, 0, entry.bytes);
  const bytes = assemble(ctx, entry, records);
  if (bytes) {
    ctx.progress('cache', entry.file, entry.bytes, entry.bytes);
    ctx.progress('verify', entry.file, 0, entry.bytes);
    if ((await sha256Hex(bytes)) === entry.sha256) {
      ctx.progress('verify', entry.file, entry.bytes, entry.bytes);
      return bytes;
    }
  }
  await deleteRange(prefix).catch(() => undefined);
  return null;
}

function assemble(ctx: Ctx, entry: DatasetFile, records: Map<string, unknown>): Uint8Array<ArrayBuffer> | null {
  const meta = records.get(metaKey(ctx.name, entry.file)) as Partial<FileMeta> | undefined;
  if (!meta || meta.sha256 !== entry.sha256 || meta.bytes !== entry.bytes) return null;
  const { chunkBytes, chunks } = meta;
  if (!Number.isSafeInteger(chunkBytes) || chunkBytes! <= 0 || chunks !== Math.ceil(entry.bytes / chunkBytes!)) return null;
  const out = new Uint8Array(entry.bytes);
  for (let i = 0; i < chunks; i++) {
    const chunk = asBytes(records.get(chunkKey(ctx.name, entry.file, i)));
    const start = i * chunkBytes!;
    if (!chunk || chunk.length !== Math.min(chunkBytes!, entry.bytes - start)) return null;
    out.set(chunk, start);
  }
  return out;
}

async function loadFile(ctx: Ctx, entry: DatasetFile): Promise<Uint8Array<ArrayBuffer>> {
  return withLock(filePrefix(ctx.name, entry.file), async () => {
    const cached = await readCachedFile(ctx, entry);
    if (cached) return cached;
    const bytes = await downloadFile(ctx, entry);
    await storeFile(ctx, entry, bytes).catch(warnCache);
    return bytes;
  });
}

async function loadParts(ctx: Ctx, manifest: DatasetManifest, parts: readonly DatasetPart[]) {
  const out = new Map<DatasetPart, Uint8Array>();
  for (const part of parts) out.set(part, await loadFile(ctx, partFile(manifest, part)));
  return out;
}

export async function loadDataset(name: DatasetName, opts: LoadOptions = {}): Promise<LoadResult> {
  if (!isDatasetName(name)) throw new DatasetError(`unknown dataset ${JSON.stringify(name)}`);
  const chunkBytes = opts.chunkBytes ?? MAX_CHUNK_BYTES;
  if (!Number.isSafeInteger(chunkBytes) || chunkBytes <= 0 || chunkBytes > MAX_CHUNK_BYTES) {
    throw new DatasetError(`chunkBytes must be an integer in 1..${MAX_CHUNK_BYTES}`);
  }
  const parts = [...new Set(opts.parts ?? DATASET_PARTS)];
  for (const p of parts) if (!DATASET_PARTS.includes(p)) throw new DatasetError(`unknown dataset part ${JSON.stringify(p)}`);
  const onProgress = opts.onProgress;
  const ctx: Ctx = {
    name,
    base: resolveBase(opts.baseUrl),
    chunkBytes,
    fetched: [],
    progress: onProgress ? (phase, file, loaded, total) => onProgress({ phase, file, loaded, total }) : () => {},
  };

  let { manifest, cached } = await getManifest(ctx);
  let data: Map<DatasetPart, Uint8Array>;
  try {
    data = await loadParts(ctx, manifest, parts);
  } catch (err) {
    if (!(err instanceof DatasetIntegrityError) || !cached) throw err;
    // The cached manifest may predate regenerated files on the server: if the server's manifest
    // differs, start this dataset's cache over from it; if not, the download really is bad.
    const fresh = await fetchManifest(ctx);
    if (JSON.stringify(fresh) === JSON.stringify(manifest)) throw err;
    await withLock(manifestKey(name), async () => {
      await deleteRange(`${name}/`);
      await set(manifestKey(name), fresh, store()).catch(warnCache);
    });
    manifest = fresh;
    cached = false;
    data = await loadParts(ctx, manifest, parts);
  }

  const empty = new Uint8Array(0);
  const split = (s: 'train' | 'test'): Split => ({
    count: manifest.splits[s].count,
    images: data.get(`${s}-images`) ?? empty,
    labels: data.get(`${s}-labels`) ?? empty,
  });
  return {
    dataset: {
      name,
      manifest,
      numClasses: manifest.numClasses,
      imageShape: [...manifest.imageShape],
      train: split('train'),
      test: split('test'),
    },
    fromCache: ctx.fetched.length === 0,
    fetchedFiles: [...new Set(ctx.fetched)],
  };
}

/** Drops the cached copy of one dataset, or of all of them. */
export async function clearDatasetCache(name?: DatasetName): Promise<void> {
  if (name === undefined) {
    await store()('readwrite', (s) => {
      s.clear();
      return done(s.transaction);
    });
    return;
  }
  if (!isDatasetName(name)) throw new DatasetError(`unknown dataset ${JSON.stringify(name)}`);
  await withLock(manifestKey(name), () => deleteRange(`${name}/`));
}

import 'fake-indexeddb/auto';
import { createHash } from 'node:crypto';
import { createStore, del, get, keys, set } from 'idb-keyval';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { DatasetManifest } from '../dataset-manifest.ts';
import {
  DATASET_CACHE_DB,
  DATASET_CACHE_STORE,
  DatasetIntegrityError,
  clearDatasetCache,
  loadDataset,
  type LoadProgress,
} from './dataset-store.ts';

const BASE = 'http://test.local/datasets/';
const CHUNK = 1000;
const idb = createStore(DATASET_CACHE_DB, DATASET_CACHE_STORE);

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const bytes = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed * 7) % 251);

/** A tiny fake "mnist": 5 train / 3 test images, so train-images spans 4 chunks of 1000 bytes. */
function fakeDataset(seed = 1) {
  const files = {
    'train-images.u8': bytes(5 * 784, seed),
    'train-labels.u8': Uint8Array.from([0, 1, 1, 9, 3]),
    'test-images.u8': bytes(3 * 784, seed + 1),
    'test-labels.u8': Uint8Array.from([2, 2, seed % 10]),
  };
  const entry = (file: keyof typeof files) => ({ file, bytes: files[file].length, sha256: sha(files[file]) });
  const counts = (labels: Uint8Array) => Array.from({ length: 10 }, (_, c) => labels.filter((l) => l === c).length);
  const manifest: DatasetManifest = {
    name: 'mnist', formatVersion: 1, numClasses: 10, imageShape: [28, 28, 1],
    classNames: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'], source: 'test', splitRule: 'test',
    splits: {
      train: { count: 5, classCounts: counts(files['train-labels.u8']), images: entry('train-images.u8'), labels: entry('train-labels.u8') },
      test: { count: 3, classCounts: counts(files['test-labels.u8']), images: entry('test-images.u8'), labels: entry('test-labels.u8') },
    },
    duplicatesRemoved: 0, ambiguousRemoved: 0, invalidRemoved: 0,
  };
  return { files, manifest };
}

let server: { files: Record<string, Uint8Array>; manifest: unknown; htmlFallback?: boolean };
const fetchMock = vi.fn(async (input: RequestInfo | URL) => {
  const url = new URL(String(input));
  const name = url.pathname.replace('/datasets/mnist/', '');
  if (server.htmlFallback) return new Response('<!doctype html>', { headers: { 'content-type': 'text/html' } });
  if (name === 'manifest.json') return Response.json(server.manifest);
  const body = server.files[name];
  if (!body) return new Response('not found', { status: 404, statusText: 'Not Found' });
  return new Response(body.slice(), { headers: { 'content-type': 'application/octet-stream' } });
});
const fetchedUrls = () => fetchMock.mock.calls.map(([u]) => String(u).replace(BASE, ''));

const load = (opts: Parameters<typeof loadDataset>[1] = {}) => loadDataset('mnist', { baseUrl: BASE, chunkBytes: CHUNK, ...opts });
const chunkKeys = async (file: string) => (await keys(idb)).map(String).filter((k) => k.startsWith(`mnist/${file}/c`)).sort();

let fake: ReturnType<typeof fakeDataset>;
beforeEach(async () => {
  fake = fakeDataset();
  server = { files: fake.files, manifest: fake.manifest };
  vi.stubGlobal('fetch', fetchMock);
  await clearDatasetCache();
  fetchMock.mockClear();
});
afterEach(() => vi.unstubAllGlobals());

function expectData(r: Awaited<ReturnType<typeof loadDataset>>, f = fake) {
  expect(r.dataset.train.images).toEqual(f.files['train-images.u8']);
  expect(r.dataset.train.labels).toEqual(f.files['train-labels.u8']);
  expect(r.dataset.test.images).toEqual(f.files['test-images.u8']);
  expect(r.dataset.test.labels).toEqual(f.files['test-labels.u8']);
}

describe('loadDataset', () => {
  it('first load fetches, verifies and stores files in chunks', async () => {
    const progress: LoadProgress[] = [];
    const r = await load({ onProgress: (p) => progress.push(p) });
    expect(r.fromCache).toBe(false);
    expect(r.fetchedFiles).toEqual(['manifest.json', 'train-images.u8', 'train-labels.u8', 'test-images.u8', 'test-labels.u8']);
    expectData(r);
    expect(r.dataset).toMatchObject({ name: 'mnist', numClasses: 10, imageShape: [28, 28, 1], train: { count: 5 }, test: { count: 3 } });

    expect(await chunkKeys('train-images.u8')).toEqual(['c00000', 'c00001', 'c00002', 'c00003'].map((c) => `mnist/train-images.u8/${c}`));
    const chunks = await Promise.all((await chunkKeys('train-images.u8')).map((k) => get(k, idb)));
    // Each chunk is its own small buffer, not a view that would drag the whole file along.
    expect(chunks.map((c: ArrayBuffer) => c.byteLength)).toEqual([1000, 1000, 1000, 920]);
    expect(chunks.every((c) => c instanceof ArrayBuffer)).toBe(true);
    expect(await get('mnist/manifest', idb)).toEqual(fake.manifest);
    expect(await get('mnist/train-images.u8/meta', idb)).toEqual({ sha256: fake.manifest.splits.train.images.sha256, bytes: 3920, chunkBytes: 1000, chunks: 4 });

    expect(new Set(progress.map((p) => p.phase))).toEqual(new Set(['fetch', 'verify', 'store']));
    expect(progress.filter((p) => p.file === 'train-images.u8' && p.phase === 'fetch').at(-1)).toMatchObject({ loaded: 3920, total: 3920 });
  });

  it('second load makes no network request at all', async () => {
    await load();
    fetchMock.mockClear();
    const progress: LoadProgress[] = [];
    const r = await load({ onProgress: (p) => progress.push(p) });
    expect(fetchMock).not.toHaveBeenCalled();
    expect(r.fromCache).toBe(true);
    expect(r.fetchedFiles).toEqual([]);
    expectData(r);
    expect(new Set(progress.map((p) => p.phase))).toEqual(new Set(['cache', 'verify']));
  });

  it('re-fetches only a file whose cached chunk was corrupted', async () => {
    await load();
    const key = 'mnist/train-images.u8/c00001';
    const chunk = new Uint8Array((await get<ArrayBuffer>(key, idb))!);
    chunk[10] ^= 0xff;
    await set(key, chunk.buffer, idb);
    fetchMock.mockClear();

    const r = await load();
    expect(r.fetchedFiles).toEqual(['train-images.u8']);
    expect(fetchedUrls()).toEqual(['mnist/train-images.u8']);
    expectData(r);
    fetchMock.mockClear();
    expect((await load()).fromCache).toBe(true);
    expect(fetchMock).not.toHaveBeenCalled();
  });

  it('re-fetches a file with a missing chunk, a truncated chunk or missing meta', async () => {
    await load();
    await del('mnist/test-images.u8/c00002', idb);
    await set('mnist/train-images.u8/c00003', new ArrayBuffer(10), idb);
    await del('mnist/test-labels.u8/meta', idb);
    fetchMock.mockClear();
    const r = await load();
    expect(r.fetchedFiles.sort()).toEqual(['test-images.u8', 'test-labels.u8', 'train-images.u8']);
    expectData(r);
    expect(await chunkKeys('test-images.u8')).toHaveLength(3);
  });

  it('re-fetches only the manifest when it is missing from the cache', async () => {
    await load();
    await del('mnist/manifest', idb);
    fetchMock.mockClear();
    const r = await load();
    expect(r.fetchedFiles).toEqual(['manifest.json']);
    expectData(r);
  });

  it('fails clearly when downloaded bytes do not match the manifest sha256', async () => {
    const bad = structuredClone(fake.manifest);
    bad.splits.train.labels.sha256 = '0'.repeat(64);
    server.manifest = bad;
    const err = await load().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DatasetIntegrityError);
    expect(String(err)).toMatch(/mnist\/train-labels\.u8: sha256 of downloaded bytes is [0-9a-f]{64}, manifest says 0{64}/);
    expect(await get('mnist/train-labels.u8/meta', idb)).toBeUndefined();
  });

  it('fails clearly on a wrong size, a 404 and an HTML fallback page', async () => {
    server.files = { ...fake.files, 'test-labels.u8': Uint8Array.from([1, 2]) };
    await expect(load({ parts: ['test-labels'] })).rejects.toThrow(/test-labels\.u8: downloaded 2 bytes, manifest says 3/);
    server.files = { ...fake.files, 'test-labels.u8': Uint8Array.from([1, 2, 3, 4]) };
    await expect(load({ parts: ['test-labels'] })).rejects.toThrow(/downloaded at least 4 bytes, manifest says 3/);
    server.files = {};
    await expect(load({ parts: ['test-labels'] })).rejects.toThrow(/GET http:\/\/test\.local\/datasets\/mnist\/test-labels\.u8 failed: HTTP 404/);
    await clearDatasetCache('mnist');
    server.htmlFallback = true;
    await expect(load()).rejects.toThrow(/returned HTML.*prepare-datasets/);
  });

  it('loads only the requested parts', async () => {
    const r = await load({ parts: ['test-images', 'test-labels', 'train-labels'] });
    expect(fetchedUrls()).not.toContain('mnist/train-images.u8');
    expect(r.dataset.train.images).toHaveLength(0);
    expect(r.dataset.train.labels).toEqual(fake.files['train-labels.u8']);
    expect(r.dataset.train.count).toBe(5);
    expect(r.dataset.test.images).toEqual(fake.files['test-images.u8']);
    fetchMock.mockClear();
    // A later full load fetches just the missing file.
    expect((await load()).fetchedFiles).toEqual(['train-images.u8']);
  });

  it('concurrent first loads in one context download each file once', async () => {
    const [a, b] = await Promise.all([load(), load()]);
    expectData(a);
    expectData(b);
    expect(fetchedUrls().sort()).toEqual(
      ['manifest.json', 'test-images.u8', 'test-labels.u8', 'train-images.u8', 'train-labels.u8'].map((f) => `mnist/${f}`),
    );
  });

  it('starts over from the server manifest when cached files are stale', async () => {
    await load();
    const v2 = fakeDataset(2);
    server = { files: v2.files, manifest: v2.manifest };
    await del('mnist/test-labels.u8/meta', idb);
    fetchMock.mockClear();
    const r = await load();
    expect(r.dataset.manifest).toEqual(v2.manifest);
    expectData(r, v2);
    expect(r.fetchedFiles.sort()).toEqual(['manifest.json', 'test-images.u8', 'test-labels.u8', 'train-images.u8', 'train-labels.u8']);
    fetchMock.mockClear();
    expectData(await load(), v2);
    expect(fetchMock).not.toHaveBeenCalled();
  });

  it('clearDatasetCache empties the cache for that dataset', async () => {
    await load();
    await clearDatasetCache('mnist');
    expect((await keys(idb)).filter((k) => String(k).startsWith('mnist/'))).toEqual([]);
  });

  it('rejects bad options', async () => {
    await expect(load({ chunkBytes: 17 * 1024 * 1024 })).rejects.toThrow(/chunkBytes must be an integer/);
    await expect(loadDataset('cifar' as 'mnist', { baseUrl: BASE })).rejects.toThrow(/unknown dataset "cifar"/);
    await expect(loadDataset('mnist', { baseUrl: 'relative/' })).rejects.toThrow(/cannot resolve dataset baseUrl/);
  });
});

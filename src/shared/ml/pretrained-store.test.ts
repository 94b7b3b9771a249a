import 'fake-indexeddb/auto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { sha256Hex } from '../crypto/sha256';
import { encodePretrainedWeights } from './pretrained';
import { fetchPretrained } from './pretrained-store';

const layers = [{ name: 'fc/kernel', shape: [2, 2] }];
const bin = encodePretrainedWeights(Float32Array.from([1, -2, 3.5, 0]));

async function meta(over: Record<string, unknown> = {}) {
  return {
    formatVersion: 1, dataset: 'fashion-mnist', model: 'cnn-s', epochs: 1, samples: 512, seed: 1, optimizer: 'adam', lr: 0.001,
    batchSize: 64, layers, bytes: 16, sha256: await sha256Hex(bin), trainImagesSha256: 'b'.repeat(64), testAccuracy: 0.8, testLoss: 0.5,
    createdBy: 'test', ...over,
  };
}

/** A server for /pretrained/: counts the requests for the .bin. */
function serve(body: Uint8Array, m: unknown) {
  const calls: string[] = [];
  vi.stubGlobal('fetch', async (url: string) => {
    calls.push(url);
    if (url.endsWith('.json')) return new Response(JSON.stringify(m));
    return new Response(body.slice());
  });
  return calls;
}

afterEach(() => vi.unstubAllGlobals());

describe('the browser loader of the pre-trained weights', () => {
  it('fetches the weights once, then takes them from IndexedDB (checked by sha256)', async () => {
    const calls = serve(bin, await meta());
    const a = await fetchPretrained('fashion-mnist');
    const b = await fetchPretrained('fashion-mnist');
    expect(Array.from(b.weights)).toEqual([1, -2, 3.5, 0]);
    expect(Array.from(a.weights)).toEqual(Array.from(b.weights));
    expect(calls.filter((u) => u.endsWith('.bin'))).toHaveLength(1);
    expect(calls.filter((u) => u.endsWith('.json'))).toHaveLength(2);
  });

  it('refuses weights that do not match the sha256 the server names, and does not cache them', async () => {
    const bad = encodePretrainedWeights(Float32Array.from([9, 9, 9, 9]));
    const calls = serve(bad, await meta({ sha256: 'c'.repeat(64) }));
    await expect(fetchPretrained('mnist')).rejects.toThrow(/does not match its sha256/);
    await expect(fetchPretrained('mnist')).rejects.toThrow(/does not match its sha256/);
    expect(calls.filter((u) => u.endsWith('.bin'))).toHaveLength(2);
  });
});

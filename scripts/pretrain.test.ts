import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from './node-runtime.ts';
import { parseCli, pretrain } from './pretrain.ts';
import { cnnSLayerSpecs, loadPretrained, sha256Hex } from './pretrained.ts';

describe('npm run pretrain', () => {
  const root = mkdtempSync(join(tmpdir(), 'fedtab-pretrain-'));
  const dirA = join(root, 'a');
  const dirB = join(root, 'b');
  beforeAll(() => initBackend());
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('parses flags', () => {
    expect(parseCli([])).toMatchObject({ datasets: ['mnist', 'fashion-mnist'], epochs: 1, force: false });
    expect(parseCli(['--dataset', 'mnist', '--samples', '512'])).toMatchObject({ datasets: ['mnist'], samples: 512 });
    expect(() => parseCli(['--dataset', 'cifar'])).toThrow(/--dataset must be one of mnist, fashion-mnist, all/);
    expect(() => parseCli(['--epochs', '0'])).toThrow(/--epochs must be an integer ≥ 1/);
  });

  it('is bit-reproducible, skips an up-to-date run, and its weights load back', async () => {
    const before = tf.memory().numTensors;
    const logs: string[] = [];
    const a = await pretrain({ dataset: 'fashion-mnist', samples: 512, outDir: dirA, log: (l) => logs.push(l) });
    const b = await pretrain({ dataset: 'fashion-mnist', samples: 512, outDir: dirB });
    expect(tf.memory().numTensors).toBe(before);
    expect(a.skipped || b.skipped).toBe(false);
    const binA = readFileSync(a.bin);
    expect(binA.equals(readFileSync(b.bin))).toBe(true);
    expect(a.meta.sha256).toBe(b.meta.sha256);
    expect(sha256Hex(binA)).toBe(a.meta.sha256);
    expect(a.meta).toMatchObject({ dataset: 'fashion-mnist', model: 'cnn-s', epochs: 1, samples: 512, seed: 1, lr: 0.001, batchSize: 64 });
    expect(a.meta.createdBy).toBe('npm run pretrain -- --dataset fashion-mnist --epochs 1 --samples 512');
    expect(a.meta.bytes).toBe(225_034 * 4);
    // 8 steps of Adam on 512 images: far from trained, clearly above chance (0.1)
    expect(a.meta.testAccuracy).toBeGreaterThan(0.3);

    const t0 = performance.now();
    const again = await pretrain({ dataset: 'fashion-mnist', samples: 512, outDir: dirA, log: (l) => logs.push(l) });
    expect(again.skipped).toBe(true);
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(logs.at(-1)).toMatch(/fashion-mnist: up to date/);
    expect(again.meta).toEqual(a.meta);

    const p = loadPretrained('fashion-mnist', { dir: dirA });
    expect(p.layers).toEqual(cnnSLayerSpecs());
    expect(p.weights.length).toBe(225_034);
    expect(Buffer.from(p.weights.buffer).equals(binA)).toBe(true);
    expect(() => loadPretrained('mnist', { dir: dirA })).toThrow(/cannot read the CNN-S weights pre-trained on mnist .*run `npm run pretrain`/);
  }, 180_000);

  it('rejects a corrupted .bin and mismatched layers, telling the user to run npm run pretrain', async () => {
    const bin = join(dirB, 'cnn-s-fashion-mnist.bin');
    const json = join(dirB, 'cnn-s-fashion-mnist.json');
    const bytes = readFileSync(bin);
    bytes[1000] ^= 0x01; // a low mantissa bit: still a finite float, only the sha256 catches it
    writeFileSync(bin, bytes);
    expect(() => loadPretrained('fashion-mnist', { dir: dirB })).toThrow(/does not match its sha256 .*run `npm run pretrain`/);
    // a stale or corrupted pair is retrained, not skipped (a run over 512 images: seconds)
    const meta = JSON.parse(readFileSync(json, 'utf8'));
    writeFileSync(json, JSON.stringify({ ...meta, layers: meta.layers.map((l: { name: string }, i: number) => (i === 0 ? { ...l, name: 'conv0/kernel' } : l)) }));
    bytes[1000] ^= 0x01;
    writeFileSync(bin, bytes);
    expect(() => loadPretrained('fashion-mnist', { dir: dirB })).toThrow(/layers do not match CNN-S's .*run `npm run pretrain`/);
    const r = await pretrain({ dataset: 'fashion-mnist', samples: 512, outDir: dirB });
    expect(r.skipped).toBe(false);
    expect(readFileSync(bin).equals(readFileSync(join(dirA, 'cnn-s-fashion-mnist.bin')))).toBe(true);
  }, 180_000);
});

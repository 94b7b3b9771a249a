import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../scripts/wasm-backend.ts';
import { resolveConfig, type FederationConfig } from '../shared/config.ts';
import type { Modality } from '../shared/data/paired-modalities.ts';
import { buildMultimodal } from '../shared/ml/architectures/multimodal.ts';
import { modalityBlocks } from '../shared/ml/modality-layout.ts';
import { getFlatWeights, labelsToOneHot, layerSpecs, setFlatWeights } from '../shared/ml/models.ts';
import { createRng } from '../shared/prng.ts';
import { expectedSteps } from '../shared/run-plan.ts';
import { strategyDefinition } from '../shared/strategies/registry.ts';
import { trainChain, type ChainOptions } from './chain-training.ts';

const PIXELS = 28 * 28;
/** n 6, B 4: ⌈6/4⌉ = 2 steps an epoch (the second one partial). */
const N = 6;
const B = 4;
const STEPS_PER_EPOCH = Math.ceil(N / B);

const labels = Uint8Array.from([0, 1, 2, 0, 1, 2]);
/** Two-channel images: channel c of sample i is bright (0.5..1) in row 4 + 3·label + c, dim noise elsewhere. */
const pixels = (() => {
  const rng = createRng(9);
  const out = new Float32Array(N * PIXELS * 2);
  for (let i = 0; i < N; i++)
    for (let p = 0; p < PIXELS; p++)
      for (let c = 0; c < 2; c++) out[(i * PIXELS + p) * 2 + c] = Math.floor(p / 28) === 4 + 3 * labels[i] + c ? 0.5 + 0.5 * rng.next() : 0.1 * rng.next();
  return out;
})();

/** The fedmchain run these tests stand for: H = 2 cycles of E_m = 1 epoch. */
function fedmchain(extra: Partial<FederationConfig> = {}): FederationConfig {
  return resolveConfig({ dataset: 'mnist+fashion', algorithm: 'fedmchain', batchSize: B, lr: 0.1, syncEvery: 2, chainEpochs: 1, seed: 3, ...extra });
}

function chainOf(cfg: FederationConfig): ChainOptions['chain'] {
  const chain = strategyDefinition(cfg.algorithm).client?.(cfg as never).chain;
  if (!chain) throw new Error(`${cfg.algorithm} has no chain`);
  return chain;
}

function options(cfg: FederationConfig, held: readonly Modality[], extra: Partial<ChainOptions> = {}): ChainOptions {
  return { chain: chainOf(cfg), round: 1, held, batchSize: cfg.batchSize, lr: cfg.lr, mu: 0, seed: cfg.seed, ...extra };
}

let net: tf.LayersModel;
let w0: Float32Array;
let xs: tf.Tensor4D;
let ys: tf.Tensor2D;

beforeAll(async () => {
  await initBackend(); // wasm with our gradient kernels, as the Node runtime trains (on cpu these took 25 s, on wasm 2 s)
  net = buildMultimodal('mm-late');
  w0 = getFlatWeights(net);
  xs = tf.tensor4d(pixels, [N, 28, 28, 2]);
  ys = labelsToOneHot(labels);
});

afterAll(() => {
  tf.dispose([xs, ys]);
  net.dispose();
});

/** Per block of the flat vector (mnist, fashion, shared): how many coordinates moved. */
function changed(w: Float32Array): Record<Modality | 'shared', number> {
  const blocks = modalityBlocks(layerSpecs(net));
  const count = (r: ReadonlyArray<readonly [number, number]>) => r.reduce((n, [a, b]) => n + w.subarray(a, b).reduce((k, x, i) => k + (x !== w0[a + i] ? 1 : 0), 0), 0);
  return { mnist: count(blocks.mnist), fashion: count(blocks.fashion), shared: count(blocks.shared) };
}

async function train(cfg: FederationConfig, held: readonly Modality[], extra: Partial<ChainOptions> = {}) {
  setFlatWeights(net, w0);
  const r = await trainChain(net, xs, ys, options(cfg, held, extra));
  return { r, w: getFlatWeights(net) };
}

describe('trainChain', () => {
  it("a client holding only mnist trains only mnist_ weights", async () => {
    const cfg = fedmchain();
    const { r, w } = await train(cfg, ['mnist']);
    const moved = changed(w);
    expect(moved.fashion).toBe(0);
    expect(moved.shared).toBe(0);
    expect(moved.mnist).toBeGreaterThan(1000);
    expect(r.epochLosses).toHaveLength(2);
    expect(r.epochLosses.every(Number.isFinite)).toBe(true);
  });

  it('a client holding only fashion trains only fashion_ weights', async () => {
    const { w } = await train(fedmchain(), ['fashion']);
    const moved = changed(w);
    expect(moved.mnist).toBe(0);
    expect(moved.shared).toBe(0);
    expect(moved.fashion).toBeGreaterThan(1000);
  });

  it("mm-late has no shared block, so 'changes no shared weight' is every weight outside mnist_ and fashion_", () => {
    const blocks = modalityBlocks(layerSpecs(net));
    expect(blocks.shared).toHaveLength(0);
    const size = (r: ReadonlyArray<readonly [number, number]>) => r.reduce((n, [a, b]) => n + b - a, 0);
    expect(size(blocks.mnist) + size(blocks.fashion)).toBe(w0.length);
  });

  it('runs cycles × epochs × |held| × ⌈n/B⌉ steps, as run-plan expects', async () => {
    for (const [chainEpochs, syncEvery] of [
      [1, 2],
      [2, 1],
    ]) {
      const cfg = fedmchain({ chainEpochs, syncEvery });
      for (const held of [['mnist'], ['mnist', 'fashion']] as const) {
        const { r } = await train(cfg, held);
        const want = syncEvery * chainEpochs * held.length * STEPS_PER_EPOCH;
        expect(r.steps).toBe(want);
        expect(r.epochLosses).toHaveLength(syncEvery * chainEpochs * held.length);
        expect(expectedSteps(cfg, N, null, held.length)).toBe(want);
      }
    }
    // The numbers themselves, by hand: 2·1·1·2 = 4 and 2·1·2·2 = 8.
    expect(expectedSteps(fedmchain(), N, null, 1)).toBe(4);
    expect(expectedSteps(fedmchain(), N, null, 2)).toBe(8);
  });

  it("order 'joint' runs cycles × epochs × ⌈n/B⌉ steps and trains every held modality", async () => {
    const cfg = fedmchain({ chainOrder: 'joint' });
    const { r, w } = await train(cfg, ['mnist', 'fashion']);
    expect(r.steps).toBe(2 * 1 * STEPS_PER_EPOCH);
    expect(expectedSteps(cfg, N, null, 2)).toBe(4);
    const moved = changed(w);
    expect(moved.mnist).toBeGreaterThan(1000);
    expect(moved.fashion).toBeGreaterThan(1000);
    // Joint with one modality held still leaves the other alone.
    const only = await train(cfg, ['fashion']);
    expect(only.r.steps).toBe(4);
    expect(changed(only.w).mnist).toBe(0);
  });

  it('maxSteps caps the whole chain, not each phase', async () => {
    const { r, w } = await train(fedmchain(), ['mnist', 'fashion'], { maxSteps: 3 });
    expect(r.steps).toBe(3);
    // Weak-last: cycle 1 trains mnist for 2 steps, then fashion for 1.
    const moved = changed(w);
    expect(moved.mnist).toBeGreaterThan(0);
    expect(moved.fashion).toBeGreaterThan(0);
    const { r: r1, w: w1 } = await train(fedmchain(), ['mnist', 'fashion'], { maxSteps: 2 });
    expect(r1.steps).toBe(2);
    expect(changed(w1).fashion).toBe(0);
  });

  it('calls inputsForEpoch once per epoch of every phase', async () => {
    const calls: number[] = [];
    const { r } = await train(fedmchain(), ['mnist', 'fashion'], {
      inputsForEpoch: (e) => {
        calls.push(e);
        return xs.clone();
      },
    });
    // 2 cycles × 2 phases × 1 epoch, each trainLocal call counting its epochs from 0.
    expect(calls).toEqual([0, 0, 0, 0]);
    expect(r.steps).toBe(8);
  });

  it('leaks no tensors', async () => {
    const cfg = fedmchain();
    const inputsForEpoch = () => xs.clone();
    await train(cfg, ['mnist', 'fashion'], { inputsForEpoch });
    await train(fedmchain({ chainOrder: 'joint' }), ['mnist', 'fashion']);
    const before = tf.memory().numTensors;
    await train(cfg, ['mnist', 'fashion'], { inputsForEpoch });
    await train(cfg, ['fashion']);
    await train(fedmchain({ chainOrder: 'joint' }), ['mnist', 'fashion']);
    expect(tf.memory().numTensors).toBe(before);
  });
});

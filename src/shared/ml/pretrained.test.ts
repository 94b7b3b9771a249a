import { describe, expect, it } from 'vitest';
import { encodePretrainedWeights, parsePretrained, PretrainedError, pretrainedFiles, pretrainedSource } from './pretrained';

const layers = [
  { name: 'fc/kernel', shape: [3, 2] },
  { name: 'fc/bias', shape: [2] },
];
const weights = Float32Array.from([0.5, -1, 2, 3.25, -0.125, 7, 0, 1e-3]);

function goodMeta(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    formatVersion: 1, dataset: 'fashion-mnist', model: 'cnn-s', epochs: 1, samples: 512, seed: 1, optimizer: 'adam', lr: 0.001,
    batchSize: 64, layers, bytes: 32, sha256: 'a'.repeat(64), trainImagesSha256: 'b'.repeat(64), testAccuracy: 0.8, testLoss: 0.5,
    createdBy: 'npm run pretrain -- --dataset fashion-mnist --epochs 1 --samples 512', ...over,
  };
}

describe('pre-trained CNN-S weights', () => {
  it('pre-trains on the other dataset', () => {
    expect(pretrainedSource('mnist')).toBe('fashion-mnist');
    expect(pretrainedSource('fashion-mnist')).toBe('mnist');
    expect(() => pretrainedSource('cifar' as never)).toThrow(/no pre-training source for dataset "cifar"/);
    expect(pretrainedFiles('mnist')).toEqual({ bin: 'cnn-s-mnist.bin', json: 'cnn-s-mnist.json' });
  });

  it('accepts a good pair and decodes little-endian Float32', () => {
    const bin = encodePretrainedWeights(weights);
    expect(new DataView(bin.buffer).getFloat32(4, true)).toBe(-1);
    const p = parsePretrained(bin.buffer as ArrayBuffer, goodMeta());
    expect(Array.from(p.weights)).toEqual(Array.from(weights));
    expect(p.layers).toEqual(layers);
    expect(p.meta.dataset).toBe('fashion-mnist');
    // a view into a larger buffer works too
    const big = new Uint8Array(40);
    big.set(bin, 8);
    expect(Array.from(parsePretrained(big.subarray(8), goodMeta()).weights)).toEqual(Array.from(weights));
  });

  it('rejects bad meta with the field and the reason', () => {
    const bin = encodePretrainedWeights(weights).buffer as ArrayBuffer;
    expect(() => parsePretrained(bin, null)).toThrow(PretrainedError);
    expect(() => parsePretrained(bin, goodMeta({ dataset: 'cifar' }))).toThrow(/invalid pre-trained meta: dataset:/);
    expect(() => parsePretrained(bin, goodMeta({ model: 'cnn-m' }))).toThrow(/invalid pre-trained meta: model:/);
    expect(() => parsePretrained(bin, goodMeta({ formatVersion: 2 }))).toThrow(/formatVersion/);
    expect(() => parsePretrained(bin, goodMeta({ sha256: 'xyz' }))).toThrow(/sha256: must be 64 lowercase hex digits/);
    expect(() => parsePretrained(bin, goodMeta({ testAccuracy: Number.NaN }))).toThrow(/testAccuracy/);
    expect(() => parsePretrained(bin, goodMeta({ testAccuracy: 1.5 }))).toThrow(/testAccuracy/);
    expect(() => parsePretrained(bin, goodMeta({ epochs: 0.5 }))).toThrow(/epochs/);
    expect(() => parsePretrained(bin, goodMeta({ layers: [{ name: 'x', shape: [-1] }] }))).toThrow(/layers\.0\.shape\.0/);
    expect(() => parsePretrained(bin, goodMeta({ layers: [] }))).toThrow(/layers/);
    const { sha256: _, ...noSha } = goodMeta();
    expect(() => parsePretrained(bin, noSha)).toThrow(/sha256/);
  });

  it('rejects a .bin of the wrong length', () => {
    const bin = encodePretrainedWeights(weights);
    expect(() => parsePretrained(bin.subarray(0, 28), goodMeta())).toThrow(/have 28 bytes, the meta's layers need 8 floats \(32 bytes\)/);
    expect(() => parsePretrained(new Uint8Array(33), goodMeta())).toThrow(/33 bytes/);
    expect(() => parsePretrained(bin, goodMeta({ bytes: 36 }))).toThrow(/bytes is 36, but its layers hold 8 floats/);
  });

  it('rejects NaN and infinite weights, naming the layer', () => {
    const bad = weights.slice();
    bad[6] = Number.NaN;
    expect(() => parsePretrained(encodePretrainedWeights(bad), goodMeta())).toThrow(/weight 6 \(layer fc\/bias\) is NaN/);
    bad[6] = 0;
    bad[1] = Number.POSITIVE_INFINITY;
    expect(() => parsePretrained(encodePretrainedWeights(bad), goodMeta())).toThrow(/weight 1 \(layer fc\/kernel\) is Infinity/);
  });
});

describe('cnn-s-ft: the pre-trained body as the first global weights', () => {
  it('writes conv1, conv2 and fc1 from the pre-trained CNN-S and keeps the seeded head', async () => {
    const { withPretrainedBody } = await import('./pretrained-init');
    const { initWeights } = await import('../weights');
    const layers = [
      { name: 'conv1/kernel', shape: [2] }, { name: 'conv1/bias', shape: [1] },
      { name: 'conv2/kernel', shape: [2] }, { name: 'conv2/bias', shape: [1] },
      { name: 'fc1/kernel', shape: [2] }, { name: 'fc1/bias', shape: [1] },
      { name: 'out/kernel', shape: [2] }, { name: 'out/bias', shape: [1] },
    ];
    const pretrained = { meta: {} as never, layers, weights: Float32Array.from({ length: 12 }, (_, i) => 100 + i) };
    const init = initWeights(layers, 7);
    const w = withPretrainedBody(layers, init, pretrained);
    expect(Array.from(w.subarray(0, 9))).toEqual([100, 101, 102, 103, 104, 105, 106, 107, 108]);
    expect(Array.from(w.subarray(9))).toEqual(Array.from(init.subarray(9)));
    expect(Array.from(init.subarray(0, 3))).not.toEqual([100, 101, 102]); // the init itself is left alone
    const missing = { ...pretrained, layers: layers.filter((l) => !l.name.startsWith('fc1')), weights: pretrained.weights.subarray(0, 9) };
    expect(() => withPretrainedBody(layers, init, missing)).toThrow(/has no fc1\/kernel of 2 values/);
  });
});

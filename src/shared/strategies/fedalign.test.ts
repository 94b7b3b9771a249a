import { describe, expect, it } from 'vitest';
import { classFeatures, initTextEncoder } from '../ml/text-encoder';
import { checkAlignUpload, fedalign, type FedAlignState } from './fedalign';
import { createStrategy, strategyParams } from './registry';
import type { AggregationInput } from './strategy';
import { upd } from './testing';

const LAYERS = [
  { name: 'fc1/lora_a', shape: [1] },
  { name: 'fc1/lora_b', shape: [1] },
  { name: 'proj/lora_a', shape: [1] },
  { name: 'proj/lora_b', shape: [1] },
];
const D = 64;
const z0 = classFeatures(initTextEncoder(), 10);
const zc = (c: number, sign = 1) => z0.slice(c * D, (c + 1) * D).map((x) => sign * x);

/** Extras with the given prototype rows and counts, and no features (so the text encoder keeps θ and z = z₀). */
function extras(rows: Record<number, Float32Array>, counts: Record<number, number>, features: ReadonlyArray<readonly [number, ArrayLike<number>]> = []) {
  const prototypes = new Float32Array(10 * D);
  for (const [c, u] of Object.entries(rows)) prototypes.set(u, Number(c) * D);
  const protoCounts = Float32Array.from({ length: 10 }, (_, c) => counts[c] ?? 0);
  const f = new Float32Array(features.length * D);
  features.forEach(([, v], i) => f.set(v, i * D));
  return { prototypes, protoCounts, features: f, featureLabels: Float32Array.from(features, ([y]) => y) };
}

// A holds 3 images of class 0 with a prototype along z_0; B holds 1 of class 0 (prototype along −z_0) and 4 of class 1 (along z_1).
const A = () => upd('a', [1, 1, 10, 10], { slot: 0, numSamples: 3, extras: extras({ 0: zc(0) }, { 0: 3 }) });
const B = () => upd('b', [3, 3, 20, 20], { slot: 1, numSamples: 5, extras: extras({ 0: zc(0, -1), 1: zc(1) }, { 0: 1, 1: 4 }) });
const input = (updates = [A(), B()], global: AggregationInput['global'] = new Float32Array(4), round = 1): AggregationInput => ({ global, layers: LAYERS, updates, round, numClients: 2, seed: 1 });

describe('fedalign aggregation (hand case)', () => {
  it('global FC128 LoRA by n_j/n, each client its own β-mixed projection LoRA', () => {
    const s = createStrategy('fedalign');
    const { result, state } = s.aggregate(input(), null);
    // mean = 3/8·A + 5/8·B: fc1 3/8·1 + 5/8·3 = 2.25, proj 3/8·10 + 5/8·20 = 16.25
    expect(Array.from(result.weights)).toEqual([2.25, 2.25, 16.25, 16.25]);
    expect(result.clientWeights).toEqual({ a: 3 / 8, b: 5 / 8 });
    const own = (state.inner as FedAlignState).own;
    // π_{·,0}: A's score cos 1/τ_a + ln 3 = 11.10, B's −10: π_A0 = 1 − e^{−21.1}; π_{·,1} = (0, 1).
    // β_A = (π_A0, π_B0) ≈ (1, 0); β_B = (⅕π_A0, ⅕π_B0 + ⅘) ≈ (0.2, 0.8): B's head = 0.2·10 + 0.8·20 = 18.
    expect(own[0][0]).toBeCloseTo(2.25, 6);
    expect(own[0][2]).toBeCloseTo(10, 5);
    expect(own[1][1]).toBeCloseTo(2.25, 6);
    expect(own[1][3]).toBeCloseTo(18, 5);
    // no features: θ and z are unchanged
    expect(Array.from((state.inner as FedAlignState).z)).toEqual(Array.from(z0));
  });

  it('each client gets back its own model over its port, never another client’s; Δ is taken from it', () => {
    const s = createStrategy('fedalign');
    const first = s.aggregate(input(), null);
    const own = (first.state.inner as FedAlignState).own;
    const payload = s.configureRound!(first.state, { round: 2, slots: [0, 1], numClients: 2, size: 4 });
    expect(Array.from(payload.perSlot![0].ownWeights)).toEqual(Array.from(own[0]));
    expect(Array.from(payload.perSlot![1].ownWeights)).toEqual(Array.from(own[1]));
    expect(Array.from(payload.perSlot![0].ownWeights)).not.toEqual(Array.from(own[1]));
    expect(Object.keys(payload.perSlot![0])).toEqual(['ownWeights']);
    expect(payload.broadcast!.classFeatures).toHaveLength(640);
    // round 1 has no own models yet: nothing per slot
    expect(s.configureRound!(s.initState(), { round: 1, slots: [0, 1], numClients: 2, size: 4 }).perSlot).toEqual({});
    // A sends Δ = 0 against its own model, B too: the next mean is the mean of the two own models
    const zero = () => new Float32Array(4);
    const second = s.aggregate(input([{ ...A(), delta: zero() }, { ...B(), delta: zero() }], first.result.weights, 2), first.state);
    const want = Array.from({ length: 4 }, (_, i) => (3 / 8) * own[0][i] + (5 / 8) * own[1][i]);
    Array.from(second.result.weights).forEach((w, i) => expect(w).toBeCloseTo(want[i], 5));
  });

  it('trains the text encoder on the pooled features: z moves towards them', () => {
    const s = createStrategy('fedalign', { textLr: 0.01 });
    const target = new Float32Array(D).fill(0);
    target[5] = 1;
    const feats: Array<[number, Float32Array]> = Array.from({ length: 3 }, () => [0, target]);
    const a = { ...A(), extras: extras({ 0: zc(0) }, { 0: 3 }, feats) };
    const { state } = s.aggregate(input([a, B()]), null);
    const z = (state.inner as FedAlignState).z;
    const cos = (zz: Float32Array) => zz[5] / Math.hypot(...zz.subarray(0, D));
    expect(cos(z.subarray(0, D))).toBeGreaterThan(cos(z0.subarray(0, D)));
    expect(s.modelExtras!(state).classFeatures).toEqual(z);
  });

  it('is pure and deterministic', () => {
    const s = createStrategy('fedalign');
    const inp = input();
    const copy = structuredClone(inp);
    const st = s.initState();
    const stCopy = structuredClone(st);
    const x = s.aggregate(inp, st);
    expect(inp).toEqual(copy);
    expect(st).toEqual(stCopy);
    expect(s.aggregate(inp, st)).toEqual(x);
  });

  it('needs the cnn-s-lora layout and the uploads', () => {
    const s = createStrategy('fedalign');
    expect(() => s.aggregate({ ...input(), layers: [{ name: 'w', shape: [4] }] }, null)).toThrow(/no fc1\/\* layers \(use model cnn-s-lora\)/);
    expect(() => s.aggregate(input([{ ...A(), extras: undefined }, B()]), null)).toThrow("fedalign: client 'a' sent no prototypes");
  });
});

describe('checkAlignUpload', () => {
  const p = strategyParams({ alignFeatures: 2 }) as never;
  const slot = { classCounts: [3, 0, 0, 0, 0, 0, 0, 0, 0, 0] };
  const ok = () => extras({ 0: zc(0) }, { 0: 3 }, [[0, zc(0)], [0, zc(0)]]);
  it.each<[string, () => Record<string, Float32Array>, string | null]>([
    ['a good upload', ok, null],
    ['counts that are not the coordinator’s', () => ({ ...ok(), protoCounts: Float32Array.from({ length: 10 }, (_, c) => (c === 0 ? 30 : 0)) }), 'wrong-sample-count'],
    ['a fractional count', () => ({ ...ok(), protoCounts: Float32Array.from({ length: 10 }, (_, c) => (c === 0 ? 2.5 : 0)) }), 'malformed'],
    ['a prototype for a class it does not hold', () => ({ ...ok(), prototypes: (() => { const x = ok().prototypes; x[D] = 1; return x; })() }), 'malformed'],
    ['more features than the cap', () => extras({ 0: zc(0) }, { 0: 3 }, [[0, zc(0)], [0, zc(0)], [0, zc(0)]]), 'too-large'],
    ['features of a class it does not hold', () => extras({ 0: zc(0) }, { 0: 3 }, [[1, zc(1)]]), 'malformed'],
    ['a label that is no class', () => ({ ...ok(), featureLabels: Float32Array.of(0, 11) }), 'malformed'],
    ['labels that do not match the rows', () => ({ ...ok(), featureLabels: Float32Array.of(0) }), 'shape-mismatch'],
  ])('%s', (_what, make, want) => {
    expect(checkAlignUpload(p, make(), slot)?.reason ?? null).toBe(want);
  });

  it('declares the sizes the protocol checks', () => {
    expect(fedalign.extraShapes!(strategyParams() as never)).toMatchObject({
      classFeatures: { length: 640 },
      prototypes: { length: 640 },
      protoCounts: { length: 10 },
      features: { width: 64, maxRows: 500 },
      featureLabels: { width: 1, maxRows: 500 },
    });
  });
});

// FedMChain's server (spec §5): SSCA per modality block on hand-made inputs, the server's own availability check,
// the shared block's TIES merge, and the client's chain order.
import { describe, expect, it } from 'vitest';
import { modalityAvailability } from '../data/paired-modalities';
import type { LayerSpec } from '../weights';
import { chainOrderFor, fedmchain } from './fedmchain';
import { createStrategy, strategyParams } from './registry';
import type { StrategyUpdate } from './strategy';
import { arr, expectClose, inp, LAYERS_2_1, upd } from './testing';

/** mnist block = coordinates 0..3, fashion block = 4..6. */
const LAYERS: LayerSpec[] = [
  { name: 'mnist_w', shape: [4] },
  { name: 'fashion_w', shape: [3] },
];
// numClients = 5, seed = 2: slots 0–2 hold both, slot 3 MNIST only, slot 4 FMNIST only (asserted below).
const K = 5;
const SEED = 2;

/** Three honest clients, d (MNIST only) sign-flipped on mnist, e (FMNIST only); d and e send junk for the modality they lack. */
function updates(cFashion = [1, -1, -1], dFashion = [100, 100, 100], eMnist = [50, 50, 50, 50]): StrategyUpdate[] {
  return [
    upd('a', [1, 2, -1, 0.5, 1, -1, 2], { slot: 0 }),
    upd('b', [2, 1, -2, 0.5, 2, -2, 1], { slot: 1 }),
    upd('c', [1, 1, -1, -0.5, ...cFashion], { slot: 2 }),
    upd('d', [-3, -1, 1, -1, ...dFashion], { slot: 3 }),
    upd('e', [...eMnist, 3, -3, 0], { slot: 4 }),
  ];
}

/** The coordinator passes its own availability plan (run-plan.ts modalityPlan) with every aggregation. */
const PLAN = modalityAvailability(K, SEED);
const input = (ups: StrategyUpdate[], extra = {}) => inp(ups, { layers: LAYERS, numClients: K, seed: SEED, modalities: PLAN, ...extra });

describe('fedmchain: SSCA per modality', () => {
  it('the fixture’s availability', () => {
    expect(modalityAvailability(K, SEED)).toEqual([['mnist', 'fashion'], ['mnist', 'fashion'], ['mnist', 'fashion'], ['mnist'], ['fashion']]);
  });

  it('flags the sign-flipped client, TIES-merges the kept cluster per block, ignores blocks a slot lacks', () => {
    const { result } = createStrategy('fedmchain').aggregate(input(updates()), null);
    // mnist, members a b c d. Signs a = b = [+,+,−,+], c = [+,+,−,−], d = [−,−,+,−]:
    //   A_ab = 1, A_ac = A_bc = 3/4, A_da = A_db = 0, A_dc = 1/4. Average linkage at 0.5: {a,b} (d 0), +c (0.25);
    //   {a,b,c}–d = (1 + 1 + 0.75)/3 > 0.5 → d suspicious, mean agreement with the kept (0 + 0 + 1/4)/3 = 0.08.
    //   TIES over a b c: [4/3, 4/3, −4/3, 0.5] (coordinate 3: Σ = 0.5 > 0, mean of the positives 0.5, 0.5).
    // fashion, members a b c e (d lacks it: its 100s are ignored). All agreements ≥ 2/3 → one cluster.
    //   TIES: [7/4, −7/4, mean(2, 1) = 1.5] (coordinate 6: Σ = 2 > 0; e's 0 does not vote). e's 50s on mnist are ignored.
    expectClose(result.weights, [4 / 3, 4 / 3, -4 / 3, 0.5, 7 / 4, -7 / 4, 1.5], 6);
    expect(result.flagged).toEqual([{ clientId: 'd', reason: 'sign disagreement with the largest cluster on mnist (agreement 0.08)' }]);
    // Kept coordinates: a b c 4 + 3, d 0, e 3; Σ = 24.
    expect(result.clientWeights).toEqual({ a: 7 / 24, b: 7 / 24, c: 7 / 24, d: 0, e: 3 / 24 });
  });

  it('the server checks availability itself: what a slot sends for a modality it lacks changes nothing', () => {
    const s = createStrategy('fedmchain');
    const ref = s.aggregate(input(updates()), null).result;
    const other = s.aggregate(input(updates(undefined, [-7, 0, 9], [-1e3, 0, 1e3, -1e3])), null).result;
    expect(arr(other.weights)).toEqual(arr(ref.weights));
    expect(other.flagged).toEqual(ref.flagged);
    expect(other.clientWeights).toEqual(ref.clientWeights);
  });

  it('flags per modality: c flipped on fashion only is still kept for mnist', () => {
    // fashion: c = [−,+,+] vs a, b: 1/3 each; vs e (common support 4, 5): 0. {a,b,e} agree fully;
    //   {a,b,e}–c = (2/3 + 2/3 + 1)/3 > 0.5 → c suspicious, mean agreement (1/3 + 1/3 + 0)/3 = 0.22.
    //   TIES over a b e: [2, −2, 1.5].
    const { result } = createStrategy('fedmchain').aggregate(input(updates([-1, 1, 1])), null);
    expectClose(result.weights, [4 / 3, 4 / 3, -4 / 3, 0.5, 2, -2, 1.5], 6);
    expect(result.flagged).toEqual([
      { clientId: 'c', reason: 'sign disagreement with the largest cluster on fashion (agreement 0.22)' },
      { clientId: 'd', reason: 'sign disagreement with the largest cluster on mnist (agreement 0.08)' },
    ]);
    // a b 7, c 4 (mnist only), d 0, e 3; Σ = 21.
    expect(result.clientWeights).toEqual({ a: 7 / 21, b: 7 / 21, c: 4 / 21, d: 0, e: 3 / 21 });
  });

  it('sscaLr scales the merged step; sscaThreshold changes the clustering', () => {
    const half = createStrategy('fedmchain', { sscaLr: 0.5 }).aggregate(input(updates()), null).result;
    expectClose(half.weights, [2 / 3, 2 / 3, -2 / 3, 0.25, 7 / 8, -7 / 8, 0.75], 6);
    // Threshold 0.2: on mnist only a–b (distance 0) merge; c and d are left alone.
    const strict = createStrategy('fedmchain', { sscaThreshold: 0.2 }).aggregate(input(updates()), null).result;
    expect(strict.flagged.map((f) => f.clientId)).toEqual(['c', 'd']);
    expectClose(strict.weights.subarray(0, 4), [1.5, 1.5, -1.5, 0.5], 6);
  });

  it('a modality nobody holding it sent gets step 0; the shared head is TIES-merged over everyone', () => {
    const layers: LayerSpec[] = [...LAYERS, { name: 'fusion/kernel', shape: [2] }];
    // d alone (MNIST only): its fashion 5s are ignored and nobody else holds fashion → fashion step 0.
    const d = upd('d', [1, -2, 3, 0, 5, 5, 5, 1, -1], { slot: 3 });
    const a = upd('a', [0, 0, 0, 0, 0, 0, 0, 3, 1], { slot: 0 });
    const { result } = createStrategy('fedmchain').aggregate(inp([d], { layers, numClients: K, seed: SEED, modalities: PLAN }), null);
    expectClose(result.weights, [1, -2, 3, 0, 0, 0, 0, 1, -1], 6);
    expect(result.clientWeights).toEqual({ d: 1 });
    // a holds both but its blocks are all zero: no vote (not a lone cluster to flag); shared: [mean(1, 3) = 2, Σ = 0 → 0].
    const two = createStrategy('fedmchain').aggregate(inp([d, a], { layers, numClients: K, seed: SEED, modalities: PLAN }), null).result;
    expectClose(two.weights, [1, -2, 3, 0, 0, 0, 0, 2, 0], 6);
    expect(two.flagged).toEqual([]);
    // Kept coordinates: d 4 (mnist) + 2 (shared), a 2 (shared); Σ = 8.
    expect(two.clientWeights).toEqual({ d: 6 / 8, a: 2 / 8 });
  });

  it('without modality layers everything is `shared`: a TIES merge of all updates, nothing flagged', () => {
    // Σ = [3, −2, 1] elects [+, −, +]: [mean(1, 3), mean(−2, −1), mean(3)] = [2, −1.5, 3]; c disagrees but is not flagged.
    const ups = [upd('a', [1, -2, 3]), upd('b', [3, 1, -1], { slot: 1 }), upd('c', [-1, -1, -1], { slot: 2 })];
    const { result } = createStrategy('fedmchain').aggregate(inp(ups, { layers: LAYERS_2_1 }), null);
    expectClose(result.weights, [2, -1.5, 3], 6);
    expect(result.flagged).toEqual([]);
    expect(result.clientWeights).toEqual({ a: 1 / 3, b: 1 / 3, c: 1 / 3 });
  });

  it('rejects a slot outside the run', () => {
    expect(() => createStrategy('fedmchain').aggregate(input([upd('a', [0, 0, 0, 0, 0, 0, 0], { slot: 5 })]), null)).toThrow(
      "fedmchain: client 'a' has slot 5; must be an integer in 0..4",
    );
  });
});

describe('fedmchain: parameters and client side', () => {
  it('defaults, ranges and ClientSide.chain', () => {
    const p = strategyParams();
    expect(p).toMatchObject({ sscaThreshold: 0.5, sscaLr: 1, chainOrder: 'weak-last', chainEpochs: 1, lambdaEc: 1, syncEvery: 2 });
    expect(fedmchain.client!(p)).toEqual({ chain: { order: 'weak-last', epochs: 1, lambdaEc: 1, cycles: 2 } });
    const q = strategyParams({ chainOrder: ' Round-Robin ', chainEpochs: '3', lambdaEc: 0, syncEvery: 4 });
    expect(fedmchain.client!(q)).toEqual({ chain: { order: 'round-robin', epochs: 3, lambdaEc: 0, cycles: 4 } });
    expect(() => strategyParams({ sscaThreshold: 0 })).toThrow(/invalid sscaThreshold 0/);
    expect(() => strategyParams({ sscaThreshold: 1.1 })).toThrow(/invalid sscaThreshold/);
    expect(() => strategyParams({ sscaLr: 0 })).toThrow(/invalid sscaLr 0/);
    expect(() => strategyParams({ chainOrder: 'random' })).toThrow(/chainOrder must be one of: weak-last, round-robin/);
    expect(() => strategyParams({ chainEpochs: 1.5 })).toThrow(/invalid chainEpochs/);
    expect(() => strategyParams({ lambdaEc: -1 })).toThrow(/invalid lambdaEc/);
    expect(() => strategyParams({ syncEvery: 0 })).toThrow(/invalid syncEvery/);
    expect(createStrategy('fedmchain').definition.keepsPartialWork).toBe(true);
  });

  it('chainOrderFor: weak-last is MODALITIES order; round-robin rotates by round − 1', () => {
    expect(chainOrderFor('weak-last', 1, ['mnist', 'fashion'])).toEqual(['mnist', 'fashion']);
    expect(chainOrderFor('weak-last', 2, ['fashion', 'mnist'])).toEqual(['mnist', 'fashion']);
    expect(chainOrderFor('weak-last', 5, ['fashion'])).toEqual(['fashion']);
    expect(chainOrderFor('round-robin', 1, ['mnist', 'fashion'])).toEqual(['mnist', 'fashion']);
    expect(chainOrderFor('round-robin', 2, ['mnist', 'fashion'])).toEqual(['fashion', 'mnist']);
    expect(chainOrderFor('round-robin', 3, ['mnist', 'fashion'])).toEqual(['mnist', 'fashion']);
    expect(chainOrderFor('round-robin', 2, ['mnist'])).toEqual(['mnist']);
    expect(chainOrderFor('round-robin', 2, [])).toEqual([]);
    expect(() => chainOrderFor('weak-last', 0, ['mnist'])).toThrow(/round must be an integer >= 1/);
  });
});

describe('fedmchain ablations', () => {
  it("chainServer 'fedavg': the sample-weighted mean over the clients holding each modality, nobody flagged", () => {
    const ups = updates().map((u, k) => ({ ...u, numSamples: [10, 10, 20, 40, 20][k] }));
    const { result } = createStrategy('fedmchain', { chainServer: 'fedavg' }).aggregate(input(ups), null);
    // mnist holders a b c d (n 10 10 20 40): coordinate 0 = (10·1 + 10·2 + 20·1 + 40·(−3))/80 = −70/80.
    // fashion holders a b c e (n 10 10 20 20): coordinate 4 = (10·1 + 10·2 + 20·1 + 20·3)/60 = 110/60.
    expect(result.step[0]).toBeCloseTo(-70 / 80, 6);
    expect(result.step[4]).toBeCloseTo(110 / 60, 6);
    expect(result.flagged).toEqual([]);
  });

  it("chainOrder 'joint' keeps the held modalities in one phase (the no-chain ablation)", () => {
    expect(chainOrderFor('joint', 3, ['fashion', 'mnist'])).toEqual(['mnist', 'fashion']);
    expect(fedmchain.client!(strategyParams({ chainOrder: 'joint' }) as never).chain!.order).toBe('joint');
  });
});

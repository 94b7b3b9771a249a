import { describe, expect, it } from 'vitest';
import { createRng } from '../prng';
import { qFedAvgStep, type QFedAvgInput } from './qfedavg';
import { expectClose } from './testing';

const u = (delta: number[], loss: number): QFedAvgInput => ({ delta: Float32Array.from(delta), loss });

/** The paper's equations taken literally (no rescaling), for comparison. */
function reference(updates: QFedAvgInput[], q: number, L: number): number[] {
  const len = updates[0].delta.length;
  const num = new Array<number>(len).fill(0);
  let den = 0;
  for (const { delta, loss } of updates) {
    const dw = Array.from(delta, (d) => -L * d); // Δw_k = L(w_t − w_k)
    const sq = dw.reduce((s, x) => s + x * x, 0);
    dw.forEach((x, i) => (num[i] += loss ** q * x)); // Δ̃_k
    den += q * loss ** (q - 1) * sq + L * loss ** q; // h_k
  }
  return num.map((x) => -x / den);
}

describe('q-FedAvg', () => {
  it('q = 0: h_k = L and the step is the plain mean of the updates', () => {
    // Δ̃_k = −LΔ_k, h_k = L → s = Σ LΔ_k / (K·L) = mean Δ_k = [(1 + 3 − 1)/3, (2 − 2 + 6)/3] = [1, 2]
    const ups = [u([1, 2], 0.5), u([3, -2], 4), u([-1, 6], 1e-6)];
    for (const L of [1, 10, 250]) {
      const { step, hShare, lossWeight } = qFedAvgStep(ups, 0, L);
      expect(step).toBeInstanceOf(Float64Array);
      expectClose(step, [1, 2], 12);
      expectClose(hShare, [1 / 3, 1 / 3, 1 / 3], 12);
      expectClose(lossWeight, [1 / 3, 1 / 3, 1 / 3], 12);
    }
  });

  it('q = 1, two clients, by hand', () => {
    // L = 10 (η_l = 0.1). A: Δ = [1, 0], F = 2.  B: Δ = [0, 2], F = 1.
    //   Δw_A = [−10, 0], ‖Δw_A‖² = 100, Δ̃_A = 2·Δw_A = [−20, 0],  h_A = 1·2⁰·100 + 10·2 = 120
    //   Δw_B = [0, −20], ‖Δw_B‖² = 400, Δ̃_B = 1·Δw_B = [0, −20],  h_B = 1·1⁰·400 + 10·1 = 410
    //   s = −(Δ̃_A + Δ̃_B)/(h_A + h_B) = [20, 20]/530 = [2/53, 2/53]
    //   hShare = [120, 410]/530 = [12/53, 41/53]; lossWeight = F/ΣF = [2/3, 1/3]
    const { step, hShare, lossWeight } = qFedAvgStep([u([1, 0], 2), u([0, 2], 1)], 1, 10);
    expectClose(step, [2 / 53, 2 / 53], 12);
    expectClose(hShare, [12 / 53, 41 / 53], 12);
    expectClose(lossWeight, [2 / 3, 1 / 3], 12);
  });

  it('matches the literal equations for random inputs and several q', () => {
    const rng = createRng(9);
    const ups = Array.from({ length: 5 }, () => ({
      delta: Float32Array.from({ length: 7 }, () => 0.1 * rng.normal()),
      loss: 0.2 + 2 * rng.next(),
    }));
    for (const q of [0, 0.5, 1, 2, 5]) {
      const { step } = qFedAvgStep(ups, q, 20);
      const ref = reference(ups, q, 20);
      for (let i = 0; i < ref.length; i++) expect(step[i]).toBeCloseTo(ref[i], 12);
    }
  });

  it('q > 0 tilts the step toward the client with the larger loss', () => {
    // Equal-size orthogonal updates: the step's coordinates are the clients' effective weights.
    const ups = [u([1, 0], 3), u([0, 1], 1)];
    const flat = qFedAvgStep(ups, 0, 10);
    expect(flat.step[0]).toBeCloseTo(flat.step[1], 12);
    let prevRatio = 1;
    for (const q of [0.5, 1, 2, 4]) {
      const { step, hShare, lossWeight } = qFedAvgStep(ups, q, 10);
      expect(step[0]).toBeGreaterThan(step[1]);
      expect(lossWeight[0]).toBeGreaterThan(lossWeight[1]);
      expectClose(lossWeight, [3 ** q / (3 ** q + 1), 1 / (3 ** q + 1)], 12);
      expect(hShare[0] + hShare[1]).toBeCloseTo(1, 12);
      // The tilt grows with q: weight ratio F_A^q / F_B^q = 3^q.
      const ratio = step[0] / step[1];
      expect(ratio).toBeCloseTo(3 ** q, 9);
      expect(ratio).toBeGreaterThan(prevRatio);
      prevRatio = ratio;
    }
    // With equal updates a larger loss also means a larger h share (q ≥ 1 here).
    const same = qFedAvgStep([u([1, 1], 3), u([1, 1], 1)], 2, 10);
    expect(same.hShare[0]).toBeGreaterThan(same.hShare[1]);
  });

  it('large q does not overflow (F^q rescaled by max F^q)', () => {
    // q = 400: 10^400 = Infinity in float64; shares still follow (F_k/F_max)^q.
    const { step, lossWeight, hShare } = qFedAvgStep([u([1, 0], 10), u([0, 1], 5)], 400, 10);
    for (const x of [...step, ...lossWeight, ...hShare]) expect(Number.isFinite(x)).toBe(true);
    expect(lossWeight[0]).toBeCloseTo(1, 12);
    expect(step[1]).toBeLessThan(1e-100);
    expect(step[0]).toBeGreaterThan(0);
  });

  it('does not modify its inputs', () => {
    const ups = [u([1, 2], 1), u([3, 4], 2)];
    const before = structuredClone(ups);
    qFedAvgStep(ups, 1, 5);
    expect(ups).toEqual(before);
  });

  it('rejects bad inputs', () => {
    const ok = [u([1, 2], 1)];
    expect(() => qFedAvgStep([], 1, 1)).toThrow(/no client updates/);
    expect(() => qFedAvgStep([u([1], 0)], 1, 1)).toThrow(/update 0 has loss 0/);
    expect(() => qFedAvgStep([u([1], 1), u([1], -2)], 1, 1)).toThrow(/update 1 has loss -2/);
    expect(() => qFedAvgStep([u([1], NaN)], 1, 1)).toThrow(/loss NaN/);
    expect(() => qFedAvgStep([u([1], Infinity)], 1, 1)).toThrow(/loss Infinity/);
    expect(() => qFedAvgStep(ok, -0.1, 1)).toThrow(/q must be finite and >= 0/);
    expect(() => qFedAvgStep(ok, NaN, 1)).toThrow(/q must be/);
    expect(() => qFedAvgStep(ok, 1, 0)).toThrow(/L \(= 1\/client lr\) must be finite and > 0/);
    expect(() => qFedAvgStep(ok, 1, Infinity)).toThrow(/L \(/);
    expect(() => qFedAvgStep([u([1, 2], 1), u([1], 1)], 1, 1)).toThrow('qFedAvgStep: update 1 has 1 values, update 0 has 2');
  });
});

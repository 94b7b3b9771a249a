import { describe, expect, it } from 'vitest';
import { createRng } from '../prng';
import { bulyanAggregate, bulyanMinUpdates } from './bulyan';
import { arr, expectClose } from './testing';

const vecs = (xs: number[][]): Float32Array[] => xs.map((x) => Float32Array.from(x));

describe('bulyan', () => {
  it('1-D, n = 7, f = 1: the outlier 100 (and the far 9) are never selected; θ = 5, β = 3', () => {
    // x = [0, 1, 3, 4, 7, 9, 100] (indices 0–6). Krum on the remaining set, nearest = n' − f − 2.
    // Round 1 (n' = 7, 4 nearest squared distances):
    //   0: 1+9+16+49 = 75   1: 1+4+9+36 = 50   3: 1+4+9+16 = 30   4: 1+9+9+16 = 35
    //   7: 4+9+16+36 = 65   9: 4+25+36+64 = 129   100: ≥ 91²  → pick 3 (index 2)
    // Round 2 (n' = 6, 3 nearest): 0: 1+16+49 = 66  1: 1+9+36 = 46  4: 9+9+16 = 34  7: 4+9+36 = 49  9: 93 → 4 (index 3)
    // Round 3 (n' = 5, 2 nearest): 0: 1+49 = 50  1: 1+36 = 37  7: 4+36 = 40  9: 4+64 = 68 → 1 (index 1)
    // Round 4 (n' = 4, 1 nearest): 0: 49  7: 4  9: 4 (tie → lower index)  → 7 (index 4)
    // Round 5 (n' = 3, n' − f − 2 = 0 → at least 1 nearest): 0: 81  9: 81  100: 91² (tie → lower index) → 0 (index 0)
    // Selected values {3, 4, 1, 7, 0}: sorted 0 1 3 4 7, median 3; the β = 3 closest: 3, 4, 1 → mean 8/3.
    const { aggregate, selected } = bulyanAggregate(vecs([[0], [1], [3], [4], [7], [9], [100]]), 1);
    expect(selected).toEqual([2, 3, 1, 4, 0]);
    expectClose(aggregate, [8 / 3], 12);
  });

  it('an outlier listed first is still rejected (the late rounds sum at least one distance)', () => {
    // Same values, 100 moved to index 0. Round 5 remaining {100, 0, 9}: scores 91², 81, 81 → 0 (index 1).
    // With n' − f − 2 = 0 nearest every score would be 0 and index order would pick the outlier.
    const { aggregate, selected } = bulyanAggregate(vecs([[100], [0], [1], [3], [4], [7], [9]]), 1);
    expect(selected).toEqual([3, 4, 2, 5, 1]);
    expect(selected).not.toContain(0);
    expectClose(aggregate, [8 / 3], 12);
  });

  it('2-D, n = 7, f = 1: hand-computed Krum rounds and the coordinate-wise β-closest mean', () => {
    // A=(0,0) B=(1,0) C=(0,1) D=(1,1) E=(2,0) F=(0,3) G=(30,−30)
    // ‖·‖²: AB 1 AC 1 AD 2 AE 4 AF 9 | BC 2 BD 1 BE 1 BF 10 | CD 1 CE 5 CF 4 | DE 2 DF 5 | EF 13 | G ≥ 1684 to all
    // Round 1 (4 nearest): A 1+1+2+4 = 8, B 1+1+1+2 = 5, C 1+1+2+4 = 8, D 1+1+2+2 = 6, E 1+2+4+5 = 12, F 4+5+9+10 = 28 → B
    // Round 2 (3 nearest, without B): A 1+2+4 = 7, C 1+1+4 = 6, D 1+2+2 = 5, E 2+4+5 = 11, F 4+5+9 = 18 → D
    // Round 3 (2 nearest, without B, D): A 1+4 = 5, C 1+4 = 5 (tie → A), E 4+5 = 9, F 4+9 = 13 → A
    // Round 4 (1 nearest, {C, E, F, G}): C 4, E 5, F 4 (tie → C), G 1684 → C
    // Round 5 (1 nearest, {E, F, G}): E 13, F 13 (tie → E), G 1684 → E
    // Selected B, D, A, C, E:
    //   x = 1, 1, 0, 0, 2 → sorted 0 0 1 1 2, median 1; keep 1, 1 (distance 0), then 0 vs 2 at distance 1 →
    //     the lower value 0 → mean (1 + 1 + 0)/3 = 2/3
    //   y = 0, 1, 0, 1, 0 → sorted 0 0 0 1 1, median 0 → 0, 0, 0 → 0
    const { aggregate, selected } = bulyanAggregate(vecs([[0, 0], [1, 0], [0, 1], [1, 1], [2, 0], [0, 3], [30, -30]]), 1);
    expect(selected).toEqual([1, 3, 0, 2, 4]);
    expectClose(aggregate, [2 / 3, 0], 12);
  });

  it('distance ties around the median take the lower value', () => {
    // x = [10, 5, 0, 1, 9, 4, 5] (indices 0–6)
    // Round 1 (4 nearest): 10: 1+25+25+36 = 87  5: 0+1+16+16 = 33  0: 1+16+25+25 = 67  1: 1+9+16+16 = 42
    //                      9: 1+16+16+25 = 58   4: 1+1+9+16 = 27   5′: 33 → 4 (index 5)
    // Round 2 (3 nearest): 10: 1+25+25 = 51  5: 0+16+16 = 32  0: 51  1: 1+16+16 = 33  9: 33  5′: 32 → 5 (index 1)
    // Round 3 (2 nearest): 10: 1+25 = 26  0: 26  1: 1+16 = 17  9: 1+16 = 17  5′: 16+16 = 32 → 1 (index 3)
    // Round 4 (1 nearest, {10, 0, 9, 5′}): 10: 1  0: 25  9: 1  5′: 16 → 10 (index 0)
    // Round 5 (1 nearest, {0, 9, 5′}): 0: 25  9: 16  5′: 16 → 9 (index 4)
    // Selected {4, 5, 1, 10, 9}: sorted 1 4 5 9 10, median 5; keep 5, 4, then 1 vs 9 (both at 4) → 1: mean 10/3
    const { aggregate, selected } = bulyanAggregate(vecs([[10], [5], [0], [1], [9], [4], [5]]), 1);
    expect(selected).toEqual([5, 1, 3, 0, 4]);
    expectClose(aggregate, [10 / 3], 12);
  });

  it('requires n >= 4f + 3', () => {
    expect(bulyanMinUpdates(0)).toBe(3);
    expect(bulyanMinUpdates(1)).toBe(7);
    expect(bulyanMinUpdates(2)).toBe(11);
    const six = vecs([[0], [1], [2], [3], [4], [5]]);
    expect(() => bulyanAggregate(six, 1)).toThrow('bulyan needs n >= 4f + 3: n=6, f=1');
    expect(() => bulyanAggregate(vecs(Array.from({ length: 10 }, (_, k) => [k])), 2)).toThrow('bulyan needs n >= 4f + 3: n=10, f=2');
    expect(() => bulyanAggregate([], 0)).toThrow('bulyan needs n >= 4f + 3: n=0, f=0');
    expect(() => bulyanAggregate(vecs([[0], [1], [2, 3]]), 0)).toThrow(/length mismatch/);
    expect(() => bulyanAggregate(six, -1)).toThrow(/f must be an integer >= 0/);
    expect(() => bulyanAggregate(six, 0.5)).toThrow(/f must be an integer >= 0/);
  });

  it('f = 0: θ = β = n, every update is selected and the result is the plain mean', () => {
    // [0,0], [2,−1], [4,7] (‖·‖²: 5, 65, 68): round 1 (1 nearest): 5, 5, 65 → index 0; round 2 ({1, 2}): 68, 68 → index 1; then 2.
    const ds = vecs([[0, 0], [2, -1], [4, 7], [1, 1]]);
    const { aggregate, selected } = bulyanAggregate(ds.slice(0, 3), 0);
    expect(selected).toEqual([0, 1, 2]);
    expectClose(aggregate, [2, 2], 12);
    const four = bulyanAggregate(ds, 0);
    expect([...four.selected].sort()).toEqual([0, 1, 2, 3]);
    expectClose(four.aggregate, [7 / 4, 7 / 4], 12);
  });

  it('f = 2, n = 11: far attackers are excluded and the result stays near the honest mean; deterministic', () => {
    const rng = createRng(21);
    const honest = Array.from({ length: 9 }, () => [1 + 0.1 * rng.normal(), -1 + 0.1 * rng.normal(), 0.5 + 0.1 * rng.normal()]);
    const ds = vecs([...honest.slice(0, 4), [40, 40, -40], ...honest.slice(4), [-50, 30, 10]]);
    const a = bulyanAggregate(ds, 2);
    const b = bulyanAggregate(ds, 2);
    expect(a.selected).toHaveLength(7);
    expect(a.selected).not.toContain(4);
    expect(a.selected).not.toContain(10);
    expect(new Set(a.selected).size).toBe(7);
    expectClose(a.aggregate, [1, -1, 0.5], 0); // within ±0.5
    expect(b.selected).toEqual(a.selected);
    expect(arr(b.aggregate)).toEqual(arr(a.aggregate));
  });

  it('does not modify its inputs; works across the 512-coordinate block boundary', () => {
    const rng = createRng(4);
    const n = 7;
    const len = 1300;
    const ds = Array.from({ length: n }, () => Float32Array.from({ length: len }, () => rng.normal()));
    const copy = ds.map((d) => Float32Array.from(d));
    const { aggregate, selected } = bulyanAggregate(ds, 1);
    expect(ds).toEqual(copy);
    // Reference per coordinate: sort the 5 selected values, keep the 3 closest to the median (distinct floats).
    for (const i of [0, 511, 512, 1023, 1024, 1299]) {
      const col = selected.map((k) => ds[k][i]).sort((x, y) => x - y);
      const med = col[2];
      const kept = [...col].sort((x, y) => Math.abs(x - med) - Math.abs(y - med) || x - y).slice(0, 3);
      expect(aggregate[i]).toBeCloseTo((kept[0] + kept[1] + kept[2]) / 3, 12);
    }
  });
});

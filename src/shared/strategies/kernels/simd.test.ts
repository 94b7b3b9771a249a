// The WebAssembly SIMD kernels (simd.ts, simd-module.ts, assembled by wat.ts) and the JS fallbacks beside them,
// against the references, on seeded random inputs: odd sizes (not a multiple of any block or vector width), K = 1,
// ties, ±0, large values; with SIMD on and switched off. And the assembler's bytes against hand-assembled ones.
import { afterEach, describe, expect, it } from 'vitest';
import { createRng } from '../../prng';
import { addVectors, applyStep } from '../common';
import { coordinateMedian, coordinateTrimmedMean, pairwiseSquaredDistances, weightedSum } from '../vector-math';
import { squaredDistancesF32 } from './distances';
import { meanAroundMedianColumns } from './mean-around-median';
import { applyPairs, mergeExchangePairs, prunePairs } from './network';
import { coordinateMedianRef, coordinateTrimmedMeanSortedRef, meanAroundMedianColumnsRef, weightedSumRef } from './reference';
import { SIMD_WAT, setSimdDisabled, simdKernels } from './simd-module';
import { assemble, sleb, uleb } from './wat';

const KS = [1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 31, 32, 33];
type Kind = 'random' | 'ties' | 'zeros' | 'large';

/** K float32 vectors; ties: 5 values; zeros: mostly ±0 and ±1; large: up to ±3e38 (float32's range). */
function vectors(k: number, size: number, seed: number, kind: Kind): Float32Array[] {
  const rng = createRng(seed);
  const draw = (j: number) => {
    const u = rng.next();
    if (kind === 'ties') return Math.floor(u * 5) - 2;
    if (kind === 'zeros') return u < 0.35 ? 0 : u < 0.7 ? -0 : u < 0.85 ? 1 : -1;
    if (kind === 'large') return (u - 0.5) * 6e38 * (rng.next() < 0.5 ? 1 : 1e-30);
    return (u - 0.5) * (j === 0 ? 10 : 1);
  };
  return Array.from({ length: k }, (_, j) => Float32Array.from({ length: size }, () => draw(j)));
}

/** Bit-identical; with zeroSign = false, −0 and +0 count as equal. */
function expectSame(a: Float64Array, b: Float64Array, zeroSign = true): void {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < a.length; i++) if (zeroSign ? !Object.is(a[i], b[i]) : a[i] !== b[i]) expect(`${i}: ${a[i]}`).toBe(`${i}: ${b[i]}`);
}

const PATHS = [
  { name: 'SIMD', off: false },
  { name: 'JS fallback', off: true },
] as const;

afterEach(() => setSimdDisabled(false));

describe('wat.ts assembles the text format into the specification’s bytes', () => {
  it('LEB128', () => {
    expect(uleb(0)).toEqual([0]);
    expect(uleb(624485)).toEqual([0xe5, 0x8e, 0x26]);
    expect(sleb(-123456)).toEqual([0xc0, 0xbb, 0x78]);
    expect(sleb(63)).toEqual([0x3f]);
    expect(sleb(64)).toEqual([0xc0, 0x00]);
    expect(sleb(-1)).toEqual([0x7f]);
  });
  it('a module with one exported function, byte for byte (hand-assembled from the binary format)', () => {
    const bytes = assemble('(module (func $add (export "add") (param $a i32) (param $b i32) (result i32) local.get $a local.get $b i32.add))');
    // prettier-ignore
    expect([...bytes]).toEqual([
      0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version 1
      0x01, 0x07, 0x01, 0x60, 0x02, 0x7f, 0x7f, 0x01, 0x7f, // type: (i32, i32) → i32
      0x03, 0x02, 0x01, 0x00, // function 0 has type 0
      0x07, 0x07, 0x01, 0x03, 0x61, 0x64, 0x64, 0x00, 0x00, // export "add" = function 0
      0x0a, 0x09, 0x01, 0x07, 0x00, 0x20, 0x00, 0x20, 0x01, 0x6a, 0x0b, // code: no locals; local.get 0, local.get 1, i32.add, end
    ]);
    const add = (new WebAssembly.Instance(new WebAssembly.Module(bytes)).exports as { add: (a: number, b: number) => number }).add;
    expect(add(2, 40)).toBe(42);
  });
  it('SIMD encodings (prefix 0xfd, LEB128 opcode, memarg, lanes) and labels', () => {
    const bytes = assemble(`(module (memory (export "m") 1)
      (func (export "f") (param $p i32) (local $v v128)
        block $out loop $l local.get $p i32.eqz br_if $out br $l end end
        local.get $p local.get $v local.get $p v128.load offset=16 f64x2.add v128.store
        local.get $p v128.load64_zero align=8 local.get $v f64x2.promote_low_f32x4 drop drop
        local.get $p v128.load f64x2.extract_lane 1 drop))`);
    const hex = [...bytes].map((b) => b.toString(16).padStart(2, '0')).join(' ');
    expect(hex).toContain('02 40 03 40 20 00 45 0d 01 0c 00 0b 0b'); // block, loop, br_if 1 ($out), br 0 ($l)
    expect(hex).toContain('20 00 20 01 20 00 fd 00 04 10 fd f0 01 fd 0b 04 00'); // v128.load align=16 offset=16, f64x2.add, v128.store
    expect(hex).toContain('fd 5d 03 00'); // v128.load64_zero align=8
    expect(hex).toContain('20 01 fd 5f'); // local.get $v, f64x2.promote_low_f32x4
    expect(hex).toContain('fd 21 01'); // f64x2.extract_lane 1
    expect(() => new WebAssembly.Module(bytes)).not.toThrow();
  });
  it('f32x4.div (opcode 231, two LEB128 bytes), run: lanes divided one by one', () => {
    const bytes = assemble(`(module (memory (export "m") 1)
      (func (export "div") i32.const 0 i32.const 0 v128.load i32.const 16 v128.load f32x4.div v128.store))`);
    expect([...bytes].map((b) => b.toString(16).padStart(2, '0')).join(' ')).toContain('fd e7 01');
    const { m, div } = new WebAssembly.Instance(new WebAssembly.Module(bytes)).exports as { m: WebAssembly.Memory; div: () => void };
    const f = new Float32Array(m.buffer, 0, 8);
    f.set([1, -6, 0, 7, 4, 3, 0, -2]);
    div();
    expect([...f.subarray(0, 4)]).toEqual([0.25, -2, NaN, -3.5]);
  });
  it('the kernel module is built from its source, validates, and is the same bytes every time', () => {
    const a = assemble(SIMD_WAT);
    expect(WebAssembly.validate(a)).toBe(true);
    expect([...assemble(SIMD_WAT)]).toEqual([...a]);
    expect(a.length).toBeLessThan(4096); // Chrome compiles modules up to 4 KB synchronously even on a main thread
    expect(simdKernels()).not.toBeNull(); // Node has WebAssembly SIMD: the tests below run both paths
  });
});

describe('sorting networks (network.ts)', () => {
  it('merge exchange sorts every 0/1 input up to n = 14 (the 0-1 principle) and random inputs up to 130', () => {
    for (let n = 1; n <= 14; n++) {
      const pairs = mergeExchangePairs(n);
      for (let bits = 0; bits < 1 << n; bits++) {
        const xs = Float64Array.from({ length: n }, (_, i) => (bits >> i) & 1);
        const ones = xs.reduce((s, x) => s + x, 0);
        applyPairs(pairs, xs);
        if (!xs.every((x, i) => x === (i >= n - ones ? 1 : 0))) expect(`n=${n} bits=${bits}`).toBe('sorted');
      }
    }
    const rng = createRng(3);
    for (const n of [15, 16, 31, 32, 33, 64, 100, 128, 130]) {
      const pairs = mergeExchangePairs(n);
      for (let r = 0; r < 20; r++) {
        const xs = Float64Array.from({ length: n }, () => Math.floor(rng.next() * 8));
        const sorted = xs.slice().sort();
        expect([...applyPairs(pairs, xs)]).toEqual([...sorted]);
      }
    }
    expect(mergeExchangePairs(32).length / 2).toBe(191);
  });
  it('a pruned network still gives the sorted values at the positions it keeps', () => {
    const rng = createRng(4);
    for (const n of [2, 5, 8, 9, 32, 33]) {
      const full = mergeExchangePairs(n);
      const h = n >> 1;
      const pruned = prunePairs(full, h - (n % 2 ? 0 : 1), h + 1);
      expect(pruned.length).toBeLessThanOrEqual(full.length);
      for (let r = 0; r < 50; r++) {
        const xs = Float64Array.from({ length: n }, () => rng.next());
        const sorted = xs.slice().sort();
        const out = applyPairs(pruned, xs);
        expect(out[h]).toBe(sorted[h]);
        if (n % 2 === 0) expect(out[h - 1]).toBe(sorted[h - 1]);
      }
    }
  });
});

describe.each(PATHS)('aggregation kernels, $name path, against the references', ({ off }) => {
  it('weightedSum is bit-identical to adding one term at a time in k order (zero and negative coefficients, ranges)', () => {
    setSimdDisabled(off);
    for (const k of KS) {
      for (const kind of ['random', 'zeros', 'large'] as const) {
        for (const size of [1, 7, 8193, 9001]) {
          const vs = vectors(k, size, 100 * k + size, kind);
          const rng = createRng(k + size);
          const c = vs.map((_, j) => (j % 5 === 3 ? 0 : (rng.next() - 0.3) * (kind === 'large' ? 1e-9 : 1)));
          expectSame(weightedSum(vs, c), weightedSumRef(vs, c));
          if (size > 20) {
            const out = Float64Array.from({ length: size }, (_, i) => i - 5);
            const ref = out.slice();
            expectSame(weightedSum(vs, c, out, 17, size - 2), weightedSumRef(vs, c, ref, 17, size - 2));
          }
        }
      }
    }
  });
  it('weightedSum with a divisor is the sum, then one division per coordinate (FedAvg’s Σ n_k·Δ_k / n)', () => {
    setSimdDisabled(off);
    for (const k of [0, 1, 5, 32]) {
      for (const size of [1, 7, 8193, 9001]) {
        const vs = vectors(k, size, 7 * k + size, 'random');
        const c = vs.map((_, j) => 100 + 13 * j);
        const ref = weightedSumRef(vs, c, new Float64Array(size));
        for (let i = 0; i < size; i++) ref[i] /= 4321;
        expectSame(weightedSum(vs, c, new Float64Array(size), 0, size, 4321), ref);
      }
    }
  });
  it('applyStep: w = f32(g + lr·s) and the step taken f32(w − g), bit for bit against one rounding per value', () => {
    setSimdDisabled(off);
    for (const size of [1, 3, 4, 4097, 9001]) {
      for (const lr of [1, 0.37, -2]) {
        const [g] = vectors(1, size, size, 'random');
        const rng = createRng(size + 1);
        const s = Float64Array.from({ length: size }, (_, i) => (rng.next() - 0.5) * (i % 3 === 0 ? 1e-9 : 3));
        const w = new Float32Array(size);
        const d = new Float32Array(size);
        for (let i = 0; i < size; i++) {
          w[i] = g[i] + lr * s[i];
          d[i] = w[i] - g[i];
        }
        const diff = new Float32Array(size);
        expectSame(Float64Array.from(applyStep(g, s, lr, diff)), Float64Array.from(w));
        expectSame(Float64Array.from(diff), Float64Array.from(d));
        expectSame(Float64Array.from(applyStep(g, s, lr)), Float64Array.from(w));
      }
    }
  });
  it('coordinateMedian gives the reference’s values (zero signs aside)', () => {
    setSimdDisabled(off);
    for (const k of KS) {
      for (const kind of ['random', 'ties', 'zeros', 'large'] as const) {
        const vs = vectors(k, 1001, 10 + k, kind);
        expectSame(coordinateMedian(vs), coordinateMedianRef(vs), false);
      }
    }
  });
  it('coordinateTrimmedMean equals sorting each column and summing the kept values in ascending order', () => {
    setSimdDisabled(off);
    for (const k of KS) {
      for (let trim = 0; 2 * trim < k; trim += Math.max(1, k >> 2)) {
        for (const kind of ['random', 'ties', 'zeros', 'large'] as const) {
          const vs = vectors(k, 1001, 20 + k + trim, kind);
          expectSame(coordinateTrimmedMean(vs, trim), coordinateTrimmedMeanSortedRef(vs, trim), false);
        }
      }
    }
  });
  it("Bulyan's mean around the median equals sorting each column (every θ, β)", () => {
    setSimdDisabled(off);
    for (let th = 1; th <= 35; th++) {
      for (let beta = 1; beta <= th; beta += th > 12 ? 4 : 1) {
        for (const kind of ['random', 'ties', 'zeros', 'large'] as const) {
          const vs = vectors(th, 203, 50 + th + beta, kind);
          expectSame(meanAroundMedianColumns(vs, beta), meanAroundMedianColumnsRef(vs, beta), false);
        }
      }
    }
  });
  it('pairwise distances: the JS sums in float32 lanes bit for bit, over odd sizes, duplicates and float32 overflow', () => {
    setSimdDisabled(off);
    for (const k of [1, 2, 3, 5, 8, 9, 33]) {
      for (const size of [1, 3, 511, 513, 4099, 9001]) {
        for (const kind of ['random', 'ties', 'zeros', 'large'] as const) {
          const vs = vectors(k, size, 40 + k + size, kind);
          if (k > 2) vs[2] = vs[1].slice();
          const d = pairwiseSquaredDistances(vs);
          expectSame(d, squaredDistancesF32(vs));
          if (k > 2) expect([d[1 * k + 2], d[2 * k + 1]]).toEqual([0, 0]);
          for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) expect(d[i * k + j]).toBe(d[j * k + i]);
          // 'large': differences past 1.8e19 square to +Infinity in float32, never to NaN.
          if (kind === 'large' && k > 1 && size > 100) expect(d[1 * k + 0]).toBe(Infinity);
          expect(d.every((x) => x >= 0)).toBe(true);
        }
      }
    }
  });

  it('pairwise distances by hand: lanes, a block boundary, and a square past float32 range', () => {
    setSimdDisabled(off);
    const a = new Float32Array(1030), b = new Float32Array(1030);
    a.set([1, 2, 3, 4, 5]);
    b.set([4, 6, 3, 4, 0]);
    a[513] = 0.5; // the second block
    b[1029] = 2; // the third block's last coordinate, past any multiple of 4
    // (1−4)² + (2−6)² + 0 + 0 + 5² + 0.5² + 2² = 9 + 16 + 25 + 0.25 + 4
    expect(Array.from(pairwiseSquaredDistances([a, b]))).toEqual([0, 54.25, 54.25, 0]);
    const c = a.slice();
    c[7] = 3e19; // (3e19)² > 3.4e38: +Infinity
    const d = pairwiseSquaredDistances([a, b, c]);
    expect([d[1], d[2], d[5]]).toEqual([54.25, Infinity, Infinity]);
  });
});

describe.each(PATHS)('addVectors, $name path', ({ off }) => {
  it('is Math.fround(a + b) bit for bit (a = null: 0 + b, so −0 becomes +0), over odd sizes and large values', () => {
    setSimdDisabled(off);
    for (const size of [1, 3, 4, 8191, 8193, 20011]) {
      for (const kind of ['random', 'zeros', 'large'] as const) {
        const [a, b] = vectors(2, size, size + kind.length, kind);
        const sum = addVectors(a, b);
        const fromZero = addVectors(null, b);
        for (let i = 0; i < size; i++) {
          if (!Object.is(sum[i], Math.fround(a[i] + b[i]))) expect(`${i}: ${sum[i]}`).toBe(`${i}: ${Math.fround(a[i] + b[i])}`);
          if (!Object.is(fromZero[i], Math.fround(0 + b[i]))) expect(`${i}: ${fromZero[i]}`).toBe(`${i}: ${0 + b[i]}`);
        }
        if (kind === 'zeros' && size > 100) expect(b.some((x) => Object.is(x, -0)) && !fromZero.some((x) => Object.is(x, -0))).toBe(true);
      }
    }
    expect(() => addVectors(new Float32Array(3), new Float32Array(4))).toThrow('addVectors: lengths 3 and 4');
  });
});

describe('the SIMD and JS paths agree with each other', () => {
  it('on the median, trimmed mean and weighted sum, bit for bit (zero signs aside)', () => {
    const vs = vectors(32, 5003, 9, 'random');
    const c = vs.map((_, j) => 1 / (j + 2));
    const run = () => [coordinateMedian(vs), coordinateTrimmedMean(vs, 7), weightedSum(vs, c), meanAroundMedianColumns(vs.slice(0, 30), 26)];
    const fast = run();
    setSimdDisabled(true);
    const slow = run();
    fast.forEach((f, i) => expectSame(f, slow[i], false));
  });
});

// The JS side of the WebAssembly SIMD kernels (simd-module.ts): each call stages one block of coordinates of every
// float32 update into the module's memory (a plain memcpy into a buffer that stays in cache: the bytes are read
// from the updates once), runs the block there, and copies the float64 results out. Every function returns null
// where WebAssembly SIMD is unavailable; vector-math.ts then runs the JS kernel.
import { mergeExchangePairs, prunePairs } from './network';
import { DIST_BLOCK } from './distances';
import { DIST_CHUNK, DIST_PAD_ROWS, DIST_STRIDE, simdKernels, type SimdExports } from './simd-module';

const PAGE = 65536;
/**
 * Rows of a staged block are B + PAD values apart: a row stride of a multiple of 4 KiB would put every row's
 * current cache line in the same L1 set (and 4K-alias the loads); 16 values more shift each row by 64 or 128 bytes.
 * (Without it, the weighted sum over 32 rows of 2048 values ran 2.7× slower.)
 */
const PAD = 16;
const roundUp = (x: number, q: number) => Math.ceil(x / q) * q;

interface Views {
  wasm: SimdExports;
  f32: Float32Array;
  f64: Float64Array;
  i32: Int32Array;
}

let views: { buffer: ArrayBuffer; f32: Float32Array; f64: Float64Array; i32: Int32Array } | null = null;

/** The module with at least `bytes` of memory, and views of it (renewed when the memory grew). */
function memory(bytes: number): Views | null {
  const wasm = simdKernels();
  if (!wasm) return null;
  const mem = wasm.memory;
  if (mem.buffer.byteLength < bytes) mem.grow(Math.ceil((bytes - mem.buffer.byteLength) / PAGE));
  const buffer = mem.buffer as ArrayBuffer;
  if (!views || views.buffer !== buffer) views = { buffer, f32: new Float32Array(buffer), f64: new Float64Array(buffer), i32: new Int32Array(buffer) };
  return { wasm, f32: views.f32, f64: views.f64, i32: views.i32 };
}

/**
 * Where layouts start: 2 KiB past a page boundary. Large JS arrays start 16 bytes past one (glibc's mmap chunk header),
 * and glibc's memcpy (rep movsb, on this AMD EPYC) runs 12× slower when the destination is a few bytes past the
 * source modulo 4 KiB (a false store-to-load dependency on every line): copying a block of results out of offset 0
 * into such an array took 0.67 ms per 1.8 MB, out of offset 16 or 2048 0.055 ms.
 */
const BASE = 2048;

/** A bump allocator over byte offsets, 16-byte aligned, from BASE. */
function layout(...sizes: number[]): { offsets: number[]; total: number } {
  const offsets: number[] = [];
  let at = BASE;
  for (const s of sizes) {
    offsets.push(at);
    at += roundUp(s, 16);
  }
  return { offsets, total: at };
}

/**
 * out[i] = (((out[i] + c_0·v_0[i]) + c_1·v_1[i]) + …) over the k with c_k ≠ 0, in k order, for i in [start, end):
 * one float64 multiply and add per term, the JS weightedSum's order (bit-identical), then divided by `divisor`.
 * `outIsZero`: out[start, end) is known to hold zeros, so it is not read. Null without SIMD, or with no term to add.
 */
export function weightedSumSimd(vs: readonly Float32Array[], coeffs: ArrayLike<number>, out: Float64Array, start: number, end: number, divisor = 1, outIsZero = false): Float64Array | null {
  const ks: number[] = [];
  for (let k = 0; k < vs.length; k++) if (coeffs[k] !== 0) ks.push(k);
  if (ks.length === 0 || end <= start) return null; // nothing to add: the JS path's division alone
  const r = ks.length;
  // A block of B coordinates of the sum stays in L2 (64 KiB) while the rows are staged G at a time (G × 32 KiB,
  // long sequential copies: the staging is a read of the updates, at memory speed) and added in order: wsum keeps 8
  // coordinates in registers over the G rows of a call, and the next call continues from the stored sums.
  const B = 8192, G = 4;
  const S = B + PAD;
  const { offsets: [accOff, coefOff, rowsOff], total } = layout(B * 8, r * 8, G * S * 4);
  const m = memory(total);
  if (!m) return null;
  for (let q = 0; q < r; q++) m.f64[coefOff / 8 + q] = coeffs[ks[q]];
  for (let b = start; b < end; b += B) {
    const e = Math.min(end, b + B);
    const len = e - b;
    const n = roundUp(len, 8); // lanes past len hold stale values; their results are not copied out
    if (outIsZero) m.f64.fill(0, accOff / 8, accOff / 8 + len);
    else m.f64.set(out.subarray(b, e), accOff / 8);
    for (let q0 = 0; q0 < r; q0 += G) {
      const g = Math.min(G, r - q0);
      for (let q = 0; q < g; q++) m.f32.set(vs[ks[q0 + q]].subarray(b, e), rowsOff / 4 + q * S);
      m.wasm.wsum(accOff, rowsOff, S * 4, coefOff + q0 * 8, g, n);
    }
    if (divisor !== 1) m.wasm.divide(accOff, n, divisor);
    out.set(m.f64.subarray(accOff / 8, accOff / 8 + len), b);
  }
  return out;
}

/**
 * out[i] = f32(global[i] + lr·step[i]) and, when `diff` is given, diff[i] = f32(out[i] − global[i]): the JS
 * applyStep's and the composed strategy's float32 step, bit for bit. Null without SIMD.
 */
export function applyStepSimd(global: Float32Array, step: Float64Array, lr: number, out: Float32Array, diff: Float32Array | null): Float32Array | null {
  const len = global.length;
  const B = 4096;
  const { offsets: [gOff, sOff, wOff, dOff], total } = layout(B * 4, B * 8, B * 4, B * 4);
  const m = memory(total);
  if (!m) return null;
  for (let b = 0; b < len; b += B) {
    const e = Math.min(len, b + B);
    const n = e - b;
    m.f32.set(global.subarray(b, e), gOff / 4);
    m.f64.set(step.subarray(b, e), sOff / 8);
    m.wasm.applyStep(gOff, sOff, lr, wOff, dOff, roundUp(n, 4)); // lanes past n: stale, not copied out
    out.set(m.f32.subarray(wOff / 4, wOff / 4 + n), b);
    if (diff) diff.set(m.f32.subarray(dOff / 4, dOff / 4 + n), b);
  }
  return out;
}

/** out[i] = f32(a[i] + b[i]), a = null meaning zeros (so −0 in b comes out +0, as 0 + −0 does in JS). Null without SIMD. */
export function addF32Simd(a: Float32Array | null, b: Float32Array, out: Float32Array): Float32Array | null {
  const len = b.length;
  const B = 8192;
  const { offsets: [aOff, bOff, oOff], total } = layout(B * 4, B * 4, B * 4);
  const m = memory(total);
  if (!m) return null;
  if (!a) m.f32.fill(0, aOff / 4, aOff / 4 + B);
  for (let s = 0; s < len; s += B) {
    const n = Math.min(len, s + B) - s;
    if (a) m.f32.set(a.subarray(s, s + n), aOff / 4);
    m.f32.set(b.subarray(s, s + n), bOff / 4);
    m.wasm.addF32(aOff, bOff, oOff, roundUp(n, 4)); // lanes past n: stale, not copied out
    out.set(m.f32.subarray(oOff / 4, oOff / 4 + n), s);
  }
  return out;
}

/**
 * D[i·m + j] = ‖v_i − v_j‖² (symmetric, 0 on the diagonal), bit for bit kernels/distances.ts's squaredDistancesF32
 * (its header has the order of the sums). Null without SIMD.
 */
export function squaredDistancesSimd(vs: readonly Float32Array[]): Float64Array | null {
  const mm = vs.length;
  const len = mm ? vs[0].length : 0;
  const d = new Float64Array(mm * mm);
  if (mm < 2) return d;
  // Chunks of whole blocks staged at once, at the kernel's constant row stride (up to DIST_CHUNK values a row).
  const C = Math.min(DIST_CHUNK, stageChunk(mm, DIST_BLOCK));
  const S = DIST_STRIDE / 4;
  const rows = mm + DIST_PAD_ROWS; // rows that distBlock reads past the last: in memory, their values unused
  const { offsets: [stageOff, dOff], total } = layout(rows * S * 4, mm * mm * 8);
  const m = memory(total);
  if (!m) return null;
  m.f64.fill(0, dOff / 8, dOff / 8 + mm * mm);
  for (let c = 0; c < len; c += C) {
    const clen = Math.min(len, c + C) - c;
    stageRows(m.f32, vs, stageOff / 4, S, c, clen, roundUp(clen, 4)); // zeros: (0 − 0)² = 0, which changes no sum
    for (let b = 0; b < clen; b += DIST_BLOCK) m.wasm.distBlock(stageOff + b * 4, mm, roundUp(Math.min(clen - b, DIST_BLOCK), 4), dOff);
  }
  const dv = m.f64.subarray(dOff / 8, dOff / 8 + mm * mm);
  for (let i = 0; i < mm; i++) {
    for (let j = 0; j < i; j++) {
      d[i * mm + j] = dv[i * mm + j];
      d[j * mm + i] = dv[i * mm + j];
    }
  }
  return d;
}

/** Coordinates per staged block of the row reductions: m float32 rows of B in L2 (512 KiB at m = 32). */
const rowBlock = (rows: number) => Math.max(64, Math.min(8192, Math.floor(131072 / rows) & ~7));

/** Rows k of vs[k][b, b + len) at f32 index `at` + k·S, zero past len up to `n` (so padded lanes add exactly 0). */
function stageRows(f32: Float32Array, vs: readonly Float32Array[], at: number, S: number, b: number, len: number, n: number): void {
  for (let k = 0; k < vs.length; k++) {
    const o = at + k * S;
    f32.set(vs[k].subarray(b, b + len), o);
    if (n > len) f32.fill(0, o + len, o + n);
  }
}

/**
 * Coordinates staged per TypedArray.set of each row: a multiple of the kernel's block B, up to 128 Ki values for all
 * m rows together (512 KiB, in L2). Each set costs ~0.3 µs besides its bytes: staging 32 CNN-S updates 1,024
 * values at a time took 1.6× a plain copy of them, 8,192 at a time 0.9×.
 */
function stageChunk(rows: number, B: number): number {
  return B * Math.max(1, Math.floor(Math.min(8192, 131072 / rows) / B));
}

/**
 * Over [start, end), for each of the m vectors: sq[k] = Σ_t v_k[t]², and with `ref` also dr[k] = Σ_t v_k[t]·ref[t],
 * in float64 (per block, four partial sums added pairwise; a different order from a sequential loop: rounding,
 * ~1e-16 of the sum). One pass over the vectors. Null without SIMD.
 */
export function squaresAndDotsSimd(vs: readonly Float32Array[], ref: Float32Array | null, start: number, end: number): { sq: Float64Array; dr: Float64Array | null } | null {
  const mm = vs.length;
  const B = rowBlock(mm + 1);
  const S = B + PAD;
  // A reference that is also one of the rows (FLTrust's and Fed-Adaptive-Next's Δ₀ and step) is promoted from its
  // staged row, not staged a second time.
  const refRow = ref ? vs.indexOf(ref) : -1;
  const { offsets: [rowsOff, refOff, vecOff, sqOff, drOff], total } = layout(mm * S * 4, S * 4, B * 8, mm * 8, mm * 8);
  const m = memory(total);
  if (!m) return null;
  m.f64.fill(0, sqOff / 8, sqOff / 8 + mm);
  m.f64.fill(0, drOff / 8, drOff / 8 + mm);
  for (let b = start; b < end; b += B) {
    const len = Math.min(end, b + B) - b;
    const n = roundUp(len, 4);
    stageRows(m.f32, vs, rowsOff / 4, S, b, len, n);
    m.wasm.rowSquares(rowsOff, S * 4, mm, n, 0, sqOff);
    if (ref) {
      if (refRow < 0) stageRows(m.f32, [ref], refOff / 4, S, b, len, n);
      m.wasm.promote(refRow < 0 ? refOff : rowsOff + refRow * S * 4, vecOff, n);
      m.wasm.rowDots(rowsOff, S * 4, mm, n, vecOff, drOff);
    }
  }
  return { sq: m.f64.slice(sqOff / 8, sqOff / 8 + mm), dr: ref ? m.f64.slice(drOff / 8, drOff / 8 + mm) : null };
}

/**
 * du[k] = Σ_t v_k[t]·u[t] over [start, end) for u = Σ_j coef_j·v_j, built block by block from the same staged rows
 * (u is never stored whole): ⟨v_k, Σ_j coef_j v_j⟩ in one pass over the vectors instead of m² dot products.
 * Coefficients must be finite. Null without SIMD.
 */
export function dotsWithSumSimd(vs: readonly Float32Array[], coef: ArrayLike<number>, start: number, end: number): Float64Array | null {
  const mm = vs.length;
  const B = rowBlock(mm);
  const S = B + PAD;
  const { offsets: [rowsOff, coefOff, uOff, duOff], total } = layout(mm * S * 4, mm * 8, B * 8, mm * 8);
  const m = memory(total);
  if (!m) return null;
  for (let k = 0; k < mm; k++) m.f64[coefOff / 8 + k] = coef[k];
  m.f64.fill(0, duOff / 8, duOff / 8 + mm);
  for (let b = start; b < end; b += B) {
    const len = Math.min(end, b + B) - b;
    const n = roundUp(len, 8); // wsum's 8 coordinates a pass; the zero padding makes u 0 there
    stageRows(m.f32, vs, rowsOff / 4, S, b, len, n);
    m.f64.fill(0, uOff / 8, uOff / 8 + n);
    m.wasm.wsum(uOff, rowsOff, S * 4, coefOff, mm, n);
    m.wasm.rowDots(rowsOff, S * 4, mm, n, uOff, duOff);
  }
  return m.f64.slice(duOff / 8, duOff / 8 + mm);
}

const networks = new Map<string, Int32Array>();

/** The pairs (row indices) of the sorting network on m rows, pruned to the rows [from, to) that are read. */
function network(m: number, from: number, to: number): Int32Array {
  const key = `${m}:${from}:${to}`;
  let p = networks.get(key);
  if (!p) {
    p = prunePairs(mergeExchangePairs(m), from, to);
    networks.set(key, p);
  }
  return p;
}

type ColumnOut =
  | { kind: 'mean'; from: number; to: number; div: number } // mean of sorted rows [from, to)
  | { kind: 'window'; drop: number; beta: number }; // Bulyan's window of β around the median

/**
 * Sorts every column of the m updates (per coordinate, the m values) with a compare-exchange network on float32
 * lanes, 4 coordinates a vector, a block of coordinates at a time, and reduces the sorted column to one float64.
 */
function sortedColumns(vs: readonly Float32Array[], what: ColumnOut): Float64Array | null {
  const mm = vs.length;
  const len = mm ? vs[0].length : 0;
  const out = new Float64Array(len);
  // A block of m × B float32 values in L1 (32 KiB): every pair of the network streams two of its rows. Staged a
  // chunk of several blocks at a time (stageChunk), at the chunk's row stride.
  const B = Math.max(16, Math.min(2048, Math.floor(8192 / mm) & ~3));
  const C = stageChunk(mm, B);
  const pairs = what.kind === 'mean' ? network(mm, what.from, what.to) : network(mm, 0, mm);
  const np = pairs.length / 2;
  const S = C + PAD;
  const { offsets: [rowsOff, pairsOff, outOff, loOff, hiOff], total } = layout(mm * S * 4, np * 8, C * 8, B * 8, B * 8);
  const m = memory(total);
  if (!m) return null;
  for (let t = 0; t < pairs.length; t++) m.i32[pairsOff / 4 + t] = pairs[t] * S * 4;
  // Bulyan's window leaves out `drop` values from the ends, so it always holds the sorted rows [drop, m − drop).
  const inside0 = what.kind === 'window' ? Math.min(what.drop, mm) : 0;
  const inside1 = what.kind === 'window' ? Math.max(inside0, mm - what.drop) : 0;
  for (let c = 0; c < len; c += C) {
    const clen = Math.min(len, c + C) - c;
    stageRows(m.f32, vs, rowsOff / 4, S, c, clen, clen); // lanes past clen: stale, their results not copied out
    for (let b = 0; b < clen; b += B) {
      const n = roundUp(Math.min(clen - b, B), 4);
      const rows = rowsOff + b * 4;
      const out8 = outOff + b * 8;
      m.wasm.network(rows, pairsOff, np, n * 4);
      if (what.kind === 'mean') m.wasm.rowMean(rows, S * 4, what.from, what.to, what.div, out8, n);
      else {
        m.wasm.window(rows, S * 4, mm, what.drop, loOff, hiOff, n);
        m.wasm.windowMean(rows, S * 4, mm, inside0, inside1, loOff, hiOff, what.beta, out8, n);
      }
    }
    out.set(m.f64.subarray(outOff / 8, outOff / 8 + clen), c);
  }
  return out;
}

/** Coordinate-wise median (even m: (lower + upper)/2): the reference's values up to the sign of a zero. */
export function coordinateMedianSimd(vs: readonly Float32Array[]): Float64Array | null {
  const h = vs.length >> 1;
  return vs.length % 2 ? sortedColumns(vs, { kind: 'mean', from: h, to: h + 1, div: 1 }) : sortedColumns(vs, { kind: 'mean', from: h - 1, to: h + 1, div: 2 });
}

/** Coordinate-wise trimmed mean: the kept values summed in ascending order from 0, divided by their count. */
export function coordinateTrimmedMeanSimd(vs: readonly Float32Array[], trim: number): Float64Array | null {
  const keep = vs.length - 2 * trim;
  return sortedColumns(vs, { kind: 'mean', from: trim, to: trim + keep, div: keep });
}

/** Bulyan's mean of the β values closest to the median, summed in ascending order (as sorting each column does). */
export function meanAroundMedianSimd(vs: readonly Float32Array[], beta: number): Float64Array | null {
  return sortedColumns(vs, { kind: 'window', drop: vs.length - beta, beta });
}

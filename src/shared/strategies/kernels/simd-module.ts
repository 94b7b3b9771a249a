// The WebAssembly SIMD (128-bit) kernels, as WAT source (assembled by wat.ts at first use, so no binary is checked
// in), and their instance: one memory that the JS wrappers (simd.ts) stage blocks of the float32 updates into.
// Every float64 sum here is one IEEE add per term, in a fixed order documented per function: no FMA, no relaxed SIMD.
// Where WebAssembly SIMD is unavailable (or compiling fails) `simdKernels()` is null and the callers keep the JS kernels.
import { assemble } from './wat';

/** `local.get` of each name, in order. */
const get = (...names: string[]) => names.map((n) => `local.get $${n}`).join(' ');

/** The 2×4 tile of distBlock: accumulator s{a}{b} += (x{a} − y{b})². */
const TILE_ROWS = ['x0', 'x1'];
const TILE_COLS = ['y0', 'y1', 'y2', 'y3'];
const WSUM_ACC = ['a0', 'a1', 'a2', 'a3'];
const tileAcc = TILE_ROWS.flatMap((_, a) => TILE_COLS.map((_, b) => `s${a}${b}`));
/** Rows of memory distBlock reads after the last row (values unused): a tile's columns reach 3 past its row i0 + 1 ≤ m. */
export const DIST_PAD_ROWS = TILE_COLS.length;
/** distBlock's row stride in bytes: staged chunks of up to DIST_CHUNK float32 values a row, 16 values of padding (see simd.ts's PAD). */
export const DIST_CHUNK = 4096;
export const DIST_STRIDE = (DIST_CHUNK + 16) * 4;

/** $name ← $name + by (a pointer or counter stepping on). */
const advance = (name: string, by: number) => `${get(name)} i32.const ${by} i32.add local.set $${name}`;

/** Lanes 2–3 of a float32 vector moved to lanes 0–1 (for f64x2.promote_low_f32x4 of the high half). */
const HIGH_TO_LOW = 'i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7';
/** Lanes 0–1 of the vector below the top and lanes 0–1 of the top as one float32 vector (two demoted pairs). */
const PAIRS = 'i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23';

export const SIMD_WAT = `
(module
  (memory (export "memory") 1)

  ;; acc[i] (f64, n values, n % 8 = 0) ← (((acc[i] + c_0·r_0[i]) + c_1·r_1[i]) + …) + c_{R−1}·r_{R−1}[i]:
  ;; one multiply and one add per row, rows in order (the JS weightedSum's order). Rows r_k are float32 at
  ;; rows + k·stride; coefficients are R float64 at coef. 8 coordinates (4 accumulators) per pass over the rows;
  ;; two float32 at a time are loaded into the low lanes and promoted (no shuffle).
  (func $wsum (export "wsum") (param $acc i32) (param $rows i32) (param $stride i32) (param $coef i32) (param $nrows i32) (param $n i32)
    (local $end i32) (local $cend i32) (local $p i32) (local $c i32) (local $w v128)
    ${WSUM_ACC.map((a) => `(local $${a} v128)`).join(' ')}
    ${get('acc', 'n')} i32.const 3 i32.shl i32.add local.set $end
    ${get('coef', 'nrows')} i32.const 3 i32.shl i32.add local.set $cend
    block $done loop $coords
      ${get('acc', 'end')} i32.ge_u br_if $done
      ${WSUM_ACC.map((a, q) => `${get('acc')} v128.load offset=${16 * q} local.set $${a}`).join('\n')}
      ${get('rows')} local.set $p
      ${get('coef')} local.set $c
      block $rdone loop $r
        ${get('c', 'cend')} i32.ge_u br_if $rdone
        ${get('c')} v128.load64_splat local.set $w
        ${WSUM_ACC.map((a, q) => `${get(a, 'w', 'p')} v128.load64_zero offset=${8 * q} f64x2.promote_low_f32x4 f64x2.mul f64x2.add local.set $${a}`).join('\n')}
        ${get('p', 'stride')} i32.add local.set $p
        ${advance('c', 8)}
        br $r
      end end
      ${WSUM_ACC.map((a, q) => `${get('acc', a)} v128.store offset=${16 * q}`).join('\n')}
      ${advance('acc', 64)}
      ${advance('rows', 32)}
      br $coords
    end end)

  ;; w[i] = f32(g[i] + lr·s[i]) and d[i] = f32(f64(w[i]) − f64(g[i])) for n values (n % 4 = 0): g, w, d float32,
  ;; s float64. The JS applyStep and the float32 step the strategies keep (registry.ts), one rounding each.
  (func $applyStep (export "applyStep") (param $g i32) (param $s i32) (param $lr f64) (param $w i32) (param $d i32) (param $n i32)
    (local $end i32) (local $l v128) (local $x v128) (local $lo v128) (local $hi v128) (local $wf v128)
    ${get('lr')} f64x2.splat local.set $l
    ${get('g', 'n')} i32.const 2 i32.shl i32.add local.set $end
    block $done loop $e
      ${get('g', 'end')} i32.ge_u br_if $done
      ${get('g')} v128.load local.set $x
      ${get('x')} f64x2.promote_low_f32x4 local.set $lo
      ${get('x', 'x')} ${HIGH_TO_LOW} f64x2.promote_low_f32x4 local.set $hi
      ${get('lo', 'l', 's')} v128.load f64x2.mul f64x2.add f32x4.demote_f64x2_zero
      ${get('hi', 'l', 's')} v128.load offset=16 f64x2.mul f64x2.add f32x4.demote_f64x2_zero
      ${PAIRS} local.set $wf
      ${get('w', 'wf')} v128.store
      ${get('d', 'wf')} f64x2.promote_low_f32x4 ${get('lo')} f64x2.sub f32x4.demote_f64x2_zero
      ${get('wf', 'wf')} ${HIGH_TO_LOW} f64x2.promote_low_f32x4 ${get('hi')} f64x2.sub f32x4.demote_f64x2_zero
      ${PAIRS} v128.store
      ${advance('g', 16)}
      ${advance('s', 32)}
      ${advance('w', 16)}
      ${advance('d', 16)}
      br $e
    end end)

  ;; out[k] += Σ_t r_k[t]² (rowSquares) or Σ_t r_k[t]·vec[t] (rowDots, vec float64) for the nrows float32 rows r_k at
  ;; rows + k·stride, n values each (n % 4 = 0; pad with zeros). Per row: four partial sums (t mod 4), added
  ;; pairwise, then added to out[k].
  ${rowReduce('rowSquares', (x) => `${x} ${x} f64x2.mul`)}
  ${rowReduce('rowDots', (x, off) => `${x} ${get('v')} v128.load offset=${off} f64x2.mul`)}

  ;; out[i] = f32(a[i] + b[i]) for n float32 values (n % 4 = 0): one float32 add, as JS's f32(a + b) rounds it.
  (func $addF32 (export "addF32") (param $a i32) (param $b i32) (param $out i32) (param $n i32)
    (local $end i32)
    ${get('a', 'n')} i32.const 2 i32.shl i32.add local.set $end
    block $done loop $e
      ${get('a', 'end')} i32.ge_u br_if $done
      ${get('out', 'a')} v128.load ${get('b')} v128.load f32x4.add v128.store
      ${advance('a', 16)}
      ${advance('b', 16)}
      ${advance('out', 16)}
      br $e
    end end)

  ;; x[i] ← x[i] / div for n float64 values (n % 2 = 0): FedAvg's Σ n_k·Δ_k / n.
  (func $divide (export "divide") (param $x i32) (param $n i32) (param $div f64)
    (local $end i32) (local $dv v128)
    ${get('div')} f64x2.splat local.set $dv
    ${get('x', 'n')} i32.const 3 i32.shl i32.add local.set $end
    block $done loop $e
      ${get('x', 'end')} i32.ge_u br_if $done
      ${get('x', 'x')} v128.load ${get('dv')} f64x2.div v128.store
      ${advance('x', 16)}
      br $e
    end end)

  ;; dst[i] = f64(src[i]) for n float32 values (n % 4 = 0).
  (func $promote (export "promote") (param $src i32) (param $dst i32) (param $n i32)
    (local $end i32) (local $x v128)
    ${get('src', 'n')} i32.const 2 i32.shl i32.add local.set $end
    block $done loop $l
      ${get('src', 'end')} i32.ge_u br_if $done
      ${get('src')} v128.load local.set $x
      ${get('dst', 'x')} f64x2.promote_low_f32x4 v128.store
      ${get('dst', 'x', 'x')} ${HIGH_TO_LOW} f64x2.promote_low_f32x4 v128.store offset=16
      ${advance('src', 16)}
      ${advance('dst', 32)}
      br $l
    end end)

  ;; d[i·m + j] += ‖x_i − x_j‖² over n float32 values per row (n % 4 = 0; pad with zeros) for j < i < m, rows
  ;; DIST_STRIDE bytes apart, ${DIST_PAD_ROWS} more rows of memory after row m − 1 (read, their entries dropped). Per
  ;; entry and lane l: s_l = float32 Σ_{t ≡ l mod 4} f32(f32(x_i[t] − x_j[t])²), t ascending; then d += (s_0 + s_2) +
  ;; (s_1 + s_3) in float64. Squares of differences: no cancellation, equal rows give exactly 0; a float32 square past
  ;; 3.4e38 is +Infinity. 2×4 tiles over the lower triangle, the stride a constant so
  ;; that a tile's 6 loads are 2 pointers plus immediate offsets (with 6 pointers, TurboFan's loop reloaded them from
  ;; the stack every iteration: half the speed).
  (func $distBlock (export "distBlock") (param $rows i32) (param $m i32) (param $n i32) (param $d i32)
    (local $i0 i32) (local $j0 i32) (local $pi i32) (local $pj i32) (local $end i32) (local $gi i32) (local $t v128)
    ${[...TILE_ROWS, ...TILE_COLS].map((r) => `(local $${r} v128)`).join(' ')}
    ${tileAcc.map((s) => `(local $${s} v128)`).join(' ')}
    i32.const 0 local.set $i0
    block $idone loop $iloop
      ${get('i0', 'm')} i32.ge_u br_if $idone
      i32.const 0 local.set $j0
      block $jdone loop $jloop
        ${get('j0', 'i0')} i32.const ${TILE_ROWS.length - 1} i32.add i32.ge_u br_if $jdone
        ${get('rows', 'i0')} i32.const ${DIST_STRIDE} i32.mul i32.add local.set $pi
        ${get('rows', 'j0')} i32.const ${DIST_STRIDE} i32.mul i32.add local.set $pj
        ${get('pi', 'n')} i32.const 2 i32.shl i32.add local.set $end
        ${tileAcc.map((s) => `f64.const 0 f64x2.splat local.set $${s}`).join('\n')}
        block $tdone loop $tloop
          ${get('pi', 'end')} i32.ge_u br_if $tdone
          ${TILE_ROWS.map((r, a) => `${get('pi')} v128.load offset=${a * DIST_STRIDE} local.set $${r}`).join('\n')}
          ${TILE_COLS.map((r, b) => `${get('pj')} v128.load offset=${b * DIST_STRIDE} local.set $${r}`).join('\n')}
          ${TILE_ROWS.flatMap((x, a) => TILE_COLS.map((y, b) => `${get(`s${a}${b}`, x, y)} f32x4.sub local.tee $t ${get('t')} f32x4.mul f32x4.add local.set $s${a}${b}`)).join('\n')}
          ${advance('pi', 16)}
          ${advance('pj', 16)}
          br $tloop
        end end
        ${TILE_ROWS.flatMap((_, a) => TILE_COLS.map((_, b) => addDistance(a, b))).join('\n')}
        ${advance('j0', TILE_COLS.length)}
        br $jloop
      end end
      ${advance('i0', TILE_ROWS.length)}
      br $iloop
    end end)

  ;; In place, for each pair (a, b) of byte offsets (from rows) at pairs, in order: over nbytes (% 16 = 0) of float32
  ;; lanes, (r_a, r_b) ← (pmin, pmax): a compare-exchange network on columns. pmin/pmax are b < a ? b : a and
  ;; a < b ? b : a (minps/maxps): equal values (+0 and −0 too) come out as the first one.
  (func $network (export "network") (param $rows i32) (param $pairs i32) (param $npairs i32) (param $nbytes i32)
    (local $pend i32) (local $a i32) (local $b i32) (local $aend i32) (local $x v128) (local $y v128)
    ${get('pairs', 'npairs')} i32.const 3 i32.shl i32.add local.set $pend
    block $pdone loop $ploop
      ${get('pairs', 'pend')} i32.ge_u br_if $pdone
      ${get('rows', 'pairs')} i32.load i32.add local.set $a
      ${get('rows', 'pairs')} i32.load offset=4 i32.add local.set $b
      ${get('a', 'nbytes')} i32.add local.set $aend
      block $done loop $l
        ${get('a', 'aend')} i32.ge_u br_if $done
        ${get('a')} v128.load local.set $x
        ${get('b')} v128.load local.set $y
        ${get('a', 'x', 'y')} f32x4.pmin v128.store
        ${get('b', 'x', 'y')} f32x4.pmax v128.store
        ${advance('a', 16)}
        ${advance('b', 16)}
        br $l
      end end
      ${advance('pairs', 8)}
      br $ploop
    end end)

  ;; out[i] = ((((0 + r_from[i]) + r_{from+1}[i]) + …) + r_{to−1}[i]) / div, float32 rows promoted, n % 4 = 0.
  (func $rowMean (export "rowMean") (param $rows i32) (param $stride i32) (param $from i32) (param $to i32) (param $div f64) (param $out i32) (param $n i32)
    (local $end i32) (local $p i32) (local $pend i32) (local $s0 v128) (local $s1 v128) (local $x v128) (local $d v128)
    ${get('div')} f64x2.splat local.set $d
    ${get('out', 'n')} i32.const 3 i32.shl i32.add local.set $end
    ${get('rows', 'from', 'stride')} i32.mul i32.add local.set $rows
    block $done loop $l
      ${get('out', 'end')} i32.ge_u br_if $done
      f64.const 0 f64x2.splat local.tee $s0 local.set $s1
      ${get('rows')} local.set $p
      ${get('rows', 'to', 'from')} i32.sub ${get('stride')} i32.mul i32.add local.set $pend
      block $rdone loop $r
        ${get('p', 'pend')} i32.ge_u br_if $rdone
        ${get('p')} v128.load local.set $x
        ${get('s0', 'x')} f64x2.promote_low_f32x4 f64x2.add local.set $s0
        ${get('s1', 'x', 'x')} ${HIGH_TO_LOW} f64x2.promote_low_f32x4 f64x2.add local.set $s1
        ${get('p', 'stride')} i32.add local.set $p
        br $r
      end end
      ${get('out', 's0', 'd')} f64x2.div v128.store
      ${get('out', 's1', 'd')} f64x2.div v128.store offset=16
      ${advance('out', 32)}
      ${advance('rows', 16)}
      br $l
    end end)

  ;; Bulyan's window on sorted columns (th float32 rows, n % 4 = 0 columns): per column, med = the middle value
  ;; (even th: the mean of the two), then from the ends inwards drop \`drop\` values, the upper one on equal
  ;; distance to med (see mean-around-median.ts); lo/hi (f64, n each) get the window's first and last row.
  (func $window (export "window") (param $rows i32) (param $stride i32) (param $th i32) (param $drop i32) (param $lo i32) (param $hi i32) (param $n i32)
    (local $end i32) (local $col i32) (local $med f64) (local $l i32) (local $r i32) (local $d i32) (local $lo0 i32) (local $take i32)
    ${get('lo', 'n')} i32.const 3 i32.shl i32.add local.set $end
    ${get('th')} i32.const 1 i32.add i32.const 1 i32.shr_u i32.const 1 i32.sub local.set $lo0
    ${get('rows')} local.set $col
    block $done loop $cols
      ${get('lo', 'end')} i32.ge_u br_if $done
      ${get('th')} i32.const 1 i32.and
      if
        ${at('col', get('th') + ' i32.const 1 i32.shr_u')} local.set $med
      else
        ${at('col', get('th') + ' i32.const 1 i32.shr_u i32.const 1 i32.sub')}
        ${at('col', get('th') + ' i32.const 1 i32.shr_u')} f64.add f64.const 2 f64.div local.set $med
      end
      i32.const 0 local.set $l
      ${get('th')} i32.const 1 i32.sub local.set $r
      i32.const 0 local.set $d
      block $wdone loop $w
        ${get('d', 'drop')} i32.ge_u br_if $wdone
        ;; take = r ≤ lo0 | (l ≤ lo0 & med − x[l] > x[r] − med)
        ${get('r', 'lo0')} i32.le_s
        ${get('l', 'lo0')} i32.le_s
        ${get('med')} ${at('col', get('l'))} f64.sub ${at('col', get('r'))} ${get('med')} f64.sub f64.gt
        i32.and i32.or local.set $take
        ${get('l', 'take')} i32.add local.set $l
        ${get('r')} i32.const 1 ${get('take')} i32.sub i32.sub local.set $r
        ${advance('d', 1)}
        br $w
      end end
      ${get('lo', 'l')} f64.convert_i32_s f64.store
      ${get('hi', 'r')} f64.convert_i32_s f64.store
      ${advance('lo', 8)}
      ${advance('hi', 8)}
      ${advance('col', 4)}
      br $cols
    end end)

  ;; out[i] = (Σ_{t = lo[i]..hi[i]} r_t[i]) / div, t ascending from 0 over all th rows with the rows outside the
  ;; window masked to +0 (adding +0 changes nothing: the same value as summing the window alone), n % 4 = 0. Rows
  ;; [in0, in1) are inside every column's window (lo ≤ in0, hi ≥ in1 − 1) and are added without a mask.
  (func $windowMean (export "windowMean") (param $rows i32) (param $stride i32) (param $th i32) (param $in0 i32) (param $in1 i32) (param $lo i32) (param $hi i32) (param $div f64) (param $out i32) (param $n i32)
    (local $end i32) (local $p i32) (local $t i32) (local $tv v128) (local $s0 v128) (local $s1 v128) (local $x v128) (local $d v128)
    (local $l0 v128) (local $h0 v128) (local $l1 v128) (local $h1 v128)
    ${get('div')} f64x2.splat local.set $d
    ${get('out', 'n')} i32.const 3 i32.shl i32.add local.set $end
    block $done loop $l
      ${get('out', 'end')} i32.ge_u br_if $done
      ${get('lo')} v128.load local.set $l0
      ${get('lo')} v128.load offset=16 local.set $l1
      ${get('hi')} v128.load local.set $h0
      ${get('hi')} v128.load offset=16 local.set $h1
      f64.const 0 f64x2.splat local.tee $s0 local.set $s1
      ${get('rows')} local.set $p
      i32.const 0 local.set $t
      ${maskedRows('m0', 'in0')}
      block $udone loop $u
        ${get('t', 'in1')} i32.ge_u br_if $udone
        ${get('p')} v128.load local.set $x
        ${get('s0', 'x')} f64x2.promote_low_f32x4 f64x2.add local.set $s0
        ${get('s1', 'x', 'x')} ${HIGH_TO_LOW} f64x2.promote_low_f32x4 f64x2.add local.set $s1
        ${get('p', 'stride')} i32.add local.set $p
        ${advance('t', 1)}
        br $u
      end end
      ${maskedRows('m1', 'th')}
      ${get('out', 's0', 'd')} f64x2.div v128.store
      ${get('out', 's1', 'd')} f64x2.div v128.store offset=16
      ${advance('out', 32)}
      ${advance('lo', 32)}
      ${advance('hi', 32)}
      ${advance('rows', 16)}
      br $l
    end end)
)`;

/** windowMean's rows t up to `until`, each masked to the columns whose window [lo, hi] holds t. */
function maskedRows(label: string, until: string): string {
  return `block $${label}done loop $${label}
        ${get('t', until)} i32.ge_u br_if $${label}done
        ${get('t')} f64.convert_i32_s f64x2.splat local.set $tv
        ${get('p')} v128.load local.set $x
        ${get('s0', 'x')} f64x2.promote_low_f32x4 ${get('tv', 'l0')} f64x2.ge ${get('tv', 'h0')} f64x2.le v128.and v128.and f64x2.add local.set $s0
        ${get('s1', 'x', 'x')} ${HIGH_TO_LOW} f64x2.promote_low_f32x4 ${get('tv', 'l1')} f64x2.ge ${get('tv', 'h1')} f64x2.le v128.and v128.and f64x2.add local.set $s1
        ${get('p', 'stride')} i32.add local.set $p
        ${advance('t', 1)}
        br $${label}
      end end`;
}

/**
 * A function (rows, stride, nrows, n, vec, out) that adds, for each row, Σ_t term(x_t) to out[k]: `term` turns the
 * name of a local holding two promoted values (and the byte offset of their pair in vec) into the f64x2 terms.
 */
function rowReduce(name: string, term: (x: string, vecOffset: number) => string): string {
  return `(func $${name} (export "${name}") (param $rows i32) (param $stride i32) (param $nrows i32) (param $n i32) (param $vec i32) (param $out i32)
    (local $p i32) (local $v i32) (local $end i32) (local $oend i32) (local $x0 v128) (local $x1 v128) (local $s0 v128) (local $s1 v128)
    ${get('out', 'nrows')} i32.const 3 i32.shl i32.add local.set $oend
    block $done loop $rowl
      ${get('out', 'oend')} i32.ge_u br_if $done
      ${get('rows')} local.set $p
      ${get('vec')} local.set $v
      ${get('rows', 'n')} i32.const 2 i32.shl i32.add local.set $end
      f64.const 0 f64x2.splat local.tee $s0 local.set $s1
      block $tdone loop $tl
        ${get('p', 'end')} i32.ge_u br_if $tdone
        ${get('p')} v128.load local.tee $x1 f64x2.promote_low_f32x4 local.set $x0
        ${get('x1', 'x1')} ${HIGH_TO_LOW} f64x2.promote_low_f32x4 local.set $x1
        ${get('s0')} ${term('local.get $x0', 0)} f64x2.add local.set $s0
        ${get('s1')} ${term('local.get $x1', 16)} f64x2.add local.set $s1
        ${advance('p', 16)}
        ${advance('v', 32)}
        br $tl
      end end
      ${get('s0', 's1')} f64x2.add local.set $s0
      ${get('out', 'out')} f64.load ${get('s0')} f64x2.extract_lane 0 ${get('s0')} f64x2.extract_lane 1 f64.add f64.add f64.store
      ${advance('out', 8)}
      ${get('rows', 'stride')} i32.add local.set $rows
      br $rowl
    end end)`;
}

/** f64 of the float32 at row `rowExpr` (i32 instructions) of the column at $col: f32.load (col + row·stride). */
function at(col: string, rowExpr: string): string {
  return `${get(col)} ${rowExpr} ${get('stride')} i32.mul i32.add f32.load f64.promote_f32`;
}

/** d[i·m + j] += (s_0 + s_2) + (s_1 + s_3) (float32 lanes of s{a}{b}, in float64) when i = i0 + a < m and j = j0 + b < i. */
function addDistance(a: number, b: number): string {
  const s = `$s${a}${b}`;
  return `${get('i0')} i32.const ${a} i32.add ${get('m')} i32.lt_u ${get('j0')} i32.const ${b} i32.add ${get('i0')} i32.const ${a} i32.add i32.lt_u i32.and
        if
          ${get('d', 'i0')} i32.const ${a} i32.add ${get('m')} i32.mul ${get('j0')} i32.const ${b} i32.add i32.add i32.const 3 i32.shl i32.add local.tee $gi
          local.get ${s} f64x2.promote_low_f32x4 local.get ${s} local.get ${s} ${HIGH_TO_LOW} f64x2.promote_low_f32x4 f64x2.add local.set $t
          ${get('gi')} f64.load ${get('t')} f64x2.extract_lane 0 ${get('t')} f64x2.extract_lane 1 f64.add f64.add f64.store
        end`;
}

export interface SimdExports {
  memory: WebAssembly.Memory;
  wsum(acc: number, rows: number, stride: number, coef: number, nrows: number, n: number): void;
  promote(src: number, dst: number, n: number): void;
  rowSquares(rows: number, stride: number, nrows: number, n: number, vec: number, out: number): void;
  rowDots(rows: number, stride: number, nrows: number, n: number, vec: number, out: number): void;
  applyStep(g: number, s: number, lr: number, w: number, d: number, n: number): void;
  divide(x: number, n: number, div: number): void;
  addF32(a: number, b: number, out: number, n: number): void;
  distBlock(rows: number, m: number, n: number, d: number): void;
  network(rows: number, pairs: number, npairs: number, nbytes: number): void;
  rowMean(rows: number, stride: number, from: number, to: number, div: number, out: number, n: number): void;
  window(rows: number, stride: number, th: number, drop: number, lo: number, hi: number, n: number): void;
  windowMean(rows: number, stride: number, th: number, in0: number, in1: number, lo: number, hi: number, div: number, out: number, n: number): void;
}

let instance: SimdExports | null | undefined;
let disabled = false;

/** The instantiated module, or null where WebAssembly SIMD is unavailable (then: the JS kernels). */
export function simdKernels(): SimdExports | null {
  if (disabled) return null;
  if (instance === undefined) {
    try {
      const bytes = assemble(SIMD_WAT);
      if (typeof WebAssembly === 'undefined' || !WebAssembly.validate(bytes)) instance = null;
      else instance = new WebAssembly.Instance(new WebAssembly.Module(bytes)).exports as unknown as SimdExports;
    } catch {
      instance = null;
    }
  }
  return instance;
}

/** Switches the SIMD kernels off (true) or back on: for tests of the JS fallback and for the bench. */
export function setSimdDisabled(off: boolean): void {
  disabled = off;
}

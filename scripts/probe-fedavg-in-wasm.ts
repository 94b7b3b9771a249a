// A design probe for issue 11's FedAvg target, not a production path. Two questions:
//   1. How fast would FedAvg be if the updates were already in WebAssembly memory when a round closes (clients
//      writing their deltas there), so that no kernel stages them first? It times the SIMD kernels fedAvg() runs
//      (wsum over groups of 4 rows, the division, applyStep), reading the updates where they lie, and checks that
//      the weights equal fedAvg()'s bit for bit. Outputs are reused (what ownership rules for the step and the
//      weights would allow) or fresh, as today.
//   2. What would accumulating in float32, as spec §8 literally says, buy and cost? A float32 weighted sum
//      Σ_k n_k·Δ_k (one float32 multiply and add per term, in k order; no FMA), divided by n in float32 once at the
//      end as the streaming sum must (n is known only when the round closes), on a module of its own: in place,
//      and staged from the JS arrays as fedAvg() stages today. And how far its weights are from fedAvg()'s.
// Each call is alternated with the bench's plain copy of the same K updates, best of 40 each.
//   npx tsx scripts/probe-fedavg-in-wasm.ts
import { fedAvg } from '../src/shared/strategies/fedavg';
import { simdKernels, type SimdExports } from '../src/shared/strategies/kernels/simd-module';
import { assemble } from '../src/shared/strategies/kernels/wat';
import { createRng } from '../src/shared/prng';

const get = (...names: string[]) => names.map((n) => `local.get $${n}`).join(' ');
const step = (name: string, by: number) => `${get(name)} i32.const ${by} i32.add local.set $${name}`;
const ACC = ['a0', 'a1', 'a2', 'a3'];
/** wsum32: acc[i] (f32, n % 16 = 0) ← ((acc[i] + c_0·r_0[i]) + c_1·r_1[i]) + …, in float32; finish32: s ← s / div, w = g + s. */
const F32_WAT = `
(module
  (memory (export "memory") 1)
  (func $wsum32 (export "wsum32") (param $acc i32) (param $rows i32) (param $stride i32) (param $coef i32) (param $nrows i32) (param $n i32)
    (local $end i32) (local $cend i32) (local $p i32) (local $c i32) (local $w v128) ${ACC.map((a) => `(local $${a} v128)`).join(' ')}
    ${get('acc', 'n')} i32.const 2 i32.shl i32.add local.set $end
    ${get('coef', 'nrows')} i32.const 2 i32.shl i32.add local.set $cend
    block $done loop $coords
      ${get('acc', 'end')} i32.ge_u br_if $done
      ${ACC.map((a, q) => `${get('acc')} v128.load offset=${16 * q} local.set $${a}`).join('\n')}
      ${get('rows')} local.set $p
      ${get('coef')} local.set $c
      block $rdone loop $r
        ${get('c', 'cend')} i32.ge_u br_if $rdone
        ${get('c')} f32.load f32x4.splat local.set $w
        ${ACC.map((a, q) => `${get(a, 'w', 'p')} v128.load offset=${16 * q} f32x4.mul f32x4.add local.set $${a}`).join('\n')}
        ${get('p', 'stride')} i32.add local.set $p
        ${step('c', 4)}
        br $r
      end end
      ${ACC.map((a, q) => `${get('acc', a)} v128.store offset=${16 * q}`).join('\n')}
      ${step('acc', 64)}
      ${step('rows', 64)}
      br $coords
    end end)
  (func $finish32 (export "finish32") (param $g i32) (param $s i32) (param $div f32) (param $w i32) (param $n i32)
    (local $end i32) (local $d v128) (local $x v128)
    ${get('div')} f32x4.splat local.set $d
    ${get('g', 'n')} i32.const 2 i32.shl i32.add local.set $end
    block $done loop $e
      ${get('g', 'end')} i32.ge_u br_if $done
      ${get('s', 's')} v128.load ${get('d')} f32x4.div local.tee $x v128.store
      ${get('w', 'g')} v128.load ${get('x')} f32x4.add v128.store
      ${step('g', 16)} ${step('s', 16)} ${step('w', 16)}
      br $e
    end end))`;

interface F32Exports {
  memory: WebAssembly.Memory;
  wsum32(acc: number, rows: number, stride: number, coef: number, nrows: number, n: number): void;
  finish32(g: number, s: number, div: number, w: number, n: number): void;
}

const f64Kernels: SimdExports | null = simdKernels();
if (!f64Kernels) throw new Error('probe-fedavg-in-wasm: this runtime has no WebAssembly SIMD');
const k64 = f64Kernels;
const k32 = new WebAssembly.Instance(new WebAssembly.Module(assemble(F32_WAT))).exports as unknown as F32Exports;

const B = 8192; // weightedSumSimd's block and group, so the float64 sums are added in its order
const G = 4;
const ceil16 = (x: number) => Math.ceil(x / 16) * 16;

interface Case {
  size: number;
  K: number;
  updates: Array<{ clientId: string; numSamples: number; delta: Float32Array }>;
  global: Float32Array;
  reference: Float32Array;
  n: number;
}

function makeCase(size: number, K: number): Case {
  const rng = createRng(size + K);
  const updates = Array.from({ length: K }, (_, k) => {
    const delta = new Float32Array(size);
    for (let i = 0; i < size; i++) delta[i] = (rng.next() - 0.5) * 0.02 * (k === K - 1 ? 10 : 1);
    return { clientId: `c${k}`, numSamples: 100 + 10 * k, delta };
  });
  const global = new Float32Array(size).map(() => rng.next() - 0.5);
  return { size, K, updates, global, reference: fedAvg(global, updates).weights, n: updates.reduce((s, u) => s + u.numSamples, 0) };
}

/** Byte offsets in a memory: slots 2 KiB past a page at a stride that is not a multiple of 4 KiB (simd.ts says why). */
function slotLayout(size: number, K: number, scratchBytes: number) {
  const slotStride = ceil16(size) * 4 + 2048 + 64;
  const slots = 2048;
  const scratch = slots + K * slotStride;
  return { slots, slotStride, scratch, total: scratch + scratchBytes };
}

function views(mem: WebAssembly.Memory, total: number) {
  if (mem.buffer.byteLength < total) mem.grow(Math.ceil((total - mem.buffer.byteLength) / 65536));
  return { f32: new Float32Array(mem.buffer), f64: new Float64Array(mem.buffer) };
}

/** fedAvg()'s float64 kernels on the updates in place. */
function float64InPlace(c: Case, fresh: boolean): () => Float32Array {
  const { size, K, updates, global, n } = c;
  const L = slotLayout(size, K, B * 8 + ceil16(K) * 8 + 3 * (B * 4 + 64));
  const accOff = L.scratch, coefOff = accOff + B * 8, gOff = coefOff + ceil16(K) * 8, wOff = gOff + B * 4 + 64, dOff = wOff + B * 4 + 64;
  const { f32, f64 } = views(k64.memory, L.total);
  updates.forEach((u, k) => f32.set(u.delta, (L.slots + k * L.slotStride) / 4));
  updates.forEach((u, k) => (f64[coefOff / 8 + k] = u.numSamples));
  const reusedStep = new Float64Array(size), reusedWeights = new Float32Array(size);
  return () => {
    const stepOut = fresh ? new Float64Array(size) : reusedStep;
    const weights = fresh ? new Float32Array(size) : reusedWeights;
    for (let b = 0; b < size; b += B) {
      const len = Math.min(size, b + B) - b;
      const lanes = Math.ceil(len / 8) * 8; // lanes past len: other coordinates' values, never copied out
      f64.fill(0, accOff / 8, accOff / 8 + lanes);
      for (let q = 0; q < K; q += G) k64.wsum(accOff, L.slots + q * L.slotStride + b * 4, L.slotStride, coefOff + q * 8, Math.min(G, K - q), lanes);
      k64.divide(accOff, lanes, n);
      stepOut.set(f64.subarray(accOff / 8, accOff / 8 + len), b);
      f32.set(global.subarray(b, b + len), gOff / 4);
      k64.applyStep(gOff, accOff, 1, wOff, dOff, lanes);
      weights.set(f32.subarray(wOff / 4, wOff / 4 + len), b);
    }
    return weights;
  };
}

/** Σ n_k·Δ_k / n in float32, in place or staged G rows a block from the JS arrays; step and weights out. */
function float32(c: Case, inPlace: boolean, fresh: boolean): () => Float32Array {
  const { size, K, updates, global, n } = c;
  const S = B + 16;
  const scratch = B * 4 + ceil16(K) * 4 + 2 * (B * 4 + 64) + (inPlace ? 0 : G * S * 4);
  const L = slotLayout(size, inPlace ? K : 0, scratch);
  const accOff = L.scratch, coefOff = accOff + B * 4, gOff = coefOff + ceil16(K) * 4, wOff = gOff + B * 4 + 64, rowsOff = wOff + B * 4 + 64;
  const { f32 } = views(k32.memory, L.total);
  if (inPlace) updates.forEach((u, k) => f32.set(u.delta, (L.slots + k * L.slotStride) / 4));
  updates.forEach((u, k) => (f32[coefOff / 4 + k] = u.numSamples));
  const reusedStep = new Float32Array(size), reusedWeights = new Float32Array(size);
  return () => {
    const stepOut = fresh ? new Float32Array(size) : reusedStep;
    const weights = fresh ? new Float32Array(size) : reusedWeights;
    for (let b = 0; b < size; b += B) {
      const len = Math.min(size, b + B) - b;
      const lanes = ceil16(len);
      f32.fill(0, accOff / 4, accOff / 4 + lanes);
      for (let q = 0; q < K; q += G) {
        const g = Math.min(G, K - q);
        if (inPlace) k32.wsum32(accOff, L.slots + q * L.slotStride + b * 4, L.slotStride, coefOff + q * 4, g, lanes);
        else {
          for (let r = 0; r < g; r++) f32.set(updates[q + r].delta.subarray(b, b + len), rowsOff / 4 + r * S);
          k32.wsum32(accOff, rowsOff, S * 4, coefOff + q * 4, g, lanes);
        }
      }
      f32.set(global.subarray(b, b + len), gOff / 4);
      k32.finish32(gOff, accOff, n, wOff, lanes);
      stepOut.set(f32.subarray(accOff / 4, accOff / 4 + len), b);
      weights.set(f32.subarray(wOff / 4, wOff / 4 + len), b);
    }
    return weights;
  };
}

/** Best of 40 calls and of the 40 copies alternated with them. */
function time(c: Case, run: () => Float32Array): { ms: number; copyMs: number } {
  const copies = c.updates.map((u) => new Float32Array(u.delta.length));
  const ms: number[] = [], copyMs: number[] = [];
  for (let r = 0; r < 40; r++) {
    let t = performance.now();
    c.updates.forEach((u, k) => copies[k].set(u.delta));
    copyMs.push(performance.now() - t);
    t = performance.now();
    run();
    ms.push(performance.now() - t);
  }
  return { ms: Math.min(...ms), copyMs: Math.min(...copyMs) };
}

/**
 * How far float32 weights are from fedAvg()'s: the share of coordinates that differ, and the largest difference as a
 * share of the step's root mean square (a weight near 0 makes ulps meaningless: its ulp is tiny).
 */
function distance(a: Float32Array, c: Case): { differ: number; maxErr: number } {
  let differ = 0, maxAbs = 0, sq = 0;
  for (let i = 0; i < a.length; i++) {
    const s = c.reference[i] - c.global[i];
    sq += s * s;
    if (Object.is(a[i], c.reference[i])) continue;
    differ++;
    maxAbs = Math.max(maxAbs, Math.abs(a[i] - c.reference[i]));
  }
  return { differ: differ / a.length, maxErr: maxAbs / Math.sqrt(sq / a.length) };
}

const ratio = (t: { ms: number; copyMs: number }) => `${(t.ms / t.copyMs).toFixed(2)}× (${t.ms.toFixed(2)} / ${t.copyMs.toFixed(2)} ms)`;
console.log('Ratio to the copy (FedAvg ms / copy ms), best of 40 each.\n');
console.log('| model | K | float64 in place, reused | float64 in place, fresh | float32 in place, reused | float32 staged, fresh | float32 weights vs fedAvg() weights: coordinates that differ, largest difference / RMS of the step |');
console.log('|:---|---:|---:|---:|---:|---:|:---|');
for (const [model, size] of [['CNN-S', 225034], ['CNN-M', 1663370]] as const) {
  for (const K of [8, 32, 128]) {
    const c = makeCase(size, K);
    const same = (w: Float32Array) => w.every((v, i) => Object.is(v, c.reference[i]));
    const f64Reused = float64InPlace(c, false);
    if (!same(f64Reused())) throw new Error(`probe: float64 in place differs from fedAvg() (${model}, K = ${K})`);
    const cells = [time(c, f64Reused), time(c, float64InPlace(c, true))];
    const f32InPlace = float32(c, true, false);
    const inPlace = f32InPlace().slice();
    const staged = float32(c, false, true);
    if (!staged().every((v, i) => Object.is(v, inPlace[i]))) throw new Error('probe: the staged float32 sum differs from the one in place');
    const d = distance(inPlace, c);
    cells.push(time(c, f32InPlace), time(c, staged));
    console.log(`| ${model} | ${K} | ${cells.map(ratio).join(' | ')} | ${(100 * d.differ).toFixed(2)}%, ${d.maxErr.toExponential(1)} |`);
  }
}
console.log('\nThe float64 sums in place equal fedAvg() bit for bit in every case (checked above).');

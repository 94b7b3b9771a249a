// A design probe for issue 11's FedAvg target, not a production path. It asks how fast FedAvg would be if the updates
// were already in WebAssembly memory when a round closes (if clients wrote their deltas there), so that no
// kernel stages them first. It times the same SIMD kernels that fedAvg() calls (wsum over groups of 4 rows, the
// division, applyStep), reading the updates where they lie, and checks that the result equals fedAvg()'s bit for
// bit. Each call is timed next to the bench's plain copy of the same K updates, in alternation, best of 40 each.
// Outputs are either reused (what ownership rules for the step and the weights would allow) or fresh, as today.
//   npx tsx scripts/probe-fedavg-in-wasm.ts
import { fedAvg } from '../src/shared/strategies/fedavg';
import { simdKernels } from '../src/shared/strategies/kernels/simd-module';
import { createRng } from '../src/shared/prng';

const wasm = simdKernels();
if (!wasm) throw new Error('probe-fedavg-in-wasm: this runtime has no WebAssembly SIMD');
const kernels = wasm;

const B = 8192; // weightedSumSimd's block and group, so the sums are added in its order
const G = 4;
const ceil8 = (x: number) => Math.ceil(x / 8) * 8;

function probe(size: number, K: number, fresh: boolean): { aggMs: number; copyMs: number; identical: boolean } {
  // Slots 2 KiB past a page and a row stride that is not a multiple of 4 KiB (simd.ts says why for both).
  const slotStride = ceil8(size) * 4 + 2048 + 64;
  const slots = 2048;
  const accOff = slots + K * slotStride;
  const coefOff = accOff + B * 8;
  const gOff = coefOff + ceil8(K) * 8;
  const wOff = gOff + B * 4 + 64;
  const dOff = wOff + B * 4 + 64;
  const total = dOff + B * 4 + 64;
  const rng = createRng(size + K);
  const updates = Array.from({ length: K }, (_, k) => {
    const delta = new Float32Array(size);
    for (let i = 0; i < size; i++) delta[i] = (rng.next() - 0.5) * 0.02 * (k === K - 1 ? 10 : 1);
    return { clientId: `c${k}`, numSamples: 100 + 10 * k, delta };
  });
  const global = new Float32Array(size).map(() => rng.next() - 0.5);
  // First, as fedAvg() stages its blocks where the slots go (the module's scratch starts at the same offset).
  const reference = fedAvg(global, updates).weights;
  const mem = kernels.memory;
  if (mem.buffer.byteLength < total) mem.grow(Math.ceil((total - mem.buffer.byteLength) / 65536));
  const f32 = new Float32Array(mem.buffer);
  const f64 = new Float64Array(mem.buffer);
  updates.forEach((u, k) => f32.set(u.delta, (slots + k * slotStride) / 4));
  const n = updates.reduce((s, u) => s + u.numSamples, 0);
  updates.forEach((u, k) => (f64[coefOff / 8 + k] = u.numSamples));
  const reusedStep = new Float64Array(size);
  const reusedWeights = new Float32Array(size);
  const aggregate = () => {
    const step = fresh ? new Float64Array(size) : reusedStep;
    const weights = fresh ? new Float32Array(size) : reusedWeights;
    for (let b = 0; b < size; b += B) {
      const len = Math.min(size, b + B) - b;
      const lanes = ceil8(len); // lanes past len: other coordinates' values, never copied out
      f64.fill(0, accOff / 8, accOff / 8 + lanes);
      for (let q = 0; q < K; q += G) kernels.wsum(accOff, slots + q * slotStride + b * 4, slotStride, coefOff + q * 8, Math.min(G, K - q), lanes);
      kernels.divide(accOff, lanes, n);
      step.set(f64.subarray(accOff / 8, accOff / 8 + len), b);
      f32.set(global.subarray(b, b + len), gOff / 4);
      kernels.applyStep(gOff, accOff, 1, wOff, dOff, lanes);
      weights.set(f32.subarray(wOff / 4, wOff / 4 + len), b);
    }
    return weights;
  };
  const copies = updates.map((u) => new Float32Array(u.delta.length));
  const copy = () => updates.forEach((u, k) => copies[k].set(u.delta));
  const out = aggregate();
  let identical = true;
  for (let i = 0; i < size; i++) if (!Object.is(out[i], reference[i])) identical = false;
  const aggMs: number[] = [];
  const copyMs: number[] = [];
  for (let r = 0; r < 40; r++) {
    let t = performance.now();
    copy();
    copyMs.push(performance.now() - t);
    t = performance.now();
    aggregate();
    aggMs.push(performance.now() - t);
  }
  return { aggMs: Math.min(...aggMs), copyMs: Math.min(...copyMs), identical };
}

console.log('| model | K | outputs | FedAvg in place, ms | copy, ms | ratio | same bits as fedAvg() |');
console.log('|:---|---:|:---|---:|---:|---:|:---|');
for (const fresh of [false, true]) {
  for (const [model, size] of [['CNN-S', 225034], ['CNN-M', 1663370]] as const) {
    for (const K of [8, 32, 128]) {
      const r = probe(size, K, fresh);
      console.log(`| ${model} | ${K} | ${fresh ? 'fresh' : 'reused'} | ${r.aggMs.toFixed(2)} | ${r.copyMs.toFixed(2)} | ${(r.aggMs / r.copyMs).toFixed(2)}× | ${r.identical ? 'yes' : 'NO'} |`);
    }
  }
}

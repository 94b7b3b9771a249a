// Input validation and result plumbing shared by the strategies.
// Deltas and losses are not re-checked for NaN/Infinity here: protocol.ts rejects non-finite updates on arrival.
import { deriveSeed } from '../prng';
import type { AggregationInput, StrategyUpdate } from './strategy';
import { addF32Simd, applyStepSimd } from './kernels/simd';
import { layerRanges } from './vector-math';

export interface CheckedInput {
  /** [start, end) of each layer. */
  ranges: Array<[number, number]>;
  /** Σ n_k */
  totalSamples: number;
}

/** Throws a message prefixed with the strategy name for any malformed input. */
export function validateInput(who: string, input: AggregationInput): CheckedInput {
  const { global, updates } = input;
  if (!(global instanceof Float32Array)) throw new Error(`${who}: global must be a Float32Array`);
  if (global.length === 0) throw new Error(`${who}: global model is empty`);
  if (!Number.isInteger(input.round) || input.round < 1) throw new Error(`${who}: round must be an integer >= 1 (1-based), got ${input.round}`);
  if (!Number.isInteger(input.numClients) || input.numClients < 1) {
    throw new Error(`${who}: numClients must be an integer >= 1, got ${input.numClients}`);
  }
  if (!Number.isFinite(input.seed)) throw new Error(`${who}: seed must be a finite number, got ${input.seed}`);
  return { ranges: layerRanges(who, input.layers, global.length), totalSamples: checkUpdates(who, global, updates) };
}

/** Checks sample counts, delta lengths and duplicate clients; returns Σ n_k. */
export function checkUpdates(who: string, global: Float32Array, updates: readonly Pick<StrategyUpdate, 'clientId' | 'numSamples' | 'delta'>[]): number {
  if (updates.length === 0) throw new Error(`${who}: no client updates to aggregate`);
  const seen = new Set<string>();
  let totalSamples = 0;
  for (const u of updates) {
    if (!(u.numSamples > 0) || !Number.isFinite(u.numSamples)) {
      throw new Error(`${who}: client '${u.clientId}' has numSamples=${u.numSamples}; must be a finite number > 0`);
    }
    if (!(u.delta instanceof Float32Array) || u.delta.length !== global.length) {
      throw new Error(`${who}: client '${u.clientId}' delta has ${u.delta?.length} values, global model has ${global.length}`);
    }
    if (seen.has(u.clientId)) throw new Error(`${who}: duplicate update from client '${u.clientId}'`);
    seen.add(u.clientId);
    totalSamples += u.numSamples;
  }
  return totalSamples;
}

/**
 * w_{t+1} = w_t + lr·step, rounded once to float32; with `diff`, also diff[i] = w_{t+1}[i] − w_t[i] in float32 (the
 * step actually taken), in the same pass. WebAssembly SIMD for a float64 step (kernels/simd.ts), bit for bit.
 */
export function applyStep(global: Float32Array, step: Float32Array | Float64Array, lr: number, diff: Float32Array | null = null): Float32Array {
  const out = new Float32Array(global.length);
  if (step instanceof Float64Array && applyStepSimd(global, step, lr, out, diff)) return out;
  for (let i = 0; i < out.length; i++) out[i] = global[i] + lr * step[i];
  if (diff) stepTaken(out, global, diff);
  return out;
}

/** a + b rounded to float32 (a = null: zeros), as a new vector: WebAssembly SIMD where available, bit for bit. */
export function addVectors(a: Float32Array | null, b: Float32Array): Float32Array {
  const out = new Float32Array(b.length);
  if (a && a.length !== b.length) throw new Error(`addVectors: lengths ${a.length} and ${b.length}`);
  if (addF32Simd(a, b, out)) return out;
  for (let i = 0; i < out.length; i++) out[i] = (a ? a[i] : 0) + b[i];
  return out;
}

/** diff[i] = next[i] − global[i], rounded to float32. */
export function stepTaken(next: Float32Array, global: Float32Array, diff: Float32Array): Float32Array {
  for (let i = 0; i < diff.length; i++) diff[i] = next[i] - global[i];
  return diff;
}

/** Record id → value[k] in update order. */
export function byClient(updates: readonly Pick<StrategyUpdate, 'clientId'>[], values: ArrayLike<number>): Record<string, number> {
  const out: Record<string, number> = {};
  updates.forEach((u, k) => (out[u.clientId] = values[k]));
  return out;
}

/** Per-round noise seed: independent of other strategies' streams and of other rounds. */
export function noiseSeed(input: AggregationInput, who: string): number {
  return deriveSeed(input.seed, who, 'noise', input.round);
}

export function deltas(updates: readonly StrategyUpdate[]): Float32Array[] {
  return updates.map((u) => u.delta);
}

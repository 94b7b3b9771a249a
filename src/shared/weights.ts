// Flat Float32Array weight vectors and the layer specs that give them structure.
import { createRng, deriveSeed } from './prng';

export interface LayerSpec {
  name: string;
  shape: number[];
}

export function layerSize(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new Error(`invalid layer shape [${shape.join(',')}]: dimensions must be non-negative integers`);
    n *= d;
  }
  return n;
}

export function totalSize(specs: readonly LayerSpec[]): number {
  let n = 0;
  for (const s of specs) n += layerSize(s.shape);
  return n;
}

export function layerOffsets(specs: readonly LayerSpec[]): number[] {
  const out = [0];
  for (const s of specs) out.push(out[out.length - 1] + layerSize(s.shape));
  return out;
}

export function packWeights(arrays: ArrayLike<number>[], specs: readonly LayerSpec[]): Float32Array {
  if (arrays.length !== specs.length) throw new Error(`packWeights: got ${arrays.length} arrays for ${specs.length} layer specs`);
  const offsets = layerOffsets(specs);
  const flat = new Float32Array(offsets[specs.length]);
  for (let i = 0; i < specs.length; i++) {
    const want = offsets[i + 1] - offsets[i];
    if (arrays[i].length !== want) {
      throw new Error(`packWeights: layer '${specs[i].name}' [${specs[i].shape.join(',')}] needs ${want} values, got ${arrays[i].length}`);
    }
    flat.set(arrays[i], offsets[i]);
  }
  return flat;
}

/** Views into flat (no copy): writing to them writes to flat. */
export function unpackWeights(flat: Float32Array, specs: readonly LayerSpec[]): Float32Array[] {
  const offsets = layerOffsets(specs);
  if (flat.length !== offsets[specs.length]) {
    throw new Error(`unpackWeights: flat vector has ${flat.length} values, specs need ${offsets[specs.length]}`);
  }
  return specs.map((_, i) => flat.subarray(offsets[i], offsets[i + 1]));
}

export function specsEqual(a: readonly LayerSpec[], b: readonly LayerSpec[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    if (a[i].name !== b[i].name || a[i].shape.length !== b[i].shape.length) return false;
    for (let j = 0; j < a[i].shape.length; j++) if (a[i].shape[j] !== b[i].shape[j]) return false;
  }
  return true;
}

function checkSameLength(fn: string, a: ArrayLike<number>, b: ArrayLike<number>): void {
  if (a.length !== b.length) throw new Error(`${fn}: length mismatch (${a.length} vs ${b.length})`);
}

export function l2Norm(v: Float32Array): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] * v[i];
  return Math.sqrt(s);
}

/** out = a − b (out defaults to a new array; may alias a or b). */
export function subtract(a: Float32Array, b: Float32Array, out?: Float32Array): Float32Array {
  checkSameLength('subtract', a, b);
  const o = out ?? new Float32Array(a.length);
  checkSameLength('subtract(out)', a, o);
  for (let i = 0; i < a.length; i++) o[i] = a[i] - b[i];
  return o;
}

/** Keras convention: receptive field = product of all but the last two dims. */
export function fans(shape: readonly number[]): { fanIn: number; fanOut: number } {
  if (shape.length < 2) throw new Error(`fans: need a shape of rank >= 2, got [${shape.join(',')}]`);
  const rf = layerSize(shape.slice(0, -2));
  return { fanIn: shape[shape.length - 2] * rf, fanOut: shape[shape.length - 1] * rf };
}

/**
 * Deterministic init: '*bias' → 0, rank ≥ 2 → Glorot uniform U(±√(6/(fanIn+fanOut))), other → 1; LoRA factors
 * (lora-dense.ts): '*lora_b' → 0 (the layer starts as its frozen W₀), '*lora_a' [r, in] → N(0, 1/(3·in)).
 * Each layer draws from its own stream (seed, index, name), so adding a layer does not change the others.
 */
export function initWeights(specs: readonly LayerSpec[], seed: number): Float32Array {
  const offsets = layerOffsets(specs);
  const flat = new Float32Array(offsets[specs.length]);
  specs.forEach((spec, i) => {
    const w = flat.subarray(offsets[i], offsets[i + 1]);
    if (spec.name.endsWith('bias') || spec.name.endsWith('lora_b')) return;
    if (spec.name.endsWith('lora_a')) {
      const sigma = 1 / Math.sqrt(3 * spec.shape[spec.shape.length - 1]);
      const rng = createRng(deriveSeed(seed, 'init', i, spec.name));
      for (let j = 0; j < w.length; j++) w[j] = sigma * rng.normal();
      return;
    }
    if (spec.shape.length < 2) {
      w.fill(1);
      return;
    }
    const { fanIn, fanOut } = fans(spec.shape);
    const limit = Math.sqrt(6 / (fanIn + fanOut));
    const rng = createRng(deriveSeed(seed, 'init', i, spec.name));
    for (let j = 0; j < w.length; j++) w[j] = (2 * rng.next() - 1) * limit;
  });
  return flat;
}

// Seeded PRNG: sfc32 (Doty-Humphrey's Small Fast Counter, as in PractRand) seeded with bryc's cyrb128 hash.
// Only 32-bit integer ops (Math.imul, |0, >>>), so every JS engine yields the same sequence.

export interface Rng {
  /** Uniform in [0, 1), 32 bits of resolution. */
  next(): number;
  /** Uniform integer in 0..n-1. */
  int(n: number): number;
  /** Standard normal (Box–Muller, one draw per call: two uniforms consumed). */
  normal(): number;
  /** Gamma(shape, 1) by Marsaglia–Tsang; shape < 1 uses the boost Gamma(shape+1)·U^(1/shape). */
  gamma(shape: number): number;
  /** Symmetric Dirichlet(alpha, …, alpha) of dimension k. */
  dirichlet(alpha: number, k: number): Float64Array;
}

/** cyrb128 (bryc, public domain): string → four 32-bit words. */
export function cyrb128(str: string): [number, number, number, number] {
  let h1 = 1779033703, h2 = 3144134277, h3 = 1013904242, h4 = 2773480762;
  for (let i = 0; i < str.length; i++) {
    const k = str.charCodeAt(i);
    h1 = h2 ^ Math.imul(h1 ^ k, 597399067);
    h2 = h3 ^ Math.imul(h2 ^ k, 2869860233);
    h3 = h4 ^ Math.imul(h3 ^ k, 951274213);
    h4 = h1 ^ Math.imul(h4 ^ k, 2716044179);
  }
  h1 = Math.imul(h3 ^ (h1 >>> 18), 597399067);
  h2 = Math.imul(h4 ^ (h2 >>> 22), 2869860233);
  h3 = Math.imul(h1 ^ (h3 >>> 17), 951274213);
  h4 = Math.imul(h2 ^ (h4 >>> 19), 2716044179);
  h1 ^= h2 ^ h3 ^ h4;
  h2 ^= h1;
  h3 ^= h1;
  h4 ^= h1;
  return [h1 >>> 0, h2 >>> 0, h3 >>> 0, h4 >>> 0];
}

/** Raw sfc32 generator returning uint32 values. */
export function sfc32(a: number, b: number, c: number, d: number): () => number {
  a |= 0; b |= 0; c |= 0; d |= 0;
  return () => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return t >>> 0;
  };
}

const TWO_32 = 4294967296;

/**
 * A number seed is hashed through its decimal string, so createRng(42) and createRng('42') are the same stream.
 */
export function createRng(seed: number | string): Rng {
  if (typeof seed === 'number' && !Number.isFinite(seed)) throw new Error(`createRng: seed must be finite, got ${seed}`);
  const [a, b, c, d] = cyrb128(String(seed));
  const u32 = sfc32(a, b, c, d);
  const next = () => u32() / TWO_32;
  const normal = () => {
    const u1 = 1 - next(); // (0, 1] so log is finite
    const u2 = next();
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  };
  // Marsaglia & Tsang (2000), shape >= 1.
  const gammaGe1 = (shape: number): number => {
    const dd = shape - 1 / 3;
    const cc = 1 / Math.sqrt(9 * dd);
    for (;;) {
      let x: number, v: number;
      do {
        x = normal();
        v = 1 + cc * x;
      } while (v <= 0);
      v = v * v * v;
      const u = next();
      if (u < 1 - 0.0331 * x * x * x * x) return dd * v;
      if (u > 0 && Math.log(u) < 0.5 * x * x + dd * (1 - v + Math.log(v))) return dd * v;
    }
  };
  // log Gamma(shape) sample; for tiny shapes U^(1/shape) underflows to 0, the log does not.
  const logGamma = (shape: number): number => {
    if (shape >= 1) return Math.log(gammaGe1(shape));
    return Math.log(gammaGe1(shape + 1)) + Math.log(1 - next()) / shape;
  };
  const rng: Rng = {
    next,
    int(n: number) {
      if (!(n >= 1) || !Number.isInteger(n)) throw new Error(`rng.int: n must be a positive integer, got ${n}`);
      return Math.floor(next() * n);
    },
    normal,
    gamma(shape: number) {
      if (!(shape > 0) || !Number.isFinite(shape)) throw new Error(`rng.gamma: shape must be > 0, got ${shape}`);
      return shape >= 1 ? gammaGe1(shape) : Math.exp(logGamma(shape));
    },
    dirichlet(alpha: number, k: number) {
      if (!(alpha > 0) || !Number.isFinite(alpha)) throw new Error(`rng.dirichlet: alpha must be > 0, got ${alpha}`);
      if (!(k >= 1) || !Number.isInteger(k)) throw new Error(`rng.dirichlet: k must be a positive integer, got ${k}`);
      const out = new Float64Array(k);
      let max = -Infinity;
      for (let i = 0; i < k; i++) {
        out[i] = logGamma(alpha);
        if (out[i] > max) max = out[i];
      }
      let sum = 0;
      for (let i = 0; i < k; i++) sum += out[i] = Math.exp(out[i] - max);
      for (let i = 0; i < k; i++) out[i] /= sum;
      return out;
    },
  };
  return rng;
}

/** Independent sub-stream seed (uint32), e.g. deriveSeed(seed, 'round', t). Labels are typed, so 1 ≠ '1'. */
export function deriveSeed(seed: number, ...labels: Array<string | number>): number {
  return cyrb128(JSON.stringify([seed, ...labels]))[0];
}

/** In-place Fisher–Yates; returns arr. */
export function shuffle<T extends { length: number; [i: number]: any }>(arr: T, rng: Rng): T {
  for (let i = arr.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const tmp = arr[i];
    arr[i] = arr[j];
    arr[j] = tmp;
  }
  return arr;
}

/** k distinct values from 0..n-1, in draw order. Sparse partial Fisher–Yates: O(k) time and memory. */
export function sampleWithoutReplacement(n: number, k: number, rng: Rng): number[] {
  if (!Number.isInteger(n) || n < 0) throw new Error(`sampleWithoutReplacement: n must be a non-negative integer, got ${n}`);
  if (!Number.isInteger(k) || k < 0 || k > n) throw new Error(`sampleWithoutReplacement: need 0 <= k <= n, got k=${k}, n=${n}`);
  const swapped = new Map<number, number>();
  const out = new Array<number>(k);
  for (let i = 0; i < k; i++) {
    const j = i + rng.int(n - i);
    const vj = swapped.get(j) ?? j;
    out[i] = vj;
    swapped.set(j, swapped.get(i) ?? i);
  }
  return out;
}

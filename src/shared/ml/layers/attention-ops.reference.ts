// Direct loop implementations of the attention layers' forward passes, in float64, NHWC: what attention-ops.ts is
// tested against (values, and gradients by central differences of these).
export type Map4 = { data: Float64Array | Float32Array; b: number; h: number; w: number; c: number };

/** The gate nonlinearity, GATE_SCALE·σ (see attention-ops.ts). */
const sig = (v: number) => 2 / (1 + Math.exp(-v));
const at = (m: Map4, n: number, y: number, x: number, k: number) => m.data[((n * m.h + y) * m.w + x) * m.c + k];

function pooled(m: Map4, n: number, kind: 'mean' | 'max'): number[] {
  const out: number[] = [];
  for (let k = 0; k < m.c; k++) {
    let acc = kind === 'mean' ? 0 : -Infinity;
    for (let y = 0; y < m.h; y++) for (let x = 0; x < m.w; x++) {
      const v = at(m, n, y, x, k);
      acc = kind === 'mean' ? acc + v / (m.h * m.w) : Math.max(acc, v);
    }
    out.push(acc);
  }
  return out;
}

/** CA-MLP output M_c ⊙ F; w0 [c, hid], w1 [hid, c], row-major. */
export function channelMlpRef(m: Map4, w0: ArrayLike<number>, b0: ArrayLike<number>, w1: ArrayLike<number>, b1: ArrayLike<number>): Float64Array {
  const hid = b0.length;
  const out = new Float64Array(m.data.length);
  for (let n = 0; n < m.b; n++) {
    const mlp = (p: number[]) => {
      const h = Array.from({ length: hid }, (_, j) => Math.max(0, p.reduce((s, v, k) => s + v * w0[k * hid + j], b0[j])));
      return Array.from({ length: m.c }, (_, k) => h.reduce((s, v, j) => s + v * w1[j * m.c + k], b1[k]));
    };
    const a = mlp(pooled(m, n, 'mean')), g = mlp(pooled(m, n, 'max'));
    const gate = a.map((v, k) => sig(v + g[k]));
    for (let y = 0; y < m.h; y++) for (let x = 0; x < m.w; x++) for (let k = 0; k < m.c; k++) {
      const i = ((n * m.h + y) * m.w + x) * m.c + k;
      out[i] = m.data[i] * gate[k];
    }
  }
  return out;
}

/** CA-noMLP output: gate_k = σ(Σ_j kernel_j · GAP_{k+j−⌊K/2⌋}), zero outside the channels. */
export function channelConvRef(m: Map4, kernel: ArrayLike<number>): Float64Array {
  const out = new Float64Array(m.data.length);
  const half = Math.floor(kernel.length / 2);
  for (let n = 0; n < m.b; n++) {
    const p = pooled(m, n, 'mean');
    const gate = p.map((_, k) => sig(Array.from(kernel).reduce((s, kv, j) => s + kv * (p[k + j - half] ?? 0), 0)));
    for (let i = n * m.h * m.w * m.c; i < (n + 1) * m.h * m.w * m.c; i++) out[i] = m.data[i] * gate[i % m.c];
  }
  return out;
}

/** SA output: gate(y,x) = σ(bias + Σ kernel[dy][dx][0|1] · [mean_c; max_c] at (y+dy−⌊K/2⌋, x+dx−⌊K/2⌋)), zero padding. */
export function spatialRef(m: Map4, kernel: ArrayLike<number>, bias: number, k: number): Float64Array {
  const out = new Float64Array(m.data.length);
  const half = Math.floor(k / 2);
  for (let n = 0; n < m.b; n++) {
    const stat = (y: number, x: number, s: number) => {
      if (y < 0 || x < 0 || y >= m.h || x >= m.w) return 0;
      let acc = s === 0 ? 0 : -Infinity;
      for (let c = 0; c < m.c; c++) acc = s === 0 ? acc + at(m, n, y, x, c) / m.c : Math.max(acc, at(m, n, y, x, c));
      return acc;
    };
    for (let y = 0; y < m.h; y++) for (let x = 0; x < m.w; x++) {
      let z = bias;
      for (let dy = 0; dy < k; dy++) for (let dx = 0; dx < k; dx++) for (let s = 0; s < 2; s++) {
        z += kernel[(dy * k + dx) * 2 + s] * stat(y + dy - half, x + dx - half, s);
      }
      for (let c = 0; c < m.c; c++) {
        const i = ((n * m.h + y) * m.w + x) * m.c + c;
        out[i] = m.data[i] * sig(z);
      }
    }
  }
  return out;
}

const softmax = (z: number[]) => {
  const mx = Math.max(...z);
  const e = z.map((v) => Math.exp(v - mx));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
};

/** Feature attention f̃ = d·(softmax(f W) ⊙ f) for f [b, d], W [d, d]. */
export function featureAttentionRef(f: ArrayLike<number>, b: number, d: number, kernel: ArrayLike<number>): Float64Array {
  const out = new Float64Array(b * d);
  for (let n = 0; n < b; n++) {
    const z = Array.from({ length: d }, (_, j) => { let s = 0; for (let i = 0; i < d; i++) s += f[n * d + i] * kernel[i * d + j]; return s; });
    softmax(z).forEach((a, j) => (out[n * d + j] = d * a * f[n * d + j]));
  }
  return out;
}

/** Attention pooling f̃_c = Σ_n softmax_n(F w)_n F_{n,c}, [b, c]. */
export function attentionPoolRef(m: Map4, kernel: ArrayLike<number>): Float64Array {
  const out = new Float64Array(m.b * m.c);
  const N = m.h * m.w;
  for (let n = 0; n < m.b; n++) {
    const base = n * N * m.c;
    const a = softmax(Array.from({ length: N }, (_, p) => { let s = 0; for (let c = 0; c < m.c; c++) s += m.data[base + p * m.c + c] * kernel[c]; return s; }));
    for (let c = 0; c < m.c; c++) out[n * m.c + c] = a.reduce((s, ap, p) => s + ap * m.data[base + p * m.c + c], 0);
  }
  return out;
}

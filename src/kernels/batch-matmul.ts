import {
  BatchMatMul,
  broadcast_util,
  Reshape,
  Transpose,
  type BatchMatMulAttrs,
  type KernelBackend,
  type KernelFunc,
  type NamedAttrMap,
  type TensorInfo,
} from '@tensorflow/tfjs';
import { backendKernels, overrideKernel, restoreKernel } from './kernel-registry.ts';

const size = (shape: readonly number[]) => shape.reduce((p, d) => p * d, 1);

/**
 * BatchMatMul that turns transposed products into untransposed ones. The stock wasm kernel only uses XNNPACK for
 * transposeA = transposeB = false with batch 1, and a naive loop otherwise, which the backward pass of every dense
 * layer hits (dA = dC·Bᵀ, dB = Aᵀ·dC). Here the operands are transposed with the backend's Transpose kernel and
 * `inner` (the replaced kernel) computes the product untransposed, either directly as op(A)·op(B) or as
 * (op(B)ᵀ·op(A)ᵀ)ᵀ, whichever moves and packs fewer elements (XNNPACK repacks the right operand on every new
 * tensor). Untransposed products, batch sizes > 1 and non-float32 inputs go to `inner` unchanged.
 */
export function makeBatchMatMul(backendName: string, inner: KernelFunc): KernelFunc {
  const [transpose, reshape] = backendKernels(backendName, BatchMatMul, [Transpose, Reshape]);

  return (args) => {
    const { inputs, backend, attrs } = args;
    const { a, b } = inputs as { a: TensorInfo; b: TensorInfo };
    const { transposeA, transposeB } = attrs as unknown as BatchMatMulAttrs;
    if ((!transposeA && !transposeB) || a.dtype !== 'float32' || b.dtype !== 'float32' ||
        a.shape.length < 2 || b.shape.length < 2 ||
        size(a.shape.slice(0, -2)) !== 1 || size(b.shape.slice(0, -2)) !== 1) {
      return inner(args);
    }
    const bk = backend as KernelBackend;
    const call = (f: KernelFunc, ins: Record<string, TensorInfo>, at: NamedAttrMap) =>
      f({ inputs: ins, backend, attrs: at }) as TensorInfo;
    const [ra, ca] = a.shape.slice(-2);
    const [rb, cb] = b.shape.slice(-2);
    const [m, k] = transposeA ? [ca, ra] : [ra, ca];
    const [kb, n] = transposeB ? [cb, rb] : [rb, cb];
    if (k !== kb) {
      throw new Error(`Error in matMul: inner shapes (${k}) and (${kb}) of Tensors with shapes ${a.shape} and ` +
        `${b.shape} and transposeA=${transposeA} and transposeB=${transposeB} must match.`);
    }
    const outShape = [...broadcast_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2)), m, n];

    const temps: TensorInfo[] = [];
    const keep = (t: TensorInfo) => (temps.push(t), t);
    try {
      const a2 = a.shape.length === 2 ? a : keep(call(reshape, { x: a }, { shape: [ra, ca] }));
      const b2 = b.shape.length === 2 ? b : keep(call(reshape, { x: b }, { shape: [rb, cb] }));
      const t = (x: TensorInfo) => keep(call(transpose, { x }, { perm: [1, 0] }));
      const nn = (x: TensorInfo, y: TensorInfo) => call(inner, { a: x, b: y }, { transposeA: false, transposeB: false });
      // Elements transposed, plus the right operand's size (packed by XNNPACK), for each way round.
      const direct = (transposeA ? m * k : 0) + (transposeB ? k * n : 0) + k * n;
      const swapped = (transposeB ? 0 : k * n) + (transposeA ? 0 : m * k) + m * k + m * n;
      let out: TensorInfo;
      if (direct <= swapped) {
        out = nn(transposeA ? t(a2) : a2, transposeB ? t(b2) : b2); // [m, n]
      } else {
        const outT = keep(nn(transposeB ? b2 : t(b2), transposeA ? a2 : t(a2))); // [n, m]
        out = call(transpose, { x: outT }, { perm: [1, 0] });
      }
      if (outShape.length === 2) return out;
      keep(out);
      return call(reshape, { x: out }, { shape: outShape });
    } finally {
      for (const x of temps) bk.disposeData(x.dataId);
    }
  };
}

/**
 * Registers our BatchMatMul for `backendName` (idempotent), wrapping the kernel registered there now;
 * `restoreBatchMatMul` puts that kernel back.
 */
export function registerBatchMatMul(backendName = 'wasm'): void {
  overrideKernel(BatchMatMul, backendName, (current) => {
    if (!current) throw new Error(`registerBatchMatMul: no '${BatchMatMul}' kernel on '${backendName}' to wrap`);
    return {
      kernelFunc: makeBatchMatMul(backendName, current.kernelFunc),
      // The wrapped kernel still needs its setup (stock wasm binds its C++ function there), which the engine runs
      // for registered kernels on setBackend: keep it when registering before the backend is first initialised.
      setupFunc: current.setupFunc,
      disposeFunc: current.disposeFunc,
    };
  });
}

/** Undoes `registerBatchMatMul`: restores the wrapped kernel. */
export function restoreBatchMatMul(backendName = 'wasm'): void {
  restoreKernel(BatchMatMul, backendName);
}

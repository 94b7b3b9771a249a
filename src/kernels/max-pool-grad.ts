import { backend_util, MaxPoolGrad, type KernelFunc, type MaxPoolGradAttrs, type TensorInfo } from '@tensorflow/tfjs';
import { overrideKernel, restoreKernel } from './kernel-registry.ts';

/** What the kernel needs of the wasm backend: tensors as views of its heap. */
interface HeapBackend {
  makeOutput(shape: number[], dtype: 'float32'): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): Float32Array;
}

const isHeapBackend = (b: unknown): b is HeapBackend =>
  typeof (b as HeapBackend).typedArrayFromHeap === 'function' && typeof (b as HeapBackend).makeOutput === 'function';

/**
 * MaxPoolGrad for non-overlapping pools (filter = stride, no padding: CNN-S's 2×2 pools) on the wasm backend, as one
 * pass over the pooled output on the backend's heap: each window's dy goes to its first maximum in row-major order,
 * as tfjs-core's cpu kernel breaks ties (the stock wasm kernel rescans every window that could cover each input
 * pixel, and disagrees with cpu on negative inputs and on ties; see the tests). Every other pool, and any backend
 * whose tensors are not on a wasm heap, goes to `inner`, the replaced kernel.
 */
export function makeMaxPoolGrad(inner: KernelFunc): KernelFunc {
  return (args) => {
    const { inputs, backend, attrs } = args;
    const { dy, input: x, output: y } = inputs as { dy: TensorInfo; input: TensorInfo; output: TensorInfo };
    const { filterSize, strides, pad, dimRoundingMode } = attrs as unknown as MaxPoolGradAttrs;
    const info = backend_util.computePool2DInfo(x.shape as [number, number, number, number], filterSize, strides, 1, pad, dimRoundingMode);
    const { filterHeight: fh, filterWidth: fw, padInfo } = info;
    const plain = info.strideHeight === fh && info.strideWidth === fw && padInfo.top === 0 && padInfo.left === 0 &&
      padInfo.bottom === 0 && padInfo.right === 0 && x.dtype === 'float32' && dy.dtype === 'float32' && y.dtype === 'float32';
    if (!plain || !isHeapBackend(backend)) return inner(args);

    // The output first: allocating may grow the heap, which would detach views taken before.
    const out = backend.makeOutput([...x.shape], 'float32');
    const dx = backend.typedArrayFromHeap(out);
    const xs = backend.typedArrayFromHeap(x);
    const ys = backend.typedArrayFromHeap(y);
    const dys = backend.typedArrayFromHeap(dy);
    dx.fill(0);
    const [n, h, w, c] = x.shape;
    const { outHeight: oh, outWidth: ow } = info;
    const rowStride = w * c;
    for (let b = 0, o = 0; b < n; b++) {
      const imageBase = b * h * rowStride;
      for (let i = 0; i < oh; i++) {
        for (let j = 0; j < ow; j++) {
          const windowBase = imageBase + i * fh * rowStride + j * fw * c;
          for (let ch = 0; ch < c; ch++, o++) {
            const m = ys[o];
            // The window's first position holding its max (the pooled value, so an exact match exists).
            let at = -1;
            for (let r = 0; r < fh && at < 0; r++) {
              for (let s = 0, p = windowBase + r * rowStride + ch; s < fw; s++, p += c) {
                if (xs[p] === m) {
                  at = p;
                  break;
                }
              }
            }
            if (at >= 0) dx[at] += dys[o];
          }
        }
      }
    }
    return out;
  };
}

/** Registers our MaxPoolGrad for `backendName` (idempotent), wrapping the kernel there now; `restoreMaxPoolGrad` puts it back. */
export function registerMaxPoolGrad(backendName = 'wasm'): void {
  overrideKernel(MaxPoolGrad, backendName, (current) => {
    if (!current) throw new Error(`MaxPoolGrad for '${backendName}' wraps the backend's own kernel, and there is none`);
    return { kernelFunc: makeMaxPoolGrad(current.kernelFunc), setupFunc: current.setupFunc };
  });
}

export function restoreMaxPoolGrad(backendName = 'wasm'): void {
  restoreKernel(MaxPoolGrad, backendName);
}

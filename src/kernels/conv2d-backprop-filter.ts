import {
  backend_util,
  Conv2D,
  Conv2DBackpropFilter,
  Slice,
  Transpose,
  type Conv2DBackpropFilterAttrs,
  type KernelBackend,
  type KernelFunc,
  type NamedAttrMap,
  type TensorInfo,
} from '@tensorflow/tfjs';
import { backendKernels, overrideKernel, restoreKernel } from './kernel-registry.ts';

/**
 * Conv2DBackpropFilter built from the backend's own Conv2D/Transpose/Slice kernels via
 * dW = conv2d(transpose(x), transpose(dy)): input channels become the batch, the batch becomes
 * the contraction channel, dy acts as an [OH,OW,N,Co] filter dilated by the forward stride.
 */
export function makeConv2DBackpropFilter(backendName: string): KernelFunc {
  const [conv2d, transpose, slice] = backendKernels(backendName, Conv2DBackpropFilter, [Conv2D, Transpose, Slice]);

  return ({ inputs, backend, attrs }) => {
    const b = backend as KernelBackend;
    const call = (f: KernelFunc, ins: Record<string, TensorInfo>, at: NamedAttrMap) =>
      f({ inputs: ins, backend, attrs: at }) as TensorInfo;
    const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
    const { strides, pad, dataFormat, dimRoundingMode, filterShape } =
      attrs as unknown as Conv2DBackpropFilterAttrs;
    if (dataFormat === 'NCHW') {
      throw new Error(`Conv2DBackpropFilter on '${backendName}': dataFormat NCHW is not supported, use NHWC`);
    }
    // The conv2d gradient rejects forward dilations > 1, so the forward dilation here is always 1.
    const info = backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number], filterShape, strides, 1, pad, dimRoundingMode);
    const { strideHeight: sh, strideWidth: sw, filterHeight: fh, filterWidth: fw, padInfo } = info;
    const [n, h, w, ci] = x.shape;
    const [, oh, ow] = dy.shape;
    // Pad so the inner conv yields exactly fh×fw; forward conv may ignore trailing rows/cols
    // (negative bottom/right), which must be sliced off since padding cannot be negative.
    const bottom = (oh - 1) * sh + fh - h - padInfo.top;
    const right = (ow - 1) * sw + fw - w - padInfo.left;

    const temps: TensorInfo[] = [];
    let xIn = x;
    if (bottom < 0 || right < 0) {
      xIn = call(slice, { x }, { begin: [0, 0, 0, 0], size: [n, h + Math.min(bottom, 0), w + Math.min(right, 0), ci] });
      temps.push(xIn);
    }
    try {
      const xT = call(transpose, { x: xIn }, { perm: [3, 1, 2, 0] });
      temps.push(xT);
      const dyT = call(transpose, { x: dy }, { perm: [1, 2, 0, 3] });
      temps.push(dyT);
      const out = call(conv2d, { x: xT, filter: dyT }, {
        strides: [1, 1],
        dilations: [sh, sw],
        pad: [[0, 0], [padInfo.top, Math.max(bottom, 0)], [padInfo.left, Math.max(right, 0)], [0, 0]],
        dataFormat: 'NHWC',
      });
      temps.push(out);
      return call(transpose, { x: out }, { perm: [1, 2, 0, 3] });
    } finally {
      for (const t of temps) b.disposeData(t.dataId);
    }
  };
}

/**
 * Registers our Conv2DBackpropFilter for `backendName` (idempotent). Replaces an existing kernel
 * (e.g. stock cpu); `restoreConv2DBackpropFilter` puts the replaced one back.
 */
export function registerConv2DBackpropFilter(backendName = 'wasm'): void {
  overrideKernel(Conv2DBackpropFilter, backendName, () => ({ kernelFunc: makeConv2DBackpropFilter(backendName) }));
}

/** Undoes `registerConv2DBackpropFilter`: restores the replaced kernel, or leaves none. */
export function restoreConv2DBackpropFilter(backendName = 'wasm'): void {
  restoreKernel(Conv2DBackpropFilter, backendName);
}

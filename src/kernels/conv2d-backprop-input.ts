import {
  backend_util,
  Conv2D,
  Conv2DBackpropInput,
  PadV2,
  Reshape,
  Reverse,
  Slice,
  Transpose,
  type Conv2DBackpropInputAttrs,
  type KernelBackend,
  type KernelFunc,
  type NamedAttrMap,
  type TensorInfo,
} from '@tensorflow/tfjs';
import { backendKernels, overrideKernel, restoreKernel } from './kernel-registry.ts';

/**
 * Conv2DBackpropInput built from the backend's own Conv2D/Transpose/Reverse/PadV2/Reshape/Slice kernels:
 * dx = conv2d(dilate(dy, stride), rot180(filter) with in/out channels swapped, stride 1), where dilation inserts
 * stride−1 zeros between dy's rows/columns (Reshape → PadV2 → Reshape, no scatter) and the conv's explicit padding
 * (fh−1−padTop above, whatever makes the output exactly inputShape below; negative amounts become a Slice) aligns it.
 */
export function makeConv2DBackpropInput(backendName: string): KernelFunc {
  const [conv2d, transpose, reverse, padV2, reshape, slice] =
    backendKernels(backendName, Conv2DBackpropInput, [Conv2D, Transpose, Reverse, PadV2, Reshape, Slice]);

  return ({ inputs, backend, attrs }) => {
    const b = backend as KernelBackend;
    const call = (f: KernelFunc, ins: Record<string, TensorInfo>, at: NamedAttrMap) =>
      f({ inputs: ins, backend, attrs: at }) as TensorInfo;
    const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo };
    const { strides, pad, dataFormat, dimRoundingMode, inputShape } = attrs as unknown as Conv2DBackpropInputAttrs;
    if (dataFormat === 'NCHW') {
      throw new Error(`Conv2DBackpropInput on '${backendName}': dataFormat NCHW is not supported, use NHWC`);
    }
    // The conv2d gradient rejects forward dilations > 1, so the forward dilation here is always 1.
    const info = backend_util.computeConv2DInfo(
      inputShape, filter.shape as [number, number, number, number], strides, 1, pad, dimRoundingMode);
    const { strideHeight: sh, strideWidth: sw, filterHeight: fh, filterWidth: fw, padInfo } = info;
    const [n, h, w] = inputShape;
    const [dn, oh, ow, co] = dy.shape;
    if (dn !== n || oh !== info.outHeight || ow !== info.outWidth || co !== info.outChannels) {
      throw new Error(`Conv2DBackpropInput: dy shape ${dy.shape} does not match the forward output ${info.outShape}`);
    }

    const temps: TensorInfo[] = [];
    const keep = (t: TensorInfo) => (temps.push(t), t);
    try {
      // dy dilated by the stride, with the stride−1 trailing zeros after the last row/column kept: [n, oh·sh, ow·sw, co].
      let d = dy;
      if (sh > 1 || sw > 1) {
        const r = keep(call(reshape, { x: dy }, { shape: [n, oh, 1, ow, 1, co] }));
        const p = keep(call(padV2, { x: r }, {
          paddings: [[0, 0], [0, 0], [0, sh - 1], [0, 0], [0, sw - 1], [0, 0]],
          constantValue: 0,
        }));
        d = keep(call(reshape, { x: p }, { shape: [n, oh * sh, ow * sw, co] }));
      }
      // Output row r reads dilated rows r + top − (fh−1) … r + top: the conv needs dilated rows
      // [top − (fh−1), h + top) (zero outside [0, oh·sh)). Out-of-range parts are padding; parts
      // of d outside that window (large explicit padding, or ignored trailing rows) are sliced off.
      // The window always overlaps [0, oh·sh): top − (fh−1) < oh·sh since oh·sh ≥ h + top + bottom − fh + 1.
      const r0 = padInfo.top - (fh - 1);
      const r1 = h + padInfo.top;
      const c0 = padInfo.left - (fw - 1);
      const c1 = w + padInfo.left;
      const [dh, dw] = [oh * sh, ow * sw];
      const [rb, re, cb, ce] = [Math.max(r0, 0), Math.min(r1, dh), Math.max(c0, 0), Math.min(c1, dw)];
      if (rb > 0 || re < dh || cb > 0 || ce < dw) {
        d = keep(call(slice, { x: d }, { begin: [0, rb, cb, 0], size: [n, re - rb, ce - cb, co] }));
      }
      // [fh, fw, ci, co] → rotated 180° → [fh, fw, co, ci]: a filter from dy's channels to x's.
      const rev = keep(call(reverse, { x: filter }, { dims: [0, 1] }));
      const rot = keep(call(transpose, { x: rev }, { perm: [0, 1, 3, 2] }));
      return call(conv2d, { x: d, filter: rot }, {
        strides: [1, 1],
        dilations: [1, 1],
        pad: [[0, 0], [rb - r0, r1 - re], [cb - c0, c1 - ce], [0, 0]],
        dataFormat: 'NHWC',
      });
    } finally {
      for (const t of temps) b.disposeData(t.dataId);
    }
  };
}

/**
 * Registers our Conv2DBackpropInput for `backendName` (idempotent). Replaces an existing kernel
 * (the stock wasm/cpu one); `restoreConv2DBackpropInput` puts the replaced one back.
 */
export function registerConv2DBackpropInput(backendName = 'wasm'): void {
  overrideKernel(Conv2DBackpropInput, backendName, () => ({ kernelFunc: makeConv2DBackpropInput(backendName) }));
}

/** Undoes `registerConv2DBackpropInput`: restores the replaced kernel, or leaves none. */
export function restoreConv2DBackpropInput(backendName = 'wasm'): void {
  restoreKernel(Conv2DBackpropInput, backendName);
}

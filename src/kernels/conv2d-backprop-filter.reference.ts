/**
 * Direct definition of the conv2d filter gradient (NHWC), used as ground truth in tests:
 * dW[i,j,c,o] = Σ_{b,y,x} X[b, y*sh + i*dh − top, x*sw + j*dw − left, c] · dY[b,y,x,o]
 * (out-of-range input positions are the zero padding).
 */
export function conv2dBackpropFilterReference(
  x: Float32Array,
  xShape: [number, number, number, number],
  dy: Float32Array,
  dyShape: [number, number, number, number],
  filterShape: [number, number, number, number],
  strides: [number, number],
  pads: { top: number; left: number },
  dilations: [number, number] = [1, 1],
): Float32Array {
  const [n, h, w, ci] = xShape;
  const [dn, oh, ow, co] = dyShape;
  const [fh, fw, fci, fco] = filterShape;
  if (dn !== n || fci !== ci || fco !== co) {
    throw new Error(`shape mismatch: x ${xShape}, dy ${dyShape}, filter ${filterShape}`);
  }
  const [sh, sw] = strides;
  const [dh, dw] = dilations;
  const out = new Float32Array(fh * fw * ci * co);
  // Float64 accumulator so the reference is more accurate than the kernels it checks.
  const acc = new Float64Array(co);
  for (let i = 0; i < fh; i++) {
    for (let j = 0; j < fw; j++) {
      for (let c = 0; c < ci; c++) {
        acc.fill(0);
        for (let b = 0; b < n; b++) {
          for (let y = 0; y < oh; y++) {
            const r = y * sh + i * dh - pads.top;
            if (r < 0 || r >= h) continue;
            for (let xo = 0; xo < ow; xo++) {
              const col = xo * sw + j * dw - pads.left;
              if (col < 0 || col >= w) continue;
              const xv = x[((b * h + r) * w + col) * ci + c];
              const dyBase = ((b * oh + y) * ow + xo) * co;
              for (let o = 0; o < co; o++) acc[o] += xv * dy[dyBase + o];
            }
          }
        }
        out.set(acc, ((i * fw + j) * ci + c) * co);
      }
    }
  }
  return out;
}

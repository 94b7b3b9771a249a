/**
 * Direct definition of the conv2d input gradient (NHWC), used as ground truth in tests:
 * dX[b,r,c,k] = Σ_{y,x,i,j,o : y*sh + i*dh − top = r, x*sw + j*dw − left = c} dY[b,y,x,o] · W[i,j,k,o]
 * (contributions that land in the zero padding are dropped).
 */
export function conv2dBackpropInputReference(
  dy: Float32Array,
  dyShape: [number, number, number, number],
  filter: Float32Array,
  filterShape: [number, number, number, number],
  xShape: [number, number, number, number],
  strides: [number, number],
  pads: { top: number; left: number },
  dilations: [number, number] = [1, 1],
): Float32Array {
  const [n, h, w, ci] = xShape;
  const [dn, oh, ow, co] = dyShape;
  const [fh, fw, fci, fco] = filterShape;
  if (dn !== n || fci !== ci || fco !== co) {
    throw new Error(`shape mismatch: dy ${dyShape}, filter ${filterShape}, x ${xShape}`);
  }
  const [sh, sw] = strides;
  const [dh, dw] = dilations;
  // Float64 accumulator so the reference is more accurate than the kernels it checks.
  const acc = new Float64Array(n * h * w * ci);
  for (let b = 0; b < n; b++) {
    for (let y = 0; y < oh; y++) {
      for (let xo = 0; xo < ow; xo++) {
        const dyBase = ((b * oh + y) * ow + xo) * co;
        for (let i = 0; i < fh; i++) {
          const r = y * sh + i * dh - pads.top;
          if (r < 0 || r >= h) continue;
          for (let j = 0; j < fw; j++) {
            const c = xo * sw + j * dw - pads.left;
            if (c < 0 || c >= w) continue;
            const dxBase = ((b * h + r) * w + c) * ci;
            const wBase = (i * fw + j) * ci * co;
            for (let k = 0; k < ci; k++) {
              let s = 0;
              for (let o = 0; o < co; o++) s += dy[dyBase + o] * filter[wBase + k * co + o];
              acc[dxBase + k] += s;
            }
          }
        }
      }
    }
  }
  return Float32Array.from(acc);
}

/**
 * Direct definition of the max-pool gradient (NHWC, padding `top`/`left`): every output position's dy goes to the
 * first input position (row-major within its window) holding the window's maximum; used as ground truth in tests.
 */
export function maxPoolGradReference(
  x: Float32Array,
  xShape: [number, number, number, number],
  dy: Float32Array,
  dyShape: [number, number, number, number],
  filter: [number, number],
  strides: [number, number],
  pads: { top: number; left: number } = { top: 0, left: 0 },
): Float32Array {
  const [n, h, w, c] = xShape;
  const [, oh, ow] = dyShape;
  const dx = new Float32Array(x.length);
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < oh; i++) {
      for (let j = 0; j < ow; j++) {
        for (let ch = 0; ch < c; ch++) {
          let best = -Infinity;
          let at = -1;
          for (let r = 0; r < filter[0]; r++) {
            for (let s = 0; s < filter[1]; s++) {
              const yy = i * strides[0] + r - pads.top;
              const xx = j * strides[1] + s - pads.left;
              if (yy < 0 || yy >= h || xx < 0 || xx >= w) continue;
              const idx = ((b * h + yy) * w + xx) * c + ch;
              if (x[idx] > best) {
                best = x[idx];
                at = idx;
              }
            }
          }
          if (at >= 0) dx[at] += dy[((b * oh + i) * ow + j) * c + ch];
        }
      }
    }
  }
  return dx;
}

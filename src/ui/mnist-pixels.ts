// A drawing as the model expects a digit: MNIST digits are white on black, their bounding box scaled to fit 20×20
// and centred by centre of mass in a 28×28 frame (LeCun et al.'s preprocessing). Pure: grey levels in, bytes out.

/** `gray`: w×h intensities 0–255 (ink = high). Returns 784 bytes, or all zeros for an empty drawing. */
export function toMnistPixels(gray: ArrayLike<number>, w: number, h: number): Uint8Array {
  let x0 = w, y0 = h, x1 = -1, y1 = -1;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (gray[y * w + x] > 0) {
        x0 = Math.min(x0, x);
        x1 = Math.max(x1, x);
        y0 = Math.min(y0, y);
        y1 = Math.max(y1, y);
      }
    }
  }
  const out = new Uint8Array(28 * 28);
  if (x1 < 0) return out;
  const bw = x1 - x0 + 1;
  const bh = y1 - y0 + 1;
  const scale = 20 / Math.max(bw, bh);
  const sw = Math.max(1, Math.round(bw * scale));
  const sh = Math.max(1, Math.round(bh * scale));
  // Box-filter the bounding box down to sw×sh (area average: thin strokes survive).
  const small = new Float64Array(sw * sh);
  for (let sy = 0; sy < sh; sy++) {
    for (let sx = 0; sx < sw; sx++) {
      const ax = x0 + (sx * bw) / sw, bx = x0 + ((sx + 1) * bw) / sw;
      const ay = y0 + (sy * bh) / sh, by = y0 + ((sy + 1) * bh) / sh;
      let sum = 0, area = 0;
      for (let y = Math.floor(ay); y < Math.ceil(by); y++) {
        const fy = Math.min(by, y + 1) - Math.max(ay, y);
        for (let x = Math.floor(ax); x < Math.ceil(bx); x++) {
          const f = fy * (Math.min(bx, x + 1) - Math.max(ax, x));
          sum += f * gray[y * w + x];
          area += f;
        }
      }
      small[sy * sw + sx] = area > 0 ? sum / area : 0;
    }
  }
  // Centre of mass of the scaled digit → the frame's centre (13.5, 13.5).
  let m = 0, mx = 0, my = 0;
  for (let y = 0; y < sh; y++) for (let x = 0; x < sw; x++) {
    const v = small[y * sw + x];
    m += v;
    mx += v * x;
    my += v * y;
  }
  const ox = Math.round(13.5 - (m > 0 ? mx / m : sw / 2));
  const oy = Math.round(13.5 - (m > 0 ? my / m : sh / 2));
  for (let y = 0; y < sh; y++) {
    for (let x = 0; x < sw; x++) {
      const tx = x + ox, ty = y + oy;
      if (tx >= 0 && tx < 28 && ty >= 0 && ty < 28) out[ty * 28 + tx] = Math.min(255, Math.round(small[y * sw + x]));
    }
  }
  return out;
}

// A strip of a client's own training images, for the page that owns the client (its tab, or the dashboard for the
// worker clients it started): nothing of it goes to the coordinator. Pure: bytes in, HTML out. Each image is an
// 8-bit grayscale BMP in a data: URL (a browser makes PNGs only through a canvas; a BMP is a header and the bytes).
import { esc } from './html';

const FILE_HEADER = 14;
const INFO_HEADER = 40;
const PALETTE = 256 * 4;

/**
 * An 8-bit BMP of `w`×`h` grey levels (row-major, top row first, 0 = black): BITMAPFILEHEADER, BITMAPINFOHEADER,
 * a 256-entry grey palette, then the rows bottom-up, each padded to a multiple of 4 bytes.
 */
export function grayBmp(pixels: ArrayLike<number>, w: number, h: number): Uint8Array {
  if (!Number.isInteger(w) || !Number.isInteger(h) || w < 1 || h < 1) throw new Error(`grayBmp: bad size ${w}×${h}`);
  if (pixels.length < w * h) throw new Error(`grayBmp: ${pixels.length} pixels for ${w}×${h}`);
  const stride = (w + 3) & ~3;
  const offset = FILE_HEADER + INFO_HEADER + PALETTE;
  const size = offset + stride * h;
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  out[0] = 0x42; // 'B'
  out[1] = 0x4d; // 'M'
  dv.setUint32(2, size, true);
  dv.setUint32(10, offset, true);
  dv.setUint32(14, INFO_HEADER, true);
  dv.setInt32(18, w, true);
  dv.setInt32(22, h, true); // positive: rows stored bottom-up
  dv.setUint16(26, 1, true); // planes
  dv.setUint16(28, 8, true); // bits per pixel
  dv.setUint32(30, 0, true); // BI_RGB
  dv.setUint32(34, stride * h, true);
  dv.setInt32(38, 2835, true); // 72 dpi
  dv.setInt32(42, 2835, true);
  dv.setUint32(46, 256, true); // colours used
  dv.setUint32(50, 0, true);
  for (let i = 0; i < 256; i++) {
    const p = FILE_HEADER + INFO_HEADER + i * 4;
    out[p] = out[p + 1] = out[p + 2] = i; // B, G, R
  }
  for (let y = 0; y < h; y++) {
    const row = offset + (h - 1 - y) * stride;
    for (let x = 0; x < w; x++) out[row + x] = pixels[y * w + x];
  }
  return out;
}

function base64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

/** A 28×28 MNIST-style image (white on black, as the model sees it) as a data: URL. */
export function mnistImageUrl(pixels: Uint8Array): string {
  return `data:image/bmp;base64,${base64(grayBmp(pixels, 28, 28))}`;
}

export interface SampleStripOptions {
  /** Images shown, at most (the sample's first ones). */
  max?: number;
  /** Displayed size of each image in CSS pixels. */
  size?: number;
  /** Class name under each image (else only in its tooltip). */
  captions?: boolean;
}

/** The sample's images in a row, each with its class name under it (or in its tooltip); '' without a sample. */
export function sampleStripHtml(
  sample: { pixels: Uint8Array; labels: readonly number[] } | null | undefined,
  names: readonly string[],
  opts: SampleStripOptions = {},
): string {
  if (!sample || sample.labels.length === 0) return '';
  const { max = Infinity, size = 56, captions = true } = opts;
  const n = Math.min(max, sample.labels.length, Math.floor(sample.pixels.length / 784));
  const items: string[] = [];
  for (let k = 0; k < n; k++) {
    const label = sample.labels[k];
    const name = names[label] ?? String(label);
    const src = mnistImageUrl(sample.pixels.subarray(k * 784, (k + 1) * 784));
    items.push(
      `<figure class="sample" title="${esc(name)}"><img src="${src}" width="${size}" height="${size}" alt="${esc(name)}">${
        captions ? `<figcaption>${esc(name)}</figcaption>` : ''
      }</figure>`,
    );
  }
  return `<div class="sample-strip${captions ? '' : ' compact'}" data-images="${n}">${items.join('')}</div>`;
}

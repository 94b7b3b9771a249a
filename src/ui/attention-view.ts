// The dashboard's "what the attention looks at" (status().attention): per fixed test image the digit, the spatial
// gates (sa1, sa2, FedAKD's apool) upsampled onto it as a heat map, and the channel / feature gates (ca1, ca2, fatt)
// as bar strips. Pure builders and pixel maths, plus paintAttention, the one function that touches a canvas.
import type { AttentionGate, AttentionImage, AttentionSnapshot } from '../shared/status';
import { esc } from './html';

export const SIZE = 28;
/** How much of the heat map shows over the digit. */
const ALPHA = 0.6;
// Dark to bright (an inferno-like ramp), so that brighter reads as more attention on a dark digit background.
const RAMP: Array<[number, number, number]> = [[0, 0, 4], [87, 16, 110], [188, 55, 84], [249, 142, 9], [252, 255, 164]];

export function heatColor(t: number): [number, number, number] {
  const u = (Number.isFinite(t) ? Math.min(1, Math.max(0, t)) : 0) * (RAMP.length - 1);
  const i = Math.min(RAMP.length - 2, Math.floor(u));
  const f = u - i;
  return RAMP[i].map((a, k) => Math.round(a + (RAMP[i + 1][k] - a) * f)) as [number, number, number];
}

/**
 * Where an n×n gate map's cells sit on the 28×28 image: cell i's centre at `offset + i·stride` pixels. CNN-S has
 * valid 3×3 convs and 2×2 pools: block 1's 13×13 cell i pools conv outputs 2i, 2i+1 (each over pixels j…j+2), so it
 * is centred at pixel 2i + 2; block 2's 5×5 cell k at 4k + 5 (conv2's 11th row and column are pooled away), which
 * is not a stretch of the 5 cells over the image (that would put them 5.6 px apart). Other sizes, CNN-M's 'same'
 * convs (14×14, 7×7), tile the image evenly: there the plain stretch is exact.
 */
export function cellGeometry(n: number): { offset: number; stride: number } {
  if (n === 13) return { offset: 2, stride: 2 };
  if (n === 5) return { offset: 5, stride: 4 };
  return { offset: SIZE / n / 2, stride: SIZE / n };
}

/** Bilinear upsampling of an h×w map (row-major) to 28×28, sampled at pixel centres; beyond the outer cells it is flat. */
export function upsample(values: ArrayLike<number>, h: number, w: number): Float32Array {
  const axis = (n: number) => {
    const { offset, stride } = cellGeometry(n);
    return Array.from({ length: SIZE }, (_, p) => {
      const u = Math.min(n - 1, Math.max(0, (p + 0.5 - offset) / stride));
      const i = Math.max(0, Math.min(n - 2, Math.floor(u)));
      return { i, f: u - i };
    });
  };
  const ys = axis(h);
  const xs = axis(w);
  const at = (r: number, c: number) => values[Math.min(h - 1, r) * w + Math.min(w - 1, c)];
  const out = new Float32Array(SIZE * SIZE);
  ys.forEach(({ i: r, f: fy }, y) =>
    xs.forEach(({ i: c, f: fx }, x) => {
      const top = at(r, c) * (1 - fx) + at(r, c + 1) * fx;
      const bottom = at(r + 1, c) * (1 - fx) + at(r + 1, c + 1) * fx;
      out[y * SIZE + x] = top * (1 - fy) + bottom * fy;
    }),
  );
  return out;
}

/** The grey digit (0–255) as RGBA, with `heat` (0–1 per pixel) blended over it; without heat, the digit alone. */
export function overlayRgba(pixels: ArrayLike<number>, heat: ArrayLike<number> | null): Uint8ClampedArray<ArrayBuffer> {
  const out = new Uint8ClampedArray(SIZE * SIZE * 4);
  for (let p = 0; p < SIZE * SIZE; p++) {
    const grey = pixels[p];
    const rgb = heat ? heatColor(heat[p]) : [grey, grey, grey];
    const a = heat ? ALPHA : 1;
    for (let k = 0; k < 3; k++) out[p * 4 + k] = (1 - a) * grey + a * rgb[k];
    out[p * 4 + 3] = 255;
  }
  return out;
}

/** Each layer's range over every image shown: the bars' common scale (images compared on it) and the legend's values. */
export function gateRanges(images: readonly AttentionImage[]): Map<string, { lo: number; hi: number }> {
  const ranges = new Map<string, { lo: number; hi: number }>();
  for (const g of images.flatMap((im) => im.gates)) {
    const r = ranges.get(g.layer) ?? { lo: Infinity, hi: -Infinity };
    for (const v of g.values) {
      r.lo = Math.min(r.lo, v);
      r.hi = Math.max(r.hi, v);
    }
    ranges.set(g.layer, r);
  }
  return ranges;
}

const isMap = (g: AttentionGate) => g.shape.length === 2;

/**
 * One spatial gate as 0–1 heat over the 28×28 image, scaled to its own min–max: where the model looks within this
 * image, not how strong the gate is overall (the maps' titles and the legend give the values). A flat map draws mid-ramp.
 */
export function heatOf(g: AttentionGate): Float32Array {
  const lo = Math.min(...g.values);
  const span = Math.max(...g.values) - lo;
  return upsample(g.values.map((v) => (span > 0 ? (v - lo) / span : 0.5)), g.shape[0], g.shape[1]);
}

const BLOCK = (name: string) => name.replace(/^\D+/, '');

/** What a layer's picture shows, in plain words. */
export function layerCaption(g: AttentionGate): string {
  const [h, w] = g.shape;
  if (g.layer.startsWith('sa')) return `spatial attention after conv block ${BLOCK(g.layer)} (${h}×${w})`;
  if (g.layer.startsWith('ca')) return `channel weights after conv block ${BLOCK(g.layer)} (${h} channels)`;
  if (g.layer === 'apool') return `attention pooling over the ${h}×${w} positions of the last conv map`;
  return `feature attention over the ${h} FC features`;
}

/** The bars' dashed reference: a CBAM / ECA gate of 1 lets a channel through unchanged; uniform softmax weights are 1/d. */
const neutral = (g: AttentionGate) => (g.layer === 'fatt' ? 1 / g.values.length : 1);

/** How far a layer's gates stray from neutral over the images shown: the bars' common scale. */
export const gateSpan = (g: AttentionGate, range: { lo: number; hi: number }) => Math.max(Math.abs(range.lo - neutral(g)), Math.abs(range.hi - neutral(g)));

/**
 * One bar per channel or feature, up from the dashed neutral line where the gate amplifies, down where it damps
 * (gates sit close to neutral, so bars from 0 would all look the same); `span` (gateSpan) is half the strip's height.
 */
export function gateBarsSvg(g: AttentionGate, span: number, width = 192, height = 24): string {
  const mid = height / 2;
  const scale = span > 0 ? mid / span : 0;
  const bw = width / g.values.length;
  const bars = g.values
    .map((v, i) => {
      const d = v - neutral(g);
      const h = Math.abs(d) * scale;
      return `<rect class="${d >= 0 ? 'up' : 'down'}" x="${(i * bw).toFixed(2)}" y="${(d >= 0 ? mid - h : mid).toFixed(1)}" width="${Math.max(0.5, bw - 0.5).toFixed(2)}" height="${h.toFixed(1)}"><title>${i}: ${v}</title></rect>`;
    })
    .join('');
  return `<svg class="gate-bars" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">${bars}<line x1="0" x2="${width}" y1="${mid}" y2="${mid}" class="neutral"/></svg>`;
}

/** A picture's label under it: short, the legend says the rest. */
function shortLabel(g: AttentionGate): string {
  if (g.layer === 'apool') return 'attention pooling';
  if (g.layer === 'fatt') return `FC features (${g.shape[0]})`;
  return g.layer.startsWith('ca') ? `channels after block ${BLOCK(g.layer)} (${g.shape[0]})` : `after block ${BLOCK(g.layer)}`;
}

const canvas = (image: number, layer: string, title: string) =>
  `<canvas width="${SIZE}" height="${SIZE}" data-image="${image}" data-layer="${esc(layer)}" title="${esc(title)}"></canvas>`;

type Ranges = Map<string, { lo: number; hi: number }>;

function imageHtml(im: AttentionImage, i: number, ranges: Ranges): string {
  const maps = im.gates.filter(isMap).map((g) => {
    const title = `${layerCaption(g)}: ${Math.min(...g.values)} to ${Math.max(...g.values)} on this image`;
    return `<div class="map">${canvas(i, g.layer, title)}<small>${esc(shortLabel(g))}</small></div>`;
  });
  const strips = im.gates
    .filter((g) => !isMap(g))
    .map((g) => `<div class="strip" title="${esc(layerCaption(g))}"><small>${esc(shortLabel(g))}</small>${gateBarsSvg(g, gateSpan(g, ranges.get(g.layer)!))}</div>`);
  const wrong = im.predicted !== im.label;
  return `<figure class="attention-image">
      <figcaption>test image #${im.testIndex}, a ${im.label}: predicted <b class="${wrong ? 'error' : ''}">${im.predicted}</b> (${(im.probability * 100).toFixed(0)}%)</figcaption>
      <div class="maps"><div class="map">${canvas(i, '', `test image #${im.testIndex}`)}<small>digit</small></div>${maps.join('')}</div>
      ${strips.join('')}
    </figure>`;
}

/** Above the pictures: how to read them. */
function captionHtml(gates: readonly AttentionGate[]): string {
  const ramp = Array.from({ length: 11 }, (_, k) => `rgb(${heatColor(k / 10).join(',')})`).join(',');
  const maps = gates.filter(isMap).map(layerCaption);
  const bars = gates.filter((g) => !isMap(g));
  const lines = [];
  if (maps.length) {
    lines.push(
      `Where the model looks: <span class="ramp" style="background:linear-gradient(to right,${ramp})"></span> brighter = more attention, ` +
        `over the digit, each map on its own scale (${esc(maps.join('; '))}).`,
    );
  }
  if (bars.length) {
    const neutrals = [
      ...(bars.some((g) => g.layer.startsWith('ca')) ? ['a channel weight of 1 (passed unchanged)'] : []),
      ...(bars.some((g) => g.layer === 'fatt') ? ['the uniform feature weight 1/d'] : []),
    ];
    lines.push(
      `Bars, one per ${bars.every((g) => g.layer === 'fatt') ? 'feature' : 'channel'}: <span class="up">up</span> = let through more, ` +
        `<span class="down">down</span> = damped, against the dashed line, ${neutrals.join(' or ')}.`,
    );
  }
  return `<div class="attention-legend">${lines.map((l) => `<p>${l}</p>`).join('')}</div>`;
}

/** Below the pictures: each layer's values over the images shown. */
function rangesHtml(gates: readonly AttentionGate[], ranges: Ranges): string {
  const items = gates.map((g) => `<li><b>${esc(g.layer)}</b>: ${esc(layerCaption(g))}, from ${ranges.get(g.layer)!.lo} to ${ranges.get(g.layer)!.hi}</li>`);
  return `<ul class="attention-legend">${items.join('')}</ul>`;
}

/** The section's body; paintAttention fills its canvases. */
export function attentionHtml(s: AttentionSnapshot): string {
  const ranges = gateRanges(s.images);
  const gates = s.images[0]?.gates ?? [];
  return `${captionHtml(gates)}<div class="attention-images">${s.images.map((im, i) => imageHtml(im, i, ranges)).join('')}</div>${rangesHtml(gates, ranges)}`;
}

/** Draws every canvas attentionHtml placed: the digit alone, or with one spatial gate over it. */
export function paintAttention(root: ParentNode, s: AttentionSnapshot): void {
  for (const c of root.querySelectorAll<HTMLCanvasElement>('canvas[data-image]')) {
    const im = s.images[Number(c.dataset.image)];
    if (!im) continue;
    const g = im.gates.find((x) => x.layer === c.dataset.layer);
    c.getContext('2d')?.putImageData(new ImageData(overlayRgba(im.pixels, g ? heatOf(g) : null), SIZE, SIZE), 0, 0);
  }
}

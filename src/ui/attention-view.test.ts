import { describe, expect, it } from 'vitest';
import type { AttentionGate, AttentionImage } from '../shared/status';
import { attentionHtml, cellGeometry, gateBarsSvg, gateRanges, gateSpan, heatColor, heatOf, layerCaption, overlayRgba, SIZE, upsample } from './attention-view';

const gate = (layer: string, shape: number[], values: number[]): AttentionGate => ({ layer, shape, values });
/** An n×n map whose value is its column index: bilinear upsampling reproduces it exactly between the outer cells. */
const columns = (n: number) => Array.from({ length: n * n }, (_, i) => i % n);
const row0 = (m: Float32Array) => Array.from(m.subarray(0, SIZE));
const clamp = (v: number, hi: number) => Math.min(hi, Math.max(0, v));

describe('upsampling a gate map onto the 28×28 image', () => {
  it('CNN-S block 1 (13×13): cell i is centred on pixel 2i + 2', () => {
    expect(cellGeometry(13)).toEqual({ offset: 2, stride: 2 });
    const up = upsample(columns(13), 13, 13);
    row0(up).forEach((v, p) => expect(v).toBeCloseTo(clamp((p + 0.5 - 2) / 2, 12), 5));
    // Rows are the same map: every row equals row 0.
    expect(Array.from(up.subarray(27 * SIZE, 28 * SIZE))).toEqual(row0(up));
  });

  it('CNN-S block 2 (5×5): cell k on pixel 4k + 5, not a stretch over the image', () => {
    expect(cellGeometry(5)).toEqual({ offset: 5, stride: 4 });
    const up = row0(upsample(columns(5), 5, 5));
    up.forEach((v, p) => expect(v).toBeCloseTo(clamp((p + 0.5 - 5) / 4, 4), 5));
    expect(up.slice(0, 5).every((v) => v === 0)).toBe(true); // left of the first cell's centre: flat
  });

  it('other sizes (CNN-M\'s 7×7) tile the image evenly; a flat map stays flat', () => {
    expect(cellGeometry(7)).toEqual({ offset: 2, stride: 4 });
    row0(upsample(columns(7), 7, 7)).forEach((v, p) => expect(v).toBeCloseTo(clamp((p + 0.5) / 4 - 0.5, 6), 5));
    expect(new Set(upsample(new Array(25).fill(0.7), 5, 5)).size).toBe(1);
  });

  it('heatOf scales each map to its own min–max; a flat map draws mid-ramp', () => {
    const h = heatOf(gate('sa2', [5, 5], columns(5).map((c) => 1 + c / 10)));
    expect(Math.min(...h)).toBeCloseTo(0, 5);
    expect(Math.max(...h)).toBeCloseTo(1, 5);
    expect(new Set(heatOf(gate('sa2', [5, 5], new Array(25).fill(1.2))))).toEqual(new Set([0.5]));
  });
});

describe('colours', () => {
  it('the ramp runs from near black to pale yellow, clamped outside 0–1', () => {
    expect(heatColor(0)).toEqual([0, 0, 4]);
    expect(heatColor(1)).toEqual([252, 255, 164]);
    expect(heatColor(-3)).toEqual(heatColor(0));
    expect(heatColor(Number.NaN)).toEqual(heatColor(0));
    const brightness = (t: number) => heatColor(t).reduce((a, b) => a + b);
    expect([0, 0.25, 0.5, 0.75, 1].map(brightness)).toEqual([...[0, 0.25, 0.5, 0.75, 1].map(brightness)].sort((a, b) => a - b));
  });

  it('overlayRgba: the grey digit alone, or 60% heat over it', () => {
    const pixels = new Array(SIZE * SIZE).fill(0);
    pixels[1] = 255;
    const plain = overlayRgba(pixels, null);
    expect(Array.from(plain.subarray(0, 8))).toEqual([0, 0, 0, 255, 255, 255, 255, 255]);
    const hot = overlayRgba(pixels, new Float32Array(SIZE * SIZE).fill(1));
    expect(Array.from(hot.subarray(0, 8))).toEqual([151, 153, 98, 255, 253, 255, 200, 255]); // 0.6·[252, 255, 164] (+ 0.4·255)
  });
});

describe('bar strips', () => {
  it('bars go up where a gate amplifies, down where it damps, from the dashed line at 1', () => {
    const g = gate('ca1', [3], [1.5, 0.5, 1]);
    const span = gateSpan(g, { lo: 0.5, hi: 1.5 });
    expect(span).toBe(0.5);
    const svg = gateBarsSvg(g, span, 30, 24);
    expect(svg).toContain('<rect class="up" x="0.00" y="0.0" width="9.50" height="12.0"><title>0: 1.5</title>');
    expect(svg).toContain('<rect class="down" x="10.00" y="12.0" width="9.50" height="12.0"><title>1: 0.5</title>');
    expect(svg).toContain('<rect class="up" x="20.00" y="12.0" width="9.50" height="0.0"><title>2: 1</title>');
    expect(svg).toContain('<line x1="0" x2="30" y1="12" y2="12" class="neutral"/>');
  });

  it('feature attention is measured against the uniform weight 1/d', () => {
    const g = gate('fatt', [4], [0.4, 0.2, 0.2, 0.2]);
    expect(gateSpan(g, { lo: 0.2, hi: 0.4 })).toBeCloseTo(0.15, 12);
  });
});

const image = (label: number, predicted: number, gates: AttentionGate[]): AttentionImage => ({
  testIndex: label,
  label,
  pixels: new Array(SIZE * SIZE).fill(0),
  predicted,
  probability: 0.876,
  gates,
});

describe('attentionHtml', () => {
  const cbam = (k: number) => [
    gate('ca1', [32], new Array(32).fill(1 + k / 10)),
    gate('sa1', [13, 13], new Array(169).fill(1)),
    gate('ca2', [64], new Array(64).fill(0.9)),
    gate('sa2', [5, 5], new Array(25).fill(0.5 + k)),
  ];

  it('per image: the digit and one canvas per spatial map, one strip per channel layer, the prediction', () => {
    const html = attentionHtml({ round: 3, images: [image(7, 7, cbam(0)), image(2, 3, cbam(1))] });
    expect(html.match(/<canvas /g)).toHaveLength(6);
    expect(html).toContain('data-image="1" data-layer="sa2"');
    expect(html.match(/<svg class="gate-bars"/g)).toHaveLength(4);
    expect(html).toContain('test image #7, a 7: predicted <b class="">7</b> (88%)');
    expect(html).toContain('a 2: predicted <b class="error">3</b>');
    expect(html).toContain('brighter = more attention');
    expect(html).toContain('spatial attention after conv block 1 (13×13)');
    expect(html).toContain('channels after block 2 (64)');
    expect(html).toContain('a channel weight of 1 (passed unchanged)');
    expect(html).not.toContain('1/d');
    // The ranges are over both images.
    expect(html).toContain('<b>sa2</b>: spatial attention after conv block 2 (5×5), from 0.5 to 1.5');
  });

  it('FedAKD heads: apool as a map, fatt as a strip measured against 1/d; no map sentence without maps', () => {
    const pooled = attentionHtml({ round: 1, images: [image(0, 0, [gate('apool', [5, 5], new Array(25).fill(0.04))])] });
    expect(pooled).toContain('data-layer="apool"');
    expect(pooled).toContain('attention pooling over the 5×5 positions of the last conv map');
    const feature = attentionHtml({ round: 1, images: [image(0, 0, [gate('fatt', [128], new Array(128).fill(1 / 128))])] });
    expect(feature).not.toContain('Where the model looks');
    expect(feature).toContain('Bars, one per feature');
    expect(feature).toContain('the uniform feature weight 1/d');
    expect(layerCaption(gate('fatt', [128], []))).toBe('feature attention over the 128 FC features');
  });

  it('gateRanges: each layer\'s min and max over every image', () => {
    const r = gateRanges([image(0, 0, cbam(0)), image(1, 1, cbam(2))]);
    expect(r.get('ca1')).toEqual({ lo: 1, hi: 1.2 });
    expect(r.get('sa2')).toEqual({ lo: 0.5, hi: 2.5 });
  });
});

import { describe, expect, it } from 'vitest';
import { grayBmp, mnistImageUrl, sampleStripHtml } from './sample-strip';

const u32 = (b: Uint8Array, o: number) => new DataView(b.buffer, b.byteOffset).getUint32(o, true);
const i32 = (b: Uint8Array, o: number) => new DataView(b.buffer, b.byteOffset).getInt32(o, true);
const u16 = (b: Uint8Array, o: number) => new DataView(b.buffer, b.byteOffset).getUint16(o, true);

describe('grayBmp', () => {
  it('writes the file and info headers of an 8-bit paletted bitmap', () => {
    const b = grayBmp(new Uint8Array(28 * 28), 28, 28);
    expect(String.fromCharCode(b[0], b[1])).toBe('BM');
    expect(u32(b, 2)).toBe(b.length);
    expect(u32(b, 10)).toBe(14 + 40 + 1024);
    expect(u32(b, 14)).toBe(40);
    expect(i32(b, 18)).toBe(28);
    expect(i32(b, 22)).toBe(28);
    expect(u16(b, 26)).toBe(1);
    expect(u16(b, 28)).toBe(8);
    expect(u32(b, 30)).toBe(0);
    expect(u32(b, 34)).toBe(28 * 28);
    expect(u32(b, 46)).toBe(256);
    expect(b.length).toBe(14 + 40 + 1024 + 28 * 28);
  });

  it('has a grey palette: entry i is (i, i, i, 0)', () => {
    const b = grayBmp([0], 1, 1);
    for (const i of [0, 1, 128, 255]) expect([...b.subarray(54 + i * 4, 58 + i * 4)]).toEqual([i, i, i, 0]);
  });

  it('pads each row to a multiple of 4 bytes and stores rows bottom-up', () => {
    // 3×2: top row 1 2 3, bottom row 4 5 6.
    const b = grayBmp([1, 2, 3, 4, 5, 6], 3, 2);
    const off = u32(b, 10);
    expect(u32(b, 34)).toBe(8);
    expect(b.length).toBe(off + 8);
    expect([...b.subarray(off, off + 8)]).toEqual([4, 5, 6, 0, 1, 2, 3, 0]);
  });

  it('rejects a bad size or too few pixels', () => {
    expect(() => grayBmp([1, 2], 0, 2)).toThrow(/size/);
    expect(() => grayBmp([1, 2], 2, 2)).toThrow(/pixels/);
  });

  it('makes a base64 data: URL that decodes back to the bitmap', () => {
    const px = new Uint8Array(784).map((_, i) => i % 256);
    const url = mnistImageUrl(px);
    expect(url.startsWith('data:image/bmp;base64,')).toBe(true);
    const bytes = Uint8Array.from(atob(url.slice('data:image/bmp;base64,'.length)), (c) => c.charCodeAt(0));
    expect(bytes).toEqual(grayBmp(px, 28, 28));
  });
});

describe('sampleStripHtml', () => {
  const sample = (n: number) => ({ pixels: new Uint8Array(n * 784), labels: Array.from({ length: n }, (_, i) => i % 10) });
  const names = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];

  it('shows one image per sample, each with its class name under it', () => {
    const html = sampleStripHtml(sample(12), names);
    expect(html.match(/<img /g)).toHaveLength(12);
    expect(html.match(/<figcaption>/g)).toHaveLength(12);
    expect(html).toContain('<figcaption>T-shirt/top</figcaption>');
    expect(html).toContain('<figcaption>Ankle boot</figcaption>');
    expect(html).toContain('width="56" height="56"');
    expect(html).toContain('data-images="12"');
  });

  it('a compact strip: at most `max` images at `size`, names only in tooltips', () => {
    const html = sampleStripHtml(sample(12), names, { max: 6, size: 28, captions: false });
    expect(html.match(/<img /g)).toHaveLength(6);
    expect(html).not.toContain('<figcaption>');
    expect(html).toContain('width="28" height="28"');
    expect(html).toContain('title="Sandal"');
    expect(html).not.toContain('title="Shirt"');
  });

  it('escapes names and falls back to the label number', () => {
    const html = sampleStripHtml({ pixels: new Uint8Array(2 * 784), labels: [0, 7] }, ['<0>']);
    expect(html).toContain('&lt;0&gt;');
    expect(html).toContain('<figcaption>7</figcaption>');
  });

  it('is empty without a sample', () => {
    expect(sampleStripHtml(null, names)).toBe('');
    expect(sampleStripHtml({ pixels: new Uint8Array(0), labels: [] }, names)).toBe('');
  });
});

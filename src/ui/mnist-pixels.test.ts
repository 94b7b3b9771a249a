import { describe, expect, it } from 'vitest';
import { confusionSvg } from './confusion-view';
import { toMnistPixels } from './mnist-pixels';
import { classNames } from '../shared/class-names';

describe('toMnistPixels: a drawing as MNIST expects it', () => {
  it('an empty drawing is all zeros', () => {
    expect(toMnistPixels(new Uint8Array(100 * 100), 100, 100).every((v) => v === 0)).toBe(true);
  });

  it('a filled square anywhere on the canvas becomes a 20×20 block centred at (13.5, 13.5)', () => {
    const w = 200, h = 100;
    const g = new Uint8Array(w * h);
    for (let y = 10; y < 50; y++) for (let x = 150; x < 190; x++) g[y * w + x] = 255; // 40×40 in the top right
    const p = toMnistPixels(g, w, h);
    let n = 0, mx = 0, my = 0;
    p.forEach((v, i) => {
      if (v > 0) {
        n++;
        mx += i % 28;
        my += Math.floor(i / 28);
      }
    });
    expect(n).toBe(400); // 20 × 20
    expect(mx / n).toBeCloseTo(13.5, 6);
    expect(my / n).toBeCloseTo(13.5, 6);
    expect(Math.max(...p)).toBe(255);
  });

  it('a tall stroke keeps its aspect: 20 rows high, narrower than it is tall', () => {
    const w = 100, h = 100;
    const g = new Uint8Array(w * h);
    for (let y = 0; y < 100; y++) for (let x = 40; x < 60; x++) g[y * w + x] = 200; // 20 wide, 100 high
    const p = toMnistPixels(g, w, h);
    const rows = new Set<number>(), cols = new Set<number>();
    p.forEach((v, i) => v > 0 && (rows.add(Math.floor(i / 28)), cols.add(i % 28)));
    expect(rows.size).toBe(20);
    expect(cols.size).toBe(4); // 20·(20/100)
  });
});

describe('confusionSvg', () => {
  it('labels rows with class names and shades each cell by its share of the row', () => {
    const svg = confusionSvg([[8, 2], [0, 10]], ['cat', 'dog']);
    expect(svg).toContain('>cat</text>');
    expect(svg).toContain('true cat, predicted dog: 2 of 10 (20.0%)');
    expect(svg).toContain('fill="rgba(214,39,40,0.200)"'); // the wrong 20%, red
    expect(svg).toContain('fill="rgba(31,119,180,1.000)"'); // dog all right, blue
    expect(confusionSvg([], [])).toBe('');
  });

  it('class names: digits, garments, both for the pair', () => {
    expect(classNames('mnist')[7]).toBe('7');
    expect(classNames('fashion-mnist')[9]).toBe('Ankle boot');
    expect(classNames('mnist+fashion')[0]).toBe('0 · T-shirt/top');
  });
});

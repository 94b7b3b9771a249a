import { describe, expect, it } from 'vitest';
import { GROUP_COLORS, imbalanceSummaryHtml, recallBarsSvg } from './imbalance-view';

// 7 classes; training counts rank 0 > 1 > 2 > 3 > 4 > 5 > 6: head {0, 1, 2}, mid {3}, tail {4, 5, 6}.
const COUNTS = [700, 600, 500, 400, 30, 20, 10];
const RECALL = [0.99, 0.98, 0.97, 0.9, 0.5, 0.25, 0];

const barFill = (svg: string, c: number) => svg.match(new RegExp(`<title>class ${c}:[^<]*</title><rect[^>]*/><rect[^>]*fill="([^"]+)"`))?.[1];

describe('recallBarsSvg', () => {
  it('colours each class by its training-frequency group and labels it underneath', () => {
    const svg = recallBarsSvg(RECALL, COUNTS, 140, 42);
    expect(barFill(svg, 0)).toBe(GROUP_COLORS.head);
    expect(barFill(svg, 3)).toBe(GROUP_COLORS.mid);
    expect(barFill(svg, 6)).toBe(GROUP_COLORS.tail);
    expect(svg.match(/<text /g)).toHaveLength(7);
    expect(svg).toContain('>6</text>');
    expect(svg).toContain('<title>class 5: recall 25.0%, tail (20 training images)</title>');
    // Bar heights are recall × 31 px (42 − 11 for the labels): class 4 is 15.5 high; class 6 (recall 0) shows only its track.
    expect(svg).toMatch(/<title>class 4:[^<]*<\/title><rect[^>]*\/><rect x="80\.0" y="15\.5" width="18\.0" height="15\.5"/);
    expect(svg).toMatch(/<title>class 6:[^<]*<\/title><rect[^>]*height="31"[^>]*\/><rect[^>]*height="0\.0"/);
  });

  it('one colour before the run is partitioned; nothing to draw without recall', () => {
    const svg = recallBarsSvg(RECALL, null);
    expect(new Set([0, 3, 6].map((c) => barFill(svg, c))).size).toBe(1);
    expect(svg).not.toContain('training images');
    expect(recallBarsSvg(null, COUNTS)).toBe('–');
  });
});

describe('imbalanceSummaryHtml', () => {
  it('shows the latest evaluated round as percentages, the worst class named', () => {
    const html = imbalanceSummaryHtml(
      { round: 4, recall: RECALL, balancedAccuracy: 0.655714, macroF1: 0.6, headRecall: 0.98, midRecall: 0.9, tailRecall: 0.25, worstClassRecall: 0 },
      COUNTS,
    );
    expect(html).toContain('<b>balanced acc.</b> 65.6% · <b>macro-F1</b> 60.0%');
    expect(html).toMatch(/head 98\.0% <span class="swatch"[^>]*><\/span>mid 90\.0% <span class="swatch"[^>]*><\/span>tail <span class="tail">25\.0%<\/span>/);
    expect(html).toContain('<b>worst class</b> 0.0% <small>(class 6)</small>');
    expect(html).toContain('the 3 rarest (classes 4, 5, 6)');
    expect(html).toContain('<svg class="recall-bars"');
  });

  it('dashes before any evaluation, and for a record from before these metrics', () => {
    const none = imbalanceSummaryHtml(undefined, null);
    expect(none).toContain('<b>balanced acc.</b> – · <b>macro-F1</b> –');
    expect(none).not.toContain('<svg');
    expect(none).not.toContain('(classes');
    expect(imbalanceSummaryHtml({ round: 1, recall: [1, 0.5] }, [5, 5])).toMatch(/head – .*mid – .*tail <span class="tail">–<\/span>/);
  });
});

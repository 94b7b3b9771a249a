import { describe, expect, it } from 'vitest';
import { accuracyChartSvg, lineChartSvg, lossChartSvg, roundsChart, runLabel } from './chart-svg';

const round = (accuracy: number | null, loss: number | null, extra: Record<string, unknown> = {}) => ({ accuracy, loss, ...extra });

/** The plot rectangle of a one-panel chart. */
function plotRect(svg: string): { x: number; y: number; w: number; h: number } {
  const m = svg.match(/<rect class="plot" x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)"/);
  expect(m).not.toBeNull();
  return { x: +m![1], y: +m![2], w: +m![3], h: +m![4] };
}
const legendTexts = (svg: string) =>
  [...(svg.match(/<g class="legend">([\s\S]*?)<\/g>/)?.[1] ?? '').matchAll(/<text x="([\d.]+)" y="([\d.]+)"[^>]*>([^<]*)<\/text>/g)].map((m) => ({
    x: +m[1],
    y: +m[2],
    text: m[3],
  }));
const yTicks = (svg: string) => [...(svg.match(/<g class="y-ticks">([\s\S]*?)<\/g>/)?.[1] ?? '').matchAll(/>([^<]+)<\/text>/g)].map((m) => m[1]);
const gridlines = (svg: string) => (svg.match(/<g class="grid">([\s\S]*?)<\/g>/)?.[1].match(/<line /g) ?? []).length;
const polylinePoints = (svg: string) => [...svg.matchAll(/<polyline [^>]*points="([^"]*)"/g)].map((m) => m[1].split(' ').map((p) => p.split(',').map(Number)));

describe('accuracy chart', () => {
  it('puts accuracy on a fixed 0–100 % axis whatever the data', () => {
    const svg = accuracyChartSvg([round(0.9, 0.3), round(0.91, 0.28), round(0.92, 0.27)]);
    expect(yTicks(svg)).toEqual(['0%', '20%', '40%', '60%', '80%', '100%']);
    // A 2-point rise is drawn as 2 % of the plot height, not as the whole height.
    const { y, h } = plotRect(svg);
    const ys = polylinePoints(svg)[0].map(([, py]) => py);
    expect(ys[0] - ys[2]).toBeCloseTo(0.02 * h, 0);
    expect(ys[0]).toBeCloseTo(y + 0.1 * h, 0);
    // The same axis for a run that is still at chance.
    expect(yTicks(accuracyChartSvg([round(0.1, 2.3), round(0.11, 2.2)]))).toEqual(['0%', '20%', '40%', '60%', '80%', '100%']);
  });

  it('has horizontal gridlines and axis titles', () => {
    const svg = accuracyChartSvg([round(0.5, 1), round(0.6, 0.9)]);
    expect(gridlines(svg)).toBe(11); // every 10 %
    expect(svg).toContain('class="y-title"');
    expect(svg).toMatch(/class="y-title"[^>]*>test accuracy \(%\)</);
    expect(svg).toMatch(/class="x-title"[^>]*>round</);
  });

  it('keeps loss out of the accuracy chart', () => {
    const svg = accuracyChartSvg([round(0.5, 1.5), round(0.6, 0.9)]);
    expect(svg).not.toMatch(/loss/i);
    expect(polylinePoints(svg)).toHaveLength(1);
  });

  it('puts every legend entry outside the plot rectangle', () => {
    const history = [round(0.5, 1, { federatedEval: { worst10Accuracy: 0.3 }, attackSuccessRate: 0.4 }), round(0.7, 0.8, { federatedEval: { worst10Accuracy: 0.5 }, attackSuccessRate: 0.2 })];
    const earlier = [
      { label: 'run 1: fedavg · dirichlet α=0.3 · sign-flip', accuracy: [0.4, 0.5] },
      { label: 'run 2: fed-adaptive-next · dirichlet α=0.3 · sign-flip', accuracy: [0.45, 0.6] },
    ];
    for (const width of [760, 420]) {
      const svg = accuracyChartSvg(history, { earlier, runLabel: 'run 3: fedprox · dirichlet α=0.3 · sign-flip', width });
      const plot = plotRect(svg);
      const texts = legendTexts(svg);
      expect(texts.map((t) => t.text)).toHaveLength(5);
      for (const t of texts) {
        const inside = t.x >= plot.x && t.x <= plot.x + plot.w && t.y - 12 <= plot.y + plot.h && t.y >= plot.y;
        expect(inside, `${t.text} at (${t.x}, ${t.y})`).toBe(false);
        expect(t.y).toBeGreaterThan(plot.y + plot.h);
      }
      // ... and inside the picture.
      const H = +svg.match(/height="(\d+)"/)![1];
      for (const t of texts) expect(t.y).toBeLessThanOrEqual(H);
    }
  });

  it('draws earlier runs in grey, labelled, under the current run', () => {
    const earlier = [
      { label: 'run 1: fedavg · dirichlet α=0.3 · sign-flip', accuracy: [0.2, 0.3, 0.35] },
      { label: 'run 2: fedavg · iid · no attack', accuracy: [0.5, 0.8] },
    ];
    const svg = accuracyChartSvg([round(0.4, 1), round(0.6, 0.8)], { earlier, runLabel: 'run 3: fed-adaptive-next · dirichlet α=0.3 · sign-flip' });
    const groups = [...svg.matchAll(/<g class="series( earlier)?" data-label="([^"]*)">(<polyline [^>]*stroke="([^"]+)")?/g)].map((m) => ({ earlier: !!m[1], label: m[2], color: m[4] }));
    expect(groups.map((g) => g.earlier)).toEqual([true, true, false]);
    for (const g of groups.filter((x) => x.earlier)) {
      const [r, gr, b] = [1, 3, 5].map((i) => parseInt(g.color.slice(i, i + 2), 16));
      expect(r === gr && gr === b, `${g.color} is grey`).toBe(true);
    }
    expect(groups[2].color).toBe('#1f77b4');
    const legend = legendTexts(svg).map((t) => t.text);
    expect(legend).toEqual([
      'test accuracy, run 3: fed-adaptive-next · dirichlet α=0.3 · sign-flip',
      'run 1: fedavg · dirichlet α=0.3 · sign-flip',
      'run 2: fedavg · iid · no attack',
    ]);
    // The earlier runs start a legend row of their own.
    const ys = legendTexts(svg).map((t) => t.y);
    expect(ys[1]).toBeGreaterThan(ys[0]);
    // The x axis spans the longest run.
    expect(polylinePoints(svg)[0]).toHaveLength(3);
  });

  it('draws at most the 5 newest earlier runs', () => {
    const earlier = Array.from({ length: 7 }, (_, k) => ({ label: `run ${k + 1}`, accuracy: [0.1 * k, 0.1 * k + 0.05] }));
    const svg = accuracyChartSvg([round(0.5, 1)], { earlier });
    const labels = [...svg.matchAll(/<g class="series earlier" data-label="([^"]*)"/g)].map((m) => m[1]);
    expect(labels).toEqual(['run 3', 'run 4', 'run 5', 'run 6', 'run 7']);
  });

  it('skips null values (rounds not evaluated) and joins the points around them', () => {
    const svg = accuracyChartSvg([round(0.5, 1), round(null, null), round(0.7, 0.8), round(null, null)]);
    const [pts] = polylinePoints(svg);
    expect(pts).toHaveLength(2);
    expect(svg.match(/<circle /g)).toHaveLength(2);
    expect(svg).not.toContain('NaN');
    // Round 3 sits at two thirds of the x axis (4 rounds).
    const plot = plotRect(svg);
    expect(pts[1][0]).toBeCloseTo(plot.x + (2 / 3) * plot.w, 0);
  });
});

describe('loss chart', () => {
  it('runs from 0 to a round number at or above the largest loss, with its own axis title', () => {
    const svg = lossChartSvg([round(0.5, 2.31), round(0.6, 1.2), round(null, null)]);
    expect(yTicks(svg)).toEqual(['0.0', '0.5', '1.0', '1.5', '2.0', '2.5']);
    expect(gridlines(svg)).toBe(6);
    expect(svg).toMatch(/class="y-title"[^>]*>test loss \(cross-entropy\)</);
    expect(svg).not.toContain('accuracy');
    const plot = plotRect(svg);
    expect(polylinePoints(svg)[0][0][1]).toBeCloseTo(plot.y + plot.h * (1 - 2.31 / 2.5), 0);
  });

  it('small losses get decimals that tell the ticks apart', () => {
    expect(yTicks(lossChartSvg([round(0.9, 0.12), round(0.95, 0.08)]))).toEqual(['0.000', '0.025', '0.050', '0.075', '0.100', '0.125']);
  });
});

describe('roundsChart (the runner and the dashboard)', () => {
  it('draws accuracy and loss as two charts in one SVG', () => {
    const svg = roundsChart([round(0.5, 1), round(0.6, 0.8)], 'fedavg on mnist (iid), 4 clients');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.endsWith('</svg>')).toBe(true);
    expect(svg.match(/<rect class="plot"/g)).toHaveLength(2);
    const acc = svg.match(/<g class="panel accuracy"[\s\S]*?<g class="panel loss"/)![0];
    const loss = svg.slice(svg.indexOf('<g class="panel loss"'));
    expect(acc).toContain('test accuracy (%)');
    expect(acc).not.toMatch(/test loss/);
    expect(loss).toContain('test loss (cross-entropy)');
    expect(svg).toContain('fedavg on mnist (iid), 4 clients');
  });

  it('overlays earlier runs on the accuracy chart only', () => {
    const svg = roundsChart([round(0.5, 1)], undefined, { earlier: [{ label: 'run 1: fedavg · iid · no attack', accuracy: [0.4, 0.6] }], runLabel: 'run 2: krum · iid · no attack' });
    const loss = svg.slice(svg.indexOf('<g class="panel loss"'));
    expect(svg.indexOf('class="series earlier"')).toBeLessThan(svg.indexOf('<g class="panel loss"'));
    expect(loss).not.toContain('earlier');
    expect(svg).toContain('test accuracy, run 2: krum · iid · no attack');
  });
});

describe('lineChartSvg', () => {
  it('defaults to the percent axis, keeps the size it is given and lays a long legend out in rows below the plot', () => {
    const series = ['fedavg (n=3)', 'fed-adaptive-next (n=3)', 'krum (n=3)', 'fltrust (n=3)', 'median (n=3)'].map((label, k) => ({ label, color: '#1f77b4', values: [0.1 * k, 0.2 * k] }));
    const svg = lineChartSvg(series, { width: 640, height: 300, title: 'g: mean test accuracy over seeds' });
    expect(svg).toContain('height="300"');
    expect(yTicks(svg).at(-1)).toBe('100%');
    const plot = plotRect(svg);
    const texts = legendTexts(svg);
    expect(new Set(texts.map((t) => t.y)).size).toBeGreaterThan(1);
    for (const t of texts) expect(t.y).toBeGreaterThan(plot.y + plot.h);
  });

  it('escapes labels', () => {
    expect(lineChartSvg([{ label: 'a < b & "c"', color: '#000', values: [0.5] }])).toContain('a &lt; b &amp; &quot;c&quot;');
  });
});

describe('runLabel', () => {
  it('names strategy, partition (α where it has one) and attack', () => {
    expect(runLabel({ algorithm: 'fedavg', partition: 'dirichlet', alpha: 0.3, attack: 'sign-flip' })).toBe('fedavg · dirichlet α=0.3 · sign-flip');
    expect(runLabel({ algorithm: 'fed-adaptive-next', partition: 'iid', alpha: 0.5, attack: 'none' })).toBe('fed-adaptive-next · iid · no attack');
  });
});

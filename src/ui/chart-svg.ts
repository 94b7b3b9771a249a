// Dependency-free SVG line charts; the dashboard, the client tab and the headless runner draw the same pictures.
// Rules (issue 10, "charts that do not mislead"): accuracy on a fixed 0–100 % axis, horizontal gridlines, axis titles,
// the legend outside the plot area (below it), loss on its own chart from 0, earlier runs in grey under the current one.
export interface Series {
  label: string;
  color: string;
  values: Array<number | null>;
  /** An earlier run: drawn thin (in its grey `color`), under every current series, listed after them in the legend. */
  earlier?: boolean;
  /** stroke-dasharray, e.g. '6 3'. */
  dash?: string;
}

export interface ChartOptions {
  /** Whole picture, legend included (the plot shrinks to make room for the legend; grows only when it must). */
  width?: number;
  height?: number;
  title?: string;
  /** x-axis title; default 'round'. */
  xLabel?: string;
  /** y-axis title; default 'test accuracy (%)' on the percent axis, none on the other. */
  yLabel?: string;
  /**
   * 'percent' (default): values are fractions of 1, drawn on a fixed 0–100 % axis whatever the data.
   * 'zero': from 0 to a round number at or above the largest value (loss).
   */
  yAxis?: 'percent' | 'zero';
  /** Draw the legend (default true); a one-series chart whose axis title says it all can leave it out. */
  legend?: boolean;
  /** The plot's own height, instead of what `height` leaves of it (charts side by side line up this way). */
  plotHeight?: number;
}

/** A chart drawn in its own coordinates, to be placed (translated) into an SVG. */
interface Panel {
  body: string;
  width: number;
  height: number;
  plotHeight: number;
}

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
const f1 = (v: number) => v.toFixed(1);
const svgOpen = (W: number, H: number) =>
  `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`;

const FONT = { tick: 12, axis: 13, title: 14, legend: 12 };
/** Rough advance of an average sans-serif glyph, per px of font size (no text metrics in a string-built SVG). */
const CHAR_W = 0.56;
const LEGEND_ROW = 18;
const SWATCH = 24;

/** The smallest of 1, 2, 2.5, 5 × 10^k at or above x. */
function niceStep(x: number): number {
  if (!(x > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(x));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= x * (1 - 1e-9)) return m * p;
  return 10 * p;
}

/** Ticks of the loss axis: 0 to a round number at or above the largest value, about 5 steps. */
function zeroTicks(values: number[]): number[] {
  const top = values.length ? Math.max(0, ...values) : 0;
  const step = top > 0 ? niceStep(top / 5) : 0.2;
  const n = Math.max(1, Math.ceil(top / step - 1e-9));
  return Array.from({ length: n + 1 }, (_, k) => +(k * step).toPrecision(12));
}

/** As few decimals as show every multiple of the step exactly (0.25 → 2, 0.5 → 1, 2.5 → 1, 2 → 0). */
const tickText = (v: number, step: number) => {
  let d = 0;
  while (d < 6 && Math.abs(Math.round(step * 10 ** d) - step * 10 ** d) > 1e-6) d++;
  return v.toFixed(d);
};

/** Round numbers to label on an axis of n rounds: multiples of a step that keeps about ≤ 10 labels, and 1 unless it would crowd 2. */
function roundTicks(n: number): number[] {
  const step = Math.max(1, niceStep(n / 10));
  const out = step === 2 ? [] : [1];
  for (let r = step; r <= n; r += step) if (r > 1) out.push(Math.round(r));
  return [...new Set(out)];
}

function legendLayout(entries: Series[], x0: number, maxW: number): { items: Array<{ s: Series; x: number; row: number }>; rows: number } {
  const items: Array<{ s: Series; x: number; row: number }> = [];
  let x = x0;
  let row = 0;
  for (const s of entries) {
    const w = SWATCH + 6 + s.label.length * FONT.legend * CHAR_W + 18;
    // Earlier runs start a row of their own, apart from the current run's series.
    const first = s.earlier && !items.at(-1)?.s.earlier;
    if (x > x0 && (x + w - 18 > x0 + maxW || first)) {
      row++;
      x = x0;
    }
    items.push({ s, x, row });
    x += w;
  }
  return { items, rows: entries.length ? row + 1 : 0 };
}

function chartPanel(series: Series[], opts: ChartOptions = {}): Panel {
  const W = opts.width ?? 640;
  const percent = (opts.yAxis ?? 'percent') === 'percent';
  const yLabel = opts.yLabel ?? (percent ? 'test accuracy (%)' : '');
  const xLabel = opts.xLabel ?? 'round';
  // Earlier runs first: SVG paints in document order, so the current run lies on top.
  const drawn = [...series.filter((s) => s.earlier), ...series.filter((s) => !s.earlier)];
  const legendEntries = opts.legend === false ? [] : [...series.filter((s) => !s.earlier), ...series.filter((s) => s.earlier)];
  const m = { l: yLabel ? 66 : 50, r: 18, t: opts.title ? 30 : 12 };
  const legend = legendLayout(legendEntries, m.l, W - m.l - m.r);
  const below = 20 + (xLabel ? 20 : 0) + (legend.rows ? 10 + legend.rows * LEGEND_ROW : 0);
  const H = opts.plotHeight !== undefined ? m.t + opts.plotHeight + below : Math.max(opts.height ?? 300, m.t + 100 + below);
  const plot = { x: m.l, y: m.t, w: W - m.l - m.r, h: H - m.t - below };

  const finite = series.flatMap((s) => s.values.filter((v): v is number => v !== null && Number.isFinite(v)));
  const ticks = percent ? Array.from({ length: 11 }, (_, k) => k / 10) : zeroTicks(finite);
  const top = ticks.at(-1)!;
  const Y = (v: number) => plot.y + plot.h - (Math.min(Math.max(v, 0), top) / top) * plot.h;
  const n = Math.max(1, ...series.map((s) => s.values.length));
  const X = (i: number) => plot.x + (n === 1 ? 0.5 : i / (n - 1)) * plot.w;

  const p: string[] = [`<rect width="${W}" height="${H}" fill="#fff"/>`];
  if (opts.title) p.push(`<text class="title" x="${f1(plot.x + plot.w / 2)}" y="19" text-anchor="middle" font-size="${FONT.title}" font-weight="bold">${esc(opts.title)}</text>`);
  // Horizontal gridlines and the y-axis: every 10 % on the percent axis (labelled every 20 %), every tick otherwise.
  p.push('<g class="grid">');
  ticks.forEach((v, k) => p.push(`<line x1="${plot.x}" y1="${f1(Y(v))}" x2="${plot.x + plot.w}" y2="${f1(Y(v))}" stroke="${percent && k % 2 ? '#f0f0f0' : '#dddddd'}"/>`));
  p.push('</g><g class="y-ticks">');
  const step = ticks.length > 1 ? ticks[1] - ticks[0] : 1;
  ticks.forEach((v, k) => {
    if (percent && k % 2) return;
    p.push(`<text x="${plot.x - 6}" y="${f1(Y(v) + 4)}" text-anchor="end" fill="#444" font-size="${FONT.tick}">${percent ? `${Math.round(v * 100)}%` : tickText(v, step)}</text>`);
  });
  p.push('</g><g class="x-ticks">');
  for (const r of roundTicks(n)) {
    const x = f1(X(r - 1));
    p.push(`<line x1="${x}" y1="${plot.y + plot.h}" x2="${x}" y2="${plot.y + plot.h + 4}" stroke="#888"/>`);
    p.push(`<text x="${x}" y="${plot.y + plot.h + 17}" text-anchor="middle" fill="#444" font-size="${FONT.tick}">${r}</text>`);
  }
  p.push('</g>');
  p.push(`<rect class="plot" x="${plot.x}" y="${plot.y}" width="${plot.w}" height="${f1(plot.h)}" fill="none" stroke="#888"/>`);
  if (xLabel) p.push(`<text class="x-title" x="${f1(plot.x + plot.w / 2)}" y="${f1(plot.y + plot.h + 36)}" text-anchor="middle" font-size="${FONT.axis}">${esc(xLabel)}</text>`);
  if (yLabel) p.push(`<text class="y-title" transform="translate(16,${f1(plot.y + plot.h / 2)}) rotate(-90)" text-anchor="middle" font-size="${FONT.axis}">${esc(yLabel)}</text>`);

  for (const s of drawn) {
    const pts = s.values.flatMap((v, i) => (v !== null && Number.isFinite(v) ? [[f1(X(i)), f1(Y(v))]] : []));
    const width = s.earlier ? 1.75 : 2.5;
    const dash = s.dash ? ` stroke-dasharray="${s.dash}"` : '';
    p.push(`<g class="series${s.earlier ? ' earlier' : ''}" data-label="${esc(s.label)}">`);
    if (pts.length > 1) p.push(`<polyline fill="none" stroke="${s.color}" stroke-width="${width}"${dash} stroke-linejoin="round" points="${pts.map((q) => q.join(',')).join(' ')}"/>`);
    for (const [cx, cy] of pts) p.push(`<circle cx="${cx}" cy="${cy}" r="${s.earlier ? 2 : 3}" fill="${s.color}"/>`);
    p.push('</g>');
  }

  if (legend.rows) {
    const y0 = plot.y + plot.h + below - legend.rows * LEGEND_ROW + 4;
    p.push('<g class="legend">');
    for (const { s, x, row } of legend.items) {
      const y = y0 + row * LEGEND_ROW;
      const dash = s.dash ? ` stroke-dasharray="${s.dash}"` : '';
      p.push(`<line x1="${f1(x)}" y1="${y}" x2="${f1(x + SWATCH)}" y2="${y}" stroke="${s.color}" stroke-width="${s.earlier ? 1.75 : 2.5}"${dash}/>`);
      p.push(`<text x="${f1(x + SWATCH + 6)}" y="${y + 4}" fill="${s.earlier ? '#555' : s.color}" font-size="${FONT.legend}">${esc(s.label)}</text>`);
    }
    p.push('</g>');
  }
  return { body: p.join(''), width: W, height: H, plotHeight: plot.h };
}

/**
 * One chart as a standalone SVG. `width`/`height` are the whole picture's, legend included: the legend goes below
 * the plot, which shrinks to make room (the picture grows only when the plot would get under 100 px).
 */
export function lineChartSvg(series: Series[], opts: ChartOptions = {}): string {
  const panel = chartPanel(series, opts);
  return `${svgOpen(panel.width, panel.height)}${panel.body}</svg>`;
}

/** What tells runs of a session apart: strategy, partition (with α where it has one), attack. */
export function runLabel(c: { algorithm: string; partition: string; alpha?: number; attack?: string }): string {
  const partition = (c.partition === 'dirichlet' || c.partition === 'longtail') && c.alpha !== undefined ? `${c.partition} α=${c.alpha}` : c.partition;
  return `${c.algorithm} · ${partition} · ${!c.attack || c.attack === 'none' ? 'no attack' : c.attack}`;
}

/** An earlier run of the session, overlaid in grey on the accuracy chart. */
export interface EarlierRun {
  label: string;
  accuracy: Array<number | null>;
}

const GREYS: Array<{ color: string; dash?: string }> = [
  { color: '#6b6b6b' },
  { color: '#8a8a8a', dash: '7 4' },
  { color: '#a0a0a0', dash: '2 3' },
  { color: '#7a7a7a', dash: '10 3 2 3' },
  { color: '#b0b0b0', dash: '4 2' },
];

type RoundLike = { accuracy: number | null; loss: number | null; attackSuccessRate?: number | null; federatedEval?: { worst10Accuracy: number } | null };

export interface RoundsChartOptions {
  /** Earlier runs (oldest first), drawn in grey under the current run; at most 5 are drawn (the newest). */
  earlier?: EarlierRun[];
  /** The current run, named in the legend next to the earlier ones (e.g. runLabel(config)). */
  runLabel?: string;
  /** Height of both panels (default 340). */
  height?: number;
}

/** The accuracy chart of a run: test accuracy (and worst 10 % of clients, attack success rate) on 0–100 %. */
export function accuracyChartSvg(history: RoundLike[], opts: RoundsChartOptions & { title?: string; width?: number } = {}): string {
  const panel = accuracyPanel(history, opts, opts.width ?? 760, opts.title ?? 'test accuracy');
  return `${svgOpen(panel.width, panel.height)}${panel.body}</svg>`;
}

/** The loss chart of a run, on its own axis from 0. */
export function lossChartSvg(history: RoundLike[], opts: { title?: string; width?: number; height?: number } = {}): string {
  const panel = lossPanel(history, opts.width ?? 460, opts.height ?? 340, opts.title ?? 'test loss');
  return `${svgOpen(panel.width, panel.height)}${panel.body}</svg>`;
}

function accuracyPanel(history: RoundLike[], opts: RoundsChartOptions, width: number, title: string): Panel {
  const earlier = (opts.earlier ?? []).slice(-GREYS.length);
  const series: Series[] = earlier.map((e, k) => {
    // The newest earlier run gets the darkest grey.
    const g = GREYS[earlier.length - 1 - k];
    return { label: e.label, color: g.color, dash: g.dash, values: e.accuracy, earlier: true };
  });
  series.push({ label: opts.runLabel ? `test accuracy, ${opts.runLabel}` : 'test accuracy', color: '#1f77b4', values: history.map((h) => h.accuracy) });
  // Federated evaluation: how the model does for the clients it serves worst, on their own data.
  if (history.some((h) => h.federatedEval)) {
    series.push({ label: 'worst 10% of clients (their own data)', color: '#ff7f0e', values: history.map((h) => h.federatedEval?.worst10Accuracy ?? null) });
  }
  // Targeted attacks: the share of test 7s classified as 1, on the same 0–100 % axis.
  if (history.some((h) => typeof h.attackSuccessRate === 'number')) {
    series.push({ label: 'attack success rate (7 → 1)', color: '#9467bd', dash: '5 3', values: history.map((h) => h.attackSuccessRate ?? null) });
  }
  return chartPanel(series, { width, height: opts.height ?? 340, title, yAxis: 'percent', yLabel: 'test accuracy (%)', xLabel: 'round' });
}

function lossPanel(history: RoundLike[], width: number, height: number, title: string, plotHeight?: number): Panel {
  const series: Series[] = [{ label: 'test loss', color: '#d62728', values: history.map((h) => h.loss) }];
  return chartPanel(series, { width, height, plotHeight, title, yAxis: 'zero', yLabel: 'test loss (cross-entropy)', xLabel: 'round', legend: false });
}

/**
 * A run's charts in one SVG: accuracy (with any earlier runs in grey) and, beside it, loss on its own chart.
 * `title`, when given, heads both.
 */
export function roundsChart(history: RoundLike[], title?: string, opts: RoundsChartOptions = {}): string {
  const height = opts.height ?? 340;
  const acc = accuracyPanel(history, opts, 760, 'test accuracy');
  // The loss chart's plot lines up with the accuracy chart's (whose legend takes room below it).
  const loss = lossPanel(history, 460, height, 'test loss', acc.plotHeight);
  const head = title ? 30 : 0;
  const gap = 16;
  const W = acc.width + gap + loss.width;
  const H = head + Math.max(acc.height, loss.height);
  return (
    svgOpen(W, H) +
    `<rect width="${W}" height="${H}" fill="#fff"/>` +
    (title ? `<text class="heading" x="${W / 2}" y="21" text-anchor="middle" font-size="16" font-weight="bold">${esc(title)}</text>` : '') +
    `<g class="panel accuracy" transform="translate(0,${head})">${acc.body}</g>` +
    `<g class="panel loss" transform="translate(${acc.width + gap},${head})">${loss.body}</g>` +
    '</svg>'
  );
}

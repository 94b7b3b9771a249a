// A dependency-free SVG line chart; the dashboard and the headless runner draw the same picture.
export interface Series {
  label: string;
  color: string;
  values: Array<number | null>;
  /** Plot against the right axis (e.g. loss next to accuracy). */
  right?: boolean;
}

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

function range(values: number[], fallback: [number, number]): [number, number] {
  if (values.length === 0) return fallback;
  let lo = Math.min(...values);
  let hi = Math.max(...values);
  if (hi - lo < 1e-9) [lo, hi] = [lo - 0.5, hi + 0.5];
  return [lo, hi];
}

export function lineChartSvg(series: Series[], opts: { width?: number; height?: number; title?: string; xLabel?: string } = {}): string {
  const W = opts.width ?? 640;
  const H = opts.height ?? 300;
  const m = { l: 48, r: 48, t: 28, b: 36 };
  const n = Math.max(1, ...series.map((s) => s.values.length));
  const finite = (s: Series[]) => s.flatMap((x) => x.values.filter((v): v is number => v !== null && Number.isFinite(v)));
  const [lo, hi] = range(finite(series.filter((s) => !s.right)), [0, 1]);
  const [rlo, rhi] = range(finite(series.filter((s) => s.right)), [0, 1]);
  const x = (i: number) => m.l + (n === 1 ? 0.5 : i / (n - 1)) * (W - m.l - m.r);
  const y = (v: number, right?: boolean) => {
    const [a, b] = right ? [rlo, rhi] : [lo, hi];
    return H - m.b - ((v - a) / (b - a)) * (H - m.t - m.b);
  };
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" font-family="sans-serif" font-size="11">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<line x1="${m.l}" y1="${H - m.b}" x2="${W - m.r}" y2="${H - m.b}" stroke="#888"/>`,
    `<line x1="${m.l}" y1="${m.t}" x2="${m.l}" y2="${H - m.b}" stroke="#888"/>`,
  ];
  if (opts.title) parts.push(`<text x="${W / 2}" y="16" text-anchor="middle" font-size="13">${esc(opts.title)}</text>`);
  for (let k = 0; k <= 4; k++) {
    const v = lo + ((hi - lo) * k) / 4;
    parts.push(`<text x="${m.l - 4}" y="${y(v) + 4}" text-anchor="end" fill="#444">${v.toFixed(3)}</text>`);
    if (series.some((s) => s.right)) {
      const rv = rlo + ((rhi - rlo) * k) / 4;
      parts.push(`<text x="${W - m.r + 4}" y="${y(rv, true) + 4}" fill="#444">${rv.toFixed(3)}</text>`);
    }
  }
  const ticks = Math.min(n, 10);
  for (let k = 0; k < ticks; k++) {
    const i = Math.round((k * (n - 1)) / Math.max(1, ticks - 1));
    parts.push(`<text x="${x(i)}" y="${H - m.b + 14}" text-anchor="middle" fill="#444">${i + 1}</text>`);
  }
  if (opts.xLabel) parts.push(`<text x="${W / 2}" y="${H - 4}" text-anchor="middle">${esc(opts.xLabel)}</text>`);
  series.forEach((s, si) => {
    const pts = s.values.flatMap((v, i) => (v !== null && Number.isFinite(v) ? [`${x(i).toFixed(1)},${y(v, s.right).toFixed(1)}`] : []));
    if (pts.length > 1) parts.push(`<polyline fill="none" stroke="${s.color}" stroke-width="2" points="${pts.join(' ')}"/>`);
    for (const p of pts) parts.push(`<circle cx="${p.split(',')[0]}" cy="${p.split(',')[1]}" r="2.5" fill="${s.color}"/>`);
    parts.push(`<text x="${m.l + 8 + si * 150}" y="${m.t + 12}" fill="${s.color}">${esc(s.label)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('');
}

export function roundsChart(
  history: Array<{ accuracy: number | null; loss: number | null; attackSuccessRate?: number | null; federatedEval?: { worst10Accuracy: number } | null }>,
  title?: string,
): string {
  const series: Series[] = [
    { label: 'test accuracy', color: '#1f77b4', values: history.map((h) => h.accuracy) },
    { label: 'test loss (right axis)', color: '#d62728', values: history.map((h) => h.loss), right: true },
  ];
  // Federated evaluation: how the model does for the clients it serves worst, on their own data.
  if (history.some((h) => h.federatedEval)) {
    series.push({ label: 'worst 10% of clients', color: '#ff7f0e', values: history.map((h) => h.federatedEval?.worst10Accuracy ?? null) });
  }
  // Targeted attacks: the share of test 7s classified as 1, on the accuracy axis.
  if (history.some((h) => typeof h.attackSuccessRate === 'number')) {
    series.push({ label: 'attack success rate', color: '#9467bd', values: history.map((h) => h.attackSuccessRate ?? null) });
  }
  return lineChartSvg(series, { title, xLabel: 'round' });
}

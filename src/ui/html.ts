// Tiny helpers for the hand-rolled DOM views.
export const esc = (s: unknown): string =>
  String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

export const fmt = (v: number | null | undefined, digits = 3): string => (v === null || v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(digits));

/** Broadcasts dropped, by reason (a client's or all clients'): their total, and "unsigned 3, stale 1". */
export function droppedCounts(counts: Readonly<Record<string, number | undefined>> | undefined): { total: number; text: string } {
  const entries = Object.entries(counts ?? {});
  return { total: entries.reduce((a, [, n]) => a + (n ?? 0), 0), text: entries.map(([r, n]) => `${r} ${n}`).join(', ') };
}

/** Small inline bars, one per class: a label histogram, scaled to its largest count (recall: imbalance-view.ts). */
export function histogramSvg(values: number[] | null, width = 100, height = 20, names?: readonly string[]): string {
  if (!values || values.length === 0) return '–';
  const top = Math.max(1, ...values);
  const bw = width / values.length;
  const bars = values
    .map((v, i) => {
      const h = Number.isFinite(v) ? (v / top) * (height - 1) : 0;
      const name = names?.[i] && names[i] !== String(i) ? `${i} (${names[i]})` : `class ${i}`;
      return `<rect x="${(i * bw).toFixed(1)}" y="${(height - h).toFixed(1)}" width="${(bw - 1).toFixed(1)}" height="${h.toFixed(1)}" fill="#4a7bd0"><title>${esc(name)}: ${Number.isInteger(v) ? v : fmt(v)}</title></rect>`;
    })
    .join('');
  return `<svg class="hist" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">${bars}</svg>`;
}

/** A client's label histogram for its own page: each bar with its count above and its class name below. */
export function labelledHistogramSvg(values: number[] | null, names: readonly string[], width = 520, height = 150): string {
  if (!values || values.length === 0) return '–';
  const top = Math.max(1, ...values);
  const plotH = height - 44;
  const bw = width / values.length;
  const parts = values.map((v, i) => {
    const h = (v / top) * (plotH - 14);
    const x = i * bw;
    const label = names[i] ?? String(i);
    return (
      `<rect x="${(x + 2).toFixed(1)}" y="${(plotH - h).toFixed(1)}" width="${(bw - 4).toFixed(1)}" height="${h.toFixed(1)}" fill="#4a7bd0"><title>${esc(label)}: ${v}</title></rect>` +
      `<text x="${(x + bw / 2).toFixed(1)}" y="${(plotH - h - 3).toFixed(1)}" text-anchor="middle" font-size="11">${v}</text>` +
      `<text x="${(x + bw / 2).toFixed(1)}" y="${plotH + 14}" text-anchor="middle" font-size="${label.length > 6 ? 9 : 11}">${esc(label.length > 12 ? `${label.slice(0, 11)}…` : label)}</text>`
    );
  });
  return `<svg class="hist labelled" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">${parts.join('')}<line x1="0" y1="${plotH}" x2="${width}" y2="${plotH}" stroke="#888"/><text x="${width / 2}" y="${height - 4}" text-anchor="middle" font-size="11" fill="#555">my training images per class</text></svg>`;
}

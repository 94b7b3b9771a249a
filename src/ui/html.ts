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
export function histogramSvg(values: number[] | null, width = 100, height = 20): string {
  if (!values || values.length === 0) return '–';
  const top = Math.max(1, ...values);
  const bw = width / values.length;
  const bars = values
    .map((v, i) => {
      const h = Number.isFinite(v) ? (v / top) * (height - 1) : 0;
      return `<rect x="${(i * bw).toFixed(1)}" y="${(height - h).toFixed(1)}" width="${(bw - 1).toFixed(1)}" height="${h.toFixed(1)}" fill="#4a7bd0"><title>class ${i}: ${Number.isInteger(v) ? v : fmt(v)}</title></rect>`;
    })
    .join('');
  return `<svg class="hist" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">${bars}</svg>`;
}

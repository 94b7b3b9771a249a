// Tiny helpers for the hand-rolled DOM views.
export const esc = (s: unknown): string =>
  String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

export const fmt = (v: number | null | undefined, digits = 3): string => (v === null || v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(digits));

/** A label histogram as small inline bars, one per class. */
export function histogramSvg(counts: number[] | null, width = 100, height = 20): string {
  if (!counts || counts.length === 0) return '–';
  const max = Math.max(1, ...counts);
  const bw = width / counts.length;
  const bars = counts
    .map((c, i) => {
      const h = (c / max) * (height - 1);
      return `<rect x="${(i * bw).toFixed(1)}" y="${(height - h).toFixed(1)}" width="${(bw - 1).toFixed(1)}" height="${h.toFixed(1)}" fill="#4a7bd0"><title>class ${i}: ${c}</title></rect>`;
    })
    .join('');
  return `<svg class="hist" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">${bars}</svg>`;
}

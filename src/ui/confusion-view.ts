// The global model's confusion matrix on the test set: rows the true class, columns the prediction, each cell shaded
// by its share of the row (so a rare class's mistakes are as visible as a common one's) and labelled with its count.
import { esc } from './html';

export function confusionSvg(cm: readonly (readonly number[])[], names: readonly string[], opts: { cell?: number; title?: string } = {}): string {
  const k = cm.length;
  if (k === 0) return '';
  const cell = opts.cell ?? 36;
  const left = Math.max(...names.map((n) => n.length)) * 6.5 + 34;
  const top = 56 + (opts.title ? 18 : 0);
  const W = Math.max(left + k * cell + 10, 330);
  const H = top + k * cell + 44;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" class="confusion" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" font-family="sans-serif" font-size="11">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
  ];
  if (opts.title) parts.push(`<text x="${W / 2}" y="14" text-anchor="middle" font-size="13">${esc(opts.title)}</text>`);
  parts.push(`<text x="${left + (k * cell) / 2}" y="${top - 40}" text-anchor="middle">predicted class</text>`);
  parts.push(`<text transform="translate(12 ${top + (k * cell) / 2}) rotate(-90)" text-anchor="middle">true class</text>`);
  for (let j = 0; j < k; j++) parts.push(`<text x="${left + j * cell + cell / 2}" y="${top - 6}" text-anchor="middle">${esc(String(j))}</text>`);
  cm.forEach((row, i) => {
    const total = row.reduce((a, b) => a + b, 0);
    parts.push(`<text x="${left - 6}" y="${top + i * cell + cell / 2 + 4}" text-anchor="end">${esc(names[i] ?? String(i))}</text>`);
    row.forEach((n, j) => {
      const share = total > 0 ? n / total : 0;
      // Blue on the diagonal (right), red off it (wrong); white when empty.
      const hue = i === j ? '31,119,180' : '214,39,40';
      const x = left + j * cell;
      const y = top + i * cell;
      parts.push(
        `<rect x="${x}" y="${y}" width="${cell - 1}" height="${cell - 1}" fill="rgba(${hue},${share.toFixed(3)})" stroke="#eee">` +
          `<title>true ${esc(names[i] ?? String(i))}, predicted ${esc(names[j] ?? String(j))}: ${n} of ${total} (${(100 * share).toFixed(1)}%)</title></rect>`,
      );
      if (n > 0) parts.push(`<text x="${x + cell / 2}" y="${y + cell / 2 + 4}" text-anchor="middle" fill="${share > 0.55 ? '#fff' : '#222'}" font-size="${cell < 26 ? 8 : 10}">${n}</text>`);
    });
  });
  parts.push(`<text x="${left}" y="${H - 22}" fill="#555">shade = share of the true class's test images</text>`);
  parts.push(`<text x="${left}" y="${H - 8}" fill="#555">blue: right, red: wrong</text>`);
  parts.push('</svg>');
  return parts.join('');
}

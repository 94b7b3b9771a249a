// Clients × rounds heatmap of aggregation weights: who the strategy listened to, who it dropped, whom it flagged.
// Pure (history in, SVG string out), so the dashboard and the headless runner can draw the same picture.
import type { ClientRoundRecord, DroppedClient, RoundRecord } from '../shared/status';
import { esc, fmt } from './html';

/** What the heatmap reads from a round; live records may still lack the newer fields, so all but round are optional. */
export type HeatmapRound = Pick<RoundRecord, 'round'> & {
  clients?: ReadonlyArray<
    Pick<ClientRoundRecord, 'clientId'> & Partial<Pick<ClientRoundRecord, 'slot' | 'weight' | 'reliability' | 'flagged' | 'role' | 'straggler' | 'steps'>>
  >;
  dropped?: ReadonlyArray<Pick<DroppedClient, 'clientId' | 'reason'> & Partial<DroppedClient>>;
  flagged?: ReadonlyArray<{ clientId: string; reason: string }>;
};

export interface HeatmapOptions {
  /** Partitions held by simulated attackers (CoordinatorStatus.attackerSlots). */
  attackerSlots?: readonly number[];
  /** Draw only the last N rounds (default 60). */
  maxRounds?: number;
  title?: string;
}

export const ATTACKER_MARK = '⚔';
export const STRAGGLER_MARK = '◷';

const EMPTY = '#f3f3f3';
const DROPPED_PATTERN = 'fedtab-hm-dropped';
const FLAG_STROKE = '#d62728';
// Weight ramp: pale (0) to dark blue (the largest weight drawn).
const LO = [238, 243, 251];
const HI = [8, 48, 107];

export function weightColor(t: number): string {
  const u = Number.isFinite(t) ? Math.min(1, Math.max(0, t)) : 0;
  const c = LO.map((lo, i) => Math.round(lo + (HI[i]! - lo) * u));
  return `rgb(${c.join(',')})`;
}

interface Row {
  clientId: string;
  slot: number | null;
  attacker: boolean;
  straggled: number;
}

interface Cell {
  kind: 'kept' | 'dropped';
  weight: number | null;
  reliability: number | null;
  flagged: string | null;
  reason: string | null;
  straggler: string | null;
  steps: number | null;
  attacker: boolean;
}

/** Rows = clients (sorted by slot, then id), columns = rounds; empty string when there is no round to draw. */
export function weightHeatmapSvg(history: readonly HeatmapRound[], opts: HeatmapOptions = {}): string {
  if (history.length === 0) return '';
  const maxRounds = Math.max(1, Math.floor(opts.maxRounds ?? 60));
  const rounds = history.slice(-maxRounds);
  const attackerSlots = new Set(opts.attackerSlots ?? []);

  const rows = new Map<string, Row>();
  const cells = new Map<string, Cell>(); // `${column}\u0000${clientId}`
  const rowFor = (clientId: string, slot: number | null | undefined): Row => {
    let row = rows.get(clientId);
    if (!row) rows.set(clientId, (row = { clientId, slot: null, attacker: false, straggled: 0 }));
    if (typeof slot === 'number') row.slot = slot;
    return row;
  };
  let maxWeight = 0;
  rounds.forEach((r, col) => {
    const flaggedBy = new Map((r.flagged ?? []).map((f) => [f.clientId, f.reason]));
    for (const c of r.clients ?? []) {
      const row = rowFor(c.clientId, c.slot);
      const attacker = c.role === 'attacker';
      row.attacker ||= attacker;
      if (c.straggler) row.straggled++;
      const weight = typeof c.weight === 'number' && Number.isFinite(c.weight) ? c.weight : null;
      if (weight !== null) maxWeight = Math.max(maxWeight, weight);
      cells.set(`${col}\u0000${c.clientId}`, {
        kind: 'kept',
        weight,
        reliability: c.reliability ?? null,
        flagged: c.flagged ?? flaggedBy.get(c.clientId) ?? null,
        reason: null,
        straggler: c.straggler ?? null,
        steps: c.steps ?? null,
        attacker,
      });
    }
    for (const d of r.dropped ?? []) {
      const row = rowFor(d.clientId, d.slot);
      const attacker = d.role === 'attacker';
      row.attacker ||= attacker;
      if (d.straggler) row.straggled++;
      cells.set(`${col}\u0000${d.clientId}`, {
        kind: 'dropped',
        weight: null,
        reliability: null,
        flagged: flaggedBy.get(d.clientId) ?? null,
        reason: d.reason,
        straggler: d.straggler ?? null,
        steps: null,
        attacker,
      });
    }
  });
  for (const row of rows.values()) if (row.slot !== null && attackerSlots.has(row.slot)) row.attacker = true;
  const order = [...rows.values()].sort(
    (a, b) => (a.slot ?? Infinity) - (b.slot ?? Infinity) || (a.clientId < b.clientId ? -1 : a.clientId > b.clientId ? 1 : 0),
  );
  if (order.length === 0) return '';

  const cols = rounds.length;
  const labelW = 150;
  const cw = Math.max(4, Math.min(22, Math.floor(600 / cols)));
  const ch = order.length > 40 ? 8 : 16;
  const top = opts.title ? 40 : 22;
  const gridH = order.length * ch;
  const legendH = 34;
  const W = Math.max(labelW + cols * cw + 12, labelW + 390); // room for the legend
  const H = top + gridH + legendH;
  const scale = maxWeight > 0 ? maxWeight : 1;

  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" class="heatmap" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" font-family="sans-serif" font-size="11">`,
    `<defs><pattern id="${DROPPED_PATTERN}" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">` +
      `<rect width="6" height="6" fill="#ddd"/><line x1="0" y1="0" x2="0" y2="6" stroke="#888" stroke-width="2.5"/></pattern></defs>`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
  ];
  if (opts.title) parts.push(`<text x="${W / 2}" y="14" text-anchor="middle" font-size="13">${esc(opts.title)}</text>`);

  // Column labels: every k-th round and the last one.
  const every = Math.max(1, Math.ceil(cols / 15));
  rounds.forEach((r, col) => {
    if (col % every !== 0 && col !== cols - 1) return;
    parts.push(`<text x="${labelW + col * cw + cw / 2}" y="${top - 6}" text-anchor="middle" fill="#444" font-size="9">${esc(r.round)}</text>`);
  });

  order.forEach((row, ri) => {
    const y = top + ri * ch;
    const marks = `${row.attacker ? ` ${ATTACKER_MARK}` : ''}${row.straggled ? ` ${STRAGGLER_MARK}${row.straggled > 1 ? `×${row.straggled}` : ''}` : ''}`;
    const rowTitle = `${row.clientId}, slot ${row.slot ?? '–'}${row.attacker ? ', simulated attacker' : ''}${row.straggled ? `, straggled in ${row.straggled} round(s)` : ''}`;
    parts.push(
      `<g class="hm-row${row.attacker ? ' attacker' : ''}" data-client="${esc(row.clientId)}">` +
        `<text x="${labelW - 4}" y="${y + ch / 2 + 3.5}" text-anchor="end" font-size="${ch > 10 ? 11 : 7}" fill="${row.attacker ? FLAG_STROKE : '#222'}">` +
        `<title>${esc(rowTitle)}</title>#${esc(row.slot ?? '–')} ${esc(row.clientId)}${esc(marks)}</text>`,
    );
    for (let col = 0; col < cols; col++) {
      const x = labelW + col * cw;
      const cell = cells.get(`${col}\u0000${row.clientId}`);
      const round = rounds[col]!.round;
      if (!cell) {
        parts.push(`<rect x="${x}" y="${y}" width="${cw - 1}" height="${ch - 1}" fill="${EMPTY}"/>`);
        continue;
      }
      const lines = [`${row.clientId} (slot ${row.slot ?? '–'}), round ${round}`];
      if (cell.kind === 'dropped') lines.push(`dropped: ${cell.reason}`);
      else lines.push(`weight ${fmt(cell.weight, 4)}`, `ρ ${fmt(cell.reliability)}`);
      if (cell.flagged) lines.push(`flagged: ${cell.flagged}`);
      if (cell.straggler) lines.push(`straggler (${cell.straggler})${cell.steps !== null ? `, ${cell.steps} steps` : ''}`);
      if (cell.attacker || row.attacker) lines.push('simulated attacker');
      const fill = cell.kind === 'dropped' ? `url(#${DROPPED_PATTERN})` : cell.weight === null ? EMPTY : weightColor(cell.weight / scale);
      const stroke = cell.flagged ? ` stroke="${FLAG_STROKE}" stroke-width="1.5"` : '';
      const inset = cell.flagged ? 0.75 : 0;
      parts.push(
        `<rect class="hm-cell ${cell.kind}${cell.flagged ? ' flagged' : ''}" data-round="${esc(round)}" x="${x + inset}" y="${y + inset}" width="${cw - 1 - 2 * inset}" height="${ch - 1 - 2 * inset}" fill="${fill}"${stroke}>` +
          `<title>${esc(lines.join('\n'))}</title></rect>`,
      );
      if (cell.straggler && cw >= 6) parts.push(`<circle cx="${x + cw - 3.5}" cy="${y + 3}" r="1.8" fill="#ff9f1c" pointer-events="none"/>`);
    }
    parts.push('</g>');
  });

  // Legend: weight ramp, dropped, flagged, straggler, not selected.
  const ly = top + gridH + 12;
  const ramp = [0, 0.25, 0.5, 0.75, 1]
    .map((t, i) => `<rect x="${labelW + i * 12}" y="${ly}" width="12" height="10" fill="${weightColor(t)}"/>`)
    .join('');
  let lx = labelW + 5 * 12 + 4;
  const item = (swatch: string, label: string, w: number) => {
    const s = `${swatch.replace('$X', String(lx))}<text x="${lx + 14}" y="${ly + 9}" fill="#444">${esc(label)}</text>`;
    lx += w;
    return s;
  };
  parts.push(
    `<text x="${labelW - 4}" y="${ly + 9}" text-anchor="end" fill="#444">weight 0</text>`,
    ramp,
    `<text x="${lx}" y="${ly + 9}" fill="#444">${esc(fmt(maxWeight, 3))}</text>`,
  );
  lx += 44;
  parts.push(
    item(`<rect x="$X" y="${ly}" width="10" height="10" fill="url(#${DROPPED_PATTERN})"/>`, 'dropped', 64),
    item(`<rect x="$X" y="${ly + 0.75}" width="9" height="9" fill="${weightColor(0.3)}" stroke="${FLAG_STROKE}" stroke-width="1.5"/>`, 'flagged', 60),
    item(`<rect x="$X" y="${ly}" width="10" height="10" fill="${EMPTY}"/>`, 'not selected', 84),
    item(`<circle cx="${lx + 5}" cy="${ly + 5}" r="2.5" fill="#ff9f1c"/>`, 'straggler', 64),
  );
  if (history.length > rounds.length) {
    parts.push(`<text x="${labelW}" y="${ly + 24}" fill="#666">last ${rounds.length} of ${history.length} rounds</text>`);
  }
  parts.push('</svg>');
  return parts.join('');
}

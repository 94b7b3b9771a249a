// Per-round views for the dashboard: the round log (with reliability ρ), the latest round's dropped and flagged
// clients, per-client ρ sparklines and the "this run simulates attackers" banner. Pure string builders.
import type { FederationConfig } from '../shared/config';
import type { ClientRoundRecord, DroppedClient, RoundRecord } from '../shared/status';
import { ATTACKER_MARK, STRAGGLER_MARK } from './heatmap-svg';
import { esc, fmt } from './html';
import { formatBytes } from '../shared/format-bytes';

/** Live records may still lack the newer fields, so everything beyond the basics is optional here. */
export type RoundView = Pick<RoundRecord, 'round' | 'accuracy' | 'loss'> &
  Partial<Pick<RoundRecord, 'seconds' | 'aggregateMs' | 'attackSuccessRate' | 'participants' | 'federatedEval' | 'skipped' | 'overheadShare' | 'balancedAccuracy' | 'tailRecall' | 'bytesUp' | 'denseBytesUp' | 'unimodalAccuracy' | 'broker'>> & {
    clients?: ReadonlyArray<
      Pick<ClientRoundRecord, 'clientId'> & Partial<Pick<ClientRoundRecord, 'slot' | 'weight' | 'reliability' | 'flagged' | 'role' | 'straggler'>>
    >;
    dropped?: ReadonlyArray<Pick<DroppedClient, 'clientId' | 'reason'> & Partial<DroppedClient>>;
    flagged?: ReadonlyArray<{ clientId: string; reason: string }>;
  };

const pct = (v: number | null | undefined) => (typeof v === 'number' && Number.isFinite(v) ? `${(v * 100).toFixed(1)}%` : '–');

function reliabilities(r: RoundView): number[] {
  return (r.clients ?? []).flatMap((c) => (typeof c.reliability === 'number' && Number.isFinite(c.reliability) ? [c.reliability] : []));
}

/** The latest `maxRows` rounds, newest first. ASR, ρ and imbalance columns appear only when some round has them. */
export function roundTableHtml(history: readonly RoundView[], maxRows = 12): string {
  if (history.length === 0) return '<p>No rounds yet.</p>';
  const hasAsr = history.some((r) => typeof r.attackSuccessRate === 'number');
  const hasRho = history.some((r) => reliabilities(r).length > 0);
  const hasFed = history.some((r) => r.federatedEval);
  const hasImbalance = history.some((r) => typeof r.balancedAccuracy === 'number');
  const hasUnimodal = history.some((r) => r.unimodalAccuracy);
  const hasBytes = history.some((r) => typeof r.bytesUp === 'number');
  const hasBroker = history.some((r) => r.broker);
  const head = [
    'round', 'accuracy', 'loss', ...(hasUnimodal ? ['MNIST alone', 'Fashion alone'] : []), ...(hasImbalance ? ['balanced acc.', 'tail recall'] : []), ...(hasFed ? ['clients: mean', 'worst 10%'] : []), ...(hasAsr ? ['attack success'] : []), 'kept / selected', 'dropped', 'flagged',
    ...(hasRho ? ['ρ min', 'ρ mean'] : []), 'aggregate ms', 'round s', 'overhead', ...(hasBytes ? ['bytes up', 'vs dense'] : []),
    ...(hasBroker ? ['broker in', 'broker out', 'broker RTT'] : []),
  ];
  const rows = history
    .slice(-maxRows)
    .reverse()
    .map((r) => {
      const clients = r.clients ?? [];
      const kept = clients.filter((c) => (c.weight ?? 0) > 0).length;
      const selected = clients.length + (r.dropped?.length ?? 0);
      const flagged = new Set([...(r.flagged ?? []).map((f) => f.clientId), ...clients.filter((c) => c.flagged).map((c) => c.clientId)]);
      const rho = reliabilities(r);
      const cells = [
        esc(r.round) + (r.skipped ? ` <span class="mark skipped" title="${esc(r.skipped)}">skipped</span>` : ''),
        fmt(r.accuracy, 4), fmt(r.loss, 4),
        ...(hasUnimodal ? [pct(r.unimodalAccuracy?.mnist), pct(r.unimodalAccuracy?.fashion)] : []),
        ...(hasImbalance ? [pct(r.balancedAccuracy), pct(r.tailRecall)] : []),
        ...(hasFed ? [pct(r.federatedEval?.meanAccuracy), pct(r.federatedEval?.worst10Accuracy)] : []),
        ...(hasAsr ? [pct(r.attackSuccessRate)] : []),
        `${kept} / ${selected}`, String(r.dropped?.length ?? 0), String(flagged.size),
        ...(hasRho ? [fmt(rho.length ? Math.min(...rho) : null), fmt(rho.length ? rho.reduce((a, b) => a + b, 0) / rho.length : null)] : []),
        fmt(r.aggregateMs, 0), fmt(r.seconds, 1), pct(r.overheadShare),
        ...(hasBytes ? [typeof r.bytesUp === 'number' ? esc(formatBytes(r.bytesUp)) : '–', r.bytesUp !== undefined && r.denseBytesUp ? pct(r.bytesUp / r.denseBytesUp) : '–'] : []),
        ...(hasBroker ? (r.broker ? [esc(formatBytes(r.broker.bytesIn)), esc(formatBytes(r.broker.bytesOut)), r.broker.rttMs === null ? '–' : `${fmt(r.broker.rttMs, 0)} ms`] : ['–', '–', '–']) : []),
      ];
      return `<tr data-round="${esc(r.round)}">${cells.map((c) => `<td>${c}</td>`).join('')}</tr>`;
    })
    .join('');
  return `<table class="rounds"><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows}</tbody></table>`;
}

/** ρ of each client over the rounds it took part in, as tiny inline SVG polylines (y from 0 to 1). */
export function reliabilitySparklines(history: readonly RoundView[], threshold?: number | null, width = 80, height = 18): Map<string, string> {
  const series = new Map<string, Array<number | null>>();
  history.forEach((r, i) => {
    for (const c of r.clients ?? []) {
      if (typeof c.reliability !== 'number' || !Number.isFinite(c.reliability)) continue;
      let s = series.get(c.clientId);
      if (!s) series.set(c.clientId, (s = new Array<number | null>(history.length).fill(null)));
      s[i] = c.reliability;
    }
  });
  const n = history.length;
  const x = (i: number) => (n === 1 ? width / 2 : (i / (n - 1)) * (width - 2) + 1);
  const y = (v: number) => height - 1 - Math.min(1, Math.max(0, v)) * (height - 2);
  const out = new Map<string, string>();
  for (const [clientId, values] of series) {
    const pts = values.flatMap((v, i) => (v === null ? [] : [`${x(i).toFixed(1)},${y(v).toFixed(1)}`]));
    const last = [...values].reverse().find((v) => v !== null) ?? null;
    const line = pts.length > 1 ? `<polyline fill="none" stroke="#2a6f4e" stroke-width="1.2" points="${pts.join(' ')}"/>` : '';
    const dot = pts.length ? `<circle cx="${pts.at(-1)!.split(',')[0]}" cy="${pts.at(-1)!.split(',')[1]}" r="1.8" fill="#2a6f4e"/>` : '';
    const thr =
      typeof threshold === 'number' && Number.isFinite(threshold)
        ? `<line x1="0" x2="${width}" y1="${y(threshold).toFixed(1)}" y2="${y(threshold).toFixed(1)}" stroke="#d62728" stroke-dasharray="2 2" stroke-width="0.8"/>`
        : '';
    out.set(
      clientId,
      `<svg class="spark" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}"><title>${esc(`${clientId}: ρ ${fmt(last)} (last)`)}</title>` +
        `<rect width="${width}" height="${height}" fill="#f6f8f6"/>${thr}${line}${dot}</svg>`,
    );
  }
  return out;
}

/** The latest round's dropped and flagged clients, each with its reason. */
export function roundIssuesHtml(record: RoundView | undefined, attackerSlots: readonly number[] = []): string {
  if (!record) return '<p>No rounds yet.</p>';
  const clients = new Map((record.clients ?? []).map((c) => [c.clientId, c]));
  const who = (clientId: string, slot: number | null | undefined, role?: string, straggler?: string | null) => {
    const attacker = role === 'attacker' || (typeof slot === 'number' && attackerSlots.includes(slot));
    return `<code>${esc(clientId)}</code> (slot ${esc(slot ?? '–')})${attacker ? ` <span class="mark attacker" title="simulated attacker">${ATTACKER_MARK}</span>` : ''}${
      straggler ? ` <span class="mark straggler" title="straggler (${esc(straggler)})">${STRAGGLER_MARK}</span>` : ''
    }`;
  };
  const dropped = (record.dropped ?? []).map(
    (d) => `<li class="dropped" data-client="${esc(d.clientId)}">${who(d.clientId, d.slot, d.role, d.straggler)}: <b>dropped</b>, ${esc(d.reason)}</li>`,
  );
  const reasons = new Map<string, string>();
  for (const f of record.flagged ?? []) reasons.set(f.clientId, f.reason);
  for (const c of record.clients ?? []) if (c.flagged && !reasons.has(c.clientId)) reasons.set(c.clientId, c.flagged);
  const flagged = [...reasons].map(([clientId, reason]) => {
    const c = clients.get(clientId);
    const w = c && typeof c.weight === 'number' ? `, weight ${fmt(c.weight)}` : '';
    const rho = c && typeof c.reliability === 'number' ? `, ρ ${fmt(c.reliability)}` : '';
    return `<li class="flagged" data-client="${esc(clientId)}">${who(clientId, c?.slot, c?.role, c?.straggler)}: <b>flagged</b>, ${esc(reason)}${w}${rho}</li>`;
  });
  const items = [...dropped, ...flagged];
  const skipped = record.skipped ? `<p class="skipped" role="note"><b>Not aggregated as usual:</b> ${esc(record.skipped)}</p>` : '';
  return `<p>Round ${esc(record.round)}: ${dropped.length} dropped, ${flagged.length} flagged.</p>${skipped}${items.length ? `<ul class="issues">${items.join('')}</ul>` : ''}`;
}

/** A warning that the run is not clean: simulated attackers and/or stragglers. Empty for a clean run. */
export function attackBannerHtml(
  config: Pick<FederationConfig, 'attack' | 'attackers' | 'attackScale' | 'forgeLosses' | 'stragglers' | 'stragglerMode'> | null | undefined,
  attackerSlots: readonly number[] = [],
): string {
  if (!config) return '';
  const parts: string[] = [];
  if (config.attack && config.attack !== 'none') {
    const n = attackerSlots.length
      ? `${attackerSlots.length} attacker${attackerSlots.length === 1 ? '' : 's'} (slot${attackerSlots.length === 1 ? '' : 's'} ${attackerSlots.join(', ')})`
      : `attackers (${pct(config.attackers)} of clients)`;
    const extras = [config.attackScale > 0 ? `scale ${config.attackScale}` : '', config.forgeLosses ? 'forged losses' : ''].filter(Boolean);
    parts.push(
      `${ATTACKER_MARK} This run simulates ${esc(n)} running <b>${esc(config.attack)}</b>${extras.length ? ` (${esc(extras.join(', '))})` : ''}: it is not a clean run.`,
    );
  }
  if (config.stragglers > 0) {
    parts.push(`${STRAGGLER_MARK} ${esc(pct(config.stragglers))} of each round's clients straggle (${esc(config.stragglerMode)}).`);
  }
  return parts.length ? `<div class="banner attack" role="note">${parts.join(' ')}</div>` : '';
}

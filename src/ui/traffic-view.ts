// What the run costs on the wire and, for two-modality runs, how each modality does alone: dashboard summary lines
// and the round table's columns. Pure string builders.
import type { FederationConfig } from '../shared/config';
import { MODALITIES, type Modality } from '../shared/data/paired-modalities';
import { formatBytes } from '../shared/format-bytes';
import type { RoundRecord } from '../shared/status';
import { esc } from './html';
import type { BrokerRound, BrokerStats } from '../shared/broker-stats';

type Traffic = Partial<Pick<RoundRecord, 'bytesUp' | 'bytesDown' | 'denseBytesUp'>>;

export const MODALITY_NAMES: Record<Modality, string> = { mnist: 'MNIST digits', fashion: 'Fashion-MNIST' };

const share = (a: number, b: number) => (b > 0 ? `${((100 * a) / b).toFixed(b > a * 20 ? 1 : 0)}%` : '–');

/** Bytes up and down of the last round and of the run, next to what dense float32 FedAvg would have sent up. */
export function trafficSummaryHtml(history: readonly Traffic[], compress: FederationConfig['compress'] | undefined): string {
  const rounds = history.filter((h) => typeof h.bytesUp === 'number');
  const last = rounds.at(-1);
  if (!last) return '';
  const sum = (k: keyof Traffic) => rounds.reduce((n, h) => n + (h[k] ?? 0), 0);
  const up = sum('bytesUp');
  const dense = sum('denseBytesUp');
  return `<div class="traffic" title="vector payloads only (weights, updates, extras); 'dense' is what the same updates cost as float32 without compression">
      <b>uplink</b> ${esc(formatBytes(last.bytesUp!))} last round, ${esc(formatBytes(up))} in all
      <small>(${esc(compress ?? 'none')}: ${share(up, dense)} of dense ${esc(formatBytes(dense))})</small></div>
    <div class="traffic"><b>downlink</b> ${esc(formatBytes(last.bytesDown ?? 0))} last round, ${esc(formatBytes(sum('bytesDown')))} in all</div>`;
}

/** Each modality's head alone on the test set: when one modality wins, the other's number stalls. */
export function unimodalSummaryHtml(rec: Pick<RoundRecord, 'unimodalAccuracy' | 'round'> | undefined): string {
  const u = rec?.unimodalAccuracy;
  if (!u) return '';
  const parts = MODALITIES.map((m) => `${esc(MODALITY_NAMES[m])} ${(u[m] * 100).toFixed(1)}%`);
  return `<div class="unimodal" title="the test accuracy of each modality's own head, without the other: the direct sign of modality competition"><b>each modality alone</b> ${parts.join(', ')}</div>`;
}

/** The modalities a slot holds, as the client table shows them. */
export function modalityCell(held: readonly Modality[] | null): string {
  if (!held) return '';
  return held.length === MODALITIES.length ? 'both' : esc(`${MODALITY_NAMES[held[0]]} only`);
}

/** A classroom round over the broker: what the teacher received and published, and the broker round trip. */
export function brokerSummaryHtml(round: BrokerRound | null, latest: BrokerStats | null): string {
  if (!latest) return '';
  const rtt = latest.rttMs === null ? '–' : `${Math.round(latest.rttMs)} ms`;
  const per = round ? `${esc(formatBytes(round.bytesIn))} in, ${esc(formatBytes(round.bytesOut))} out last round` : 'no round yet';
  return `<div class="broker" title="the teacher's bytes from and to the broker from a round's broadcast until the next one's (published once, before the broker copies it to each device)"><b>over the broker</b> ${per}; round trip ${rtt}; ${latest.online}/${latest.devices} devices online</div>`;
}

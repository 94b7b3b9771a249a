// The dashboard's imbalance view (spec §6): balanced accuracy, macro-F1, head / mid / tail and worst-class recall of
// the latest evaluated round, and per-class recall bars coloured by how frequent each class is in the run's training
// data, so that the rare classes failing is what one sees first. Pure string builders.
import { headMidTail, type ClassGroups } from '../shared/metrics';
import type { RoundRecord } from '../shared/status';
import { esc } from './html';

type Group = keyof ClassGroups;

export const GROUP_COLORS: Record<Group, string> = { head: '#2b5fb8', mid: '#9aa0a6', tail: '#e8590c' };
/** Bars before the run is partitioned, and classes with no training samples (in no group). */
const UNGROUPED = '#4a7bd0';
const TRACK = '#eef0f2';

/** Live records may still lack the newer fields (a run restored from before them). */
export type ImbalanceView = Pick<RoundRecord, 'round' | 'recall'> &
  Partial<Pick<RoundRecord, 'balancedAccuracy' | 'macroF1' | 'headRecall' | 'midRecall' | 'tailRecall' | 'worstClassRecall'>>;

const pct = (v: number | null | undefined) => (typeof v === 'number' && Number.isFinite(v) ? `${(v * 100).toFixed(1)}%` : '–');

function groupOf(groups: ClassGroups | null, c: number): Group | null {
  if (!groups) return null;
  return (['head', 'mid', 'tail'] as const).find((g) => groups[g].includes(c)) ?? null;
}

/** One bar per class (height = recall, on a light full-height track), its id underneath, coloured head / mid / tail. */
export function recallBarsSvg(recall: readonly number[] | null, trainClassCounts: readonly number[] | null, width = 200, height = 42): string {
  if (!recall || recall.length === 0) return '–';
  const groups = trainClassCounts ? headMidTail(trainClassCounts) : null;
  const labelH = 11;
  const barH = height - labelH;
  const bw = width / recall.length;
  const bars = recall.map((r, c) => {
    const g = groupOf(groups, c);
    const h = Number.isFinite(r) ? r * barH : 0;
    const x = (c * bw).toFixed(1);
    const w = (bw - 2).toFixed(1);
    const title = `class ${c}: recall ${pct(r)}${g ? `, ${g}` : ''}${trainClassCounts ? ` (${trainClassCounts[c] ?? 0} training images)` : ''}`;
    return (
      `<g class="class ${g ?? 'ungrouped'}"><title>${esc(title)}</title>` +
      `<rect x="${x}" y="0" width="${w}" height="${barH}" fill="${TRACK}"/>` +
      `<rect x="${x}" y="${(barH - h).toFixed(1)}" width="${w}" height="${h.toFixed(1)}" fill="${g ? GROUP_COLORS[g] : UNGROUPED}"/>` +
      `<text x="${(c * bw + (bw - 2) / 2).toFixed(1)}" y="${height - 1}" text-anchor="middle" font-size="10" fill="${g === 'tail' ? GROUP_COLORS.tail : '#444'}">${c}</text></g>`
    );
  });
  return `<svg class="recall-bars" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">${bars.join('')}</svg>`;
}

const swatch = (g: Group) => `<span class="swatch" style="background:${GROUP_COLORS[g]}"></span>`;

/** One box for the summary: the bars beside the metrics, whose head / mid / tail swatches are the bars' legend. `record`: the latest evaluated round. */
export function imbalanceSummaryHtml(record: ImbalanceView | undefined, trainClassCounts: readonly number[] | null): string {
  const recall = record?.recall ?? null;
  const finite = (recall ?? []).flatMap((r, c) => (Number.isFinite(r) ? [{ r, c }] : []));
  const worst = finite.length ? finite.reduce((a, b) => (b.r < a.r ? b : a)) : null;
  const groups = trainClassCounts ? headMidTail(trainClassCounts) : null;
  const classes = (g: Group) => (groups?.[g].length ? ` (classes ${groups[g].join(', ')})` : '');
  const about =
    'Per-class recall on the test set, coloured by how frequent the class is in this run\'s training data. ' +
    `Head / mid / tail: mean recall of the 3 most frequent training classes${classes('head')}, the rest${classes('mid')} and the 3 rarest${classes('tail')}. ` +
    'Balanced accuracy: the mean per-class recall, every class counting the same however rare; macro-F1: the mean per-class F1.';
  return `
      <div class="imbalance" title="${esc(about)}">${recallBarsSvg(recall, trainClassCounts)}<div>
        <div><b>balanced acc.</b> ${pct(record?.balancedAccuracy)} · <b>macro-F1</b> ${pct(record?.macroF1)}</div>
        <div><b>recall</b> ${swatch('head')}head ${pct(record?.headRecall)} ${swatch('mid')}mid ${pct(record?.midRecall)} ${swatch('tail')}tail <span class="tail">${pct(record?.tailRecall)}</span> · <b>worst class</b> ${pct(record?.worstClassRecall)}${worst ? ` <small>(class ${worst.c})</small>` : ''}</div>
      </div></div>`;
}

import { describe, expect, it } from 'vitest';
import { ATTACKER_MARK, STRAGGLER_MARK, weightColor, weightHeatmapSvg, type HeatmapRound } from './heatmap-svg';

const client = (clientId: string, slot: number, weight: number, over: Record<string, unknown> = {}) => ({
  clientId, slot, weight, reliability: null, flagged: null, role: 'honest' as const, straggler: null, steps: 10, ...over,
});

const history: HeatmapRound[] = [
  { round: 1, clients: [client('tab-a', 0, 0.5), client('tab-b', 1, 0.5, { role: 'attacker' })], dropped: [], flagged: [] },
  {
    round: 2,
    clients: [client('tab-a', 0, 1, { reliability: 0.93 }), client('tab-b', 1, 0, { reliability: 0.05, flagged: 'reliability ρ 0.05 < 0.1', role: 'attacker' })],
    dropped: [{ clientId: 'worker-c', slot: 2, reason: 'deadline', role: 'honest', straggler: 'late' }],
    flagged: [{ clientId: 'tab-b', reason: 'reliability ρ 0.05 < 0.1' }],
  },
];

const cells = (svg: string) => svg.match(/<rect class="hm-cell[^"]*"/g) ?? [];
const rowOf = (svg: string, id: string) => svg.match(new RegExp(`<g class="hm-row[^"]*" data-client="${id}">[\\s\\S]*?</g>`))?.[0] ?? '';

describe('weightHeatmapSvg', () => {
  it('is empty without rounds', () => {
    expect(weightHeatmapSvg([])).toBe('');
  });

  it('draws one cell per (client, round) it took part in, and a blank for the rest', () => {
    const svg = weightHeatmapSvg(history);
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.endsWith('</svg>')).toBe(true);
    // tab-a ×2, tab-b ×2, worker-c dropped in round 2; worker-c was not selected in round 1.
    expect(cells(svg)).toHaveLength(5);
    expect(svg.match(/<g class="hm-row/g)).toHaveLength(3);
    expect(svg.match(/fill="#f3f3f3"\/>/g)?.length).toBeGreaterThanOrEqual(1);
  });

  it('orders rows by slot and labels them with slot and id', () => {
    const svg = weightHeatmapSvg([{ round: 1, clients: [client('z', 3, 0.5), client('y', 0, 0.5)] }]);
    expect(svg.indexOf('data-client="y"')).toBeLessThan(svg.indexOf('data-client="z"'));
    expect(rowOf(svg, 'z')).toContain('#3 z');
  });

  it('colours kept cells by weight, the largest weight darkest', () => {
    const svg = weightHeatmapSvg(history);
    expect(svg).toContain(`fill="${weightColor(1)}"`);
    expect(svg).toContain(`fill="${weightColor(0.5)}"`);
    expect(weightColor(0)).not.toBe(weightColor(1));
  });

  it('hatches a dropped cell and gives its reason in the tooltip', () => {
    const svg = weightHeatmapSvg(history);
    const dropped = svg.match(/<rect class="hm-cell dropped[^>]*>[\s\S]*?<\/rect>/)?.[0] ?? '';
    expect(dropped).toContain('fill="url(#fedtab-hm-dropped)"');
    expect(dropped).toContain('dropped: deadline');
    expect(dropped).toContain('worker-c (slot 2), round 2');
    expect(dropped).toContain('straggler (late)');
  });

  it('outlines a flagged cell and shows client, round, weight, ρ and the reason', () => {
    const svg = weightHeatmapSvg(history);
    const flagged = svg.match(/<rect class="hm-cell kept flagged"[^>]*>[\s\S]*?<\/rect>/)?.[0] ?? '';
    expect(flagged).toContain('stroke="#d62728"');
    expect(flagged).toContain('tab-b (slot 1), round 2');
    expect(flagged).toContain('weight 0.0000');
    expect(flagged).toContain('ρ 0.050');
    expect(flagged).toContain('flagged: reliability ρ 0.05 &lt; 0.1');
    expect(cells(svg).filter((c) => c.includes('flagged'))).toHaveLength(1);
  });

  it('marks attacker rows (by role or by attackerSlots) and straggler rows', () => {
    const svg = weightHeatmapSvg(history);
    expect(rowOf(svg, 'tab-b')).toContain(ATTACKER_MARK);
    expect(rowOf(svg, 'tab-a')).not.toContain(ATTACKER_MARK);
    expect(rowOf(svg, 'worker-c')).toContain(STRAGGLER_MARK);
    const bySlot = weightHeatmapSvg(history, { attackerSlots: [0] });
    expect(rowOf(bySlot, 'tab-a')).toContain(ATTACKER_MARK);
  });

  it('escapes client ids and reasons', () => {
    const evil = '<img src=x onerror="alert(1)">&';
    const svg = weightHeatmapSvg([
      { round: 1, clients: [client(evil, 0, 1, { flagged: '<b>bad</b>' })], dropped: [{ clientId: `${evil}2`, slot: 1, reason: '"quoted" <r>' }] },
    ]);
    expect(svg).not.toContain('<img');
    expect(svg).not.toContain('<b>bad');
    expect(svg).not.toContain('"quoted"');
    expect(svg).toContain('&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&amp;');
    expect(svg).toContain('&lt;b&gt;bad&lt;/b&gt;');
  });

  it('draws only the last maxRounds rounds and says so', () => {
    const long: HeatmapRound[] = Array.from({ length: 10 }, (_, i) => ({ round: i + 1, clients: [client('a', 0, 1)] }));
    const svg = weightHeatmapSvg(long, { maxRounds: 4 });
    expect(cells(svg)).toHaveLength(4);
    expect(svg).toContain('data-round="7"');
    expect(svg).not.toContain('data-round="6"');
    expect(svg).toContain('last 4 of 10 rounds');
  });

  it('tolerates records without the newer fields', () => {
    const svg = weightHeatmapSvg([{ round: 1, clients: [{ clientId: 'a' }] }, { round: 2 }]);
    expect(cells(svg)).toHaveLength(1);
    expect(svg).toContain('weight –');
  });
});

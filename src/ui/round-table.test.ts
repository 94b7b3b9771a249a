import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from '../shared/config';
import { ATTACKER_MARK, STRAGGLER_MARK } from './heatmap-svg';
import { attackBannerHtml, reliabilitySparklines, roundIssuesHtml, roundTableHtml, type RoundView } from './round-table';

const rounds: RoundView[] = [
  {
    round: 1, accuracy: 0.5, loss: 1.2, seconds: 3, aggregateMs: 12, attackSuccessRate: 0.4,
    clients: [{ clientId: 'a', slot: 0, weight: 0.5, reliability: 0.9 }, { clientId: 'b', slot: 1, weight: 0.5, reliability: 0.6, role: 'attacker' }],
    dropped: [], flagged: [],
  },
  {
    round: 2, accuracy: 0.7, loss: 0.8, seconds: 3, aggregateMs: 15, attackSuccessRate: 0.1,
    clients: [{ clientId: 'a', slot: 0, weight: 1, reliability: 0.95 }, { clientId: 'b', slot: 1, weight: 0, reliability: 0.05, flagged: 'ρ < 0.1', role: 'attacker' }],
    dropped: [{ clientId: 'c<x>', slot: 2, reason: 'straggler: late', role: 'honest', straggler: 'late' }],
    flagged: [{ clientId: 'b', reason: 'ρ < 0.1' }],
  },
];

describe('roundTableHtml', () => {
  it('broker columns only in a classroom: bytes in and out and the round trip of each round', () => {
    expect(roundTableHtml(rounds)).not.toContain('broker');
    const html = roundTableHtml([{ ...rounds[0], broker: null }, { ...rounds[1], broker: { bytesIn: 2048, bytesOut: 3 * 1024 * 1024, rttMs: 7.4 } }]);
    expect(html).toContain('<th>broker in</th><th>broker out</th><th>broker RTT</th>');
    expect(html).toContain('<td>2.05 kB</td><td>3.15 MB</td><td>7 ms</td></tr>');
    expect(html).toContain('<td>–</td><td>–</td><td>–</td></tr>');
  });

  it('balanced accuracy and tail recall columns only when some round has them', () => {
    expect(roundTableHtml(rounds)).not.toContain('balanced acc.');
    const html = roundTableHtml([{ ...rounds[0], balancedAccuracy: null, tailRecall: null }, { ...rounds[1], balancedAccuracy: 0.654, tailRecall: 0.2968 }]);
    expect(html).toContain('<th>loss</th><th>balanced acc.</th><th>tail recall</th>');
    expect(html).toContain('<td>0.8000</td><td>65.4%</td><td>29.7%</td>');
    expect(html).toContain('<td>1.2000</td><td>–</td><td>–</td>'); // round 1 not evaluated
  });

  it('lists rounds newest first with kept/selected, dropped, flagged, ρ and ASR', () => {
    const html = roundTableHtml(rounds);
    expect(html.indexOf('data-round="2"')).toBeLessThan(html.indexOf('data-round="1"'));
    expect(html).toContain('attack success');
    expect(html).toContain('<td>10.0%</td>');
    expect(html).toContain('<td>1 / 3</td>');
    expect(html).toContain('<td>0.050</td>'); // ρ min of round 2
    expect(html).toContain('<td>0.500</td>'); // ρ mean of round 2
  });

  it('leaves out the ASR and ρ columns when no round has them', () => {
    const html = roundTableHtml([{ round: 1, accuracy: 0.5, loss: 1, clients: [{ clientId: 'a', weight: 1, reliability: null }] }]);
    expect(html).not.toContain('attack success');
    expect(html).not.toContain('ρ mean');
  });
});

describe('reliabilitySparklines', () => {
  it('draws one sparkline per client with ρ, with the threshold line', () => {
    const s = reliabilitySparklines(rounds, 0.1);
    expect([...s.keys()].sort()).toEqual(['a', 'b']);
    expect(s.get('b')).toContain('<polyline');
    expect(s.get('b')).toContain('stroke-dasharray');
    expect(s.get('b')).toContain('ρ 0.050 (last)');
  });
});

describe('roundIssuesHtml', () => {
  it('lists dropped and flagged clients with reasons and markers, escaped', () => {
    const html = roundIssuesHtml(rounds[1], [1]);
    expect(html).toContain('1 dropped, 1 flagged');
    expect(html).toContain('c&lt;x&gt;');
    expect(html).not.toContain('c<x>');
    expect(html).toContain('straggler: late');
    expect(html).toContain(STRAGGLER_MARK);
    const flagged = html.match(/<li class="flagged".*?<\/li>/)?.[0] ?? '';
    expect(flagged).toContain('ρ &lt; 0.1');
    expect(flagged).toContain(ATTACKER_MARK);
  });
});

describe('attackBannerHtml', () => {
  it('is empty for a clean run', () => {
    expect(attackBannerHtml(DEFAULT_CONFIG)).toBe('');
    expect(attackBannerHtml(null)).toBe('');
  });

  it('names the attack and the number of attackers', () => {
    const html = attackBannerHtml({ ...DEFAULT_CONFIG, attack: 'sign-flip', attackers: 0.2, forgeLosses: true }, [3, 7]);
    expect(html).toContain('simulates 2 attackers');
    expect(html).toContain('sign-flip');
    expect(html).toContain('forged losses');
    expect(html).toContain('not a clean run');
  });

  it('mentions stragglers', () => {
    expect(attackBannerHtml({ ...DEFAULT_CONFIG, stragglers: 0.25, stragglerMode: 'late' })).toContain('25.0%');
  });
});

import { describe, expect, it } from 'vitest';
import { formatBenchTable, summarizeBenchRuns, type BenchRow } from '../src/shared/strategies/aggregation.bench.ts';
import { aggregationRows } from './bench-summary.ts';

const row = (strategy: BenchRow['strategy'], clients: number, ratio: number, copyMs: number, params = ''): BenchRow => ({
  strategy, params, model: 'cnn-s', size: 1e6, clients, ratio, copyMs, msPerRound: ratio * copyMs, msMedian: ratio * copyMs, copyMsMedian: copyMs, rounds: 4,
});

describe('the aggregation bench over several runs', () => {
  const run1 = [row('fedavg', 8, 1.2, 2), row('bulyan', 32, 9, 10), row('krum', 32, 11, 10), row('scaffold', 32, 3, 10)];
  const run2 = [row('fedavg', 8, 1.8, 4), row('bulyan', 32, 9.5, 12), row('krum', 32, 12, 12)];
  const table = summarizeBenchRuns([run1, run2]);
  const line = (name: string) => table.split('\n').find((l) => l.startsWith(`| ${name} `))!.split('|').map((c) => c.trim());

  it('gives the median ratio and its range, and whether a target held in every run, some or none', () => {
    // columns: '', strategy, CNN-S K=8, CNN-S K=32, ''
    expect(line('fedavg')[2]).toBe('1.5× (1.2–1.8) ~'); // ≤ 1.5 in run 1 only
    expect(line('bulyan')[3]).toBe('9.3× (9.0–9.5) ✓');
    expect(line('krum')[3]).toBe('11.5× (11.0–12.0) ✗');
    expect(line('fedavg')[3]).toBe('–'); // not timed in that case
  });

  it('says when a cell is missing from some runs, and has no mark where there is no target', () => {
    expect(line('scaffold')[3]).toBe('3.0× [1 of 2 runs]');
  });

  it('gives the copy per case: ms and GB/s (K·|w|·4 bytes over the ms)', () => {
    expect(line('copy of the K updates, ms')[2]).toBe('3.00 (2.00–4.00)');
    expect(line('copy rate, GB/s')[2]).toBe('12.0 (8.0–16.0)'); // 8 × 1e6 × 4 B in 2 ms = 16 GB/s, in 4 ms 8
    expect(line('copy of the K updates, ms')[3]).toBe('11.0 (10.0–12.0)');
  });

  it('counts the targets', () => {
    expect(table).toContain('2 runs.');
    expect(table).toContain('of 3, met in every run 1 (✓), in some 1 (~), in none 1 (✗)');
  });

  it('one run: the same cells as the single-run table, without a range', () => {
    const fedavg = summarizeBenchRuns([run1]).split('\n').find((l) => l.startsWith('| fedavg '));
    expect(fedavg).toMatch(/\| +1\.2× ✓ \|/);
    expect(formatBenchTable(run1)).toContain('2 met (✓), 1 not (✗)');
  });

  it('refuses no runs and rows that are not rows; a file without the aggregation part has none', () => {
    expect(() => summarizeBenchRuns([])).toThrow(/no runs/);
    expect(aggregationRows('a.json', { kernel: [] })).toBeNull();
    expect(() => aggregationRows('b.json', { aggregation: { rows: [{ strategy: 'fedavg', ratio: NaN }] } })).toThrow(/b\.json: an aggregation row without/);
    expect(aggregationRows('c.json', { aggregation: { rows: run2 } })).toHaveLength(3);
  });
});

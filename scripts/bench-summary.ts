// npm run bench:summary -- FILE.json [FILE.json …]
// The aggregation bench of several `npm run bench` runs side by side (results/bench-*.json, or the copies kept in
// docs/results/bench/): per strategy and case, the median ratio to the copy and its range, and whether each target
// held in every run, some or none. One run's cells move by up to ±40% on a shared host; a target is met only when
// it holds in every run.
import { readFileSync } from 'node:fs';
import { summarizeBenchRuns, type BenchRow } from '../src/shared/strategies/aggregation.bench.ts';

/** The aggregation rows of one bench JSON: null when it has none (a run without that part), an error when they are not rows. */
export function aggregationRows(file: string, json: unknown): BenchRow[] | null {
  const rows = (json as { aggregation?: { rows?: unknown } } | null)?.aggregation?.rows;
  if (!Array.isArray(rows) || rows.length === 0) return null;
  for (const r of rows as Partial<BenchRow>[]) {
    const ok = typeof r.strategy === 'string' && typeof r.params === 'string' && typeof r.model === 'string' && [r.size, r.clients, r.ratio, r.copyMs].every((v) => typeof v === 'number' && Number.isFinite(v) && v > 0);
    if (!ok) throw new Error(`${file}: an aggregation row without strategy, params, model, size, clients, ratio and copyMs: ${JSON.stringify(r).slice(0, 200)}`);
  }
  return rows as BenchRow[];
}

function main(files: string[]): void {
  if (!files.length || files.includes('--help')) {
    console.error('usage: npm run bench:summary -- FILE.json [FILE.json …]   (results/bench-*.json or docs/results/bench/*.json)');
    process.exit(files.length ? 0 : 2);
  }
  const runs = files.flatMap((f) => {
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(f, 'utf8'));
    } catch (e) {
      throw new Error(`${f}: ${e instanceof Error ? e.message : String(e)}`);
    }
    const rows = aggregationRows(f, json);
    if (!rows) console.error(`skipped ${f}: no aggregation rows (a bench run without that part)`);
    return rows ? [rows] : [];
  });
  if (!runs.length) throw new Error('none of these files has aggregation rows: run npm run bench -- --only aggregation');
  console.log(summarizeBenchRuns(runs));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    main(process.argv.slice(2));
  } catch (e) {
    console.error(e instanceof Error ? e.message : String(e));
    process.exit(1);
  }
}

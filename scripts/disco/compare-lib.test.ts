import { describe, expect, it } from 'vitest';
import { arrangeForDisco, discoSplitMask, formatTable, median, parseCompareArgs, parseGnuTime, splitArgs, summarize, type RunRecord } from './compare-lib';

/** DISCO's Dataset.split at the pinned commit, transcribed: the left (train) side and the right (validation) side. */
function discoSplit<T>(xs: readonly T[], ratio: number): [T[], T[]] {
  const left: T[] = [];
  let other = 0;
  let total = 0;
  for (const e of xs) {
    total++;
    if (other / total >= ratio) left.push(e);
    else other++;
  }
  const right: T[] = [];
  let yielded = 0;
  total = 0;
  for (const e of xs) {
    total++;
    if (yielded / total < ratio) {
      yielded++;
      right.push(e);
    }
  }
  return [left, right];
}

describe('parseCompareArgs', () => {
  it('has the issue\'s task as defaults', () => {
    const o = parseCompareArgs([])!;
    expect(o).toMatchObject({ disco: null, discoRepo: 'https://github.com/epfml/disco', clients: [4, 8], repeats: 3, rounds: 5, epochs: 1, batchSize: 32, maxSamples: 1500, localEval: 0.1, evalSamples: 2000, lr: 0.1, fedtabArgs: [''], discoModels: ['cnn-s'], install: true });
  });
  it('takes repeated --fedtab-args as rows, and lists', () => {
    const o = parseCompareArgs(['--disco', '/x', '--clients', '2, 16', '--fedtab-args', '--workers 1', '--fedtab-args', '--workers 2', '--disco-model', 'cnn-s,disco-mnist', '--no-install'])!;
    expect(o.disco).toBe('/x');
    expect(o.clients).toEqual([2, 16]);
    expect(o.fedtabArgs).toEqual(['--workers 1', '--workers 2']);
    expect(o.discoModels).toEqual(['cnn-s', 'disco-mnist']);
    expect(o.install).toBe(false);
    expect(parseCompareArgs(['--summarize', 'a.json', '--summarize', 'b.json'])!.summarize).toEqual(['a.json', 'b.json']);
  });
  it('refuses bad values naming the flag, and returns null for --help', () => {
    expect(() => parseCompareArgs(['--clients', '0'])).toThrow(/--clients/);
    expect(() => parseCompareArgs(['--local-eval', '1'])).toThrow(/--local-eval/);
    expect(() => parseCompareArgs(['--disco-model', 'gpt'])).toThrow(/--disco-model/);
    expect(() => parseCompareArgs(['--bogus'])).toThrow();
    expect(parseCompareArgs(['--help'])).toBeNull();
  });
  it('splits extra flags into words', () => {
    expect(splitArgs('  --workers 2   --lr 0.05 ')).toEqual(['--workers', '2', '--lr', '0.05']);
    expect(splitArgs('')).toEqual([]);
  });
});

describe('arrangeForDisco', () => {
  it('orders a client\'s images so that DISCO\'s own split gives fedtab\'s train and held-out sets, in order', () => {
    for (const [nTrain, nHeld] of [[1350, 150], [270, 30], [9, 1], [100, 0], [7, 3], [1000, 333]]) {
      const train = Array.from({ length: nTrain }, (_, i) => `t${i}`);
      const held = Array.from({ length: nHeld }, (_, i) => `h${i}`);
      const { order, ratio } = arrangeForDisco(train, held);
      expect(order).toHaveLength(nTrain + nHeld);
      const [left, right] = discoSplit(order, ratio);
      expect(left).toEqual(train);
      expect(right).toEqual(held);
    }
  });
  it('matches the mask to the transcribed split', () => {
    const mask = discoSplitMask(30, 0.1);
    expect(mask.filter(Boolean)).toHaveLength(3);
    expect(mask.map((v, i) => (v ? i : -1)).filter((i) => i >= 0)).toEqual([0, 10, 20]);
  });
});

describe('parseGnuTime', () => {
  it('reads peak RSS and elapsed time', () => {
    const s = '\tCommand being timed: "npm run federate"\n\tElapsed (wall clock) time (h:mm:ss or m:ss): 1:02.50\n\tMaximum resident set size (kbytes): 563200\n';
    expect(parseGnuTime(s)).toEqual({ maxRssBytes: 563200 * 1024, elapsedSeconds: 62.5 });
    expect(parseGnuTime('\tElapsed (wall clock) time (h:mm:ss or m:ss): 1:00:01\n\tMaximum resident set size (kbytes): 1\n')!.elapsedSeconds).toBe(3601);
    expect(parseGnuTime('nothing')).toBeNull();
  });
});

describe('summarize', () => {
  const run = (system: RunRecord['system'], variant: string, clients: number, repeat: number, s: number, mb: number, acc = 0.9): RunRecord => ({
    system, variant, clients, repeat, federationSeconds: s, processSeconds: s + 5, maxRssBytes: mb * 2 ** 20, finalTestAccuracy: acc,
  });
  it('takes medians per row and fedtab/DISCO ratios, and judges the target', () => {
    const runs = [
      run('fedtab', '', 4, 0, 40, 300), run('fedtab', '', 4, 1, 50, 290), run('fedtab', '', 4, 2, 45, 310),
      run('disco', 'cnn-s', 4, 0, 100, 300), run('disco', 'cnn-s', 4, 1, 90, 300), run('disco', 'cnn-s', 4, 2, 95, 300),
      run('fedtab', '', 8, 0, 80, 600), run('disco', 'cnn-s', 8, 0, 100, 300),
    ];
    const rows = summarize(runs);
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({ clients: 4, repeats: 3, fedtabFederationS: 45, discoFederationS: 95, fedtabPeakMB: 300, discoPeakMB: 300, fedtabProcessS: 50, discoProcessS: 100 });
    expect(rows[0]!.wallRatio).toBeCloseTo(45 / 95);
    expect(rows[0]!.targetMet).toBe(true);
    expect(rows[1]).toMatchObject({ clients: 8, wallRatio: 0.8, memoryRatio: 2, targetMet: false });
    const table = formatTable(rows);
    expect(table.split('\n')).toHaveLength(4);
    expect(table).toContain('| 4 | node runtime | cnn-s | 3 | 45.0 (40.0–50.0) | 95.0 (90.0–100.0) | 0.47 | 0.40, 0.56, 0.47 |');
    expect(rows[1]!.pairedWallRatios).toEqual([0.8]);
    expect(rows[0]!.fedtabFederationRange).toEqual([40, 50]);
  });
  it('has a median of even and odd counts', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
    expect(median([])).toBeNaN();
  });
});

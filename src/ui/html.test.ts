import { describe, expect, it } from 'vitest';
import { droppedCounts } from './html';

describe('droppedCounts', () => {
  it('totals the counts by reason and lists them in order', () => {
    expect(droppedCounts({ unsigned: 3, stale: 1, 'bad-signature': 6 })).toEqual({ total: 10, text: 'unsigned 3, stale 1, bad-signature 6' });
  });

  it('nothing dropped (or no report yet) is a zero total and no text', () => {
    expect(droppedCounts({})).toEqual({ total: 0, text: '' });
    expect(droppedCounts(undefined)).toEqual({ total: 0, text: '' });
  });
});

import { describe, expect, it } from 'vitest';
import { shown } from './shown';

describe('shown: a received value in a rejection text', () => {
  it('quotes what String() can, cut to the length asked', () => {
    expect([shown('abcdef', 3), shown(12.5, 10), shown(NaN, 10), shown(10n, 10), shown(true, 10), shown(null, 10), shown(undefined, 10)]).toEqual(['abc', '12.5', 'NaN', '10', 'true', 'null', 'undefined']);
  });

  it('never throws, where String() would', () => {
    const bare = Object.create(null) as object;
    expect(() => String(bare)).toThrow(TypeError);
    expect(() => String({ toString: 1, valueOf: 'x' })).toThrow(TypeError);
    expect([shown(bare, 40), shown({ toString: 1, valueOf: 'x' }, 40), shown(new Float32Array(3), 40), shown([1, 2], 40), shown(Symbol('s'), 40)]).toEqual([
      '[object Object]', '[object Object]', '[object Float32Array]', 'an array of 2', 'a symbol',
    ]);
  });
});

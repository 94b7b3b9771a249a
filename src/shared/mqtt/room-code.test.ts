import { describe, expect, it } from 'vitest';
import { formatRoomCode, newRoomCode, normalizeRoomCode, roomFromCode, topics } from './room-code';

describe('room codes', () => {
  it('are 12 characters shown in three groups, and read back however they are typed', () => {
    const code = newRoomCode(() => new Uint8Array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 31]));
    expect(code).toBe('0123-4567-89AZ');
    expect(normalizeRoomCode(' 0123 4567 89az ')).toBe('0123456789AZ');
    // O is read as 0 and I, L as 1.
    expect(normalizeRoomCode('O1LI-4567-89AZ')).toBe('011145678 9AZ'.replace(' ', ''));
    expect(formatRoomCode('0123456789az')).toBe('0123-4567-89AZ');
  });

  it('refuse a wrong length or a character outside the alphabet, saying which', () => {
    expect(() => normalizeRoomCode('ABC')).toThrow(/12 characters \(got 3\)/);
    expect(() => normalizeRoomCode('ABCD-EFGH-JKU0')).toThrow(/"U" is not in a room code/);
  });

  it('derive a topic id and a key that differ per code and reveal neither the code nor each other', () => {
    const a = roomFromCode('0123-4567-89AZ');
    const b = roomFromCode('0123-4567-89AY');
    expect(a.id).toMatch(/^[0-9a-f]{16}$/);
    expect(a.id).not.toBe(b.id);
    expect(a.key).toHaveLength(32);
    expect(Buffer.from(a.key).toString('hex').startsWith(a.id)).toBe(false);
    expect(roomFromCode('0123456789az')).toEqual(a);
    expect(topics(a).device('00112233aabbccdd')).toBe(`fedtab/v1/${a.id}/dev/00112233aabbccdd`);
  });
});

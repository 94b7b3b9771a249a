import { describe, expect, it } from 'vitest';
import { CONFIG_KEYS } from '../shared/config';
import { FIELD_TEXT } from './field-labels';

describe('field labels', () => {
  it('gives every config key a label and a one-line help, none empty', () => {
    for (const key of CONFIG_KEYS) {
      const t = FIELD_TEXT[key];
      expect(t, key).toBeDefined();
      expect(t.label.trim(), key).not.toBe('');
      expect(t.help.trim(), key).not.toBe('');
      // One line: short enough to sit under a field, no line breaks.
      expect(t.help, key).not.toMatch(/\n/);
      expect(t.help.length, key).toBeLessThanOrEqual(80);
      // Short enough for one line above its control.
      expect(t.label.length, key).toBeLessThanOrEqual(28);
    }
  });

  it('has no words for keys that do not exist', () => {
    expect(Object.keys(FIELD_TEXT).sort()).toEqual([...CONFIG_KEYS].sort());
  });

  it('uses plain words, not the config key, as the label', () => {
    for (const key of CONFIG_KEYS) if (key.length > 3) expect(FIELD_TEXT[key].label, key).not.toBe(key);
  });
});

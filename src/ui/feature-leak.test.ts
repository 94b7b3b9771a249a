import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../shared/config';
import { featureLeakNoticeHtml } from './feature-leak';

describe('feature-leak notice', () => {
  it('one visible line for fedalign, with the run’s feature cap; nothing for the other strategies', () => {
    const html = featureLeakNoticeHtml(resolveConfig({ algorithm: 'fedalign', alignFeatures: 20 }));
    expect(html).toMatch(/role="note"/);
    expect(html).toMatch(/FedAlign clients upload features/);
    expect(html).toMatch(/up to 20 correctly classified image features per class/);
    expect(html).toMatch(/reveal information about each client's own images/);
    expect(featureLeakNoticeHtml(resolveConfig({ algorithm: 'fedavg-lora' }))).toBe('');
    expect(featureLeakNoticeHtml(resolveConfig({}))).toBe('');
    expect(featureLeakNoticeHtml(null)).toBe('');
  });
});

// Issue 9 (FedAlign): uploading features reveals information about a client's data, and the dashboard says so in
// one visible line whenever a run uploads them.
import type { FederationConfig } from '../shared/config';
import { esc } from './html';

/** The one-line notice for a run whose clients upload features (fedalign), or '' for any other run. */
export function featureLeakNoticeHtml(config: Pick<FederationConfig, 'algorithm' | 'alignFeatures'> | null | undefined): string {
  if (config?.algorithm !== 'fedalign') return '';
  return (
    `<div class="banner leak" role="note">⚠ Privacy: FedAlign clients upload features, not only model changes — per-class average features, ` +
    `their class counts and up to ${esc(String(config.alignFeatures))} correctly classified image features per class. ` +
    `These reveal information about each client's own images.</div>`
  );
}

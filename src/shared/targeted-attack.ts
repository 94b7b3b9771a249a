// The targeted attacks' source and target classes: attackers train with them (src/client/attacks.ts) and the
// coordinator measures their success with them.
import type { AttackId } from './config';

/** label-flip: y → L−1−y on all local data; targeted-label-flip and scaling's poisoned training: 7 → 1. */
export const TARGET_SOURCE = 7;
export const TARGET_LABEL = 1;

/** Attacks whose success is measured as the share of test 7s classified as 1. */
export function isTargeted(attack: AttackId): boolean {
  return attack === 'targeted-label-flip' || attack === 'scaling';
}

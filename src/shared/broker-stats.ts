// What the teacher's classroom hub reports about the broker (src/ui/classroom-hub.ts): bytes both ways in total and
// per round, the broker round-trip time, devices, and messages refused at the room level. One schema; the coordinator
// parses every report, since any page of the origin can call it.
import * as v from 'valibot';
import { REJECT_REASONS } from './mqtt/envelope';

const count = v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(Number.MAX_SAFE_INTEGER));

/** Rounds a report carries at most: the latest few, the rest are settled. */
export const MAX_REPORTED_ROUNDS = 16;

export const BROKER_STATS_SCHEMA = v.strictObject({
  v: v.literal(1),
  /** Everything the teacher received from, and published to, the broker since the room opened (published once, before the broker fans it out). */
  bytesIn: count,
  bytesOut: count,
  /** Median of the last few broker round trips (the teacher's own echo), ms. */
  rttMs: v.nullable(v.pipe(v.number(), v.finite(), v.minValue(0), v.maxValue(3_600_000))),
  devices: count,
  online: count,
  rejected: v.record(v.picklist(REJECT_REASONS), count),
  /** Bytes from a round's broadcast until the next round's, and the median round trip in that time, by run and round. */
  rounds: v.pipe(
    v.array(v.strictObject({ runId: v.pipe(v.string(), v.maxLength(64)), round: v.pipe(count, v.minValue(1)), bytesIn: count, bytesOut: count, rttMs: v.nullable(v.pipe(v.number(), v.finite(), v.minValue(0), v.maxValue(3_600_000))) })),
    v.maxLength(MAX_REPORTED_ROUNDS),
  ),
});

export type BrokerStats = v.InferOutput<typeof BROKER_STATS_SCHEMA>;

/** A round's traffic over the broker, in its round record. */
export interface BrokerRound {
  bytesIn: number;
  bytesOut: number;
  rttMs: number | null;
}

export function parseBrokerStats(raw: unknown): BrokerStats {
  const r = v.safeParse(BROKER_STATS_SCHEMA, raw);
  if (!r.success) throw new TypeError(`broker stats: ${r.issues.map((i) => `${v.getDotPath(i) ?? ''} ${i.message}`).join('; ').slice(0, 300)}`);
  return r.output;
}

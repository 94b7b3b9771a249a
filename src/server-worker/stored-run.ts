// The run the coordinator finds in IndexedDB on start. Another version of fedtab may have written it, or another page
// of the origin (the store is the origin's), so it is checked like a message before anything is built from it: a
// history of 5, or 10⁹ partitions (an array per partition: the worker ran out of memory), must not be resumed.
import * as v from 'valibot';
import { checkFinite } from '../shared/protocol';
import type { RunState } from '../shared/status';
import { MAX_VIRTUAL_CLIENTS } from './client-registry';
import type { PersistedRun } from './types';

/** More rounds than any run takes (the config caps rounds far below). */
const MAX_STORED_ROUNDS = 1_000_000;

const STORED_STATES = ['preparing', 'waiting', 'running', 'paused', 'done', 'error'] as const satisfies readonly RunState[];

const count = (max: number) => v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(max));
const STORED_RUN = v.looseObject({
  runId: v.pipe(v.string(), v.minLength(1), v.maxLength(200)),
  config: v.record(v.string(), v.unknown()),
  state: v.picklist(STORED_STATES),
  round: count(MAX_STORED_ROUNDS),
  numPartitions: count(MAX_VIRTUAL_CLIENTS),
  history: v.pipe(
    v.array(v.looseObject({ round: v.pipe(count(MAX_STORED_ROUNDS), v.minValue(1)), accuracy: v.nullable(v.pipe(v.number(), v.finite())) })),
    v.maxLength(MAX_STORED_ROUNDS),
    v.check((h) => h.every((r, i) => i === 0 || r.round > h[i - 1].round), 'round records out of order'),
  ),
});

/** The stored run and weights as they may be restored, or why not (the config itself is resolveConfig's to check). */
export function checkStoredRun(stored: unknown): { run: PersistedRun; weights: Float32Array } | { error: string } {
  const s = stored as { run?: unknown; weights?: unknown } | null;
  if (!(s?.weights instanceof Float32Array)) return { error: 'its weights are not a Float32Array' };
  const r = v.safeParse(STORED_RUN, s.run);
  if (!r.success) return { error: `${v.getDotPath(r.issues[0]) ?? 'the run'}: ${r.issues[0].message}` };
  if (r.output.history.some((h) => h.round > r.output.round)) return { error: `its history goes past its round ${r.output.round}` };
  try {
    checkFinite(s.weights, 'weights');
  } catch (e) {
    return { error: e instanceof Error ? e.message : String(e) };
  }
  return { run: r.output as unknown as PersistedRun, weights: s.weights };
}

// A full garbage collection when this thread's garbage has grown, without --expose-gc on the command line (npm
// scripts and worker threads do not pass it): V8 hands `gc` to a context made after the flag is set. The Node runtime
// calls it after each client job, so a thread's peak memory is its live data and not the jobs' garbage (weights,
// deltas and their ArrayBuffers, which V8 otherwise keeps until its own limits press: about 40 MB per thread on
// disco-compare's task). Collecting only past a growth keeps it off the many tiny jobs of a 10,000-client round.
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

const GROWTH = 16 * 2 ** 20;
let gc: (() => void) | null = null;
let floor = 0;

const inUse = (): number => {
  const h = getHeapStatistics();
  return h.used_heap_size + h.external_memory;
};

export function collectGarbageIfGrown(): void {
  if (inUse() - floor < GROWTH) return;
  if (!gc) {
    setFlagsFromString('--expose-gc');
    gc = runInNewContext('gc') as () => void;
  }
  gc();
  floor = inUse();
}

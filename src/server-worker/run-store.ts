// The run survives every tab closing: config, history and the latest global weights live in IndexedDB.
import { createStore, delMany, getMany, setMany } from 'idb-keyval';
import type { PersistedRun, RunStore } from './types';

export function idbRunStore(): RunStore {
  const store = createStore('fedtab-coordinator', 'run');
  return {
    // One transaction, so the history and the weights it describes are never out of step.
    save: (run, weights) => setMany([['run', run], ['weights', weights]], store),
    async load() {
      const [run, weights] = await getMany<unknown>(['run', 'weights'], store);
      if (!run || !(weights instanceof Float32Array)) return null;
      return { run: run as PersistedRun, weights };
    },
    clear: () => delMany(['run', 'weights'], store),
  };
}

// How many client threads the Node runtime may use (client-thread-pool.ts); a module of its own so that the CLIs can
// check --threads without loading the pool.
import { availableParallelism } from 'node:os';

/** Client threads `npm run federate -- --runtime node` uses unless told: one per core besides the coordinator's, which trains too. */
export const DEFAULT_THREADS = availableParallelism() - 1;
export const MAX_THREADS = 32;

// Seeded fuzzing for the tests of every boundary that takes messages from clients or other pages: junk values and
// mutations of a valid message. Test code only (no test runs here: vitest picks *.test.ts).
import type { Rng } from './prng';

/** What a client, or a page posing as one, could send in place of any field (all structured-cloneable). */
export const JUNK: unknown[] = [
  null, undefined, true, 0, -1, 0.5, 1, 3, 106, 108, NaN, Infinity, -Infinity, 1e308, 2 ** 53, 10n, '', 'x'.repeat(5000), '__proto__', 'constructor',
  [], [1, 'a'], new Array(100_000).fill(0), {}, Object.create(null), { toString: 1, valueOf: 'x' }, new Date(0), new Map([[1, 2]]),
  new Float32Array(0), new Float32Array(6).fill(NaN), new Float32Array(7), new Float64Array(6), new Uint8Array(6), new Int8Array(6),
  { encoding: 'int8', values: new Int8Array(6), scales: [1, 1] }, { encoding: 'topk', indices: new Uint32Array([5, 1]), values: new Float32Array(2) },
  { encoding: 'float16', values: new Uint16Array(6) }, { encoding: 'none' },
  [{ name: 'w', shape: [-4] }, { name: 'b', shape: [2] }], [{ name: 'w', shape: [1e9] }, { name: 'b', shape: [2] }], [{ name: 'w', shape: [4] }],
  { round: 1, steps: 5, total: 2 }, { malformed: 1e9 }, [0.5, NaN], new Array(200_000).fill(0.5),
];

/** A plain object (not an array, a typed array or a class instance): the kind of value mutate goes into. */
const isPlain = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && Object.getPrototypeOf(x) === Object.prototype;

/**
 * A copy of `msg` with 1–3 fields replaced by junk, deleted, added, or (in nested objects, two levels down) mutated
 * the same way; now and then the whole message replaced.
 */
export function mutate(rng: Rng, msg: Record<string, unknown>, depth = 0): unknown {
  if (rng.next() < 0.05) return JUNK[rng.int(JUNK.length)];
  const out: Record<string, unknown> = { ...msg };
  for (let k = 1 + rng.int(3); k > 0; k--) {
    const keys = Object.keys(out);
    const nested = keys.filter((key) => isPlain(out[key]));
    const op = rng.int(4);
    if (op === 0 && keys.length) out[keys[rng.int(keys.length)]] = JUNK[rng.int(JUNK.length)];
    else if (op === 1 && keys.length) delete out[keys[rng.int(keys.length)]];
    else if (op === 2 && nested.length && depth < 2) {
      const key = nested[rng.int(nested.length)];
      out[key] = mutate(rng, out[key] as Record<string, unknown>, depth + 1);
    } else Object.defineProperty(out, ['__proto__', 'constructor', 'extra'][rng.int(3)], { value: JUNK[rng.int(JUNK.length)], enumerable: true, configurable: true, writable: true });
  }
  return out;
}

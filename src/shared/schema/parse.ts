// Turning valibot issues on config fields into one error text a person can act on.
import * as v from 'valibot';
import { shown } from '../shown';
import { describeField, fieldInfo } from './fields';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * Parses `input` against a strict object of config fields. The first problem becomes a ConfigError naming the key,
 * the value given and what a valid value is; `what` names the thing ("config key", "strategy parameter").
 */
export function parseFields<E extends v.ObjectEntries>(entries: E, input: Record<string, unknown>, what = 'config key'): v.InferOutput<v.StrictObjectSchema<E, undefined>> {
  const r = v.safeParse(v.strictObject(entries), input);
  if (r.success) return r.output;
  const issue = r.issues[0];
  const key = String(issue.path?.[0]?.key ?? '');
  if (issue.type === 'strict_object' || !Object.hasOwn(entries, key)) {
    throw new ConfigError(`unknown ${what} "${key}"; valid keys: ${Object.keys(entries).join(', ')}`);
  }
  throw new ConfigError(`invalid ${key} ${show(input[key])}: ${describeField(key, fieldInfo(entries[key]))}`);
}

function show(x: unknown): string {
  if (typeof x === 'number' && !Number.isFinite(x)) return String(x);
  try {
    return JSON.stringify(x) ?? shown(x, 100);
  } catch {
    return shown(x, 100);
  }
}

/** A copy of `o` without its undefined values ("not given" means "default"). */
export function defined(o: object): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, x]) => x !== undefined));
}

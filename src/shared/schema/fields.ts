// Config fields as valibot schemas. Each field accepts its value as given by code (a number, a boolean) or as
// text from a URL query, a CLI flag or a form, coerces it once, checks its range, and fills its default. The
// field's description (kind, range, help, default) rides along as metadata, so the dashboard form, the CLI's
// --help and the error texts are all read from the same schema.
import * as v from 'valibot';

export type FieldKind = 'enum' | 'int' | 'number' | 'bool';

export interface FieldInfo {
  kind: FieldKind;
  help: string;
  default: string | number | boolean;
  values?: readonly string[];
  min?: number;
  /** Exclusive lower bound. */
  gt?: number;
  max?: number;
  /** Infinity is a valid value (a temperature, say). */
  infinite?: boolean;
}

type Meta = { field: FieldInfo };

/** The text every error for this field ends with: what a valid value is. */
export function describeField(key: string, f: FieldInfo): string {
  if (f.kind === 'enum') return `${key} must be one of: ${f.values!.join(', ')}`;
  if (f.kind === 'bool') return `${key} must be true or false`;
  const lo = f.gt !== undefined ? `> ${f.gt}` : `>= ${f.min}`;
  const hi = f.infinite ? 'Infinity allowed' : `<= ${f.max}`;
  return `${key} must be ${f.kind === 'int' ? 'an integer' : 'a number'} ${lo} and ${hi} (${f.help})`;
}

/** Text as typed ('0.5', ' 3 ', 'Infinity') → number; '' and other types pass through to fail the number check. */
function toNumber(x: unknown): unknown {
  if (typeof x !== 'string' || x.trim() === '') return x;
  return Number(x);
}

function toBool(x: unknown): unknown {
  const t = typeof x === 'string' ? x.trim().toLowerCase() : x;
  if (t === true || t === 'true' || t === '1') return true;
  if (t === false || t === 'false' || t === '0') return false;
  return x;
}

// The message is filled in by ConfigError (it knows the key); checks only decide.
const FAIL = 'invalid';

export function enumField<const T extends readonly [string, ...string[]]>(values: T, dflt: T[number], help: string) {
  const info: FieldInfo = { kind: 'enum', values, default: dflt, help };
  return v.optional(
    v.pipe(
      v.unknown(),
      v.transform((x) => (typeof x === 'string' ? x.trim().toLowerCase() : x)),
      v.picklist(values, FAIL),
      v.metadata<T[number], Meta>({ field: info }),
    ),
    dflt,
  );
}

export function boolField(dflt: boolean, help: string) {
  const info: FieldInfo = { kind: 'bool', default: dflt, help };
  return v.optional(v.pipe(v.unknown(), v.transform(toBool), v.boolean(FAIL), v.metadata<boolean, Meta>({ field: info })), dflt);
}

export interface NumberFieldOptions {
  default: number;
  help: string;
  int?: boolean;
  min?: number;
  gt?: number;
  max?: number;
  infinite?: boolean;
}

export function numberField(o: NumberFieldOptions) {
  const info: FieldInfo = { kind: o.int ? 'int' : 'number', default: o.default, help: o.help, min: o.min, gt: o.gt, max: o.max, infinite: o.infinite };
  const ok = (x: number) =>
    !Number.isNaN(x) &&
    (Number.isFinite(x) || (o.infinite === true && x === Infinity)) &&
    (!o.int || Number.isInteger(x)) &&
    (o.gt === undefined || x > o.gt) &&
    (o.min === undefined || x >= o.min) &&
    (o.max === undefined || x <= o.max);
  return v.optional(
    v.pipe(v.unknown(), v.transform(toNumber), v.number(FAIL), v.check(ok, FAIL), v.metadata<number, Meta>({ field: info })),
    o.default,
  );
}

type AnyField = ReturnType<typeof enumField> | ReturnType<typeof boolField> | ReturnType<typeof numberField>;

/** The description a field builder attached to its schema. */
export function fieldInfo(schema: v.GenericSchema | AnyField): FieldInfo {
  const inner = 'wrapped' in schema ? (schema.wrapped as v.GenericSchema) : schema;
  const meta = v.getMetadata(inner as Parameters<typeof v.getMetadata>[0]) as Partial<Meta>;
  if (!meta.field) throw new Error('not a config field schema');
  return meta.field;
}

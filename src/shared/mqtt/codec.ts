// One binary form for the protocol's messages on a broker: a JSON header whose typed arrays are replaced by references
// into an 8-byte-aligned binary tail (weights travel as their bytes, not as JSON numbers), and whose non-finite
// numbers are spelled out so the coordinator's own schemas still see them and reject them with their usual reason.
const MAGIC = 0x46543101; // "FT1\x01"
const ARRAYS = {
  f32: Float32Array,
  f64: Float64Array,
  i32: Int32Array,
  u32: Uint32Array,
  u16: Uint16Array,
  i8: Int8Array,
  u8: Uint8Array,
} as const;
type ArrayTag = keyof typeof ARRAYS;
type TypedArray = InstanceType<(typeof ARRAYS)[ArrayTag]>;

export class CodecError extends Error {}

/** Depth at which encoding gives up: protocol messages are a few levels deep. */
const MAX_DEPTH = 16;

function tagOf(x: ArrayBufferView): ArrayTag | null {
  for (const [tag, ctor] of Object.entries(ARRAYS) as Array<[ArrayTag, (typeof ARRAYS)[ArrayTag]]>) if (x.constructor === ctor) return tag;
  return null;
}

const align8 = (n: number) => (n + 7) & ~7;

export function encodeMessage(value: unknown): Uint8Array {
  const blobs: TypedArray[] = [];
  const walk = (x: unknown, depth: number): unknown => {
    if (depth > MAX_DEPTH) throw new CodecError('message nested too deep');
    if (typeof x === 'number') return Number.isFinite(x) ? x : { $n: String(x) };
    if (x === null || typeof x !== 'object') return x;
    if (ArrayBuffer.isView(x)) {
      const tag = tagOf(x);
      if (!tag) throw new CodecError(`cannot encode ${x.constructor.name}`);
      blobs.push(x as TypedArray);
      return { $a: tag, i: blobs.length - 1 };
    }
    if (Array.isArray(x)) return x.map((v) => walk(v, depth + 1));
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(x)) if (v !== undefined) out[k] = walk(v, depth + 1);
    return out;
  };
  const header = new TextEncoder().encode(JSON.stringify(walk(value, 0)));
  const sizes = blobs.map((b) => b.byteLength);
  // Layout: magic, header length, blob count, blob lengths, header, then each blob at an 8-byte boundary.
  const head = 12 + 4 * blobs.length + header.length;
  let total = align8(head);
  for (const s of sizes) total = align8(total + s);
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, MAGIC, true);
  dv.setUint32(4, header.length, true);
  dv.setUint32(8, blobs.length, true);
  sizes.forEach((s, i) => dv.setUint32(12 + 4 * i, s, true));
  out.set(header, 12 + 4 * blobs.length);
  let at = align8(head);
  blobs.forEach((b) => {
    out.set(new Uint8Array(b.buffer, b.byteOffset, b.byteLength), at);
    at = align8(at + b.byteLength);
  });
  return out;
}

/** The message `encodeMessage` wrote; typed arrays are fresh copies, so the caller may keep or transfer them. */
export function decodeMessage(bytes: Uint8Array): unknown {
  if (bytes.length < 12) throw new CodecError('message too short');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (dv.getUint32(0, true) !== MAGIC) throw new CodecError('not a fedtab message');
  const headerLen = dv.getUint32(4, true);
  const count = dv.getUint32(8, true);
  const head = 12 + 4 * count + headerLen;
  if (count > 4096 || head > bytes.length) throw new CodecError('header runs past the message');
  const views: Array<{ at: number; size: number }> = [];
  let at = align8(head);
  for (let i = 0; i < count; i++) {
    const size = dv.getUint32(12 + 4 * i, true);
    if (at + size > bytes.length) throw new CodecError(`array ${i} runs past the message`);
    views.push({ at, size });
    at = align8(at + size);
  }
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(12 + 4 * count, head)));
  } catch {
    throw new CodecError('header is not JSON');
  }
  const used = new Set<number>();
  const walk = (x: unknown, depth: number): unknown => {
    if (depth > MAX_DEPTH) throw new CodecError('message nested too deep');
    if (x === null || typeof x !== 'object') return x;
    if (Array.isArray(x)) return x.map((v) => walk(v, depth + 1));
    const o = x as Record<string, unknown>;
    if (typeof o.$n === 'string' && Object.keys(o).length === 1) {
      if (!['NaN', 'Infinity', '-Infinity'].includes(o.$n)) throw new CodecError(`bad number ${o.$n.slice(0, 20)}`);
      return Number(o.$n);
    }
    if (typeof o.$a === 'string' && typeof o.i === 'number' && Object.keys(o).length === 2) {
      const ctor = (ARRAYS as Record<string, (typeof ARRAYS)[ArrayTag]>)[o.$a];
      const v = views[o.i];
      if (!ctor || !v || used.has(o.i)) throw new CodecError('bad array reference');
      if (v.size % ctor.BYTES_PER_ELEMENT !== 0) throw new CodecError(`array ${o.i} is not a whole number of ${o.$a}`);
      used.add(o.i);
      const copy = new ArrayBuffer(v.size);
      new Uint8Array(copy).set(bytes.subarray(v.at, v.at + v.size));
      return new ctor(copy);
    }
    // Null prototype: a key such as __proto__ stays a plain key.
    const out = Object.create(null) as Record<string, unknown>;
    for (const [k, val] of Object.entries(o)) out[k] = walk(val, depth + 1);
    return out;
  };
  return walk(header, 0);
}

/**
 * A field of a decoded message, or undefined: a room member may send any value at all (null, a number, an array),
 * and reading a field of null throws. Own fields only, so an array's `length` or an inherited name is not one.
 */
export function field(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.hasOwn(value, key) ? (value as Record<string, unknown>)[key] : undefined;
}

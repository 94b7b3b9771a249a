// Received values quoted in rejection texts. String(x) throws for an object without a usable toString (a null
// prototype, or a `toString` field that is not a function), and such objects survive structured cloning, so a
// quoted value must never be String(x) of something a client or another page sent.

/** A received value as at most `max` characters of text; never throws. */
export function shown(x: unknown, max: number): string {
  let s: string;
  if (typeof x === 'string') s = x;
  else if (typeof x === 'object' && x !== null) s = Array.isArray(x) ? `an array of ${x.length}` : Object.prototype.toString.call(x);
  else if (typeof x === 'symbol' || typeof x === 'function') s = `a ${typeof x}`;
  else s = String(x); // number, bigint, boolean, undefined, null
  return s.slice(0, max);
}

import { describe, expect, it } from 'vitest';
import { createRng } from '../prng';
import { RoomReceiver, RoomSender, sealPart } from './envelope';
import { roomFromCode } from './room-code';

const room = roomFromCode('ABCD-EFGH-JKMN');
const other = roomFromCode('ABCD-EFGH-JKMP');
const T = 'fedtab/v1/x/teacher';
let n = 0;
const random = (k: number) => new Uint8Array(k).map(() => ++n);

describe('room envelopes', () => {
  it('open what the same room sealed, on the same topic', () => {
    const s = new RoomSender(room.key, 'dev1', { random });
    const r = new RoomReceiver(room.key);
    const [sealed] = s.seal(T, 'call', new Uint8Array([1, 2, 3]));
    const got = r.open(T, sealed);
    expect(got).toMatchObject({ ok: true, message: { from: 'dev1', kind: 'call', sid: s.sid } });
    if (got.ok === true) expect(Array.from(got.message.body)).toEqual([1, 2, 3]);
  });

  it('reject and count: another room, an altered byte, another topic, unsigned bytes, a replay, a stale clock', () => {
    const s = new RoomSender(room.key, 'dev1', { random });
    const r = new RoomReceiver(room.key);
    const [m] = s.seal(T, 'call', new Uint8Array([1, 2, 3]));
    expect(r.open(T, new RoomSender(other.key, 'dev1', { random }).seal(T, 'call', new Uint8Array([1]))[0])).toMatchObject({ ok: false, reason: 'bad-signature' });
    const altered = m.slice();
    altered[altered.length - 40] ^= 1;
    expect(r.open(T, altered)).toMatchObject({ ok: false, reason: 'bad-signature' });
    expect(r.open('fedtab/v1/x/all', m)).toMatchObject({ ok: false, reason: 'bad-signature' });
    expect(r.open(T, new TextEncoder().encode('{"method":"register"} plus some padding to be long enough'))).toMatchObject({ ok: false, reason: 'unsigned' });
    expect(r.open(T, m).ok).toBe(true);
    expect(r.open(T, m)).toMatchObject({ ok: false, reason: 'replayed' });
    const old = new RoomSender(room.key, 'dev1', { random, now: () => Date.now() - 3_600_000 });
    expect(r.open(T, old.seal(T, 'call', new Uint8Array(1))[0])).toMatchObject({ ok: false, reason: 'stale' });
    expect(r.rejected).toEqual({ 'bad-signature': 3, unsigned: 1, replayed: 1, stale: 1 });
  });

  it('accept one sender out of order within the replay window (two topics), never twice', () => {
    const s = new RoomSender(room.key, 'teacher', { random });
    const r = new RoomReceiver(room.key);
    const [a] = s.seal(T, 'x', new Uint8Array(1));
    const [b] = s.seal(T, 'x', new Uint8Array(1));
    expect(r.open(T, b).ok).toBe(true);
    expect(r.open(T, a).ok).toBe(true);
    expect(r.open(T, a)).toMatchObject({ reason: 'replayed' });
  });

  it('split a message over the broker limit into parts of at most that size, and reassemble it in any order', () => {
    const s = new RoomSender(room.key, 'teacher', { random, maxMessageBytes: 4096 });
    const r = new RoomReceiver(room.key);
    const body = new Uint8Array(20_000).map((_, i) => i % 251);
    const parts = s.seal(T, 'broadcast', body);
    expect(parts).toHaveLength(Math.ceil(20_000 / (4096 - 512)));
    for (const p of parts) expect(p.length).toBeLessThanOrEqual(4096);
    const order = [2, 0, 4, 1, 5, 3];
    const results = order.map((i) => r.open(T, parts[i]));
    expect(results.slice(0, -1).every((x) => x.ok === 'partial')).toBe(true);
    const last = results.at(-1)!;
    expect(last.ok).toBe(true);
    if (last.ok === true) expect(Buffer.from(last.message.body).equals(Buffer.from(body))).toBe(true);
    // Its size on the wire is its parts', headers and seals included.
    if (last.ok === true) expect(last.message.wireBytes).toBe(parts.reduce((n, p) => n + p.length, 0));
  });

  it('bound reassembly: a message over the size cap, and parts that never complete, are dropped and counted', () => {
    let now = 1_000_000;
    const s = new RoomSender(room.key, 'dev1', { random, maxMessageBytes: 4096, now: () => now });
    const r = new RoomReceiver(room.key, { maxTotalBytes: 10_000, partialTimeoutMs: 1000, now: () => now });
    const big = s.seal(T, 'call', new Uint8Array(12_000));
    const results = big.map((p) => r.open(T, p));
    expect(results.some((x) => x.ok === false && x.reason === 'too-large')).toBe(true);
    const half = s.seal(T, 'call', new Uint8Array(8000));
    expect(r.open(T, half[0]).ok).toBe('partial');
    now += 5000;
    const fresh = s.seal(T, 'call', new Uint8Array(8000));
    r.open(T, fresh[0]);
    expect(r.rejected.incomplete).toBe(1);
  });

  it('refuse a broker limit too small to carry a part', () => {
    expect(() => new RoomSender(room.key, 'x', { maxMessageBytes: 1000 })).toThrow(/at least 4096 bytes/);
  });

  // A room member holds the key and can seal any header at all: the receiver checks every field, and never throws
  // (a throw inside MQTT.js's message listener stops the link from receiving anything more).
  it("a room member's own seals with any header: refused with a reason, never thrown", () => {
    const now = 1_000_000;
    const r = new RoomReceiver(room.key, { now: () => now });
    const good = { from: 'dev1', sid: 's1', seq: 1, ts: now, kind: 'call', id: 1, part: 0, parts: 1 };
    const open = (header: string) => r.open(T, sealPart(room.key, T, header, new Uint8Array([1])));
    for (const h of ['null', '5', '"x"', '[]', 'true', '{}', '{"from":', '\u0000', JSON.stringify({ ...good, from: 1 }), JSON.stringify({ ...good, parts: 0 }), JSON.stringify({ ...good, part: 1 }), JSON.stringify({ ...good, seq: 1e300 }), JSON.stringify({ ...good, id: 2 })]) {
      expect(open(h), h).toMatchObject({ ok: false, reason: 'malformed' });
    }
    expect(open(JSON.stringify({ ...good, ts: now - 3_600_000 }))).toMatchObject({ ok: false, reason: 'stale' });
    expect(open(JSON.stringify(good))).toMatchObject({ ok: true, message: { from: 'dev1', kind: 'call' } });

    // Seeded random headers, each field valid or junk: every outcome is a result, and only valid headers open.
    const rng = createRng('envelope-headers');
    const junk: unknown[] = [null, -1, 0.5, 1e300, '', 'x', [], {}, true, '__proto__'];
    const pick = <T>(x: T) => (rng.next() < 0.3 ? junk[rng.int(junk.length)] : x);
    let seq = 10;
    for (let i = 0; i < 500; i++) {
      const parts = 1 + rng.int(3);
      const part = rng.int(parts);
      seq += 1;
      const header = { from: pick(`dev${rng.int(3)}`), sid: pick('s2'), seq: pick(seq), ts: pick(now), kind: pick('call'), id: pick(seq - part), part: pick(part), parts: pick(parts) };
      const res = open(rng.next() < 0.1 ? JSON.stringify(header).slice(0, rng.int(60)) : JSON.stringify(header));
      expect(res.ok === true || res.ok === 'partial' || typeof res.reason === 'string').toBe(true);
    }
  });

  it('random byte flips, cuts and additions to a sealed message: each refused, never thrown', () => {
    const rng = createRng('envelope-bytes');
    const s = new RoomSender(room.key, 'dev1', { random });
    const r = new RoomReceiver(room.key);
    const reasons = new Set<string>();
    for (let i = 0; i < 500; i++) {
      const [m] = s.seal(T, 'call', new Uint8Array(64).map((_, j) => j));
      const op = rng.int(3);
      const x = op === 0 ? m.slice() : op === 1 ? m.slice(0, rng.int(m.length)) : Uint8Array.from([...m, ...new Uint8Array(1 + rng.int(8))]);
      if (op === 0) x[rng.int(x.length)] ^= 1 << rng.int(8);
      const res = r.open(T, x);
      expect(res.ok, `mutation ${i}`).toBe(false);
      if (res.ok === false) reasons.add(res.reason);
    }
    expect([...reasons].sort()).toEqual(['bad-signature', 'malformed', 'unsigned']);
  });
});

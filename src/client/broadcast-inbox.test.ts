import { describe, expect, it } from 'vitest';
import { newKey, signBroadcast } from '../shared/broadcast-auth';
import { DEFAULT_CONFIG } from '../shared/config';
import { createRng } from '../shared/prng';
import { BROADCAST_DROP_REASONS, PROTOCOL_VERSION, parseBroadcast, type UnsignedBroadcast } from '../shared/protocol';
import { mutate } from '../shared/test-fuzz';
import { BroadcastInbox } from './broadcast-inbox';

const round = (n: number, over: Record<string, unknown> = {}): UnsignedBroadcast => ({
  v: PROTOCOL_VERSION, type: 'round', runId: 'run-1', round: n, config: DEFAULT_CONFIG, assignments: { me: 0 }, numPartitions: 1,
  deadline: 1e12, layers: [{ name: 'w', shape: [2] }], weights: Float32Array.of(1, 2), perClient: [], evaluate: null, ...over,
} as UnsignedBroadcast);

async function setup() {
  const mine = await newKey();
  const other = await newKey();
  let fetches = 0;
  const inbox = new BroadcastInbox({
    identity: () => ({ clientId: 'me' }),
    fetchKey: async (runId) => {
      fetches++;
      if (runId !== 'run-1') throw new Error('wrong-run');
      return mine.raw;
    },
  });
  const sign = (m: UnsignedBroadcast, key = mine.key) => signBroadcast(m, new Map([['me', key]]));
  return { inbox, sign, other, fetches: () => fetches };
}

describe('BroadcastInbox', () => {
  it('passes signed messages in order, fetching the run key once', async () => {
    const { inbox, sign, fetches } = await setup();
    expect(await inbox.receive(await sign(round(1)))).toMatchObject({ type: 'round', round: 1 });
    expect(await inbox.receive(await sign(round(2)))).toMatchObject({ round: 2 });
    expect(fetches()).toBe(1);
    expect(inbox.dropped).toEqual({});
  });

  it('drops and counts forged, unsigned, replayed, malformed and unverifiable messages', async () => {
    const { inbox, sign, other } = await setup();
    const r1 = await sign(round(1));
    expect(await inbox.receive(r1)).not.toBeNull();
    expect(await inbox.receive(r1)).toBeNull(); // replay
    expect(await inbox.receive({ ...(await sign(round(2))), config: { ...DEFAULT_CONFIG, epochs: 100 } })).toBeNull(); // tampered after signing
    expect(await inbox.receive(await sign(round(3), other.key))).toBeNull(); // signed with a key that is not mine
    expect(await inbox.receive({ ...round(4), auth: { macs: {} } })).toBeNull(); // no MAC for me
    expect(await inbox.receive({ ...round(5), config: { ...DEFAULT_CONFIG, epochs: 1e6 }, auth: { macs: { me: new Uint8Array(32) } } })).toBeNull(); // fails the schema
    expect(await inbox.receive({ ...round(6), v: 1, auth: { macs: {} } })).toBeNull();
    expect(await inbox.receive(await sign(round(7, { runId: 'run-0' })))).toBeNull(); // the coordinator gives no key for it
    expect(inbox.dropped).toEqual({ stale: 1, 'bad-signature': 2, unsigned: 1, malformed: 1, 'bad-version': 1, 'no-key': 1 });
    // A genuine later round still goes through, and a stop ends the run: its later rounds are stale.
    expect(await inbox.receive(await sign(round(8)))).not.toBeNull();
    expect(await inbox.receive(await sign({ v: PROTOCOL_VERSION, type: 'stop', runId: 'run-1' }))).toMatchObject({ type: 'stop' });
    expect(await inbox.receive(await sign(round(9)))).toBeNull();
    expect(inbox.dropped.stale).toBe(2);
  });

  it('a broadcast that asks this client for nothing is ignored before any check and not counted; one that asks it without its MAC is unsigned', async () => {
    const { inbox, fetches } = await setup();
    const others = { assignments: { c1: 0, c2: 1 }, auth: { macs: { c1: new Uint8Array(32), c2: new Uint8Array(32) } } };
    expect(await inbox.receive({ ...round(1, { assignments: { c1: 0, c2: 1 } }), ...others })).toBeNull();
    expect(await inbox.receive({ ...round(2, { evaluate: { round: 1, slots: { c1: 0 } } }), ...others })).toBeNull();
    expect(await inbox.receive({ v: PROTOCOL_VERSION, type: 'stop', runId: 'run-1', auth: { macs: { c1: new Uint8Array(32) } } })).toBeNull();
    expect(inbox.dropped).toEqual({});
    expect(fetches()).toBe(0); // no key asked for, nothing parsed
    // Asked to evaluate, but no MAC for it: a forgery.
    expect(await inbox.receive({ ...round(3, { assignments: {}, evaluate: { round: 2, slots: { me: 0 } } }), auth: { macs: {} } })).toBeNull();
    expect(inbox.dropped).toEqual({ unsigned: 1 });
  });

  it('floods cost little: cheap checks first, a bounded queue, one key request per unknown run', async () => {
    const { inbox, sign, fetches } = await setup();
    const valid = await sign(round(1));
    // Many invented run ids: after the first failed key request for one, its messages are dropped at once.
    const forged = await sign(round(2, { runId: 'run-x' }));
    const results = await Promise.all(Array.from({ length: 20 }, () => inbox.receive(forged)));
    expect(results.every((r) => r === null)).toBe(true);
    expect(fetches()).toBeLessThanOrEqual(2);
    // More waiting messages than the queue holds: the surplus is dropped as overload, not parsed.
    const burst = await Promise.all(Array.from({ length: 30 }, (_, i) => inbox.receive({ ...valid, round: 100 + i })));
    expect(burst.filter((r) => r === null).length).toBe(30);
    expect(inbox.dropped.overload).toBeGreaterThan(0);
    // A message naming ten thousand clients is not walked by the schema.
    const huge = { ...valid, round: 5, auth: { macs: Object.fromEntries([['me', new Uint8Array(32)], ...Array.from({ length: 10_000 }, (_, i) => [`c${i}`, new Uint8Array(32)])]) } };
    expect(await inbox.receive(huge)).toBeNull();
    // The genuine round still goes through afterwards.
    expect(await inbox.receive(valid)).toMatchObject({ round: 1 });
  });

  it('seeded fuzz: 600 mutations of signed rounds from any page on the channel are each passed or dropped with a reason, never thrown', async () => {
    const rng = createRng('inbox-fuzz');
    const { inbox, sign } = await setup();
    let passed = 0;
    for (let i = 0; i < 600; i++) {
      const signed = (await sign(round(i + 1))) as unknown as Record<string, unknown>;
      // Half the time with this client's MAC kept, so the mutation gets past the cheap checks to the schema and the signature.
      const m = mutate(rng, signed);
      const raw = rng.next() < 0.5 && typeof m === 'object' && m !== null && !Array.isArray(m) ? { ...m, auth: signed.auth } : m;
      const before = Object.values(inbox.dropped).reduce((a, b) => a + (b ?? 0), 0);
      const got = await inbox.receive(raw);
      const after = Object.values(inbox.dropped).reduce((a, b) => a + (b ?? 0), 0);
      if (got) {
        passed++;
        // What passes is what the coordinator signed: a field it acts on cannot have changed.
        expect(got, `mutation ${i}`).toEqual(parseBroadcast(signed));
      }
      // Passed, or counted once; not counted only when it asked this client for nothing.
      expect(got ? after - before : after - before <= 1, `mutation ${i}`).toBe(got ? 0 : true);
    }
    for (const reason of Object.keys(inbox.dropped)) expect(BROADCAST_DROP_REASONS).toContain(reason);
    expect(inbox.dropped['bad-signature']).toBeGreaterThan(0); // a changed field that still parses breaks the MAC
    expect(passed).toBeGreaterThan(0); // an unknown key, stripped by the schema, or a change to the MACs of others
    expect(await inbox.receive(await sign(round(10_000)))).toMatchObject({ round: 10_000 }); // and the genuine next round goes through
  });
});

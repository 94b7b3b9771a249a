// A classroom's room code: 12 Crockford base32 characters (60 random bits), read aloud or typed as ABCD-EFGH-JKMN.
// Everything else is derived from it: the topic id (what the broker sees) and the room key (which signs every
// message). The broker learns neither the code nor the key from the topic, since both come out of SHA-256 under
// different labels.
import { sha256 } from '@noble/hashes/sha2.js';

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
export const CODE_CHARS = 12;

export class RoomCodeError extends Error {}

export function newRoomCode(random: (n: number) => Uint8Array = (n) => globalThis.crypto.getRandomValues(new Uint8Array(n))): string {
  const bytes = random(CODE_CHARS);
  return formatRoomCode(Array.from(bytes, (b) => ALPHABET[b & 31]).join(''));
}

/** The code as people write it: upper case, dashes and spaces dropped, O read as 0 and I/L as 1. */
export function normalizeRoomCode(raw: string): string {
  const code = raw.toUpperCase().replace(/[\s-]/g, '').replace(/O/g, '0').replace(/[IL]/g, '1');
  if (code.length !== CODE_CHARS) throw new RoomCodeError(`a room code has ${CODE_CHARS} characters (got ${code.length})`);
  for (const ch of code) if (!ALPHABET.includes(ch)) throw new RoomCodeError(`"${ch}" is not in a room code (letters and digits, no U)`);
  return code;
}

export function formatRoomCode(raw: string): string {
  const c = normalizeRoomCode(raw);
  return `${c.slice(0, 4)}-${c.slice(4, 8)}-${c.slice(8)}`;
}

const label = (what: string, code: string) => sha256(new TextEncoder().encode(`fedtab/${what}/v1/${normalizeRoomCode(code)}`));

export interface Room {
  code: string;
  /** The room's topic id: 16 hex digits. */
  id: string;
  key: Uint8Array;
}

export function roomFromCode(code: string): Room {
  const id = Array.from(label('room', code).subarray(0, 8), (b) => b.toString(16).padStart(2, '0')).join('');
  return { code: formatRoomCode(code), id, key: label('key', code) };
}

/** One topic tree per room. */
export const topics = (room: Pick<Room, 'id'>) => {
  const base = `fedtab/v1/${room.id}`;
  return {
    /** Devices to the teacher. */
    teacher: `${base}/teacher`,
    /** The teacher to every device (the coordinator's broadcasts, room notices). */
    all: `${base}/all`,
    /** The teacher to one device (replies to its calls). */
    device: (deviceId: string) => `${base}/dev/${deviceId}`,
    /** The teacher's own echo, timed for the broker round trip. */
    ping: `${base}/ping`,
  };
};

export const DEVICE_ID = /^[0-9a-f]{16}$/;

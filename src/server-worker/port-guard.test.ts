import { describe, expect, it } from 'vitest';
import { refusal } from './port-guard';

const allowed = (m: string) => m === 'register' || m === 'status';
const raw = (value: unknown) => ({ type: 'RAW', value });

describe('refusal: only calls of the protocol’s methods reach the API', () => {
  it('lets a plain call of an allowed method through, and Comlink’s own release', () => {
    expect(refusal({ id: '1', type: 'APPLY', path: ['register'], argumentList: [raw({ v: 2 })] }, allowed)).toBeNull();
    expect(refusal({ id: '1', type: 'APPLY', path: ['status'], argumentList: [] }, allowed)).toBeNull();
    expect(refusal({ id: '1', type: 'RELEASE', path: [] }, allowed)).toBeNull();
  });

  it.each([
    ['SET on __proto__ (prototype pollution)', { id: '1', type: 'SET', path: ['__proto__', 'polluted'], value: raw(true) }, /SET is not allowed/],
    ['SET over a method', { id: '1', type: 'SET', path: ['status'], value: raw(null) }, /SET is not allowed/],
    ['GET', { id: '1', type: 'GET', path: ['status'] }, /GET is not allowed/],
    ['CONSTRUCT', { id: '1', type: 'CONSTRUCT', path: ['status'], argumentList: [] }, /CONSTRUCT is not allowed/],
    ['ENDPOINT', { id: '1', type: 'ENDPOINT' }, /ENDPOINT is not allowed/],
    ['a nested path', { id: '1', type: 'APPLY', path: ['status', 'call'], argumentList: [] }, /one method/],
    ['a method of Object.prototype', { id: '1', type: 'APPLY', path: ['constructor'], argumentList: [] }, /"constructor" is not allowed/],
    ['a method this port may not call', { id: '1', type: 'APPLY', path: ['reset'], argumentList: [] }, /"reset" is not allowed/],
    ['a proxy argument (a callback into the coordinator)', { id: '1', type: 'APPLY', path: ['register'], argumentList: [{ type: 'HANDLER', name: 'proxy', value: 0 }] }, /plain values/],
    ['a RELEASE with a path', { id: '1', type: 'RELEASE', path: ['x'] }, /RELEASE with a path/],
    // String() of these throws: the refusal must still be a text, or the caller would hang and nothing be counted.
    ['a type with no prototype', { id: '1', type: Object.create(null) }, /\[object Object\] is not allowed/],
    ['a type whose toString is not a function', { id: '1', type: { toString: 1 } }, /\[object Object\] is not allowed/],
  ])('refuses %s', (_what, msg, why) => {
    expect(refusal(msg, allowed)).toMatch(why);
  });
});

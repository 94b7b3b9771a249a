// A Comlink endpoint that lets through only calls of the methods the protocol defines. Plain Comlink.expose would
// also serve GET, SET and CONSTRUCT on any path of the exposed object: a page could overwrite a method, or set
// ['__proto__', …] and pollute Object.prototype inside the coordinator. Refused messages are answered with an
// error (the caller does not hang) and counted.
import type { Endpoint } from 'comlink';
import { shown } from '../shared/shown';

export interface GuardOptions {
  /** Whether `method` may be called on this port now. */
  allowed(method: string): boolean;
  /** A refused message, with why. */
  refused(detail: string): void;
}

type WireMessage = { id?: unknown; type?: unknown; path?: unknown; argumentList?: unknown };

/** Why `data` is not a call Comlink should serve, or null if it is one. */
export function refusal(data: WireMessage, allowed: (method: string) => boolean): string | null {
  if (typeof data !== 'object' || data === null) return 'not a call';
  const path = data.path;
  // Comlink's own release of a proxy: harmless, it only closes this port.
  if (data.type === 'RELEASE') return Array.isArray(path) && path.length === 0 ? null : 'RELEASE with a path';
  if (data.type !== 'APPLY') return `${shown(data.type, 40)} is not allowed (only calls)`;
  if (!Array.isArray(path) || path.length !== 1 || typeof path[0] !== 'string') return 'a call must name one method';
  if (!allowed(path[0])) return `method ${JSON.stringify(path[0]).slice(0, 80)} is not allowed on this port`;
  const args = data.argumentList;
  // RAW values only: no proxies (callbacks) into the coordinator.
  if (!Array.isArray(args) || !args.every((a) => typeof a === 'object' && a !== null && (a as { type?: unknown }).type === 'RAW')) {
    return 'arguments must be plain values';
  }
  return null;
}

export function guardedEndpoint(port: MessagePort, opts: GuardOptions): Endpoint {
  const listeners = new Map<EventListenerOrEventListenerObject, EventListener>();
  return {
    postMessage: (msg: unknown, transfer?: Transferable[]) => port.postMessage(msg, transfer ?? []),
    addEventListener(type: string, listener: EventListenerOrEventListenerObject) {
      const wrapped: EventListener = (ev) => {
        const data = (ev as MessageEvent).data as WireMessage;
        const why = refusal(data, opts.allowed);
        if (why === null) return typeof listener === 'function' ? listener(ev) : listener.handleEvent(ev);
        opts.refused(why);
        if (typeof data?.id === 'string') {
          port.postMessage({ id: data.id, type: 'HANDLER', name: 'throw', value: { isError: true, value: { name: 'Error', message: `forbidden: ${why}` } } });
        }
      };
      listeners.set(listener, wrapped);
      port.addEventListener(type, wrapped);
    },
    removeEventListener(type: string, listener: EventListenerOrEventListenerObject) {
      const wrapped = listeners.get(listener);
      if (wrapped) port.removeEventListener(type, wrapped);
    },
    start: () => port.start(),
  };
}

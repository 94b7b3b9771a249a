// A client tab's side of its client: the page keeps its own coordinator port (so drivers of the page can use
// `coordinator` on the client's connection) and relays the client's calls onto it, while the client itself runs in
// a dedicated worker the tab owns (training-worker.ts): training never blocks the page's main thread.
import * as Comlink from 'comlink';
import type { BackendChoice } from '../shared/config';
import { CLIENT_METHODS, type ClientApi } from '../server-worker/api';
import type { ClientHandle, ClientView } from './runtime';
import type { TrainingWorkerApi } from './training-worker';

/** The tab's handle: as a runtime's, but its own image comes from the worker. */
export interface TabClientHandle extends Omit<ClientHandle, 'nextOwnImage'> {
  nextOwnImage(): Promise<{ pixels: Uint8Array; label: number } | null>;
  /** The dedicated worker the client trains in. */
  worker: Worker;
}

/** The ArrayBuffers under a message's typed arrays, to hand them on rather than copy them. */
function buffersOf(value: unknown, out = new Set<ArrayBuffer>(), depth = 0): ArrayBuffer[] {
  if (depth > 6 || value === null || typeof value !== 'object') return [...out];
  if (ArrayBuffer.isView(value)) {
    if (value.buffer instanceof ArrayBuffer && value.buffer.byteLength > 0) out.add(value.buffer);
  } else if (value instanceof ArrayBuffer) {
    if (value.byteLength > 0) out.add(value);
  } else {
    for (const v of Array.isArray(value) ? value : Object.values(value)) buffersOf(v, out, depth + 1);
  }
  return [...out];
}

export async function startTabClient(opts: { port: MessagePort; backend: BackendChoice; onView?: (view: ClientView) => void; remote?: { channelName: string } }): Promise<TabClientHandle> {
  const coordinator = Comlink.wrap<ClientApi>(opts.port);
  let identity: { clientId: string; secret: string } | null = null;
  // Only the client API's methods cross, each onto the tab's coordinator port; a registration's identity is kept here.
  const relay: Record<string, (msg: unknown) => Promise<unknown>> = {};
  for (const method of CLIENT_METHODS) {
    relay[method] = async (msg: unknown) => {
      const call = coordinator[method] as (m: unknown) => Promise<unknown>;
      const reply = await call(Comlink.transfer(msg, buffersOf(msg)));
      if (method === 'register') {
        const r = reply as { clientId: string; secret: string };
        identity = { clientId: r.clientId, secret: r.secret };
      }
      return method === 'roundExtras' ? Comlink.transfer(reply, buffersOf(reply)) : reply;
    };
  }
  const { port1, port2 } = new MessageChannel();
  Comlink.expose(relay, port1);

  const worker = new Worker(new URL('./training-worker.ts', import.meta.url), { type: 'module', name: 'fedtab-tab-training' });
  const training = Comlink.wrap<TrainingWorkerApi>(worker);
  let view: ClientView | null = null;
  const failed = new Promise<never>((_, reject) => {
    worker.addEventListener('error', (e) => reject(new Error(`the training worker failed: ${e.message || 'could not start'}`)), { once: true });
  });
  const onView = (v: ClientView) => {
    view = v;
    opts.onView?.(v);
  };
  view = await Promise.race([training.start(Comlink.transfer(port2, [port2]), opts.backend, Comlink.proxy(onView), opts.remote), failed]);

  return {
    view: () => ({ ...view! }),
    identity: () => (identity ? { ...identity } : null),
    coordinator,
    predict: (pixels) => training.predict(pixels),
    nextOwnImage: () => training.nextOwnImage(),
    stop: () => {
      void training.stop().finally(() => worker.terminate());
    },
    worker,
  };
}

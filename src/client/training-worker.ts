/// <reference lib="webworker" />
// A client tab's own dedicated worker: the tab's whole client (inbox, backend, dataset, model, training, evaluation,
// the drawing pad's models) runs here, off the page's main thread, so the tab stays responsive while it trains. It
// talks to the coordinator through the page (tab-client.ts relays its calls onto the tab's own coordinator port).
import * as Comlink from 'comlink';
import { BACKENDS, type BackendChoice } from '../shared/config';
import { startClient, type ClientHandle, type ClientView } from './runtime';

let handle: ClientHandle | null = null;

const api = {
  /** `remote`: a classroom device, whose broadcasts arrive on its room's channel. */
  async start(port: MessagePort, backend: string, onView: (view: ClientView) => void, remote?: { channelName: string }): Promise<ClientView> {
    if (handle) throw new Error('this training worker already runs a client');
    const choice = (BACKENDS as readonly string[]).includes(backend) ? (backend as BackendChoice) : 'auto';
    handle = await startClient({
      kind: remote ? 'remote' : 'tab',
      port,
      backend: choice,
      channelName: remote?.channelName,
      onView: (v) => void Promise.resolve(onView(v)).catch(() => undefined),
    });
    return handle.view();
  },
  predict: (pixels: Uint8Array) => (handle ? handle.predict(pixels) : Promise.resolve(null)),
  nextOwnImage: () => {
    const img = handle?.nextOwnImage() ?? null;
    return img ? Comlink.transfer(img, [img.pixels.buffer as ArrayBuffer]) : null;
  },
  stop: () => handle?.stop(),
};

export type TrainingWorkerApi = typeof api;

Comlink.expose(api);

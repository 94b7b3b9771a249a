/// <reference lib="webworker" />
// SharedWorker entry: one coordinator per origin, shared by every tab.
import * as Comlink from 'comlink';
import { CHANNEL_NAME } from '../shared/protocol';
import type { CoordinatorApi } from './api';
import { Federation } from './federation';
import { idbRunStore } from './run-store';
import { initEvalBackend, loadTask } from './task';

declare const self: SharedWorkerGlobalScope;

const channel = new BroadcastChannel(CHANNEL_NAME);
let evalBackend: string | null = null;

const federation = new Federation({
  now: () => Date.now(),
  setTimer: (fn, ms) => setTimeout(fn, ms),
  clearTimer: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
  broadcast: (msg) => channel.postMessage(msg),
  loadTask: async (config) => {
    evalBackend ??= await initEvalBackend();
    return loadTask(config);
  },
  store: idbRunStore(),
  watchClient: (clientId, onGone) => {
    // Granted only once the client's page or worker is gone and its life lock is released.
    void navigator.locks.request(`fedtab-client-${clientId}`, async () => onGone());
  },
  coordinatorBackend: () => evalBackend,
});

const ready = federation.restore().catch((e: unknown) => console.error('fedtab: could not restore the stored run', e));

const api: CoordinatorApi = {
  register: async (msg) => (await ready, federation.register(msg)),
  heartbeat: (msg) => {
    try {
      federation.heartbeat(msg);
    } catch {
      // Counted as a rejection by the federation; a bad heartbeat needs no answer.
    }
  },
  submitUpdate: async (msg) => (await ready, federation.submitUpdate(msg)),
  // Until the stored run is restored, the status would show an empty coordinator.
  status: async () => (await ready, federation.status()),
  start: async (config) => (await ready, federation.start(config)),
  pause: async () => (await ready, federation.pause()),
  reset: async () => (await ready, federation.reset()),
  connectPort: (port) => Comlink.expose(api, port),
};

self.onconnect = (e: MessageEvent) => Comlink.expose(api, e.ports[0]);

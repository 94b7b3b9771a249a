/// <reference lib="webworker" />
// SharedWorker entry: one coordinator per origin, shared by every tab. Each port gets its own connection (the
// identity binding in client-registry.ts) and an endpoint that serves only the protocol's calls (port-guard.ts).
import * as Comlink from 'comlink';
import { CHANNEL_NAME } from '../shared/protocol';
import { CLIENT_METHODS, DASHBOARD_METHODS, type ClientApi, type DashboardApi } from './api';
import { Federation } from './federation';
import { guardedEndpoint } from './port-guard';
import { idbRunStore } from './run-store';
import { initEvalBackend, loadTask } from './task';

declare const self: SharedWorkerGlobalScope;

/** Client ports one dashboard page may hand over: its "Add worker clients", and its classroom's student devices. */
const MAX_WORKER_PORTS = 256;

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
  // Granted only once the client's page or worker is gone and its life lock is released.
  watchLock: (lock, onGone) => void navigator.locks.request(lock, async () => onGone()),
  coordinatorBackend: () => evalBackend,
});

const ready = federation.restore().catch((e: unknown) => console.error('fedtab: could not restore the stored run', e));

const clientMethods = new Set<string>(CLIENT_METHODS);
const dashboardMethods = new Set<string>(DASHBOARD_METHODS);

/** Serves one port. `workerPort`: handed over by a dashboard for a Web Worker client, so never a dashboard. */
function serve(port: MessagePort, workerPort: boolean): void {
  const conn = federation.connect();
  let workerPorts = 0;
  const client: ClientApi = {
    register: async (msg) => (await ready, conn.register(msg)),
    heartbeat: async (msg) => conn.heartbeat(msg),
    submitUpdate: async (msg) => (await ready, conn.submitUpdate(msg)),
    submitEvaluation: async (msg) => conn.submitEvaluation(msg),
    runKey: async (msg) => (await ready, conn.runKey(msg)),
    roundExtras: async (msg) => conn.roundExtras(msg),
  };
  const dashboard: DashboardApi = {
    // Until the stored run is restored, the status would show an empty coordinator.
    status: async () => (await ready, federation.status()),
    start: async (config) => (await ready, federation.start(config)),
    pause: async () => (await ready, federation.pause()),
    reset: async () => (await ready, federation.reset()),
    predict: async (image) => (await ready, federation.predict(image)),
    reportBroker: async (stats) => federation.reportBroker(stats),
    connectWorkerPort: async (p) => {
      if (!(p instanceof MessagePort)) throw new Error('connectWorkerPort needs a MessagePort');
      if (++workerPorts > MAX_WORKER_PORTS) throw new Error(`at most ${MAX_WORKER_PORTS} worker clients per page`);
      serve(p, true);
    },
  };
  // Null prototype: a method name can only ever be one of these.
  const api = Object.assign(Object.create(null) as object, client, dashboard);
  const role = conn.connection;
  Comlink.expose(
    api,
    guardedEndpoint(port, {
      allowed: (method) => {
        if (clientMethods.has(method)) return role.role !== 'dashboard';
        if (!dashboardMethods.has(method) || workerPort || role.role === 'client') return false;
        role.role = 'dashboard';
        return true;
      },
      refused: (why) => federation.refuse('forbidden', `port ${role.id}: ${why}`),
    }),
  );
}

self.onconnect = (e: MessageEvent) => serve(e.ports[0], false);

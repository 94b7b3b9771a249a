// Every page reaches the one coordinator through the same SharedWorker.
import * as Comlink from 'comlink';
import type { DashboardApi } from '../server-worker/api';
import type { ClientView } from '../client/runtime';

export function connectCoordinator(): { port: MessagePort; api: Comlink.Remote<DashboardApi> } {
  if (typeof SharedWorker === 'undefined') throw new Error('this browser has no SharedWorker; fedtab needs one for its coordinator');
  const worker = new SharedWorker(new URL('../server-worker/coordinator.ts', import.meta.url), { type: 'module', name: 'fedtab-coordinator' });
  return { port: worker.port, api: Comlink.wrap<DashboardApi>(worker.port) };
}

/**
 * Starts a client in a dedicated Web Worker, wired to the coordinator through a port this tab hands over. `onView`
 * gets the worker's view (its own sample images included), posted to this page only, at most twice a second.
 */
export async function addWorkerClient(
  api: Comlink.Remote<DashboardApi>,
  backend: string,
  onView?: (view: ClientView) => void,
): Promise<Worker> {
  const worker = new Worker(new URL('../client/client-worker.ts', import.meta.url), { type: 'module', name: 'fedtab-client' });
  if (onView) {
    worker.addEventListener('message', (e: MessageEvent<{ type?: string; view?: ClientView }>) => {
      if (e.data?.type === 'view' && e.data.view) onView(e.data.view);
    });
  }
  const { port1, port2 } = new MessageChannel();
  await api.connectWorkerPort(Comlink.transfer(port1, [port1]));
  worker.postMessage({ port: port2, backend }, [port2]);
  return worker;
}

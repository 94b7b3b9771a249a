// Every page reaches the one coordinator through the same SharedWorker.
import * as Comlink from 'comlink';
import type { DashboardApi } from '../server-worker/api';

export function connectCoordinator(): { port: MessagePort; api: Comlink.Remote<DashboardApi> } {
  if (typeof SharedWorker === 'undefined') throw new Error('this browser has no SharedWorker; fedtab needs one for its coordinator');
  const worker = new SharedWorker(new URL('../server-worker/coordinator.ts', import.meta.url), { type: 'module', name: 'fedtab-coordinator' });
  return { port: worker.port, api: Comlink.wrap<DashboardApi>(worker.port) };
}

/** Starts a client in a dedicated Web Worker, wired to the coordinator through a port this tab hands over. */
export async function addWorkerClient(api: Comlink.Remote<DashboardApi>, backend: string): Promise<Worker> {
  const worker = new Worker(new URL('../client/client-worker.ts', import.meta.url), { type: 'module', name: 'fedtab-client' });
  const { port1, port2 } = new MessageChannel();
  await api.connectWorkerPort(Comlink.transfer(port1, [port1]));
  worker.postMessage({ port: port2, backend }, [port2]);
  return worker;
}

/// <reference lib="webworker" />
// Dedicated Web Worker client: the same runtime as a tab, on a port its parent tab got from the coordinator.
import { BACKENDS, type BackendChoice } from '../shared/config';
import { startClient } from './runtime';

self.onmessage = (e: MessageEvent<{ port: MessagePort; backend: string }>) => {
  const backend = (BACKENDS as readonly string[]).includes(e.data.backend) ? (e.data.backend as BackendChoice) : 'auto';
  startClient({ kind: 'worker', port: e.data.port, backend }).catch((err: unknown) => {
    console.error('fedtab worker client failed', err);
  });
};

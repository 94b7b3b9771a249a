/// <reference lib="webworker" />
// Dedicated Web Worker client: the same runtime as a tab, on a port its parent tab got from the coordinator. Its view
// (with its own sample images) goes only to that parent page, at most every VIEW_POST_MS; nothing of it to the coordinator.
import { BACKENDS, type BackendChoice } from '../shared/config';
import { startClient, type ClientView } from './runtime';

/** At most one view post per this many ms: the latest view is sent when the interval is up. */
const VIEW_POST_MS = 500;

let latest: ClientView | null = null;
let lastPost = -Infinity;
let timer: ReturnType<typeof setTimeout> | null = null;

function post(): void {
  timer = null;
  if (!latest) return;
  lastPost = performance.now();
  try {
    self.postMessage({ type: 'view', view: latest });
  } catch (err) {
    console.warn('fedtab worker client: view not posted', err);
  }
}

function onView(view: ClientView): void {
  latest = view;
  if (timer !== null) return;
  timer = setTimeout(post, Math.max(0, lastPost + VIEW_POST_MS - performance.now()));
}

self.onmessage = (e: MessageEvent<{ port: MessagePort; backend: string }>) => {
  const backend = (BACKENDS as readonly string[]).includes(e.data.backend) ? (e.data.backend as BackendChoice) : 'auto';
  startClient({ kind: 'worker', port: e.data.port, backend, onView }).catch((err: unknown) => {
    console.error('fedtab worker client failed', err);
  });
};

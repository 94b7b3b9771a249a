// Test-only vite preview plugin: counts the requests the server answers, by path, so a browser test sees every
// download (pages, dedicated workers and the coordinator SharedWorker alike), not just the ones a page reports.
// On only with FEDTAB_COUNT_REQUESTS=1; GET /__fedtab/requests returns the counts, DELETE clears them.
import type { Plugin } from 'vite';

export function requestCounter(): Plugin {
  const counts = new Map<string, number>();
  return {
    name: 'fedtab-request-counter',
    configurePreviewServer(server) {
      if (process.env.FEDTAB_COUNT_REQUESTS !== '1') return;
      server.middlewares.use((req, res, next) => {
        const path = (req.url ?? '').split('?')[0];
        if (path === '/__fedtab/requests') {
          if (req.method === 'DELETE') counts.clear();
          res.setHeader('content-type', 'application/json');
          res.end(JSON.stringify(Object.fromEntries(counts)));
          return;
        }
        counts.set(path, (counts.get(path) ?? 0) + 1);
        next();
      });
    },
  };
}

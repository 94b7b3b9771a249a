import { defineConfig } from 'vitest/config';
import { requestCounter } from './scripts/request-counter.ts';

export default defineConfig({
  plugins: [requestCounter()],
  // Workers are ES modules so the coordinator and clients share the same import graph.
  worker: { format: 'es' },
  build: {
    target: 'es2022',
    chunkSizeWarningLimit: 4096,
    // bench.html: trainLocal vs model.fit per backend (npm run bench).
    rolldownOptions: { input: { main: 'index.html', bench: 'bench.html' } },
  },
  // classroom.test: the browser tests' name for 127.0.0.1 that is not a secure context (scripts/browser.ts).
  preview: { host: '127.0.0.1', allowedHosts: ['classroom.test'] },
  server: { host: '127.0.0.1' },
  test: {
    include: ['src/**/*.test.ts', 'scripts/**/*.test.ts'],
    environment: 'node',
    testTimeout: 60_000,
  },
});

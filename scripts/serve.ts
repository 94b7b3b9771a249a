// Build the app when its sources changed, and serve the build on 127.0.0.1 for headless runs.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { build, preview, type PreviewServer } from 'vite';

const ROOT = new URL('..', import.meta.url).pathname;

function newestMtime(path: string): number {
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  return readdirSync(path).reduce((m, name) => Math.max(m, newestMtime(join(path, name))), st.mtimeMs);
}

/** Rebuilds dist/ if any input is newer than it. */
export async function ensureBuilt(log: (s: string) => void = () => {}): Promise<void> {
  const marker = join(ROOT, 'dist/index.html');
  const inputs = ['src', 'index.html', 'vite.config.ts', 'public', 'package.json'].map((p) => join(ROOT, p)).filter(existsSync);
  if (existsSync(marker) && statSync(marker).mtimeMs >= Math.max(...inputs.map(newestMtime))) return;
  log('building the app (vite build)…');
  await build({ root: ROOT, logLevel: 'warn' });
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

export async function serveDist(): Promise<{ url: string; close: () => Promise<void> }> {
  const port = await freePort();
  const server: PreviewServer = await preview({ root: ROOT, logLevel: 'warn', preview: { host: '127.0.0.1', port, strictPort: true } });
  return { url: `http://127.0.0.1:${port}/`, close: () => server.close() };
}

// One place that knows how to start Chromium here: Debian's chromium (CHROMIUM_PATH) with the flags that
// give it WebGPU on SwiftShader and keep it off the network; Playwright's own browser elsewhere.
import { existsSync } from 'node:fs';
import type { LaunchOptions } from '@playwright/test';

/** Resolves to 127.0.0.1 in the test browser; `.test` is reserved, never a real host. */
export const INSECURE_HOST = 'classroom.test';

export const CHROMIUM_ARGS = [
  '--enable-unsafe-webgpu',
  '--enable-features=Vulkan',
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
  // Many client tabs train at once; none of them may be throttled as a background page.
  '--disable-background-timer-throttling',
  '--disable-renderer-backgrounding',
  '--disable-backgrounding-occluded-windows',
  // A name for this machine that is not localhost: a page on it is not a secure context, like a student's phone
  // opening the classroom over http on the LAN (e2e/classroom.spec.ts).
  `--host-resolver-rules=MAP ${INSECURE_HOST} 127.0.0.1`,
];

export function chromiumExecutable(): string | undefined {
  const path = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  return existsSync(path) ? path : undefined;
}

export function launchOptions(): LaunchOptions {
  const executablePath = chromiumExecutable();
  if (!executablePath && process.env.CHROMIUM_PATH) {
    throw new Error(`CHROMIUM_PATH=${process.env.CHROMIUM_PATH} does not exist`);
  }
  return { executablePath, args: CHROMIUM_ARGS, headless: true };
}

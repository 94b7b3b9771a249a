import { defineConfig } from '@playwright/test';
import { launchOptions } from './scripts/browser';

const PORT = Number(process.env.FEDTAB_E2E_PORT ?? 4318);

export default defineConfig({
  testDir: 'e2e',
  // Clients share one origin (one coordinator), so tests run one at a time; 2 cores leave no room anyway.
  workers: 1,
  fullyParallel: false,
  timeout: 240_000,
  expect: { timeout: 30_000 },
  reporter: [['list']],
  use: {
    baseURL: `http://127.0.0.1:${PORT}`,
    launchOptions: launchOptions(),
  },
  webServer: {
    // FedAlign's spec needs the CNN-S pre-trained on Fashion-MNIST in public/pretrained/ (skipped when up to date).
    command: `npx tsx scripts/pretrain.ts --dataset fashion-mnist && npx vite build && FEDTAB_COUNT_REQUESTS=1 npx vite preview --strictPort --port ${PORT}`,
    url: `http://127.0.0.1:${PORT}/`,
    reuseExistingServer: !process.env.CI,
    timeout: 120_000,
  },
});

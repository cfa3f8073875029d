import { defineConfig, devices } from '@playwright/test';
import { chromiumLaunchOptions } from './e2e/chromium';

const PORT = 4173;
const BASE_URL = `http://127.0.0.1:${PORT}`;

/**
 * End-to-end tests in Debian's Chromium on SwiftShader (CPU). `npm run test:e2e` builds first; the
 * tests run against `vite preview` of that build. One worker: the machines have 2 cores and
 * SwiftShader uses them all. Timeouts are generous because the first dispatch of a new pipeline can
 * take 10+ s while SwiftShader compiles it.
 */
export default defineConfig({
  testDir: 'e2e',
  testMatch: '**/*.spec.ts',
  outputDir: 'test-results',
  fullyParallel: false,
  workers: 1,
  retries: 0,
  forbidOnly: !!process.env.CI,
  reporter: 'list',
  timeout: 180_000,
  globalTimeout: 15 * 60_000,
  expect: { timeout: 60_000 },
  use: {
    baseURL: BASE_URL,
    browserName: 'chromium',
    launchOptions: chromiumLaunchOptions,
    navigationTimeout: 60_000,
    actionTimeout: 30_000,
    screenshot: 'only-on-failure',
    trace: 'retain-on-failure',
  },
  projects: [
    {
      name: 'chromium-swiftshader',
      use: { ...devices['Desktop Chrome'], launchOptions: chromiumLaunchOptions },
    },
  ],
  webServer: {
    command: `npx vite preview --port ${PORT} --strictPort --host 127.0.0.1`,
    url: BASE_URL,
    reuseExistingServer: !process.env.CI,
    timeout: 60_000,
    stdout: 'ignore',
    stderr: 'pipe',
  },
});

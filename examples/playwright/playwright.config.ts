import { defineConfig, devices } from '@playwright/test';
import { ensureRunId } from './src/fixture';

// One run id for every worker of this run: the lease holders read
// "<run id> worker <n>".
ensureRunId();

// The browser: Debian's Chromium by default. Set CHROMIUM_PATH to another
// binary, or to "" for the browser `npx playwright install chromium` brings.
const chromium = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export default defineConfig({
  testDir: './tests',
  // Each worker leases one account: keep workers at most the role's pool size.
  workers: Number(process.env.PLAYWRIGHT_WORKERS || 2),
  fullyParallel: false,
  forbidOnly: !!process.env.CI,
  retries: 0,
  timeout: 30_000,
  expect: { timeout: 5_000 },
  // The Understudy reporter uploads the trace and screenshots of a failed test to its lease.
  reporter: [['list'], ['./src/reporter.ts']],
  // workers.spec.ts needs two workers free at once (each holds an account
  // and meets the other): it runs first, then everything else.
  projects: [
    { name: 'workers', testMatch: /workers\.spec\.ts/ },
    { name: 'examples', testIgnore: [/workers\.spec\.ts/, /evidence\.spec\.ts/], dependencies: ['workers'] },
    // evidence.spec.ts fails on purpose, to show what a failed run leaves on its lease: it runs
    // only when asked, alone (npx playwright test --project evidence), and types no password,
    // so its trace is kept.
    ...(process.env.UNDERSTUDY_E2E_FAILING
      ? [{ name: 'evidence', testMatch: /evidence\.spec\.ts/, use: { trace: 'retain-on-failure' as const } }]
      : []),
  ],
  use: {
    ...devices['Desktop Chrome'],
    baseURL: process.env.CHIRP_URL || 'http://127.0.0.1:8090',
    // Traces record what was typed, passwords included: keep them off.
    trace: 'off',
    screenshot: 'only-on-failure',
    launchOptions: {
      executablePath: chromium || undefined,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    },
  },
});

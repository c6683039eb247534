// The Understudy fixture for Playwright: each worker leases one freshly
// reset account of a role for as long as it lives, renews the lease while
// it runs, and releases it when it stops, whether its tests passed or not.
//
//   import { test, expect } from './src/fixture';
//
//   test('signs in', async ({ page, understudy }) => {
//     await page.getByLabel('Email').fill(understudy.email);
//     await page.getByLabel('Password').fill(understudy.password);
//   });

import { randomBytes, randomUUID } from 'node:crypto';
import { test as base, expect } from '@playwright/test';
import { UnderstudyClient, UnderstudyError } from './client';

export { expect };
export { UnderstudyClient, UnderstudyError } from './client';
export type { Lease, LeaseGrant, LeaseRequest, Problem } from './client';

/** The account a worker holds, freshly reset when the worker started. */
export interface UnderstudyAccount {
  leaseId: string;
  accountId: string;
  email: string;
  username: string;
  password: string;
  displayName: string;
  /** The account's user id in each app, by app name (the app's name in Understudy). */
  refs: Record<string, string>;
  environment: string;
  role: string;
  /** Who holds the lease: "<run id> worker <parallel index>". */
  holder: string;
}

/** The options of the fixture; set them in playwright.config.ts or per file with test.use(). */
export interface UnderstudyOptions {
  /** The role whose account each worker leases. Defaults to UNDERSTUDY_ROLE, or "buyer". */
  role: string;
  /** The environment of the account. Defaults to UNDERSTUDY_ENVIRONMENT, or "production". */
  environment: string;
  /** The named state the account is reset to. Defaults to UNDERSTUDY_STATE, or "" for the baseline. */
  leaseState: string;
  /** How long the lease lasts without a renewal; it is renewed every third of it. Defaults to 300. */
  leaseTtlSeconds: number;
  /** How long to wait for an account when every one is leased. Defaults to 120. */
  leaseWaitSeconds: number;
}

type WorkerFixtures = UnderstudyOptions & { understudy: UnderstudyAccount };

/**
 * The id of this test run, shared by its workers: UNDERSTUDY_RUN_ID, else
 * GITHUB_RUN_ID (with the attempt), else one made up for this process.
 */
export function runId(env: NodeJS.ProcessEnv = process.env): string {
  if (env.UNDERSTUDY_RUN_ID) return env.UNDERSTUDY_RUN_ID;
  if (env.GITHUB_RUN_ID) return `gh-${env.GITHUB_RUN_ID}-${env.GITHUB_RUN_ATTEMPT ?? '1'}`;
  env.UNDERSTUDY_RUN_ID = `run-${randomBytes(4).toString('hex')}`;
  return env.UNDERSTUDY_RUN_ID;
}

/**
 * Fixes the run id before Playwright starts its workers, so that they all
 * share it: call it at the top of playwright.config.ts.
 */
export function ensureRunId(): string {
  return runId();
}

export const test = base.extend<{}, WorkerFixtures>({
  role: [process.env.UNDERSTUDY_ROLE || 'buyer', { scope: 'worker', option: true }],
  environment: [process.env.UNDERSTUDY_ENVIRONMENT || 'production', { scope: 'worker', option: true }],
  leaseState: [process.env.UNDERSTUDY_STATE ?? '', { scope: 'worker', option: true }],
  leaseTtlSeconds: [300, { scope: 'worker', option: true }],
  leaseWaitSeconds: [120, { scope: 'worker', option: true }],

  understudy: [
    async ({ role, environment, leaseState, leaseTtlSeconds, leaseWaitSeconds }, use, workerInfo) => {
      const client = UnderstudyClient.fromEnv();
      const holder = `${runId()} worker ${workerInfo.parallelIndex}`;
      const grant = await client.acquire(
        {
          environment,
          role,
          holder,
          ...(leaseState ? { state: leaseState } : {}),
          ttl_seconds: leaseTtlSeconds,
          wait_seconds: leaseWaitSeconds,
        },
        randomUUID(),
      );
      const renewal = new Renewal(client, grant.lease.id, leaseTtlSeconds);
      try {
        await use({
          leaseId: grant.lease.id,
          accountId: grant.lease.account_id,
          email: grant.credentials.email,
          username: grant.credentials.username,
          password: grant.credentials.password,
          displayName: grant.account.identity.display_name,
          refs: grant.refs,
          environment,
          role,
          holder,
        });
      } finally {
        await renewal.stop();
        await client.release(grant.lease.id);
      }
      // Reported after the release, so the account is free whatever happens.
      renewal.throwIfLost();
    },
    // The worker's own timeout: acquiring may wait for a free account.
    { scope: 'worker', timeout: 10 * 60_000 },
  ],
});

/**
 * Renewal renews a lease every third of its TTL until stopped. A renewal
 * that fails for a moment is tried again at the next tick; one that says
 * the lease is gone (403, 404, 409) means another run may hold the account
 * now, which fails the worker when it stops.
 */
class Renewal {
  private readonly timer: NodeJS.Timeout;
  private inFlight: Promise<void> = Promise.resolve();
  private stopped = false;
  private lost: UnderstudyError | undefined;

  constructor(
    private readonly client: UnderstudyClient,
    private readonly leaseId: string,
    private readonly ttlSeconds: number,
  ) {
    const every = Math.max(1000, (ttlSeconds * 1000) / 3);
    this.timer = setInterval(() => {
      if (this.stopped) return;
      this.inFlight = this.inFlight.then(() => this.renew());
    }, every);
    this.timer.unref(); // never keeps a worker alive on its own
  }

  private async renew(): Promise<void> {
    if (this.stopped || this.lost) return;
    try {
      await this.client.renew(this.leaseId, this.ttlSeconds);
    } catch (err) {
      if (err instanceof UnderstudyError && [403, 404, 409].includes(err.status)) {
        this.lost = err;
        return;
      }
      console.warn(`${err instanceof Error ? err.message : err}; trying again at the next renewal`);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.inFlight;
  }

  throwIfLost(): void {
    if (this.lost) {
      throw new Error(`Understudy: lease ${this.leaseId} was lost while the worker ran: ${this.lost.message}`);
    }
  }
}

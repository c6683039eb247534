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

import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { UnderstudyClient, UnderstudyError } from './client';
import { UnderstudyInbox } from './inbox';
import { runNaming, WorkerReport } from './report';
import { leaseAnnotation } from './reporter';

/**
 * The @playwright/test of the Playwright that runs the tests. Playwright
 * refuses to be loaded twice, and a package linked from a directory (npm
 * install <dir>) resolves from its own directory, which has a copy of its
 * own when it was built there: so it is looked up from the running
 * Playwright first, and from here only when that fails.
 */
function runningPlaywright(): typeof import('@playwright/test') {
  const main = require.main?.filename;
  if (main) {
    try {
      return require(require.resolve('@playwright/test', { paths: [dirname(main)] }));
    } catch {
      // Not found from there: this package's own.
    }
  }
  return require('@playwright/test');
}

const { test: base, expect } = runningPlaywright();
export { expect };
export { UnderstudyClient, UnderstudyError } from './client';
export type { Artifact, Lease, LeaseGrant, LeaseRelease, LeaseRequest, Problem, ReleaseOutcome, Role, RunNaming, TOTPCode } from './client';
export { artifactName, flowName, runNaming } from './report';
export { UnderstudyInbox } from './inbox';
export type { InboxListOptions, InboxWaitOptions, Message, MessageCode, MessageCodeCandidate, MessageLink } from './inbox';

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
  /**
   * The lease's W3C trace context (https://www.w3.org/TR/trace-context/), when the server gives
   * one: the trace of its acquisition, its reset, its apps' calls and its release.
   */
  traceparent?: string;
  /**
   * The headers the fixture adds to the requests a test's browser context makes to the app under
   * test (the origin of baseURL, or those of appOrigins): traceparent (the lease's) and
   * X-Understudy-Lease (its id), so the app's logs, traces and error reports point back to the run.
   * Pass them yourself to a request context of your own.
   */
  headers: Record<string, string>;
  /**
   * The account's current authenticator (TOTP) code for app, the app's name
   * in Understudy (the account's one secret when app is left out). A code
   * with fewer than totpMinSecondsLeft seconds left is never returned: it
   * waits for the next one, so a test never types a code that expires as
   * it types.
   */
  totp(app?: string): Promise<string>;
  /**
   * The account's mail since the lease began: inbox.waitForCode(),
   * inbox.waitForLink() and inbox.messages(), newest first.
   */
  inbox: UnderstudyInbox;
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
  /**
   * The flow the worker's run exercises, as its lease names it (it labels the run metrics).
   * Defaults to UNDERSTUDY_FLOW, or the name of the worker's Playwright project.
   */
  flow: string;
  /**
   * The version of the app under test, as the lease names it. Defaults to UNDERSTUDY_VERSION, or
   * GITHUB_SHA in GitHub Actions, CI_COMMIT_TAG or CI_COMMIT_SHA in GitLab CI.
   */
  appVersion: string;
}

/** The test options of the fixture. */
export interface UnderstudyTestOptions {
  /**
   * The origins (scheme, host and port, as https://app.example.com) of the app under test: only
   * the requests to them carry the lease's headers. Defaults to the origin of baseURL.
   */
  appOrigins: string[];
}

type WorkerFixtures = UnderstudyOptions & { understudy: UnderstudyAccount; _understudyWorker: WorkerState };
type TestFixtures = UnderstudyTestOptions & { _understudyTest: void };

/** What a worker knows of its tests: the report of their outcome and whether the current one used the account. */
interface WorkerState {
  report: WorkerReport;
  used: boolean;
  /** The worker's lease, once it holds one. */
  leaseId?: string;
}

/** The header that names the lease a request was made under. */
export const leaseHeader = 'X-Understudy-Lease';

/** The headers that tie an app's requests to a lease: its traceparent (when it has one) and its id. */
export function leaseHeaders(lease: { id: string; traceparent?: string }): Record<string, string> {
  return { ...(lease.traceparent ? { traceparent: lease.traceparent } : {}), [leaseHeader]: lease.id };
}

/**
 * The id of this test run, shared by its workers: UNDERSTUDY_RUN_ID, else
 * GITHUB_RUN_ID (with the attempt), else GitLab's CI_PIPELINE_ID, else one
 * made up for this process. The leases name it as their run's id.
 */
export function runId(env: NodeJS.ProcessEnv = process.env): string {
  if (env.UNDERSTUDY_RUN_ID) return env.UNDERSTUDY_RUN_ID;
  if (env.GITHUB_RUN_ID) return `gh-${env.GITHUB_RUN_ID}-${env.GITHUB_RUN_ATTEMPT ?? '1'}`;
  if (env.CI_PIPELINE_ID) return env.CI_PIPELINE_ID;
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

/**
 * The origins whose requests carry the lease's headers: those given, else
 * baseURL's. A value that is not a URL is an error, naming it.
 */
export function headerOrigins(appOrigins: string[], baseURL: string | undefined): Set<string> {
  const list = appOrigins.length > 0 ? appOrigins : baseURL ? [baseURL] : [];
  return new Set(
    list.map((o) => {
      try {
        return new URL(o).origin;
      } catch {
        throw new Error(`Understudy: appOrigins: ${JSON.stringify(o)} is not a URL (want an origin such as https://app.example.com)`);
      }
    }),
  );
}

export const test = base.extend<TestFixtures, WorkerFixtures>({
  // The requests of a test's browser context (its pages) to the app under test carry the lease's
  // headers; those to other origins (a payment or sign-in provider, a CDN) do not: a header that is
  // not CORS-safelisted would make the browser ask them first (a preflight), which they may refuse.
  // A route's fallback adds the headers and leaves the request to the test's own routes. So a test
  // that opens a page holds the worker's lease.
  context: async ({ context, understudy, baseURL, appOrigins }, use) => {
    const origins = headerOrigins(appOrigins, baseURL);
    const headers = understudy.headers;
    if (origins.size > 0) {
      await context.route(
        (url) => origins.has(url.origin),
        (route) => route.fallback({ headers: { ...route.request().headers(), ...headers } }),
      );
    }
    await use(context);
  },
  appOrigins: [[], { option: true }],

  // Follows every test of the worker: whether it used the account, and how it ended
  // (testInfo.status against testInfo.expectedStatus, final by this fixture's teardown).
  _understudyTest: [
    async ({ _understudyWorker: w }, use, testInfo) => {
      w.used = false;
      w.report.started(testInfo);
      await use();
      w.report.ended(testInfo, w.used);
      // For the reporter, which uploads a failed test's trace once Playwright has attached it.
      if (w.used && w.leaseId) testInfo.annotations.push({ type: leaseAnnotation, description: w.leaseId });
    },
    { auto: true },
  ],
  _understudyWorker: [
    async ({}, use) => {
      const state: WorkerState = { report: new WorkerReport(), used: false };
      // A monitor only watches: Playwright still handles the exception as it would.
      const onUncaught = (err: Error) => state.report.error(`uncaught exception: ${err?.message ?? err}`);
      process.on('uncaughtExceptionMonitor', onUncaught);
      try {
        await use(state);
      } finally {
        process.off('uncaughtExceptionMonitor', onUncaught);
      }
    },
    { scope: 'worker' },
  ],

  role: [process.env.UNDERSTUDY_ROLE || 'buyer', { scope: 'worker', option: true }],
  environment: [process.env.UNDERSTUDY_ENVIRONMENT || 'production', { scope: 'worker', option: true }],
  leaseState: [process.env.UNDERSTUDY_STATE ?? '', { scope: 'worker', option: true }],
  leaseTtlSeconds: [300, { scope: 'worker', option: true }],
  leaseWaitSeconds: [120, { scope: 'worker', option: true }],
  flow: [process.env.UNDERSTUDY_FLOW ?? '', { scope: 'worker', option: true }],
  appVersion: [process.env.UNDERSTUDY_VERSION ?? '', { scope: 'worker', option: true }],

  understudy: [
    async (
      { role, environment, leaseState, leaseTtlSeconds, leaseWaitSeconds, flow, appVersion, _understudyWorker: w },
      use,
      workerInfo,
    ) => {
      const client = UnderstudyClient.fromEnv();
      const holder = `${runId()} worker ${workerInfo.parallelIndex}`;
      const run = runNaming({ runId: runId(), flow, project: workerInfo.project.name, version: appVersion });
      await warnIfPoolTooSmall(client, environment, role, workerInfo.config.workers);
      const grant = await client.acquire(
        {
          environment,
          role,
          holder,
          ...(leaseState ? { state: leaseState } : {}),
          ttl_seconds: leaseTtlSeconds,
          wait_seconds: leaseWaitSeconds,
          ...(Object.keys(run).length > 0 ? { run } : {}),
        },
        randomUUID(),
      );
      const renewal = new Renewal(client, grant.lease.id, leaseTtlSeconds);
      w.leaseId = grant.lease.id;
      const account: UnderstudyAccount = {
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
          ...(grant.lease.traceparent ? { traceparent: grant.lease.traceparent } : {}),
          headers: leaseHeaders(grant.lease),
          totp: (app?: string) => currentTOTP(client, grant.lease.id, app),
          inbox: new UnderstudyInbox(client, grant.lease.id),
      };
      // A test that reads any of the account's fields (itself, or through a fixture such as the
      // context's headers) used the account: its outcome is the worker's.
      const watched = new Proxy(account, {
        get(target, key, receiver) {
          w.used = true;
          return Reflect.get(target, key, receiver);
        },
      });
      try {
        await use(watched);
      } finally {
        await renewal.stop();
        if (renewal.lost) w.report.error(`lease ${grant.lease.id} was lost while the worker ran: ${renewal.lost.message}`);
        await releaseWithOutcome(client, grant.lease.id, w.report);
      }
      // Reported after the release, so the account is free whatever happens.
      renewal.throwIfLost();
    },
    // The worker's own timeout: acquiring may wait for a free account.
    { scope: 'worker', timeout: 10 * 60_000 },
  ],
});

/**
 * Releases the lease with the worker's outcome. When the server refuses
 * the outcome (400, 422: a field it does not take), the account is released
 * without it, with a warning: freeing the account comes first.
 */
async function releaseWithOutcome(client: UnderstudyClient, leaseId: string, report: WorkerReport): Promise<void> {
  try {
    await client.release(leaseId, report.release());
  } catch (err) {
    if (!(err instanceof UnderstudyError) || ![400, 422].includes(err.status)) throw err;
    console.warn(`${err.message}; releasing lease ${leaseId} without its outcome`);
    await client.release(leaseId);
  }
}

/** The fewest seconds a code that totp() returns has left: closer to its end, it waits for the next one. */
export const totpMinSecondsLeft = 2;

/**
 * The current authenticator code of the lease's account for app, with at
 * least totpMinSecondsLeft seconds left: when the current one has fewer, it
 * waits until the period ends and returns the next code (which Understudy
 * gives with a code that has fewer than 5 seconds left).
 */
export async function currentTOTP(
  client: Pick<UnderstudyClient, 'totp'>,
  leaseId: string,
  app?: string,
  wait: (ms: number) => Promise<void> = (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
): Promise<string> {
  const c = await client.totp(leaseId, app);
  // valid_for is rounded up: 2 may mean 1.01 s, so it must be more.
  if (c.valid_for > totpMinSecondsLeft) return c.code;
  await wait(c.valid_for * 1000);
  return c.next ?? (await client.totp(leaseId, app)).code;
}

/**
 * The warning for a run of `workers` workers that lease accounts of a role
 * whose pool holds `pool`, or undefined when the pool is large enough.
 */
export function poolWarning(environment: string, role: string, pool: number, workers: number): string | undefined {
  if (pool >= workers) return undefined;
  const effect = pool <= 1 ? 'the run is serial, not parallel' : `only ${pool} of them run at once`;
  return (
    `Understudy: role ${role} of ${environment} has a pool of ${pool} account${pool === 1 ? '' : 's'}, ` +
    `but this run has ${workers} workers: each worker holds an account while it lives and the others wait for one ` +
    `(up to leaseWaitSeconds), so ${effect}. Run with --workers=${Math.max(pool, 1)}, or raise the pool: ` +
    `understudy roles update ${environment} ${role} --pool ${workers}`
  );
}

/**
 * Warns, once per run and role, when the role's pool is smaller than the
 * run's workers. Every worker checks; the first to create a marker file for
 * the run and role prints the warning. The check is advice: when the role
 * cannot be read, acquiring says why.
 */
async function warnIfPoolTooSmall(client: UnderstudyClient, environment: string, role: string, workers: number): Promise<void> {
  if (workers < 2) return;
  let pool: number;
  try {
    pool = (await client.role(environment, role)).pool_size;
  } catch {
    return;
  }
  const warning = poolWarning(environment, role, pool, workers);
  if (warning && firstInRun(`pool\0${environment}\0${role}`)) console.warn(warning);
}

/** The run id this worker was started with, if any, before runId() makes one up. */
const inheritedRunId = process.env.UNDERSTUDY_RUN_ID ?? '';

/**
 * Reports whether this process is the first of the run to ask about key:
 * it creates a marker file named after the run id and key, which only one
 * process can create. When the marker cannot be written it answers true:
 * a warning twice is better than none.
 */
function firstInRun(key: string): boolean {
  const dir = join(tmpdir(), 'understudy-playwright');
  // The runner's process id tells this run's workers (its children) from
  // another run's, with the run id it handed them when there is one.
  const name = createHash('sha256').update(`${process.ppid}\0${inheritedRunId}\0${key}`).digest('hex').slice(0, 32);
  try {
    mkdirSync(dir, { recursive: true });
    closeSync(openSync(join(dir, name), 'wx'));
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'EEXIST';
  }
}

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
  /** Why the lease was lost, when a renewal said it is gone. */
  lost: UnderstudyError | undefined;

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

// The Understudy reporter: it uploads the trace and screenshots of each
// failed test that used a leased account as artifacts of its lease. A
// reporter, because Playwright attaches a test's trace only after the
// test's worker fixtures were torn down: the fixture has released the
// lease by then, and Understudy accepts a lease's artifacts for an hour
// after it ended. Add it beside your reporters in playwright.config.ts:
//
//   reporter: [['list'], ['@understudy/playwright/reporter']],

import type { FullResult, Reporter, TestCase, TestResult } from '@playwright/test/reporter';
import { UnderstudyClient } from './client';
import { uploadEvidence, type EvidenceOf } from './report';

/** The annotation the fixture gives a test that used the account: its description is the lease's id. */
export const leaseAnnotation = 'understudy-lease';

export default class UnderstudyReporter implements Reporter {
  private readonly failed = new Map<string, EvidenceOf[]>();

  onTestEnd(test: TestCase, result: TestResult): void {
    if (result.status === 'skipped' || result.status === test.expectedStatus) return;
    // The result's annotations (Playwright 1.52 on), else the test's, which older ones update.
    const lease = [...(result.annotations ?? []), ...test.annotations].find((a) => a.type === leaseAnnotation)?.description;
    if (!lease) return;
    const list = this.failed.get(lease) ?? [];
    // The title path without the project's and the root's empty titles.
    list.push({ titlePath: test.titlePath().filter(Boolean).slice(1), attachments: result.attachments });
    this.failed.set(lease, list);
  }

  async onEnd(_result: FullResult): Promise<void> {
    if (this.failed.size === 0) return;
    let client: UnderstudyClient;
    try {
      client = UnderstudyClient.fromEnv();
    } catch (err) {
      console.warn(`${err instanceof Error ? err.message : err}: the failed tests' evidence is not uploaded`);
      return;
    }
    for (const [lease, tests] of this.failed) await uploadEvidence(client, lease, tests, new Set());
  }

  printsToStdio(): boolean {
    return false;
  }
}

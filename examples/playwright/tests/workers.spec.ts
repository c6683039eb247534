// No two workers ever hold the same account. Two check-ins run in parallel
// mode; each writes what its worker holds to a directory shared by the run,
// then waits for the other's file. A worker busy waiting takes no other
// test, so the two check-ins run in two workers at once: each then checks,
// through the REST API, that both leases are active and on two accounts,
// and waits for the other to have checked too.
// The harness that runs these examples (UNDERSTUDY_E2E_DIR) reads the files
// to check again.

import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, expect, runId, UnderstudyClient } from '../src/fixture';

test.describe.configure({ mode: 'parallel' });

interface CheckIn {
  parallelIndex: number;
  holder: string;
  leaseId: string;
  accountId: string;
}

const checkIns = [1, 2];

for (const n of checkIns) {
  test(`check-in ${n}: two workers hold two accounts`, async ({ understudy }, testInfo) => {
    test.skip(testInfo.config.workers < 2, 'needs two workers');
    test.setTimeout(60_000);
    const dir = process.env.UNDERSTUDY_E2E_DIR || join(tmpdir(), `understudy-check-ins-${runId()}`);
    mkdirSync(dir, { recursive: true });
    const mine: CheckIn = {
      parallelIndex: testInfo.parallelIndex,
      holder: understudy.holder,
      leaseId: understudy.leaseId,
      accountId: understudy.accountId,
    };
    const other = checkIns.find((m) => m !== n)!;
    // Both steps wait for the other check-in: the first so that the two run
    // at once, the second so that neither ends (and lets its worker release
    // its lease) before the other has looked at both leases.
    const meet = async (step: string) => {
      writeFileSync(join(dir, `${step}-${n}.json`), JSON.stringify(mine, null, 2));
      const theirs = join(dir, `${step}-${other}.json`);
      await expect
        .poll(() => existsSync(theirs), { message: `check-in ${other} runs in another worker`, timeout: 45_000, intervals: [100] })
        .toBe(true);
      return JSON.parse(readFileSync(theirs, 'utf8')) as CheckIn;
    };
    const peer = await meet('check-in');

    expect(peer.parallelIndex, 'the other check-in runs in another worker').not.toBe(mine.parallelIndex);
    expect(peer.accountId, 'the other worker holds another account').not.toBe(mine.accountId);
    const active = await UnderstudyClient.fromEnv().leases({ environment: understudy.environment, role: understudy.role });
    const held = new Map(active.map((l) => [l.id, l.account_id]));
    expect(held.get(mine.leaseId), 'my lease is active, on my account').toBe(mine.accountId);
    expect(held.get(peer.leaseId), "the other worker's lease is active, on its account").toBe(peer.accountId);
    await meet('checked');
  });
}

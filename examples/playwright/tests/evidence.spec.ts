// A test that fails on purpose, run only by the project "evidence" (when
// UNDERSTUDY_E2E_FAILING is set): it signs in and posts, then fails. Its
// worker releases its lease as failed, naming this test, and uploads its
// trace and screenshot as the lease's artifacts; Understudy keeps the
// account's chirp state at the failure, the post with it. The harness that
// runs these examples expects this run to fail.

import { test, expect } from '../src/fixture';
import { post, signIn } from './chirp';

test('a failing check leaves its evidence on the lease', async ({ page, understudy }) => {
  await signIn(page, understudy);
  await post(page, 'Posted just before the check that fails');
  await expect(page.getByTestId('no-such-element'), 'fails on purpose').toBeVisible({ timeout: 1000 });
});

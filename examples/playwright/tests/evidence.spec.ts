// A test that fails on purpose, run only by the project "evidence" (when
// UNDERSTUDY_E2E_FAILING is set): its worker releases its lease as failed,
// naming this test, and uploads its trace and screenshot as the lease's
// artifacts. The harness that runs these examples expects this run to fail.

import { test, expect } from '../src/fixture';

test('a failing check leaves its evidence on the lease', async ({ page }) => {
  await page.goto('/login');
  await expect(page.getByTestId('no-such-element'), 'fails on purpose').toBeVisible({ timeout: 1000 });
});

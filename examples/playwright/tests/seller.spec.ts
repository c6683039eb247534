// A file can lease another role: test.use() sets the worker's options, so
// these tests run in a worker of their own that holds a seller account.

import { test, expect } from '../src/fixture';
import { signIn } from './chirp';

test.use({ role: 'seller' });

test('a seller file leases a seller account', async ({ page, understudy }) => {
  expect(understudy.role).toBe('seller');
  await signIn(page, understudy);
  await expect(page.getByTestId('post-count')).toHaveText('0');
});

// Signs in to chirp as the leased buyer, posts, and reads the feed and the
// leaderboard. The tests of a file run in order, in one worker, on the one
// account the worker leased.

import { test, expect } from '../src/fixture';
import { leaderboardRow, post, signIn } from './chirp';

test('the leased account starts at its baseline', async ({ page, understudy }) => {
  // Whatever earlier runs did with this account, the lease reset it first:
  // a provisioned chirp user has no posts and no points.
  await signIn(page, understudy);
  await expect(page.getByTestId('post-count')).toHaveText('0');
  await expect(page.getByTestId('points')).toHaveText('0');
  await expect(page.getByTestId('feed-empty')).toBeVisible();
});

test('posts and sees the post in the feed', async ({ page, understudy }) => {
  await signIn(page, understudy);
  const body = `Hello from ${understudy.holder}`;
  await post(page, body);
  const first = page.getByTestId('feed-post').first();
  await expect(first.getByTestId('author')).toHaveText(`@${understudy.username}`);
  await expect(first.getByTestId('post-body')).toHaveText(body);
  await expect(page.getByTestId('post-count')).toHaveText('1');
});

test('a post scores on the leaderboard the buyer sees', async ({ page, understudy }) => {
  await signIn(page, understudy);
  const ref = understudy.refs.chirp;
  expect(ref, 'the account has a ref in chirp').toBeTruthy();
  const row = leaderboardRow(page, ref);
  await expect(row).toHaveAttribute('aria-current', 'true');
  const before = Number(await row.getByTestId('leaderboard-points').textContent());
  await post(page, 'Another one for the leaderboard');
  await expect(row.getByTestId('leaderboard-points')).toHaveText(String(before + 10));
  await expect(row.getByTestId('leaderboard-user')).toHaveText(`@${understudy.username}`);
  // A tester's leaderboard shows testers only: a real user, however high
  // their score, is not on it.
  const realUser = process.env.CHIRP_REAL_USERNAME;
  if (realUser) await expect(page.getByTestId('leaderboard')).not.toContainText(`@${realUser}`);
});

test('signs out', async ({ page, understudy }) => {
  await signIn(page, understudy);
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(/\/login$/);
  await page.goto('/');
  await expect(page).toHaveURL(/\/login$/);
});

test('a wrong password is refused', async ({ page, understudy }) => {
  await page.goto('/login');
  await page.getByLabel('Email').fill(understudy.email);
  await page.getByLabel('Password').fill('not the password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('alert')).toHaveText('Wrong email or password.');
});

test("the app's requests carry the lease's trace context and id", async ({ page, understudy }) => {
  expect(understudy.traceparent, 'the server gives the lease a trace context').toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/);
  const request = page.waitForRequest((r) => new URL(r.url()).pathname === '/login');
  await page.goto('/login');
  const headers = await (await request).allHeaders();
  expect(headers['traceparent']).toBe(understudy.traceparent);
  expect(headers['x-understudy-lease']).toBe(understudy.leaseId);
});

// Steps in chirp, the example app, shared by the example tests.

import type { Page } from '@playwright/test';
import { expect, type UnderstudyAccount } from '../src/fixture';

/**
 * Signs in to chirp with the leased account's email and password, then
 * through the walls chirp puts up when it has them on: the one-time code it
 * mails to the account, read from the lease's inbox, and, for a user it
 * enrolled in two-factor authentication (its admins), the authenticator code.
 */
export async function signIn(page: Page, account: UnderstudyAccount): Promise<void> {
  await page.goto('/login');
  await page.getByLabel('Email').fill(account.email);
  await page.getByLabel('Password').fill(account.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  const viewer = page.getByTestId('viewer');
  const mailed = page.getByRole('heading', { name: 'Check your email' });
  const authenticator = page.getByRole('heading', { name: 'Two-factor authentication' });
  await expect(viewer.or(mailed).or(authenticator)).toBeVisible();
  if (await mailed.isVisible()) {
    await page.getByLabel('Code').fill(await account.inbox.waitForCode({ subject: 'sign-in code' }));
    await page.getByRole('button', { name: 'Continue' }).click();
    await expect(viewer.or(authenticator)).toBeVisible();
  }
  if (await authenticator.isVisible()) {
    await page.getByLabel('Code').fill(await account.totp('chirp'));
    await page.getByRole('button', { name: 'Continue' }).click();
  }
  await expect(viewer).toHaveText(`Signed in as @${account.username}`);
}

/** Posts body from the home page. */
export async function post(page: Page, body: string): Promise<void> {
  await page.getByLabel("What's happening?").fill(body);
  await page.getByRole('button', { name: 'Post' }).click();
  await expect(page.getByTestId('feed-post').first().getByTestId('post-body')).toHaveText(body);
}

/** The leaderboard row of the user with this chirp ref. */
export function leaderboardRow(page: Page, ref: string) {
  return page.getByTestId('leaderboard').locator(`[data-testid="leaderboard-entry"][data-user-id="${ref}"]`);
}

// Signs in to chirp as the leased admin through both of chirp's walls: the
// one-time code chirp mails after the password, read from the lease's
// inbox, and the authenticator code of the TOTP secret chirp enrolled when
// Understudy provisioned the account. Then once more by the magic link of
// the same kind of mail.

import { test, expect } from '../src/fixture';
import { signIn } from './chirp';

test.use({ role: 'admin' });

test('signs in with the mailed code and the authenticator code', async ({ page, understudy }) => {
  await signIn(page, understudy);
  await expect(page.getByTestId('viewer')).toHaveText(`Signed in as @${understudy.username}`);
});

test('signs in by the magic link', async ({ page, understudy }) => {
  await page.goto('/login');
  await page.getByLabel('Email').fill(understudy.email);
  await page.getByLabel('Password').fill(understudy.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('heading', { name: 'Check your email' })).toBeVisible();
  const link = await understudy.inbox.waitForLink({ subject: 'sign-in code' });
  expect(new URL(link).pathname).toBe('/login/link');
  await page.goto(link);
  // An admin's authenticator code is asked for after the link too.
  await expect(page.getByRole('heading', { name: 'Two-factor authentication' })).toBeVisible();
  await page.getByLabel('Code').fill(await understudy.totp('chirp'));
  await page.getByRole('button', { name: 'Continue' }).click();
  await expect(page.getByTestId('viewer')).toHaveText(`Signed in as @${understudy.username}`);
});

test('a wrong mailed code is refused', async ({ page, understudy }) => {
  await page.goto('/login');
  await page.getByLabel('Email').fill(understudy.email);
  await page.getByLabel('Password').fill(understudy.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  const code = await understudy.inbox.waitForCode({ subject: 'sign-in code' });
  const wrong = code === '000000' ? '111111' : '000000';
  await page.getByLabel('Code').fill(wrong);
  await page.getByRole('button', { name: 'Continue' }).click();
  await expect(page.getByRole('alert')).toBeVisible();
});

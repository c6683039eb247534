// The lease's headers go to the app under test only: a page that goes on
// to another origin (here a second local server standing for a payment or
// sign-in provider) sends it neither traceparent nor X-Understudy-Lease.

import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test, expect } from '../src/fixture';

test("another origin gets none of the lease's headers", async ({ page, understudy }) => {
  const seen: IncomingHttpHeaders[] = [];
  const thirdParty = createServer((req, res) => {
    seen.push(req.headers);
    res.writeHead(200, { 'Content-Type': 'text/html' }).end('<!doctype html><title>provider</title><p>provider</p>');
  });
  await new Promise<void>((resolve) => thirdParty.listen(0, '127.0.0.1', resolve));
  try {
    const app = page.waitForRequest((r) => new URL(r.url()).pathname === '/login');
    await page.goto('/login');
    expect((await (await app).allHeaders())['x-understudy-lease']).toBe(understudy.leaseId);

    await page.goto(`http://127.0.0.1:${(thirdParty.address() as AddressInfo).port}/checkout`);
    await expect(page.locator('p')).toHaveText('provider');
    expect(seen.length).toBeGreaterThan(0);
    for (const h of seen) {
      expect(h['x-understudy-lease'], 'the third party got the lease id').toBeUndefined();
      expect(h['traceparent'], "the third party got the lease's trace context").toBeUndefined();
    }
  } finally {
    await new Promise((resolve) => thirdParty.close(resolve));
  }
});

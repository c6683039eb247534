// The fixture's report, without a lease: the names of uploaded artifacts,
// the run a lease names, and the text of an error.

import { test, expect } from '@playwright/test';
import { artifactName, errorText, flowName, runNaming } from '../src/report';

test('artifact names are safe, bounded and distinct', () => {
  const taken = new Set<string>();
  const a = artifactName('checkout.spec.ts pays › by card', 'trace', '/tmp/x/trace.zip', taken);
  expect(a).toBe('checkout.spec.ts-pays-by-card--trace.zip');
  expect(artifactName('checkout.spec.ts pays › by card', 'trace', '/tmp/y/trace.zip', taken)).toBe(
    'checkout.spec.ts-pays-by-card--trace-2.zip',
  );
  const odd = artifactName('../../etc/passwd \\ \u0007 ..', 'screenshot', '/tmp/test-failed-1.png', taken);
  expect(odd).toBe('etc-passwd--screenshot.png');
  const long = artifactName('x'.repeat(500), 'a'.repeat(500), 'f.png', taken);
  expect(Buffer.byteLength(long)).toBeLessThanOrEqual(200);
  expect(long.endsWith('.png')).toBe(true);
  expect(artifactName('', '', 'noext', taken)).toBe('attachment');
  for (const n of taken) {
    expect(n).toMatch(/^[A-Za-z0-9_-][A-Za-z0-9._-]*$/);
    expect(n).not.toContain('..');
  }
});

test('the run is named from the options, then GitHub Actions or GitLab CI', () => {
  const gh = {
    GITHUB_RUN_ID: '42',
    GITHUB_SERVER_URL: 'https://github.com/',
    GITHUB_REPOSITORY: 'acme/shop',
    GITHUB_SHA: 'abc123',
  };
  expect(runNaming({ runId: 'gh-42-2', flow: '', project: 'chromium', version: '' }, gh)).toEqual({
    run_id: 'gh-42-2',
    flow: 'chromium',
    ci_url: 'https://github.com/acme/shop/actions/runs/42',
    version: 'abc123',
  });
  const gl = { CI_PIPELINE_ID: '7', CI_JOB_URL: 'https://gitlab.com/acme/shop/-/jobs/9', CI_COMMIT_TAG: 'v1.2', CI_COMMIT_SHA: 'def' };
  expect(runNaming({ runId: '7', flow: 'checkout', project: 'chromium', version: 'v9' }, gl)).toEqual({
    run_id: '7',
    flow: 'checkout',
    ci_url: 'https://gitlab.com/acme/shop/-/jobs/9',
    version: 'v9',
  });
  expect(runNaming({ runId: 'r', flow: '', project: '', version: '' }, { CI_JOB_URL: 'javascript:alert(1)' })).toEqual({ run_id: 'r' });
  expect(flowName('test: [ruby, 3.1]')).toBe('test: -ruby- 3.1-');
});

test("an error's text loses its colours and control characters, and is bounded", () => {
  expect(errorText('\u001b[31mExpected\u001b[39m: 1\r\n\tgot\u0000 2')).toBe('Expected: 1\n\tgot 2');
  const long = errorText('y'.repeat(10_000));
  expect(long.length).toBe(4000);
  expect(long.endsWith('…')).toBe(true);
});

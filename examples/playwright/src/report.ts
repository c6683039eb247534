// What a worker tells Understudy about its run: the run it names at
// acquire, the outcome it records at release from Playwright's own test
// results, and the evidence (traces, screenshots) of its failed tests,
// uploaded as the lease's artifacts.

import { readFileSync, statSync } from 'node:fs';
import { basename, extname } from 'node:path';
import type { TestInfo } from '@playwright/test';
import type { LeaseRelease, RunNaming, UnderstudyClient } from './client';

/** The largest artifact Understudy accepts: 10 MiB. */
export const maxArtifactBytes = 10 * 1024 * 1024;

/** The longest artifact name Understudy accepts, in bytes. */
export const maxArtifactName = 200;

/** The longest failure message the fixture sends (the server takes 8192 characters). */
export const maxMessage = 4000;

/** The longest test name the fixture sends (the server takes 1000 characters). */
export const maxTestName = 1000;

/** What a flow's name may not hold (RunNaming.flow). */
const notFlow = /[^A-Za-z0-9 _.:/@+#-]+/g;

/**
 * A name made a flow's: characters a flow may not hold become "-", it
 * starts with a letter or digit, does not end with a space and is at most
 * 100 characters; "" when nothing is left. It is what `understudy lease`
 * does with a CI job's name.
 */
export function flowName(name: string): string {
  let s = name.replace(notFlow, '-').replace(/^[ _.:/@+#-]+/, '');
  if (s.length > 100) s = s.slice(0, 100);
  return s.replace(/ +$/, '');
}

/** s without control characters (C0, DEL, C1) and at most n characters long. */
function plain(s: string, n: number): string {
  return s.replace(/[\u0000-\u001f\u007f-\u009f]/g, '').slice(0, n);
}

/** An http or https URL with a host and no user name or password (RunURL), or "". */
function runURL(s: string): string {
  return /^https?:\/\/[^\s/?#@]+([/?#]\S*)?$/.test(s) && s.length <= 2048 ? s : '';
}

/**
 * The run a worker names at acquire, from the variables GitHub Actions and
 * GitLab CI set in every job, as `understudy lease` reads them:
 * https://docs.github.com/en/actions/reference/variables-reference (the run
 * page is $GITHUB_SERVER_URL/$GITHUB_REPOSITORY/actions/runs/$GITHUB_RUN_ID,
 * the commit GITHUB_SHA) and
 * https://docs.gitlab.com/ci/variables/predefined_variables/ (CI_JOB_URL,
 * CI_COMMIT_TAG, CI_COMMIT_SHA). runId is the fixture's run id (runId());
 * flow and version are the fixture's options, the flow defaulting to the
 * Playwright project's name. Fields left empty are left out.
 */
export function runNaming(
  opts: { runId: string; flow: string; project: string; version: string },
  env: NodeJS.ProcessEnv = process.env,
): RunNaming {
  let ciURL = '';
  if (env.GITHUB_RUN_ID) {
    if (env.GITHUB_SERVER_URL && env.GITHUB_REPOSITORY) {
      ciURL = `${env.GITHUB_SERVER_URL.replace(/\/+$/, '')}/${env.GITHUB_REPOSITORY}/actions/runs/${env.GITHUB_RUN_ID}`;
    }
  } else {
    ciURL = env.CI_JOB_URL ?? '';
  }
  const version = opts.version || env.GITHUB_SHA || env.CI_COMMIT_TAG || env.CI_COMMIT_SHA || '';
  const n: RunNaming = {
    run_id: plain(opts.runId, 200),
    flow: flowName(opts.flow || opts.project),
    ci_url: runURL(ciURL),
    version: plain(version, 200),
  };
  for (const k of Object.keys(n) as (keyof RunNaming)[]) if (!n[k]) delete n[k];
  return n;
}

/** The text of an error as Playwright reports it, without its terminal colours and control characters. */
export function errorText(message: string, n = maxMessage): string {
  // eslint-disable-next-line no-control-regex
  const s = message.replace(/\u001b\[[0-9;?]*[ -/]*[@-~]/g, '').replace(/\r\n?/g, '\n');
  // Lines and tabs stay; other control characters go.
  // eslint-disable-next-line no-control-regex
  const clean = s.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, '');
  return clean.length > n ? `${clean.slice(0, n - 1)}…` : clean;
}

/**
 * A name for an artifact that Understudy accepts (1 to 200 bytes, no "/",
 * "\", "..", control characters): letters, digits, ".", "_" and "-" only,
 * from the test's title and the attachment's name and file extension, with
 * the test's part truncated first. taken holds the names already given in
 * this lease: a name given twice gets "-2", "-3"… before its extension.
 */
export function artifactName(testTitle: string, attachment: string, file: string, taken: Set<string>): string {
  const safe = (s: string) =>
    s
      .replace(/[^A-Za-z0-9._-]+/g, '-')
      .replace(/\.{2,}/g, '.')
      .replace(/-{2,}/g, '-')
      .replace(/^[-.]+|[-.]+$/g, '');
  const ext = safe(extname(file)).slice(0, 16);
  let what = safe(attachment) || 'attachment';
  if (ext && what.toLowerCase().endsWith(`.${ext.toLowerCase()}`)) what = what.slice(0, -(ext.length + 1));
  what = what.slice(0, 60);
  const tail = ext ? `.${ext}` : '';
  const room = maxArtifactName - what.length - tail.length - 8; // "--", and "-NNNN" for a duplicate
  const title = safe(testTitle).slice(0, Math.max(room, 0)).replace(/[-.]+$/, '');
  const stem = title ? `${title}--${what}` : what;
  let name = `${stem}${tail}`;
  for (let i = 2; taken.has(name); i++) name = `${stem}-${i}${tail}`;
  taken.add(name);
  return name;
}

/** One test's result as far as the run's outcome goes. */
interface Failure {
  title: string;
  message: string;
}

/**
 * WorkerReport follows a worker's tests that used its account and makes
 * the release's outcome from them: failed when one ended other than
 * expected (failed or timed out; its title path and error are the first
 * failure's), errored when the worker stopped for an error outside its
 * tests (a test still running at teardown, an uncaught exception, a lost
 * lease), passed otherwise.
 */
export class WorkerReport {
  private failures: Failure[] = [];
  private running: TestInfo | undefined;
  private errors: string[] = [];
  private interrupted = false;

  /** Notes that a test started in this worker. */
  started(info: TestInfo): void {
    this.running = info;
  }

  /**
   * Notes how a test ended (from testInfo.status and expectedStatus, read in
   * the teardown of a test fixture); used tells whether it used the account.
   */
  ended(info: TestInfo, used: boolean): void {
    this.running = undefined;
    if (!used) return;
    if (info.status === 'interrupted') {
      this.interrupted = true;
      return;
    }
    if (info.status === 'skipped' || info.status === info.expectedStatus) return;
    const err = info.errors[0];
    const message = err ? errorText(err.message ?? err.value ?? '') : `ended ${info.status}, expected ${info.expectedStatus}`;
    this.failures.push({ title: plain(info.titlePath.join(' › '), maxTestName), message });
  }

  /** Notes an error outside the worker's tests. */
  error(message: string): void {
    this.errors.push(errorText(message));
  }

  /** The outcome, message and test the release records. */
  release(): Required<Pick<LeaseRelease, 'outcome'>> & Pick<LeaseRelease, 'message' | 'test'> {
    const first = this.failures[0];
    if (first) {
      const more = this.failures.length > 1 ? ` (and ${this.failures.length - 1} more failed test${this.failures.length > 2 ? 's' : ''})` : '';
      return { outcome: 'failed', test: first.title, message: errorText(first.message + more) };
    }
    if (this.running) {
      return {
        outcome: 'errored',
        test: plain(this.running.titlePath.join(' › '), maxTestName),
        message: errorText(['the worker stopped while this test ran', ...this.errors].join('; ')),
      };
    }
    if (this.errors.length > 0) return { outcome: 'errored', message: errorText(this.errors.join('; ')) };
    if (this.interrupted) return { outcome: 'errored', message: 'the run was interrupted' };
    return { outcome: 'passed' };
  }
}

/** A failed test's title path (file first) and attachments, as a reporter sees them. */
export interface EvidenceOf {
  titlePath: string[];
  attachments: { name: string; path?: string; contentType: string }[];
}

/**
 * Uploads the files a failed test attached (its result's attachments with a
 * path: its trace, its screenshots) as artifacts of the lease. A file over
 * 10 MiB is skipped with a warning; an upload that fails is warned about,
 * never thrown: the evidence never fails the run.
 */
export async function uploadEvidence(
  client: Pick<UnderstudyClient, 'putArtifact'>,
  leaseId: string,
  failed: EvidenceOf[],
  taken: Set<string>,
  warn: (msg: string) => void = console.warn,
): Promise<number> {
  let uploaded = 0;
  for (const t of failed) {
    const title = t.titlePath.slice(1).join(' ');
    for (const a of t.attachments) {
      if (!a.path) continue;
      try {
        const size = statSync(a.path).size;
        if (size > maxArtifactBytes) {
          warn(`Understudy: not uploading ${basename(a.path)} of "${title}": ${size} bytes, over the 10 MiB an artifact may hold`);
          continue;
        }
        const name = artifactName(title, a.name, a.path, taken);
        await client.putArtifact(leaseId, name, readFileSync(a.path), a.contentType || 'application/octet-stream');
        uploaded++;
      } catch (err) {
        warn(`Understudy: could not upload ${a.name} of "${title}" to lease ${leaseId}: ${err instanceof Error ? err.message : err}`);
      }
    }
  }
  return uploaded;
}

// The inbox of a worker's lease: the mail its account received while the
// lease was open (openapi/openapi.yaml, tag "inbox"). A test waits here for
// the sign-in code or magic link the app under test mailed it.
//
//   const code = await understudy.inbox.waitForCode({ subject: 'sign-in' });

import { UnderstudyClient, UnderstudyError } from './client';

/** A one-time code found in a message, most likely first (MessageCodeCandidate). */
export interface MessageCodeCandidate {
  value: string;
  /** Where it was found: subject, text or html. */
  source: string;
  score: number;
}

/** A link found in a message, verification and magic links first (MessageLink). */
export interface MessageLink {
  url: string;
  /** verification, magic, unsubscribe or other. */
  kind: string;
  /** A known click-tracking redirect; target is where it leads, when it says so. */
  tracking?: boolean;
  target?: string;
  score: number;
}

/** A received message with its body (Message). */
export interface Message {
  id: string;
  account_id: string;
  lease_id?: string;
  received_at: string;
  via: 'smtp' | 'https';
  envelope_from: string;
  /** The envelope recipient as it was given, plus-tag included. */
  to: string;
  /** The address of the From header. */
  from: string;
  subject: string;
  size: number;
  code_count: number;
  link_count: number;
  /** Why the message could not be read in full; it is kept raw. */
  parse_error?: string;
  body?: {
    subject: string;
    headers: { name: string; value: string }[];
    text: string;
    /** Sanitized: no scripts, frames, forms, event handlers or remote loads. */
    html: string;
    codes: MessageCodeCandidate[];
    links: MessageLink[];
  };
}

/** The newest matching message's most likely code and link (MessageCode). */
export interface MessageCode {
  message_id: string;
  received_at: string;
  code?: string;
  link?: string;
  codes: MessageCodeCandidate[];
  links: MessageLink[];
}

/** What a wait for a code or link accepts. */
export interface InboxWaitOptions {
  /** How long to wait in all, in milliseconds. Defaults to 20 000 (defaultTimeoutMs). */
  timeout?: number;
  /** Only messages whose From address contains this (case-insensitive). */
  from?: string;
  /** Only messages whose subject contains this (case-insensitive). */
  subject?: string;
  /**
   * Only messages received after this message id. Defaults to the last
   * message a wait of this inbox returned: each wait hands out a new mail,
   * so a test that signs in twice never types the first mail's code again.
   * Pass '' to look at every message since the lease began.
   */
  after?: string;
}

/** What a listing accepts. */
export interface InboxListOptions {
  from?: string;
  subject?: string;
  /** Only messages received after this message id. */
  after?: string;
  /** At most this many, 1 to 100. Defaults to 20. */
  limit?: number;
}

/**
 * How long a wait lasts unless told: less than Playwright's own test
 * timeout (30 s), so a mail that never comes fails with this fixture's
 * message, which names the lease and the filter, not Playwright's.
 */
export const defaultTimeoutMs = 20_000;

/** The longest slice of one long poll: the server waits at most 60 s per call. */
const maxSliceMs = 60_000;

/** The problem type of a wait that ended without a message. */
const noMessage = 'urn:understudy:problem:no-message';

/** The problem type of a wait on a lease that has ended: waiting longer cannot help. */
const leaseEnded = 'urn:understudy:problem:lease-ended';

/** The inbox of one lease. Every call reads only mail received since the lease began. */
export class UnderstudyInbox {
  /** The id of the newest message a wait returned: later waits look past it. */
  private lastReturned?: string;

  constructor(
    private readonly client: UnderstudyClient,
    readonly leaseId: string,
  ) {}

  /** The lease's messages, newest first, with their bodies, codes and links. */
  async messages(opts: InboxListOptions = {}): Promise<Message[]> {
    const q = query({ from: opts.from, subject: opts.subject, after: opts.after, limit: opts.limit?.toString() });
    const list = await this.client.get<{ items: Message[] }>(
      `reading the inbox of lease ${this.leaseId}`,
      `/v1/leases/${encodeURIComponent(this.leaseId)}/messages${q}`,
    );
    return list.items;
  }

  /**
   * Waits for the newest message with a code, newer than the last one a wait
   * returned, and returns its most likely code. A mail's code and link both
   * come from one waitFor('code').
   */
  async waitForCode(opts: InboxWaitOptions = {}): Promise<string> {
    return (await this.waitFor('code', opts)).code!;
  }

  /**
   * Waits for the newest message with a link (not an unsubscribe link),
   * newer than the last one a wait returned, and returns its most likely link.
   */
  async waitForLink(opts: InboxWaitOptions = {}): Promise<string> {
    return (await this.waitFor('link', opts)).link!;
  }

  /**
   * Waits for the newest message that has a code (or a link) and returns
   * all it found. It long-polls in slices of at most 60 s until the
   * timeout; a slice the server could not finish (503: it restarted, or
   * lost its database notifications) is tried again.
   */
  async waitFor(kind: 'code' | 'link', opts: InboxWaitOptions = {}): Promise<MessageCode> {
    const timeout = opts.timeout ?? defaultTimeoutMs;
    const deadline = Date.now() + timeout;
    const what = `waiting for a ${kind} in the inbox of lease ${this.leaseId}`;
    for (;;) {
      const slice = Math.max(0, Math.min(maxSliceMs, deadline - Date.now()));
      const after = opts.after ?? this.lastReturned;
      const q = query({ kind, wait: `${Math.floor(slice)}ms`, from: opts.from, subject: opts.subject, after });
      const started = Date.now();
      try {
        const found = await this.client.get<MessageCode>(what, `/v1/leases/${encodeURIComponent(this.leaseId)}/code${q}`, slice + 30_000);
        this.lastReturned = found.message_id;
        return found;
      } catch (err) {
        if (err instanceof UnderstudyError && err.problem?.type === leaseEnded) {
          throw new Error(`Understudy: ${err.problem.detail ?? `lease ${this.leaseId} has ended`}`);
        }
        const again =
          err instanceof UnderstudyError &&
          ((err.status === 404 && err.problem?.type === noMessage) || err.status === 503 || err.status === 0);
        if (!again) throw err;
        const left = deadline - Date.now();
        if (left <= 0) {
          const filter = [opts.from && `from ${opts.from}`, opts.subject && `subject ${opts.subject}`].filter(Boolean).join(', ');
          throw new Error(
            `Understudy: no message with a ${kind}${filter ? ` (${filter})` : ''} arrived in the inbox of lease ${this.leaseId} within ${timeout} ms`,
          );
        }
        // An answer sooner than the slice (a 503, an ended lease) is not
        // asked again at once.
        if (Date.now() - started < slice) await sleep(Math.min(1000, left));
      }
    }
  }
}

function query(params: Record<string, string | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : '';
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

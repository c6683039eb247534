// A small client of Understudy's REST API: the lease calls a test run
// makes (openapi/openapi.yaml, tags "leases" and "totp"). It never puts the
// token, a password or an authenticator code in an error message.

/** An RFC 9457 problem, as Understudy answers every error. */
export interface Problem {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  code?: string;
  request_id?: string;
  errors?: { field: string; detail: string }[];
}

/** What a lease request asks for (LeaseRequest). */
export interface LeaseRequest {
  environment: string;
  role: string;
  /** Who holds the lease: a CI job, a worker index. At most 200 characters. */
  holder: string;
  /** The named state the account is reset to. Defaults to the baseline, "initial". */
  state?: string;
  ttl_seconds?: number;
  wait_seconds?: number;
  /** The run the lease is used for (RunNaming): every field optional. */
  run?: RunNaming;
}

/** The run a lease is used for (RunNaming); an empty or absent field is unnamed. */
export interface RunNaming {
  /** The CI's id of the run, at most 200 characters. */
  run_id?: string;
  /** The flow (or test path) the run exercises, at most 100 characters: letters, digits, spaces and `. _ : / @ + # -`. */
  flow?: string;
  /** The CI job's page: an http or https URL. */
  ci_url?: string;
  /** The version of the app under test, at most 200 characters. */
  version?: string;
}

/** How a run ended, as its release tells it (ReleaseOutcome). */
export type ReleaseOutcome = 'passed' | 'failed' | 'errored';

/** What a release records (LeaseRelease). */
export interface LeaseRelease {
  /** Reset the account to the lease's state before freeing it. */
  reset?: boolean;
  outcome?: ReleaseOutcome;
  /** Why the run failed or errored, at most 8192 characters; needs outcome. */
  message?: string;
  /** The name of the test that failed, at most 1000 characters; needs outcome. */
  test?: string;
}

/** An uploaded artifact of a lease (Artifact). */
export interface Artifact {
  lease_id: string;
  name: string;
  size: number;
  sha256: string;
  content_type: string;
  uploaded_at: string;
  uploaded_by: string;
}

/** A lease (Lease). */
export interface Lease {
  id: string;
  account_id: string;
  environment: string;
  role: string;
  holder: string;
  state: string;
  status: 'acquiring' | 'active' | 'released' | 'expired' | 'failed';
  status_reason: string;
  acquired_at: string;
  expires_at: string;
  ended_at?: string;
  /** The lease's W3C trace context: its trace joins its reset, its apps' calls and its release. */
  traceparent?: string;
}

/** A granted lease: the lease, the freshly reset account, its credentials and refs (LeaseGrant). */
export interface LeaseGrant {
  lease: Lease;
  account: {
    id: string;
    environment: string;
    role: string;
    identity: { email: string; username: string; display_name: string; [key: string]: unknown };
    [key: string]: unknown;
  };
  credentials: { account_id: string; email: string; username: string; password: string; rotated_at: string };
  /** The account's user id in each app, by app name. */
  refs: Record<string, string>;
}

/** A role of an environment (Role): its pool is how many accounts of it can be leased at once. */
export interface Role {
  id: string;
  environment: string;
  name: string;
  description: string;
  pool_size: number;
  [key: string]: unknown;
}

/** The current authenticator code of a leased account for one app (TOTPCode). It is never logged. */
export interface TOTPCode {
  code: string;
  /** Seconds the code has left, 1 to period. */
  valid_for: number;
  /** The next period's code, given only when fewer than 5 seconds are left. */
  next?: string;
  period: number;
  digits: number;
}

/** An error answer of Understudy, or a failure to reach it. */
export class UnderstudyError extends Error {
  constructor(
    message: string,
    /** The HTTP status, or 0 when Understudy could not be reached. */
    readonly status: number,
    readonly problem?: Problem,
  ) {
    super(message);
    this.name = 'UnderstudyError';
  }
}

/** How many times a call is tried when Understudy is unreachable or answers 502/503. */
const attempts = 3;

/** Statuses worth another try: the server or an app behind it is briefly unavailable. */
const retryable = new Set([0, 502, 503]);

export class UnderstudyClient {
  readonly baseURL: string;
  // A private field: printing or inspecting the client never shows the token.
  readonly #token: string;

  constructor(baseURL: string, token: string) {
    if (!baseURL) throw new Error('Understudy: the server URL is empty (set UNDERSTUDY_URL)');
    if (!token) throw new Error('Understudy: the token is empty (set UNDERSTUDY_TOKEN to a runner token)');
    this.baseURL = baseURL.replace(/\/+$/, '');
    this.#token = token;
  }

  /** The client of UNDERSTUDY_URL with UNDERSTUDY_TOKEN. */
  static fromEnv(env: NodeJS.ProcessEnv = process.env): UnderstudyClient {
    return new UnderstudyClient(env.UNDERSTUDY_URL ?? '', env.UNDERSTUDY_TOKEN ?? '');
  }

  /**
   * Leases a freshly reset account. The idempotency key makes a retried
   * request return the same lease instead of taking a second account.
   */
  acquire(req: LeaseRequest, idempotencyKey: string): Promise<LeaseGrant> {
    const what = `leasing a ${req.role} account in ${req.environment}`;
    const timeoutMs = ((req.wait_seconds ?? 0) + 120) * 1000; // the wait, then the reset
    return this.call<LeaseGrant>(what, 'POST', '/v1/leases', req, timeoutMs, { 'Idempotency-Key': idempotencyKey });
  }

  /** Extends an active lease to ttlSeconds from now. */
  renew(leaseId: string, ttlSeconds: number): Promise<Lease> {
    return this.call<Lease>(`renewing lease ${leaseId}`, 'POST', `/v1/leases/${encodeURIComponent(leaseId)}/renew`, {
      ttl_seconds: ttlSeconds,
    });
  }

  /**
   * Ends a lease and frees its account, recording the run's outcome when
   * opts has one; releasing twice with the same outcome is not an error.
   */
  release(leaseId: string, opts: LeaseRelease = {}): Promise<Lease> {
    return this.call<Lease>(`releasing lease ${leaseId}`, 'POST', `/v1/leases/${encodeURIComponent(leaseId)}/release`, {
      ...opts,
      reset: opts.reset ?? false,
    });
  }

  /**
   * Uploads body as the artifact name of a lease (a trace, a screenshot), at
   * most 10 MiB; uploading a name again replaces it. Accepted while the lease
   * is open and for an hour after it ended.
   */
  putArtifact(leaseId: string, name: string, body: Uint8Array, contentType = 'application/octet-stream'): Promise<Artifact> {
    return this.call<Artifact>(
      `uploading artifact ${JSON.stringify(name)} of lease ${leaseId}`,
      'PUT',
      `/v1/leases/${encodeURIComponent(leaseId)}/artifacts/${encodeURIComponent(name)}`,
      body,
      120_000,
      { 'Content-Type': contentType },
    );
  }

  /** A role, with its pool size (a runner token may read it). */
  role(environment: string, role: string): Promise<Role> {
    return this.call<Role>(
      `reading role ${role} of ${environment}`,
      'GET',
      `/v1/environments/${encodeURIComponent(environment)}/roles/${encodeURIComponent(role)}`,
    );
  }

  /**
   * The current authenticator (TOTP) code of a leased account for app (its
   * one secret when app is left out), to the token that holds the lease.
   */
  totp(leaseId: string, app?: string): Promise<TOTPCode> {
    const q = app ? `?${new URLSearchParams({ app })}` : '';
    const what = `reading the authenticator code of lease ${leaseId}${app ? ` for app ${app}` : ''}`;
    return this.call<TOTPCode>(what, 'GET', `/v1/leases/${encodeURIComponent(leaseId)}/totp${q}`);
  }

  /** The active leases (or, with all, the newest leases of any status), newest first. */
  async leases(filter: { environment?: string; role?: string; all?: boolean } = {}): Promise<Lease[]> {
    const q = new URLSearchParams();
    if (filter.environment) q.set('environment', filter.environment);
    if (filter.role) q.set('role', filter.role);
    if (filter.all) q.set('all', 'true');
    const list = await this.call<{ items: Lease[] }>('listing leases', 'GET', `/v1/leases?${q}`);
    return list.items;
  }

  /**
   * A GET of any path of the API, as the calls above make it (retried when
   * Understudy is unreachable or answers 502/503); what names the call in
   * errors.
   */
  get<T>(what: string, path: string, timeoutMs = 30_000): Promise<T> {
    return this.call<T>(what, 'GET', path, undefined, timeoutMs);
  }

  private async call<T>(
    what: string,
    method: string,
    path: string,
    body?: unknown,
    timeoutMs = 30_000,
    headers: Record<string, string> = {},
  ): Promise<T> {
    let last: UnderstudyError | undefined;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      if (attempt > 1) await sleep(500 * 2 ** (attempt - 2));
      try {
        return await this.once<T>(what, method, path, body, timeoutMs, headers);
      } catch (err) {
        if (!(err instanceof UnderstudyError) || !retryable.has(err.status)) throw err;
        last = err;
      }
    }
    throw last;
  }

  private async once<T>(
    what: string,
    method: string,
    path: string,
    body: unknown,
    timeoutMs: number,
    headers: Record<string, string>,
  ): Promise<T> {
    let resp: Response;
    try {
      resp = await fetch(this.baseURL + path, {
        method,
        headers: {
          Accept: 'application/json',
          Authorization: `Bearer ${this.#token}`,
          ...(body === undefined || body instanceof Uint8Array ? {} : { 'Content-Type': 'application/json' }),
          ...headers,
        },
        // A copy: fetch takes a Uint8Array over an ArrayBuffer, not over any buffer.
        body: body === undefined ? undefined : body instanceof Uint8Array ? new Uint8Array(body) : JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      const cause = err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err);
      throw new UnderstudyError(`Understudy: ${what}: cannot reach ${this.baseURL}: ${cause}`, 0);
    }
    const text = await resp.text();
    if (resp.ok) return JSON.parse(text) as T;
    let problem: Problem | undefined;
    try {
      problem = JSON.parse(text) as Problem;
    } catch {
      problem = undefined;
    }
    throw new UnderstudyError(`Understudy: ${what}: ${describe(resp, problem)}`, resp.status, problem);
  }
}

/** The server's own words for a failure: status, code, detail, each bad field and the request id. */
function describe(resp: Response, p: Problem | undefined): string {
  if (!p || typeof p !== 'object') return `HTTP ${resp.status} ${resp.statusText}`;
  let s = `HTTP ${resp.status}${p.code ? ` ${p.code}` : ''}: ${p.detail || p.title || resp.statusText}`;
  for (const e of p.errors ?? []) s += `; ${e.field}: ${e.detail}`;
  const retryAfter = resp.headers.get('Retry-After');
  if (retryAfter) s += ` (retry after ${retryAfter}s)`;
  if (p.request_id) s += ` [request ${p.request_id}]`;
  return s;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// Package posthog publishes synthetic identities to PostHog: it marks each
// person (is_synthetic and the other tags as person properties), keeps a
// static cohort of them, installs the project's test-account filter that
// removes them from reports, and checks with a query that they are gone.
//
// # Endpoints and the facts relied on
//
// Hosts: public endpoints on the ingest host (https://us.i.posthog.com,
// EU https://eu.i.posthog.com), the private API on the app host
// (https://us.posthog.com, EU https://eu.posthog.com)
// (https://posthog.com/docs/api).
//
//   - mark: POST {ingest}/batch/ {"api_key":<project token>,"batch":[…]}
//     with one "$set" event per identity, properties {"$set":{…}}
//     (is_synthetic a JSON boolean); unmark sends {"$unset":[tag names]}.
//     No auth header: the project token is in the body. PostHog documents
//     no limit on the number of events, only a body under 20 MB, and no
//     rate limit on public endpoints
//     (https://posthog.com/docs/api/capture#batch-events,
//     https://posthog.com/docs/api#rate-limiting). The publisher sends
//     MaxBatch (500) identities per request and splits any body over 1 MiB,
//     so a batch stays small to retry and to acknowledge.
//   - 200 is not success: PostHog drops events without a name or
//     distinct_id and still answers 200 (https://posthog.com/docs/api/capture#invalid-events),
//     so an identity without a distinct id is refused before sending. The
//     200 body is {"status":"Ok"}, with "quota_limited" naming products
//     whose events were dropped for the billing limit (PostHog's capture
//     service, rust/capture/src/api.rs in github.com/PostHog/posthog); any
//     other status, or quota_limited holding "events", is ErrRejected.
//   - credentials: 401 {"type":"authentication_error","code":"invalid_api_key",…}
//     for a bad project token, "invalid_personal_api_key" for a bad
//     personal key (https://posthog.com/docs/api#responses). A personal key
//     is sent as "Authorization: Bearer phx_…".
//   - Test: with a personal key, GET /api/projects/{id}/, whose api_token
//     must be the configured project token; without one, POST
//     {ingest}/flags/?v=2 {"api_key","distinct_id"}, which answers 401 for
//     an invalid project token (rust/feature-flags in github.com/PostHog/posthog)
//     and captures nothing.
//   - list: a static cohort. GET /api/projects/{id}/cohorts/?limit&offset
//     to find it by name, POST /api/projects/{id}/cohorts/
//     {"name","is_static":true,"description"} to create it
//     (https://posthog.com/docs/api/cohorts); PATCH
//     …/cohorts/{id}/add_persons_to_static_cohort/ {"person_ids":[uuid…]}
//     (at most 1000, answer {"success":true}) and PATCH
//     …/cohorts/{id}/remove_person_from_static_cohort/ {"person_id":uuid}
//     (one person, idempotent), per posthog/api/cohort.py in
//     github.com/PostHog/posthog. Scopes cohort:read, cohort:write.
//   - filter: GET and PATCH /api/projects/{id}/ with test_account_filters
//     and test_account_filters_default_checked (scopes project:read,
//     project:write); the filters written are
//     {"key":"is_synthetic","type":"person","value":["true"],"operator":"is_not"}
//     and {"key":"id","type":"cohort","value":<cohort id>,"operator":"not_in"},
//     every other filter is kept as read. PostHog stores a person's
//     properties on each event when it is ingested and filters on those
//     (https://posthog.com/docs/how-posthog-works/queries), so the person
//     filter keeps the events sent before a person was marked; the cohort
//     filter is judged by current membership and removes them.
//   - hosts may carry a path prefix (a self-hosted PostHog behind a proxy):
//     requests go to the prefix followed by the documented path.
//   - verify and person lookup: POST /api/projects/{id}/query/ with a
//     HogQLQuery, refresh "force_blocking" (https://posthog.com/docs/api/queries);
//     the query's {filters} placeholder takes filters.filterTestAccounts
//     (https://posthog.com/docs/sql). A 200 whose body holds "error" or a
//     failed or incomplete query_status is ErrRejected.
//   - rate limits: the private API is limited per team: 480/minute and
//     4800/hour for CRUD endpoints, 240/minute and 1200/hour for analytics
//     endpoints, and the query endpoint 240/minute and 2400/hour (some
//     projects still 120/hour) (https://posthog.com/docs/api#rate-limiting,
//     https://posthog.com/docs/api/queries#rate-limits). A 429 is retried by
//     tagging.Sender honouring Retry-After, up to an hour (an hourly
//     window's wait is not cut short and retried early); a wait that would
//     end after the context's deadline is not started: the call fails at
//     once with ErrUnavailable, saying how long PostHog asked to wait and
//     how long the run had left.
//
// # What is not confirmed, and how it is handled
//
//   - The cohort creation body beyond name and is_static: settings.cohort_id
//     names an existing static cohort and skips finding and creating one.
//   - Person lookup: GET /api/projects/{id}/persons/?distinct_id=… would
//     take one request per identity in the 240/minute analytics class; the
//     publisher instead runs one HogQL query per batch over the
//     person_distinct_ids table, with the distinct ids bound as the {ids}
//     placeholder value (HogQLQuery.values). The table name and values
//     binding come from PostHog's query schema, not from a docs page.
//   - A person exists only once an event names it, and ingestion is
//     asynchronous: AddToList marks the identities PostHog has no person for,
//     waits settings.person_wait and looks again; those still missing are not
//     acknowledged, the error is ErrUnavailable, and the next run adds them.
//   - The "Drop Events" transformation's filter body: it is left to a
//     person, as exact UI steps in ManualSteps. PostHog documents that
//     transformations see only the event, not the person
//     (https://posthog.com/docs/cdp/transformations/customizing-transformations),
//     so that filter needs is_synthetic on each event.
//   - Verification is conservative: every identity counts as visible when
//     Understudy's filter is not installed; otherwise the query reports the
//     identities that still have events past the filters (one with no event
//     in the window cannot be seen either way).
//
// # Why not posthog-go
//
// github.com/posthog/posthog-go queues events and sends them from a
// background goroutine in batches it chooses, reporting failures to a
// callback rather than to the caller; it hides the per-batch answer that an
// Ack needs, and it has no private-API calls (cohorts, projects, queries).
// The publisher speaks the HTTP API directly through tagging.Sender, which
// gives every request the same retries, error mapping and redaction.
//
// Without secrets.personal_api_key New returns a MarkOnly, which marks
// through /batch/ and puts the filter and cohort in ManualSteps.
package posthog

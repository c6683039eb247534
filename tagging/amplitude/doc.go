// Package amplitude is the Amplitude publisher (Kind "amplitude"): it
// marks synthetic identities with user properties through the Identify
// API and keeps a cohort of exactly those identities through the
// Behavioral Cohorts API. Amplitude has no API for a project-level filter,
// so ManualSteps prints the steps of a saved segment that leaves the
// cohort out.
//
// # Configuration
//
//	settings: {"region": "us", "app_id": 123456, "owner": "analyst@example.com",
//	           "cohort_id": "", "cohort_name": "Understudy synthetic accounts", "batch_size": 1000}
//	secrets:  {"api_key": "…", "secret_key": "…"}
//
// Settings are decoded strictly (an unknown field is refused) and every
// problem is a *tagging.ConfigError naming its JSON path. app_id and owner
// are needed only to create the cohort, so they may be left out when
// cohort_id names an existing one.
//
// # Mark and unmark: the Identify API
//
// https://amplitude.com/docs/apis/analytics/identify
//
//   - POST https://api2.amplitude.com/identify, or
//     https://api.eu.amplitude.com/identify for EU data residency.
//   - The body is form-encoded (x-www-form-urlencoded): api_key=<key> and
//     identification=<JSON array>. It is not JSON: a JSON body carries no
//     form parameters and is refused with 400.
//   - Each identification is {"user_id": <distinct id>, "user_properties":
//     {"$set": {tags}}}; Unmark sends "$unset" of the same keys. Operations
//     and plain properties cannot be mixed, so everything goes inside $set.
//     is_synthetic is sent as a boolean.
//   - Status codes: 200 success, 400 bad request ("missing_event" when
//     identification is missing or malformed), 414 (a GET too long), 429.
//     "All throttling and status code guidance from Amplitude's HTTP V2 API
//     applies to the Identify API":
//     https://amplitude.com/docs/apis/analytics/http-v2. From there: a
//     refused key is 400 with the error "Invalid API key" (answered as
//     {"code":400,"error":"Invalid API key: <the key>"}, see
//     https://github.com/amplitude/Amplitude-Swift/issues/260; older form
//     endpoints answer the text "invalid_api_key"). The publisher reads such
//     a 400 as tagging.ErrCredentials, and says that a key of a project in
//     the other region is refused the same way. The key it echoes is
//     redacted from every error.
//   - Limits: requests under 1 MB and fewer than 2000 events (413 above);
//     these are HTTP V2's and the Identify page defers to them, so they are
//     applied here but not confirmed for identify alone: batch_size (1 to
//     1999, default 1000) is a setting and batches are also cut at 1,000,000
//     bytes of form body. On the Starter plan Amplitude recommends at most
//     10 events a batch and 1000 events a second: set batch_size to 10.
//     User ids shorter than 5 characters, longer than 1024, or placeholders
//     such as "null" are refused by HTTP V2; the publisher does not send
//     them and reports them as ErrRejected.
//   - 429 (see throttle.go): a user or device over its events a second (30
//     on HTTP V2, averaged over 30 seconds) is named in throttled_users or
//     throttled_devices; the Identify page asks for a pause of 15 seconds,
//     HTTP V2's of 30 (https://amplitude.com/docs/apis/analytics/http-v2),
//     and the batch pauses the longer, or what Retry-After asks, before
//     each retry; a pause past the run's deadline ends the run at once and
//     the next run resumes. A user or device over the daily quota (500,000
//     events in a rolling 24 hours, named in exceeded_daily_quota_users or
//     exceeded_daily_quota_devices,
//     https://amplitude.com/docs/apis/analytics/batch-event-upload) fails
//     the run at once with an error naming the quota: retrying within the
//     run cannot help. The error counts who was refused and never copies
//     the answer.
//   - A user updating its properties more than 1800 times an hour may have
//     updates dropped; properties are not retroactive and apply from the
//     user's next event, so a synthetic identity should be marked before it
//     produces events.
//   - A 200 answers the text "success"; a JSON 200 with another "code" or
//     an "error" is reported as ErrRejected.
//
// # List: the Behavioral Cohorts API
//
// https://amplitude.com/docs/apis/analytics/behavioral-cohorts
//
//   - Base https://amplitude.com/api/3/cohorts, or
//     https://analytics.eu.amplitude.com/api/3/cohorts for EU residency.
//   - HTTP Basic auth, api_key:secret_key
//     (https://amplitude.com/docs/apis/authentication).
//   - GET /api/3/cohorts lists the project's cohorts (read-only; Test uses
//     it, and AddToList uses it once to find the cohort by name when
//     settings.cohort_id is not set).
//   - POST /api/3/cohorts/upload {"name", "app_id", "id_type":"BY_USER_ID",
//     "ids", "owner", "published":true} creates the cohort, once, with the
//     first batch → {"cohortId"}. skip_invalid_ids is false there, so the
//     upload is all or nothing. existing_cohort_id is never sent: it
//     replaces a cohort's contents.
//   - POST /api/3/cohorts/membership {"cohort_id", "memberships":[{"ids",
//     "id_type":"BY_NAME", "operation":"ADD"|"REMOVE"}],
//     "skip_invalid_ids":true} for every other change (BY_NAME is the user
//     id for the User count group). The answer's
//     memberships_result[].skipped_ids are read: skipped ids are not
//     acknowledged on ADD and are reported as ErrRejected (Amplitude knows
//     no such user yet); on REMOVE they are not members, so they are
//     acknowledged and logged.
//   - Errors come as {"error": {"http_code", "type", "message"}}; one found
//     in a 200 is ErrRejected.
//   - Limits: 100,000 ids a request, cohorts of at most 2 million users, 5
//     concurrent requests across the REST APIs (the publisher sends one at a
//     time). Batches are min(batch_size, 100000).
//   - The cohort id found or created is kept for the publisher's life and
//     logged; set settings.cohort_id to it to skip the lookup.
//
// # Unconfirmed, and how it is handled
//
//   - The status of a refused Basic auth pair on the Cohorts API is not
//     documented: 401 and 403 are ErrCredentials, as for every vendor.
//   - Whether the upload answers "cohortId" (documented) or "cohort_id" (in
//     some published schemas): both are read.
//   - The Identify limits are HTTP V2's (see above): batch_size is a setting.
//
// # Not done: deletion
//
// The User Privacy API (POST https://amplitude.com/api/2/deletions/users)
// deletes a user's history and does not stop new events: it is for an
// account that is destroyed, never for marking, listing or a reset, and
// this publisher never calls it.
package amplitude

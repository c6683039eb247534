// Package segment is the Segment publisher: it marks synthetic identities
// with identify calls through the HTTP Tracking API and, given a Public
// API token, keeps one destination filter per destination that drops the
// events of synthetic users.
//
// # Marking
//
// https://segment.com/docs/connections/sources/catalog/libraries/server/http-api/
// (now https://www.twilio.com/docs/segment/connections/sources/catalog/libraries/server/http-api;
// source src/connections/sources/catalog/libraries/server/http-api/index.md
// in github.com/segmentio/segment-docs):
//
//   - POST https://api.segment.io/v1/batch, Content-Type: application/json,
//     {"batch":[{"type":"identify","userId":…,"traits":{…}}]}.
//   - Authorization: Basic base64(writeKey + ":"), the colon included as
//     the page asks.
//   - "Max request size": 32KB per normal request; the batch endpoint
//     accepts 500KB per request and "32KB per event in the batch", and
//     Segment answers 400 Bad Request beyond (the Errors section: each
//     batched event "needs to be less than 32KB", up to 2500 events a
//     batch; the Analytics.js FAQ names the 400's message, "Exceed payload
//     limit"). A 400 refuses the whole batch, so the publisher refuses,
//     before sending anything, an identity whose call would be 32,000 bytes
//     or more (ErrRejected, naming its distinct id and account), and
//     splits batches at 500,000 bytes and settings.max_batch (at most
//     2000) calls.
//   - 429 carries Retry-After (honoured); 5xx are retried with backoff.
//   - EU workspaces: the HTTP API page's note names
//     https://events.eu1.segmentapis.com in one version and
//     eu1.api.segmentapis.com in another; the Regional Segment guide
//     (https://segment.com/docs/guides/regional-segment/) names
//     events.eu1.segmentapis.com, which is the default for region "eu".
//     settings.tracking_url overrides it: unconfirmed.
//
// Unmark sends identify with is_synthetic false and the other tags null:
// Segment has no call that removes a trait (identify merges traits), so
// the tags are overwritten with values that the filter does not match and
// that destinations read as cleared.
//
// # Credentials
//
// The Tracking API answers 200 to any write key and drops what it cannot
// attribute (segmentio/analytics-node issue 59: "the edge is stateless and
// always returns 200"; segmentio/analytics-go issue 205). So Test, and the
// first Mark or Unmark of a publisher, read the source through the Public
// API, GET https://api.segmentapis.com/sources/{sourceId}, and look for the
// write key among its writeKeys (public-api-sdk-go, model_source_v1.go).
// Without secrets.api_token, Test sends nothing and reports OK false, and a
// wrong write key cannot be detected.
//
// # Filtering
//
// Destination filters through the Public API
// (https://docs.segmentapis.com/tag/Destination-Filters; paths and bodies
// as in github.com/segmentio/public-api-sdk-go, api/api_destination_filters.go),
// Authorization: Bearer <token>, Content-Type and Accept
// application/vnd.segment.v1+json:
//
//   - GET /destination/{destinationId}/filters?pagination[count]=…&pagination[cursor]=…
//   - POST /destination/{destinationId}/filters
//     {"sourceId","title","description","if","actions":[{"type":"DROP"}],"enabled"}
//   - PATCH and DELETE /destination/{destinationId}/filters/{filterId}
//   - POST /destination/filters/preview {"filter":{"if","actions"},"payload"}
//     → {"data":{"inputPayload","result"}}.
//
// EnsureFilter previews FilterFQL on a synthetic identify, a synthetic
// track and a real track first, and installs nothing unless the two
// synthetic events are dropped (result null: unconfirmed, the SDK types it
// "object or null") and the real one kept: the FQL reference
// (https://segment.com/docs/api/public-api/fql/) warns that an invalid
// statement stops every event and recommends the preview. Then, on each
// destination in settings.destination_ids, it keeps exactly one filter
// titled FilterTitle for settings.source_id: created when missing, updated
// in place when it differs, duplicates with the same title and source
// deleted, every other filter untouched. Segment supports 10 filters per
// destination (the page's FAQ): the publisher only ever keeps one, and on
// a destination whose 10 filters are all others' it creates nothing and
// says so (ErrRejected) rather than meet an undocumented refusal.
//
// The FQL tests the boolean trait (traits.is_synthetic = true, and the
// same in context.traits and properties) rather than listing user ids with
// "userId in [...]": the filter then never changes as accounts come and
// go, and stays far from any size limit. Its cost is that track, page and
// screen events carry no traits unless the app adds them: ManualSteps says
// so. Destination filters need the Business tier and apply to cloud-mode
// destinations only, not to device-mode ones, Warehouses or S3
// (https://segment.com/docs/connections/destinations/destination-filters/):
// ManualSteps says so.
// The EU Public API host, https://eu1.api.segmentapis.com, is unconfirmed
// (settings.api_url overrides it).
package segment

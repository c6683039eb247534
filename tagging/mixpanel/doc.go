// Package mixpanel is the Mixpanel publisher: it marks synthetic identities
// by setting their tags on their Mixpanel user profiles, and prints the
// steps that only the app team and Mixpanel's UI can do.
//
// # Marking
//
// Profiles are updated through the Ingestion API's Engage endpoint,
// https://docs.mixpanel.com/reference/profile-set and
// https://docs.mixpanel.com/reference/profile-delete-property (source:
// openapi/ingestion.openapi.yaml in github.com/mixpanel/docs):
//
//   - POST https://{api|api-eu|api-in}.mixpanel.com/engage, the region
//     chosen by settings.region; "#profile-set" in the reference's address
//     is a page anchor and is not sent.
//   - Content-Type: application/json, the body a JSON array of updates,
//     each {"$token", "$distinct_id", "$set": {…}} or {…, "$unset": […]}.
//   - No Authorization header: the operation's security is empty and the
//     project token travels in each update's "$token".
//   - verbose=1 makes the answer {"status": 1|0, "error": …}; the reference
//     warns that the endpoint "will return a 200 OK even if there are data
//     validation issues", so the body is read and status 0 is ErrRejected
//     (ErrCredentials when the error names the token, as in
//     "$token, missing or empty"). Without verbose the answer is "1" when
//     one or more updates were valid, which "does not signify a valid
//     project token".
//   - At most 2000 updates per request and at most 1 MB per update
//     (https://docs.mixpanel.com/reference/user-profile-limits). The
//     publisher also keeps each request under settings.max_request_bytes
//     (1,000,000 by default): Mixpanel documents no request-size limit for
//     /engage (it documents 10 MB for /import), so the smaller bound is ours.
//   - ip=0 keeps Mixpanel from geolocating the profile from our server's
//     address, and "$ignore_time": true keeps "Updated at" as it was
//     (https://docs.mixpanel.com/docs/data-structure/user-profiles).
//   - 429 and 5xx are retried with exponential backoff from 2s to 60s with
//     jitter, as https://docs.mixpanel.com/reference/import-events
//     recommends (Retry-After is honoured when sent).
//
// Unmark removes the tags with "$unset": Mixpanel has an unset operation.
//
// # Credentials
//
// Mixpanel accepts ingestion for any project token and drops what it
// cannot attribute later (the "1" answer above; mixpanel/mixpanel-node
// issue 59), so a wrong token cannot be seen from /engage. A service
// account (settings.service_account_username, secrets.service_account_secret,
// settings.project_id; https://docs.mixpanel.com/reference/service-accounts)
// makes Test a read-only Query API call, POST
// https://{mixpanel|eu.mixpanel|in.mixpanel}.com/api/query/engage?project_id=…
// for one profile (openapi/query.openapi.yaml), and makes the first Mark or
// Unmark of a publisher check it before sending anything. Without one,
// Test says it cannot check and reports OK false.
//
// # Filtering
//
// Mixpanel has no API to exclude profiles from reports, so the publisher
// has no filter capability; ManualSteps says what people do instead:
// the app sets the reserved event property "$ignore" on every event of a
// synthetic session, which makes ingestion drop the event
// (https://docs.mixpanel.com/docs/tracking-best-practices/bot-traffic,
// https://docs.mixpanel.com/docs/data-structure/property-reference/reserved-properties),
// and a Data View that excludes is_synthetic profiles is made in the UI
// (https://docs.mixpanel.com/docs/data-governance/data-views-and-classification:
// Data Views need the Growth plan or above, and "Set Default" names the
// Data View of members added to the project afterwards, so existing
// members are added to it by hand).
package mixpanel

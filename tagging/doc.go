// Package tagging keeps synthetic activity out of the numbers a business
// reads: it marks each synthetic identity with tags, publishes the
// exclusion list of every identity a synthetic account may appear under to
// analytics destinations, and records what each destination acknowledged.
//
// # Publishers
//
// A destination's vendor client is a Publisher, with up to four optional
// capabilities: Marker (set the tags on each identity), Lister (keep a
// vendor-side list of exactly the synthetic identities), Filterer (install
// the project-level filter that removes them) and Verifier (check
// afterwards that they are absent from the filtered view). Each vendor has
// its own subpackage with an httptest fake of its documented API in a
// <vendor>test package, and every publisher passes the conformance suite in
// publishertest. Publishers send through a Sender: batches within the
// vendor's limits, retries with jittered backoff on 429 and 5xx honouring
// Retry-After, every answer read, and an Ack after each accepted batch so a
// run that stops halfway resumes without sending an accepted item twice.
package tagging

// Package client keeps an environment's signed isolation list in an app's
// memory and answers, without a network call, whether a viewer may see a
// subject (a user, a post's author, a profile) on a surface such as
// "leaderboards" or "search".
//
// It depends on the standard library and golang.org/x/text (for Unicode
// normalization) only, so an app imports it without the Understudy server. The OpenFeature provider is in the subpackage
// openfeature.
//
// # Use
//
//	c, err := client.New(client.Config{
//		BaseURL:           "https://understudy.internal",
//		Token:             os.Getenv("UNDERSTUDY_APP_TOKEN"), // scope app
//		Environment:       "production",
//		ControlledDomains: []string{"qa.example.test"},
//		Logger:            logger,
//	})
//	if err != nil { ... }
//	_ = c.Start(ctx) // never fails because the server is down
//	defer c.Close()
//
//	authors = c.Filter(viewerID, "leaderboards", authors)
//
// # The list and its signature
//
// The client fetches GET {BaseURL}/v1/environments/{env}/isolation/list
// every RefreshInterval with If-None-Match; a 304 keeps the list. A body is
// verified against its X-Understudy-Signature (ed25519, by key id) before
// it is parsed. A list that does not verify, does not parse or is for
// another environment is never used: the client keeps its last good list,
// logs, counts it in Stats.Rejected and reports degraded.
//
// # Lists never go backwards
//
// Unless Config.PublicKeys pins the keys, every list that arrives (not a
// 304) makes the client read GET {BaseURL}/v1/isolation/keys first, and
// that last key set decides: a list signed by a key the set marks retired,
// or by a key the client trusted that the set no longer holds, is refused
// from then on, though its signature verifies. When the key set cannot be
// read, the last one read stays in use. With pinned keys, removing a key
// from Config.PublicKeys is how it is retired.
//
// A list older than the one the client holds is refused as well, whatever
// key signed it: one issued earlier (issued_at), or issued in the same
// second from an earlier version of the exclusion list (the number its
// version starts with). Replaying an old list would otherwise roll policy
// back silently. Servers behind one address must therefore keep their
// clocks in step. Both refusals count in Stats.Rejected and leave the
// client degraded on the list it holds until a newer list arrives.
//
// # Spellings
//
// Viewers and subjects are compared with the list as given and in their
// Canonical form, exactly as the server's POST /v1/isolation/check
// compares them: surrounding white space is dropped and text is put in
// Unicode normal form C; an email is compared without case, in its local
// part as well as its domain (nearly every mail provider ignores it), and
// without a plus-tag (local+tag@domain is the mailbox local@domain;
// Understudy never gives an account a tagged address); an account id (a
// UUID) is compared without case. A username, an app ref or a distinct id
// keeps its case, which an app or a vendor may rely on.
//
// # Failing closed
//
// Before the first list, a subject that looks synthetic (an email at a
// controlled domain, compared without case, or an id holding
// Config.SyntheticMarker) is hidden on every surface but to itself, with
// ReasonDegradedFailClosed. While degraded with a list, subjects on the
// list follow it, and subjects not on it that look synthetic (accounts
// made since the list) are hidden the same way.
//
// # Metrics
//
// Stats has the figures without a Prometheus dependency. With
// prometheus/client_golang an app exports them with a collector:
//
//	type isolationCollector struct{ c *client.Client }
//
//	var (
//		degradedDesc = prometheus.NewDesc("understudy_isolation_degraded", "1 while the isolation list cannot be trusted.", nil, nil)
//		idsDesc      = prometheus.NewDesc("understudy_isolation_identities", "Identities on the isolation list in use.", nil, nil)
//		refreshDesc  = prometheus.NewDesc("understudy_isolation_refreshes_total", "Isolation list refreshes by outcome.", []string{"outcome"}, nil)
//	)
//
//	func (ic isolationCollector) Describe(ch chan<- *prometheus.Desc) { ch <- degradedDesc; ch <- idsDesc; ch <- refreshDesc }
//	func (ic isolationCollector) Collect(ch chan<- prometheus.Metric) {
//		s := ic.c.Stats()
//		ch <- prometheus.MustNewConstMetric(degradedDesc, prometheus.GaugeValue, map[bool]float64{true: 1}[s.Degraded])
//		ch <- prometheus.MustNewConstMetric(idsDesc, prometheus.GaugeValue, float64(s.Identities))
//		ch <- prometheus.MustNewConstMetric(refreshDesc, prometheus.CounterValue, float64(s.Refreshes), "all")
//		ch <- prometheus.MustNewConstMetric(refreshDesc, prometheus.CounterValue, float64(s.NotModified), "not_modified")
//		ch <- prometheus.MustNewConstMetric(refreshDesc, prometheus.CounterValue, float64(s.Rejected), "rejected")
//		ch <- prometheus.MustNewConstMetric(refreshDesc, prometheus.CounterValue, float64(s.Failures), "failed")
//	}
//
//	prometheus.MustRegister(isolationCollector{c})
package client

package client

import "strings"

// Reason says why Decide answered as it did. Its values are the reasons of
// the server's POST /v1/isolation/check, plus the client's own.
type Reason string

// The reasons of Decide.
const (
	// ReasonNotSynthetic: the subject is not on the list; it is visible.
	ReasonNotSynthetic Reason = "not_synthetic"
	// ReasonSelf: the viewer is the subject's own account; it is visible.
	ReasonSelf Reason = "self"
	// ReasonAllowed: the subject's policy for the surface is allowed.
	ReasonAllowed Reason = "allowed"
	// ReasonTestersOnlySyntheticViewer: testers_only, and the viewer is synthetic.
	ReasonTestersOnlySyntheticViewer Reason = "testers_only_synthetic_viewer"
	// ReasonTestersOnlyRealViewer: testers_only, and the viewer is real; hidden.
	ReasonTestersOnlyRealViewer Reason = "testers_only_real_viewer"
	// ReasonHidden: the subject's policy for the surface is hidden.
	ReasonHidden Reason = "hidden"
	// ReasonUnknownSurface: the subject is synthetic and the surface is not
	// one of the list's surfaces; it is hidden (fail closed).
	ReasonUnknownSurface Reason = "unknown_surface"
	// ReasonDegradedFailClosed: the client has no list it can trust for
	// this subject and the subject looks synthetic (an email at a
	// controlled domain, or an id holding the synthetic marker); hidden.
	ReasonDegradedFailClosed Reason = "degraded_fail_closed"
)

// Visible reports whether viewer may see subject on surface. It reads the
// last accepted list in memory and never calls the network. Its answer is
// Decide's; it skips the viewer's lookup where the answer does not need it.
func (c *Client) Visible(viewer, surface, subject string) bool {
	s := c.snap.Load()
	if s == nil {
		ok, _ := c.decideWithoutList(nil, viewer, subject)
		return ok
	}
	e, onList := s.lookup(subject)
	if !onList {
		ok, _ := c.decideUnlisted(s, viewer, subject)
		return ok
	}
	col, known := s.surfaces[surface]
	if known && s.policies[int(e.row)+col] == codeAllowed {
		return true
	}
	ok, _ := decideListed(s, e, viewer, subject, col, known)
	return ok
}

// Filter returns the subjects that viewer may see on surface, in their
// order. The input slice is not modified.
func (c *Client) Filter(viewer, surface string, subjects []string) []string {
	out := make([]string, 0, len(subjects))
	for _, subject := range subjects {
		if c.Visible(viewer, surface, subject) {
			out = append(out, subject)
		}
	}
	return out
}

// Decide is Visible with the reason of its answer.
//
// The rule is the server's: a subject not on the list is visible; the
// subject's own account sees it; otherwise its policy for the surface
// decides (allowed; testers_only: only synthetic viewers; hidden). The
// viewer and subject are compared with the list in their Canonical form
// (an email without case or plus-tag, surrounding spaces dropped, Unicode
// normal form C), as the server's check compares them. Before the first list, and for a subject
// not on a list while the client is degraded, a subject that looks
// synthetic is hidden (ReasonDegradedFailClosed).
func (c *Client) Decide(viewer, surface, subject string) (bool, Reason) {
	s := c.snap.Load()
	if s == nil {
		return c.decideWithoutList(nil, viewer, subject)
	}
	e, onList := s.lookup(subject)
	if !onList {
		return c.decideUnlisted(s, viewer, subject)
	}
	col, known := s.surfaces[surface]
	return decideListed(s, e, viewer, subject, col, known)
}

// decideUnlisted decides for a subject that is not on the list s.
func (c *Client) decideUnlisted(s *snapshot, viewer, subject string) (bool, Reason) {
	if c.degraded.Load() {
		return c.decideWithoutList(s, viewer, subject)
	}
	return true, ReasonNotSynthetic
}

// decideListed decides for a subject on the list s, whose entry is e, on
// the surface of column col (known is false for a surface not on s).
func decideListed(s *snapshot, e idEntry, viewer, subject string, col int, known bool) (bool, Reason) {
	if viewer == subject {
		return true, ReasonSelf
	}
	v, viewerOnList := s.lookup(viewer)
	if viewerOnList && v.identity == e.identity {
		return true, ReasonSelf
	}
	if !known {
		return false, ReasonUnknownSurface
	}
	switch s.policies[int(e.row)+col] {
	case codeAllowed:
		return true, ReasonAllowed
	case codeTestersOnly:
		if viewerOnList {
			return true, ReasonTestersOnlySyntheticViewer
		}
		return false, ReasonTestersOnlyRealViewer
	default:
		return false, ReasonHidden
	}
}

// decideWithoutList treats a subject that looks synthetic as synthetic
// with policy hidden; s, when not nil, lends its controlled domains.
func (c *Client) decideWithoutList(s *snapshot, viewer, subject string) (bool, Reason) {
	if !c.looksSynthetic(s, subject) {
		return true, ReasonNotSynthetic
	}
	if viewer == subject || Canonical(viewer) == Canonical(subject) {
		return true, ReasonSelf
	}
	return false, ReasonDegradedFailClosed
}

// looksSynthetic reports whether subject holds the synthetic marker or is
// an email at a controlled domain (of the configuration or of s).
func (c *Client) looksSynthetic(s *snapshot, subject string) bool {
	if c.marker != "" && strings.Contains(subject, c.marker) {
		return true
	}
	subject = Canonical(subject)
	at := strings.LastIndexByte(subject, '@')
	if at < 0 {
		return false
	}
	domain := subject[at+1:]
	for _, d := range c.domains {
		if strings.EqualFold(domain, d) {
			return true
		}
	}
	if s != nil {
		for _, d := range s.domains {
			if strings.EqualFold(domain, d) {
				return true
			}
		}
	}
	return false
}

// Synthetic reports whether id is a synthetic identity: on the list in use
// (compared in its Canonical form), or, while the client has no list to trust for
// it, an email at a controlled domain or an id holding the synthetic
// marker (failing closed, as Decide does).
func (c *Client) Synthetic(id string) bool {
	s := c.snap.Load()
	if s == nil {
		return c.looksSynthetic(nil, id)
	}
	if _, ok := s.lookup(id); ok {
		return true
	}
	return c.degraded.Load() && c.looksSynthetic(s, id)
}

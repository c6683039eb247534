package isolation

import "github.com/understudy-dev/understudy/accounts"

// Reason says why Decide answered as it did.
type Reason string

// Reasons of a decision.
const (
	ReasonNotSynthetic     Reason = "not_synthetic"                 // the subject is not on the list
	ReasonSelf             Reason = "self"                          // the viewer is the subject's account
	ReasonAllowed          Reason = "allowed"                       // the policy allows every viewer
	ReasonTestersSynthetic Reason = "testers_only_synthetic_viewer" // testers_only, and the viewer is synthetic
	ReasonTestersReal      Reason = "testers_only_real_viewer"      // testers_only, and the viewer is real
	ReasonHidden           Reason = "hidden"                        // the policy hides the subject
)

// Listing is what the exclusion list says of one identifier, a subject's
// or a viewer's: whether it is on the list, and whose account it names.
type Listing struct {
	// Synthetic is set when the identifier is on the list.
	Synthetic bool
	// AccountID is the account the identifier belongs to, when synthetic.
	AccountID string
}

// Decide is the visibility rule: whether viewer sees subject on a surface
// whose visibility, by the subject's role policy, is v.
func Decide(subject, viewer Listing, v accounts.Visibility) (bool, Reason) {
	switch {
	case !subject.Synthetic:
		return true, ReasonNotSynthetic
	case viewer.Synthetic && viewer.AccountID == subject.AccountID:
		return true, ReasonSelf
	case v == accounts.Allowed:
		return true, ReasonAllowed
	case v == accounts.TestersOnly && viewer.Synthetic:
		return true, ReasonTestersSynthetic
	case v == accounts.TestersOnly:
		return false, ReasonTestersReal
	default:
		return false, ReasonHidden
	}
}

// visibility is policy's visibility for surface: Hidden when unset.
func visibility(policy map[string]accounts.Visibility, surface string) accounts.Visibility {
	if v, ok := policy[surface]; ok {
		return v
	}
	return accounts.Hidden
}

package accounts

// Reconciler is what a declarative spec (package spec) needs of accounts
// beyond the Service: checks that store nothing, what a change would touch,
// and the changes that refuse to retire a leased account. It is a narrower
// view of the same Service, so the Service's own surface stays what every
// door uses.
type Reconciler struct{ s *Service }

// Reconciler returns the spec's view of s.
func (s *Service) Reconciler() Reconciler { return Reconciler{s} }

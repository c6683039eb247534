package tagging

import "context"

// SyncAsRead runs a sync of d as read, for a test that changes the
// destination between the read and the run (as an update that commits
// while a run is under way does).
func (s *Service) SyncAsRead(ctx context.Context, d Destination) (Run, error) {
	return s.syncDestination(ctx, d, SyncOptions{})
}

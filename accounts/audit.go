package accounts

import (
	"context"

	"github.com/understudy-dev/understudy/access"
)

// audit records an event of background work or of calls to apps, which
// have no transaction of their own (access.RecordNow logs a failure).
func (s *Service) audit(ctx context.Context, action, accountID string, details map[string]any) {
	access.RecordNow(ctx, s.db, s.logger, access.Event{Action: action, TargetType: "account", TargetID: accountID, Details: details})
}

package spec

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/understudy-dev/understudy/accounts"
)

// waitLeases runs op, a change that retires accounts and refuses while
// one of them is leased, until it succeeds, or until o.WaitLeases has
// passed: then it returns op's refusal, which names the leased accounts.
// No account is ever retired under its holder.
func (s *Service) waitLeases(ctx context.Context, x *step, o ApplyOptions, op func() error) error {
	deadline := s.cfg.Now().Add(o.WaitLeases)
	for {
		err := op()
		if !errors.Is(err, accounts.ErrLeased) {
			return err
		}
		if !s.cfg.Now().Before(deadline) {
			if o.WaitLeases > 0 {
				return fmt.Errorf("%w (waited %s; -wait-leases sets how long)", err, o.WaitLeases)
			}
			return fmt.Errorf("%w, or apply with -wait-leases DURATION to wait for them", err)
		}
		s.cfg.Logger.InfoContext(ctx, "waiting for leases to end before retiring accounts", "address", x.Address)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-o.Interrupt:
			return fmt.Errorf("%w: the apply was interrupted while it waited for them", err)
		case <-time.After(min(s.cfg.LeasePoll, deadline.Sub(s.cfg.Now())+time.Millisecond)):
		}
	}
}

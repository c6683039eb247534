package inbox

import "time"

// Waiters returns how many waits s has registered.
func Waiters(s *Service) int {
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	n := 0
	for _, set := range s.hub.waiters {
		n += len(set)
	}
	return n
}

// SetHeartbeat sets how long s's listener waits in silence before it
// checks its connection. Call it before Listen.
func SetHeartbeat(s *Service, d time.Duration) { s.heartbeat = d }

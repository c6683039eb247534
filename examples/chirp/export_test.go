package chirp

import "time"

// SetClock makes the App read the time from now, for tests of expiry.
// Call it before the App serves anything.
func (a *App) SetClock(now func() time.Time) { a.now = now }

package escalation

import "time"

// Clock tells the time. Every engine operation reads it once and passes the
// instant down, so tests run hours of escalation on a fake clock.
type Clock interface {
	Now() time.Time
}

// SystemClock is the wall clock.
type SystemClock struct{}

// Now returns the current time.
func (SystemClock) Now() time.Time { return time.Now() }

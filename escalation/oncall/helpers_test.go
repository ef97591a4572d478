package oncall

import (
	"testing"
	"time"
	_ "time/tzdata" // zones load on machines without a zoneinfo database
)

func zone(t testing.TB, name string) *time.Location {
	t.Helper()
	l, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func wd(d time.Weekday) *time.Weekday { return &d }

// at parses an RFC 3339 instant.
func at(t testing.TB, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func mustNew(t testing.TB, s Schedule) *Schedule {
	t.Helper()
	p, err := New(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func whoAt(s *Schedule, t time.Time) string {
	p, _ := s.OnCall(t)
	return p
}

package config

import (
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// cronRule is a cron expression read on the wall clock of its timezone.
// robfig/cron computes next times in the zone itself, and a time that falls
// in a spring-forward gap never matches there: "30 2 * * *" in Stockholm
// silently skips 2025-03-30. So the rule is evaluated on a zone-free copy of
// the wall clock and each wall time is mapped back: one inside a gap fires at
// the first valid instant after it (03:00), one in a fall-back overlap fires
// once, at its first occurrence.
type cronRule struct {
	wall *cron.SpecSchedule // Location is UTC: a clock without transitions
	loc  *time.Location
}

// parseCron reads a five-field cron expression with an optional
// "CRON_TZ=Zone " prefix; without one the rule is in def.
func parseCron(spec string, def *time.Location) (*cronRule, error) {
	s, err := cron.ParseStandard(spec)
	if err != nil {
		return nil, fmt.Errorf("cron %q: %w", spec, err)
	}
	ss, ok := s.(*cron.SpecSchedule)
	if !ok {
		return nil, fmt.Errorf("cron %q: want a calendar expression like \"CRON_TZ=Europe/Stockholm 0 9 * * MON\", not an interval", spec)
	}
	loc := def
	if strings.HasPrefix(strings.TrimSpace(spec), "CRON_TZ=") || strings.HasPrefix(strings.TrimSpace(spec), "TZ=") {
		loc = ss.Location
	}
	wall := *ss
	wall.Location = time.UTC
	r := &cronRule{wall: &wall, loc: loc}
	// "0 0 30 2 *" parses, and never fires: a heartbeat on it would be
	// late from the start, a digest never sent.
	if r.Next(time.Date(2024, 1, 1, 0, 0, 0, 0, loc)).IsZero() {
		return nil, fmt.Errorf("cron %q never fires", spec)
	}
	return r, nil
}

// Next is the rule's first fire time strictly after t, zero if none within
// robfig/cron's five-year search.
func (r *cronRule) Next(t time.Time) time.Time {
	w := wallOf(t.In(r.loc))
	// A few wall times can map to instants at or before t (the second pass
	// through a fall-back hour); skip past them.
	for range 8 {
		w = r.wall.Next(w)
		if w.IsZero() {
			return time.Time{}
		}
		if at := instantOf(w, r.loc); at.After(t) {
			return at
		}
	}
	return time.Time{}
}

// wallOf is t's wall clock as a UTC time.
func wallOf(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
}

// instantOf maps a wall time (given as UTC) to the first instant in loc
// showing it, or, for a wall time inside a gap, to the end of the gap.
func instantOf(w time.Time, loc *time.Location) time.Time {
	t := time.Date(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), w.Second(), w.Nanosecond(), loc)
	if !wallOf(t).Equal(w) {
		// Inside a gap: the transition is the first valid instant after.
		start, end := t.ZoneBounds()
		if wallOf(t).Before(w) {
			return end
		}
		return start
	}
	// In an overlap the same wall time also shows under the previous
	// offset, earlier; prefer that first occurrence.
	start, _ := t.ZoneBounds()
	if !start.IsZero() {
		before := start.Add(-time.Nanosecond)
		_, prevOff := before.Zone()
		_, off := t.Zone()
		if prevOff > off {
			earlier := t.Add(-time.Duration(prevOff-off) * time.Second)
			if earlier.Before(start) && wallOf(earlier.In(loc)).Equal(w) {
				return earlier
			}
		}
	}
	return t
}

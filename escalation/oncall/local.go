package oncall

import "time"

const (
	day = 86400 // seconds

	// never is "no change ahead", in Unix seconds: far beyond any real
	// instant, yet far from overflow.
	never = int64(1) << 62

	// maxOffset bounds a zone's UTC offset, with room to spare: the widest
	// in tzdata are local mean times of about ±16h.
	maxOffset = 18 * 3600
)

// Layers are defined on instants from year 1 to 9999, with a day's margin
// for offsets, which keeps their arithmetic far from overflow.
var (
	minSec = time.Date(1, 1, 2, 0, 0, 0, 0, time.UTC).Unix()
	maxSec = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC).Unix()
)

// forever is never as a time.Time.
var forever = time.Unix(never, 0)

// localInstant is the instant of the wall-clock time y-m-d hh:mm in loc,
// by the package's DST rules: in a spring-forward gap, the first valid
// instant after the gap; in a fall-back overlap, the first occurrence.
// time.Date is not used for this: its choice in both cases depends on the
// zone's side of UTC.
func localInstant(loc *time.Location, y int, m time.Month, d, hh, mm int) time.Time {
	wall := time.Date(y, m, d, hh, mm, 0, 0, time.UTC).Unix()
	return time.Unix(localAt(loc, wall), 0).In(loc)
}

// LocalInstant is localInstant for callers outside the package (an
// override's FROM-TO typed in a chat), so that they read local times by
// the same DST rules as the schedules they change.
func LocalInstant(loc *time.Location, y int, m time.Month, d, hh, mm int) time.Time {
	return localInstant(loc, y, m, d, hh, mm)
}

// localAt resolves a wall-clock time, given as seconds since 1970-01-01
// 00:00 local, to Unix seconds: the first instant at which loc's clock shows
// wall or later. That one rule is both DST rules: in a gap the clock first
// shows a later time at the transition; in an overlap it first shows wall
// at the first occurrence.
//
// time.Location has no transition list, but Time.ZoneBounds gives the
// period of constant offset around an instant. Within a period the local
// clock runs forward, so the period's first instant showing wall or later
// is max(start, wall-offset), if that is before the period's end. Any
// answer lies within maxOffset of wall, so it is the least such candidate
// over the periods there. This holds for any offset (30- and 45-minute
// zones), any size of jump (30-minute DST, skipped days) and transitions at
// midnight.
func localAt(loc *time.Location, wall int64) int64 {
	best := never
	t := time.Unix(wall-maxOffset, 0).In(loc)
	for range 16 { // a handful of periods at most; the bound is a backstop
		_, off := t.Zone()
		start, end := t.ZoneBounds()
		u := wall - int64(off)
		if !start.IsZero() && start.Unix() > u {
			u = start.Unix()
		}
		if (end.IsZero() || u < end.Unix()) && u < best {
			best = u
		}
		if end.IsZero() || end.Unix() > wall+maxOffset {
			break
		}
		t = end
	}
	return best
}

// localDay is the number of the local date at Unix second sec (days since
// 1970-01-01).
func localDay(loc *time.Location, sec int64) int64 {
	_, off := time.Unix(sec, 0).In(loc).Zone()
	return floorDiv(sec+int64(off), day)
}

// dayNumber is the number of a civil date (days since 1970-01-01).
func dayNumber(d Date) int64 {
	return floorDiv(time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC).Unix(), day)
}

// dateOf is the civil date of a day number.
func dateOf(k int64) Date {
	y, m, d := time.Unix(k*day, 0).UTC().Date()
	return Date{y, m, d}
}

// weekday of a day number; 1970-01-01 was a Thursday.
func weekday(k int64) time.Weekday { return time.Weekday(floorMod(k+4, 7)) }

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

func floorMod(a, b int64) int64 { return a - floorDiv(a, b)*b }

package oncall

import (
	"errors"
	"fmt"
	"time"
)

// Schedule is a timezone, layers of rotations and overrides. Fill it (a
// config loader does) and pass it to New, which validates it and builds the
// indexes lookups use.
type Schedule struct {
	Name string
	// Location is the schedule's timezone: handoffs and restriction windows
	// are wall-clock times there.
	Location *time.Location
	// Layers: later layers win over earlier ones.
	Layers []Layer
	// Overrides win over all layers; the latest added wins among them.
	Overrides []Override

	prep *prepared // built by New; nil for a Schedule made by hand
}

// Layer is one rotation.
type Layer struct {
	Name string
	// Participants are person names in rotation order. A name may repeat.
	Participants []string
	Shift        Shift
	// Handoff is the local wall-clock time of handoffs. For hour-based
	// shifts only the first handoff (Start at Handoff) is a wall-clock time;
	// later ones are exact durations after it.
	Handoff Clock
	// Weekday is the handoff weekday of a week-based shift; nil means
	// Start's weekday. Only valid with Weeks.
	Weekday *time.Weekday
	// Start is the local date the rotation starts: the first participant's
	// first shift begins at Start at Handoff.
	Start Date
	// Restrictions, when present, limit the layer to these windows; outside
	// them the layer has nobody, so a lower layer shows through.
	Restrictions []Window
}

// Unit is the unit of a shift's length.
type Unit int

// Shift units. The zero Unit is invalid, so a forgotten unit is caught.
const (
	Hours Unit = iota + 1
	Days
	Weeks
)

func (u Unit) String() string {
	switch u {
	case Hours:
		return "hours"
	case Days:
		return "days"
	case Weeks:
		return "weeks"
	}
	return fmt.Sprintf("Unit(%d)", int(u))
}

// Shift is a shift's length: N hours, days or weeks.
type Shift struct {
	Unit Unit
	N    int
}

// maxShiftDays bounds shift lengths, which keeps the arithmetic far from
// overflow and lets NextHandoff's lookahead see every rotation change.
const maxShiftDays = 366

// Clock is a local wall-clock time of day.
type Clock struct{ Hour, Minute int }

func (c Clock) String() string { return fmt.Sprintf("%02d:%02d", c.Hour, c.Minute) }

func (c Clock) valid() bool { return c.Hour >= 0 && c.Hour < 24 && c.Minute >= 0 && c.Minute < 60 }

func (c Clock) seconds() int64 { return int64(c.Hour)*3600 + int64(c.Minute)*60 }

// Date is a local calendar date.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

func (d Date) String() string { return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day) }

func (d Date) valid() bool {
	if d.Year < 1 || d.Year > 9999 {
		return false
	}
	y, m, dd := time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC).Date()
	return y == d.Year && m == d.Month && dd == d.Day
}

// Window is a daily or weekly window in the schedule's local time,
// [From, To). With both days nil it is a daily window, every day; To at or
// before From wraps past midnight (22:00–06:00). With both days set it is a
// weekly window from FromDay at From to ToDay at To, wrapping past the end
// of the week when needed (Fri 17:00 → Mon 09:00).
type Window struct {
	FromDay *time.Weekday
	From    Clock
	ToDay   *time.Weekday
	To      Clock
}

func (w Window) String() string {
	if w.FromDay == nil || w.ToDay == nil {
		return w.From.String() + "–" + w.To.String()
	}
	return w.FromDay.String()[:3] + " " + w.From.String() + "–" + w.ToDay.String()[:3] + " " + w.To.String()
}

// Override puts Person on call over [From, To), above all layers.
type Override struct {
	Person   string
	From, To time.Time
}

// Span is a stretch of the final on-call, [From, To). Person is "" for a
// gap, when nobody is on call.
type Span struct {
	Person   string
	From, To time.Time
}

// Warning is something Lint found, at an instant.
type Warning struct {
	At      time.Time
	Message string
}

// New validates s and returns a copy with its lookup indexes built. The
// copy shares nothing with s; don't modify the result afterwards.
func New(s Schedule) (*Schedule, error) {
	c := s.clone()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	c.prep = prepare(c)
	return c, nil
}

func (s *Schedule) clone() *Schedule {
	c := &Schedule{Name: s.Name, Location: s.Location}
	c.Layers = make([]Layer, len(s.Layers))
	for i, l := range s.Layers {
		l.Participants = append([]string(nil), l.Participants...)
		if l.Weekday != nil {
			wd := *l.Weekday
			l.Weekday = &wd
		}
		l.Restrictions = append([]Window(nil), l.Restrictions...)
		for j, w := range l.Restrictions {
			if w.FromDay != nil {
				d := *w.FromDay
				l.Restrictions[j].FromDay = &d
			}
			if w.ToDay != nil {
				d := *w.ToDay
				l.Restrictions[j].ToDay = &d
			}
		}
		c.Layers[i] = l
	}
	c.Overrides = append([]Override(nil), s.Overrides...)
	return c
}

// prepared returns the indexes New built or, for a Schedule made by hand,
// builds them for this call only (so concurrent callers never race).
func (s *Schedule) prepared() (*prepared, error) {
	if s.prep != nil {
		return s.prep, nil
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return prepare(s), nil
}

// Validate checks the schedule; the error names the schedule and the layer,
// window or override at fault.
func (s *Schedule) Validate() error {
	if err := s.validate(); err != nil {
		return fmt.Errorf("schedule %q: %w", s.Name, err)
	}
	return nil
}

func (s *Schedule) validate() error {
	if s.Location == nil {
		return errors.New("no location (timezone)")
	}
	if len(s.Layers) == 0 {
		return errors.New("no layers")
	}
	for i, l := range s.Layers {
		if err := l.validate(); err != nil {
			return fmt.Errorf("layer %s: %w", layerName(i, l), err)
		}
	}
	for i, o := range s.Overrides {
		switch {
		case o.Person == "":
			return fmt.Errorf("override %d: no person", i+1)
		case o.From.IsZero() || o.To.IsZero():
			return fmt.Errorf("override %d (%s): from and to are required", i+1, o.Person)
		case !o.From.Before(o.To):
			return fmt.Errorf("override %d (%s): from %s is not before to %s", i+1, o.Person,
				o.From.Format(time.RFC3339), o.To.Format(time.RFC3339))
		}
	}
	return nil
}

func (l *Layer) validate() error {
	if len(l.Participants) == 0 {
		return errors.New("no participants")
	}
	for i, p := range l.Participants {
		if p == "" {
			return fmt.Errorf("participant %d has no name", i+1)
		}
	}
	var maxN int
	switch l.Shift.Unit {
	case Hours:
		maxN = maxShiftDays * 24
	case Days:
		maxN = maxShiftDays
	case Weeks:
		maxN = maxShiftDays / 7
	default:
		return fmt.Errorf("shift unit %v: want hours, days or weeks", l.Shift.Unit)
	}
	if l.Shift.N <= 0 || l.Shift.N > maxN {
		return fmt.Errorf("shift of %d %v: want 1 to %d", l.Shift.N, l.Shift.Unit, maxN)
	}
	if !l.Handoff.valid() {
		return fmt.Errorf("handoff %02d:%02d is not a time of day", l.Handoff.Hour, l.Handoff.Minute)
	}
	if l.Weekday != nil {
		if l.Shift.Unit != Weeks {
			return fmt.Errorf("weekday is only for week-based shifts, not %v", l.Shift.Unit)
		}
		if *l.Weekday < time.Sunday || *l.Weekday > time.Saturday {
			return fmt.Errorf("weekday %d is not a weekday", int(*l.Weekday))
		}
	}
	if !l.Start.valid() {
		return fmt.Errorf("start %s is not a date", l.Start)
	}
	for i, w := range l.Restrictions {
		if err := w.validate(); err != nil {
			return fmt.Errorf("restriction %d: %w", i+1, err)
		}
	}
	return nil
}

func (w *Window) validate() error {
	if !w.From.valid() || !w.To.valid() {
		return fmt.Errorf("%02d:%02d–%02d:%02d is not a pair of times of day", w.From.Hour, w.From.Minute, w.To.Hour, w.To.Minute)
	}
	validDay := func(d *time.Weekday) bool { return *d >= time.Sunday && *d <= time.Saturday }
	switch {
	case w.FromDay == nil && w.ToDay == nil:
		if w.From == w.To {
			return fmt.Errorf("daily window %v is empty or the whole day (drop the restriction for all day)", w)
		}
	case w.FromDay == nil || w.ToDay == nil:
		return errors.New("set both days for a weekly window, or neither for a daily one")
	case !validDay(w.FromDay) || !validDay(w.ToDay):
		return fmt.Errorf("weekdays %d and %d: want 0 (Sunday) to 6", int(*w.FromDay), int(*w.ToDay))
	case *w.FromDay == *w.ToDay && w.From == w.To:
		return fmt.Errorf("weekly window %v is empty or the whole week", w)
	}
	return nil
}

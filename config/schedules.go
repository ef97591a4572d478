package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/klaxonhq/klaxon/escalation"
	"github.com/klaxonhq/klaxon/escalation/oncall"
)

// scheduleCheck reports one schedule's problems and remembers whether it
// had any. A report under a path the decoder already rejected is dropped,
// yet the schedule is still not fit to build.
type scheduleCheck struct {
	*validator
	ok bool
}

func (c *scheduleCheck) fail(path, format string, args ...any) {
	c.ok = false
	c.add(path, format, args...)
}

// schedules checks each schedule field by field, with paths, and builds the
// ones that pass with oncall.New, whose own validation is the backstop.
func (v *validator) schedules(schedules []Schedule, cat *escalation.Catalog) {
	v.scheduleNames = map[string]bool{}
	for i, s := range schedules {
		path := fmt.Sprintf("schedules[%d]", i)
		c := &scheduleCheck{validator: v, ok: true}
		named := v.name(path+".name", s.Name, "schedule", v.scheduleNames)
		out := oncall.Schedule{Name: s.Name, Location: v.timezone(path+".timezone", s.Timezone)}
		if out.Location == nil {
			c.ok = false
		}
		if len(s.Layers) == 0 {
			c.fail(path+".layers", "at least one layer is required")
		}
		for j, l := range s.Layers {
			out.Layers = append(out.Layers, c.layer(fmt.Sprintf("%s.layers[%d]", path, j), l, cat))
		}
		for j, o := range s.Overrides {
			out.Overrides = append(out.Overrides, c.override(fmt.Sprintf("%s.overrides[%d]", path, j), o, cat))
		}
		// The notices need only the time zone: checked with a broken
		// layer too, they are not found only after it is fixed.
		var notices *escalation.Notices
		if s.Notify != nil && out.Location != nil {
			notices = v.notify(path+".notify", s.Notify, out.Location)
		}
		if !named || !c.ok {
			continue
		}
		sched, err := oncall.New(out)
		if err != nil {
			// The path already names the schedule; the message names the
			// layer or override.
			v.add(path, "%s", strings.TrimPrefix(err.Error(), fmt.Sprintf("schedule %q: ", s.Name)))
			continue
		}
		cat.Schedules[s.Name] = sched
		if notices != nil {
			cat.Notices[s.Name] = notices
		}
	}
}

// notify checks a schedule's notices; nil when there are none or they are
// broken (reported).
func (v *validator) notify(path string, n *Notify, loc *time.Location) *escalation.Notices {
	out := &escalation.Notices{ShiftStart: n.ShiftStart}
	if n.Digest != "" {
		rule, err := parseCron(n.Digest, loc)
		if err != nil {
			v.add(path+".digest", "%v", err)
			return nil
		}
		out.Digest, out.DigestSpec = rule, n.Digest
	}
	if !out.ShiftStart && out.Digest == nil {
		return nil
	}
	return out
}

func (c *scheduleCheck) layer(path string, l Layer, cat *escalation.Catalog) oncall.Layer {
	out := oncall.Layer{Name: l.Name, Participants: l.Participants}
	if len(l.Participants) == 0 {
		c.fail(path+".participants", "at least one participant is required")
	}
	for k, p := range l.Participants {
		pp := fmt.Sprintf("%s.participants[%d]", path, k)
		switch {
		case p == "":
			c.fail(pp, "required")
		case cat.People[p] == nil:
			c.fail(pp, "unknown person %q", p)
		}
	}

	shiftOK := false
	if l.Shift == "" {
		c.fail(path+".shift", "required: <N>h, <N>d or <N>w, like 1w")
	} else if sh, err := parseShift(l.Shift); err != nil {
		c.fail(path+".shift", "%v", err)
	} else {
		out.Shift, shiftOK = sh, true
	}

	if l.Handoff == "" {
		c.fail(path+".handoff", `required: the local time shifts change, like "09:00"`)
	} else if clock, ok := parseClock(l.Handoff); !ok {
		c.fail(path+".handoff", "%q is not a time HH:MM", l.Handoff)
	} else {
		out.Handoff = clock
	}

	if l.Weekday != "" {
		d, ok := parseWeekday(l.Weekday)
		switch {
		case !ok:
			c.fail(path+".weekday", "%q is not a weekday (want monday to sunday, or mon to sun)", l.Weekday)
		case shiftOK && out.Shift.Unit != oncall.Weeks:
			c.fail(path+".weekday", "only weekly shifts have a handoff weekday")
		default:
			out.Weekday = &d
		}
	}

	if l.Start == "" {
		c.fail(path+".start", "required: the local date the rotation starts, like 2025-01-06")
	} else if d, ok := parseDate(l.Start); !ok {
		c.fail(path+".start", "%q is not a date YYYY-MM-DD", l.Start)
	} else {
		out.Start = d
	}

	for k, r := range l.Restrictions {
		if w, ok := c.restriction(fmt.Sprintf("%s.restrictions[%d]", path, k), r); ok {
			out.Restrictions = append(out.Restrictions, w)
		}
	}
	return out
}

func (c *scheduleCheck) restriction(path string, r Restriction) (oncall.Window, bool) {
	fromDay, from, okFrom := c.windowEdge(path+".from", r.From)
	toDay, to, okTo := c.windowEdge(path+".to", r.To)
	if !okFrom || !okTo {
		return oncall.Window{}, false
	}
	switch {
	case (fromDay == nil) != (toDay == nil):
		c.fail(path, "give both from and to a weekday (a weekly window) or neither (a daily window)")
	case fromDay == nil && from == to:
		c.fail(path, "from and to are both %v: a daily window can be neither empty nor the whole day (leave out restrictions to cover all day)", from)
	case fromDay != nil && *fromDay == *toDay && from == to:
		c.fail(path, "from and to are both %s %v: a weekly window can be neither empty nor the whole week", fromDay.String()[:3], from)
	default:
		return oncall.Window{FromDay: fromDay, From: from, ToDay: toDay, To: to}, true
	}
	return oncall.Window{}, false
}

// windowEdge parses "HH:MM" (daily) or "<weekday> HH:MM" (weekly).
func (c *scheduleCheck) windowEdge(path, s string) (*time.Weekday, oncall.Clock, bool) {
	if s == "" {
		c.fail(path, "required")
		return nil, oncall.Clock{}, false
	}
	switch f := strings.Fields(s); len(f) {
	case 1:
		if clock, ok := parseClock(f[0]); ok {
			return nil, clock, true
		}
	case 2:
		d, okDay := parseWeekday(f[0])
		clock, okClock := parseClock(f[1])
		if okDay && okClock {
			return &d, clock, true
		}
	}
	c.fail(path, `%q is not a time HH:MM or a weekday and time like "fri 17:00"`, s)
	return nil, oncall.Clock{}, false
}

func (c *scheduleCheck) override(path string, o Override, cat *escalation.Catalog) oncall.Override {
	switch {
	case o.Person == "":
		c.fail(path+".person", "required")
	case cat.People[o.Person] == nil:
		c.fail(path+".person", "unknown person %q", o.Person)
	}
	from, okFrom := c.instant(path+".from", o.From)
	to, okTo := c.instant(path+".to", o.To)
	if okFrom && okTo && !from.Before(to) {
		c.fail(path+".to", "%q is not after from (%q)", o.To, o.From)
	}
	return oncall.Override{Person: o.Person, From: from, To: to}
}

func (c *scheduleCheck) instant(path, s string) (time.Time, bool) {
	if s == "" {
		c.fail(path, "required")
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		c.fail(path, "%q is not an RFC 3339 instant, like 2025-06-01T09:00:00Z", s)
		return time.Time{}, false
	}
	return t, true
}

// parseShift parses "<N>h", "<N>d" or "<N>w". It is not time.ParseDuration:
// a day is not always 24 hours, and Go durations have no days or weeks.
// oncall.New bounds N from above.
func parseShift(s string) (oncall.Shift, error) {
	if isDigits(s) {
		return oncall.Shift{}, fmt.Errorf("%q has no unit (want <N>h, <N>d or <N>w, like %sd)", s, s)
	}
	var unit oncall.Unit
	num := ""
	if s != "" {
		num = s[:len(s)-1]
		switch s[len(s)-1] {
		case 'h':
			unit = oncall.Hours
		case 'd':
			unit = oncall.Days
		case 'w':
			unit = oncall.Weeks
		}
	}
	n, err := strconv.Atoi(num)
	if unit == 0 || !isDigits(num) || err != nil {
		return oncall.Shift{}, fmt.Errorf("%q is not a shift (want <N>h, <N>d or <N>w)", s)
	}
	if n < 1 {
		return oncall.Shift{}, fmt.Errorf("%q is not a shift: N must be at least 1", s)
	}
	return oncall.Shift{Unit: unit, N: n}, nil
}

// parseClock parses "HH:MM" (a single-digit hour is fine too).
func parseClock(s string) (oncall.Clock, bool) {
	h, m, found := strings.Cut(s, ":")
	if !found || len(h) < 1 || len(h) > 2 || len(m) != 2 || !isDigits(h) || !isDigits(m) {
		return oncall.Clock{}, false
	}
	hour, _ := strconv.Atoi(h)
	minute, _ := strconv.Atoi(m)
	return oncall.Clock{Hour: hour, Minute: minute}, hour < 24 && minute < 60
}

// parseWeekday accepts English weekday names, full or three letters, in
// any case.
func parseWeekday(s string) (time.Weekday, bool) {
	s = strings.ToLower(s)
	for d := time.Sunday; d <= time.Saturday; d++ {
		name := strings.ToLower(d.String())
		if s == name || s == name[:3] {
			return d, true
		}
	}
	return 0, false
}

func parseDate(s string) (oncall.Date, bool) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil || t.Year() < 1 {
		return oncall.Date{}, false
	}
	return oncall.Date{Year: t.Year(), Month: t.Month(), Day: t.Day()}, true
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

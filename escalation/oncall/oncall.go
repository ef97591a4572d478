package oncall

import (
	"sort"
	"time"
)

// MaxLookahead is how far NextHandoff looks for a change. Every shift is at
// most a year, so a started rotation of two or more people changes well
// within it.
const MaxLookahead = 2 * 366 * 24 * time.Hour

// OnCall says who is on call at an instant: the latest-added override
// covering it, else the person of the last layer that has someone then.
// ok is false when nobody is, or the schedule is invalid.
func (s *Schedule) OnCall(at time.Time) (person string, ok bool) {
	p, err := s.prepared()
	if err != nil {
		return "", false
	}
	person, _ = p.eval(at)
	return person, person != ""
}

// Timeline is the final on-call over [from, to) as consecutive spans in the
// schedule's Location, adjacent spans of the same person merged. Gaps are
// spans with Person "", so the spans always cover [from, to) exactly. It is
// nil when from is not before to or the schedule is invalid.
func (s *Schedule) Timeline(from, to time.Time) []Span {
	p, err := s.prepared()
	if err != nil {
		return nil
	}
	return p.timeline(from, to)
}

func (p *prepared) timeline(from, to time.Time) []Span {
	var spans []Span
	for t := from; t.Before(to); {
		who, until := p.eval(t)
		if until.After(to) {
			until = to
		}
		if n := len(spans); n > 0 && spans[n-1].Person == who {
			spans[n-1].To = until.In(p.loc)
		} else {
			spans = append(spans, Span{Person: who, From: t.In(p.loc), To: until.In(p.loc)})
		}
		t = until
	}
	return spans
}

// NextHandoff is the first instant after `after` at which OnCall's answer
// differs from its answer at `after` (someone taking over, or a gap
// starting or ending). ok is false when it does not change within
// MaxLookahead, or the schedule is invalid.
func (s *Schedule) NextHandoff(after time.Time) (time.Time, bool) {
	p, err := s.prepared()
	if err != nil {
		return time.Time{}, false
	}
	limit := after.Add(MaxLookahead)
	cur, t := p.eval(after)
	// Each step lands on an instant where something that could matter
	// changes; most are real handoffs, but a change can be masked (a layer
	// hands over to the person already covering from below).
	for !t.After(limit) {
		who, next := p.eval(t)
		if who != cur {
			return t.In(p.loc), true
		}
		t = next
	}
	return time.Time{}, false
}

// eval is the final on-call at t and an instant after t before which it
// cannot change. Overrides, then layers from the last, are asked in turn
// until one has someone; lower layers cannot matter until the winner or a
// higher one changes, so until is the earliest change among those asked.
func (p *prepared) eval(t time.Time) (person string, until time.Time) {
	person, until = p.override(t)
	if person != "" {
		return person, until
	}
	sec := t.Unix() // floor: every layer edge is a whole second
	if sec < minSec || sec >= maxSec {
		// Outside the calendar layers are defined on, only overrides count.
		if sec < minSec && until.After(time.Unix(minSec, 0)) {
			until = time.Unix(minSec, 0)
		}
		return "", until
	}
	for i := len(p.layers) - 1; i >= 0; i-- {
		who, u := p.layers[i].at(p.loc, sec)
		if ut := time.Unix(u, 0); ut.Before(until) {
			until = ut
		}
		if who != "" {
			return who, until
		}
	}
	return "", until
}

// override is the winning override at t ("" for none) and when that ends.
func (p *prepared) override(t time.Time) (string, time.Time) {
	segs := p.overrides
	i := sort.Search(len(segs), func(i int) bool { return segs[i].to.After(t) })
	switch {
	case i == len(segs):
		return "", forever
	case segs[i].from.After(t):
		return "", segs[i].from
	}
	return segs[i].person, segs[i].to
}

// at is the layer's person at Unix second sec ("" for nobody) and a later
// second before which that cannot change.
func (l *layer) at(loc *time.Location, sec int64) (string, int64) {
	until := never
	if len(l.windows) > 0 {
		in, u := l.inside(loc, sec)
		if !in {
			return "", u
		}
		until = u
	}
	who, u := l.rotation(loc, sec)
	return who, min(until, u)
}

// rotation is the person whose shift covers sec and when the next shift of
// someone else begins.
func (l *layer) rotation(loc *time.Location, sec int64) (string, int64) {
	n := int64(len(l.names))
	if l.hours {
		if sec < l.anchor {
			return "", l.anchor
		}
		idx := (sec - l.anchor) / l.period
		i := idx % n
		if l.skip[i] == 0 {
			return l.names[i], never
		}
		return l.names[i], l.anchor + (idx+l.skip[i])*l.period
	}
	k := l.shiftDay(loc, sec)
	if k < l.first {
		return "", l.handoffOn(loc, l.first)
	}
	idx := (k - l.anchor) / l.period
	i := idx % n
	if l.skip[i] == 0 {
		return l.names[i], never
	}
	return l.names[i], l.handoffOn(loc, l.anchor+(idx+l.skip[i])*l.period)
}

// handoffOn is the instant of the handoff time on day k.
func (l *layer) handoffOn(loc *time.Location, k int64) int64 {
	return localAt(loc, k*day+l.handoff)
}

// shiftDay is the day k whose handoff time has passed at sec while day
// k+1's has not. Usually that is the local date or the day before; the
// loops make it right however a zone's clock jumps.
func (l *layer) shiftDay(loc *time.Location, sec int64) int64 {
	k := localDay(loc, sec)
	for l.handoffOn(loc, k) > sec {
		k--
	}
	for l.handoffOn(loc, k+1) <= sec {
		k++
	}
	return k
}

// inside says whether sec is inside any of the layer's windows, and when
// that changes: the end of the union of the windows covering sec, or the
// next start.
func (l *layer) inside(loc *time.Location, sec int64) (bool, int64) {
	in, end, next := false, int64(0), never
	for i := range l.windows {
		ok, u := l.windows[i].at(loc, sec)
		switch {
		case ok:
			in, end = true, max(end, u)
		case !in:
			next = min(next, u)
		}
	}
	if !in {
		return false, next
	}
	// Windows that touch or overlap extend the coverage. The bound only
	// keeps windows covering the whole week from looping; stopping early
	// just reports a change that isn't one.
	for range 2*len(l.windows) + 2 {
		ext := end
		for i := range l.windows {
			if ok, u := l.windows[i].at(loc, end); ok {
				ext = max(ext, u)
			}
		}
		if ext == end {
			break
		}
		end = ext
	}
	return true, end
}

// at says whether sec is in an occurrence of the window, and when that
// occurrence ends or the next begins.
func (w *window) at(loc *time.Location, sec int64) (bool, int64) {
	k := localDay(loc, sec)
	// The occurrence covering sec starts at most span days before its local
	// date; start one occurrence earlier for clocks that jump across midnight.
	s := k - w.span - 1
	s -= floorMod(s-w.start, w.step)
	for range 8 { // three or four occurrences at most; the bound is a backstop
		start := localAt(loc, s*day+w.from)
		if start > sec {
			return false, start
		}
		if end := localAt(loc, (s+w.span)*day+w.to); sec < end {
			return true, end
		}
		s += w.step
	}
	return false, sec + 1
}

package oncall

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// Lint reports what deserves a human look over [from, to): gaps, when
// nobody is on call; people on call in two layers at once (the higher layer
// hides the lower, so the lower shift gives no cover — usually a rota
// mistake); and handoffs (including restriction window edges) at local
// times that don't exist (spring forward) or happen twice (fall back),
// where the DST rules in the package doc decide the instant.
// Warnings are in time order. An invalid schedule gives one warning, the
// validation error, with a zero At.
func Lint(s *Schedule, from, to time.Time) []Warning {
	p, err := s.prepared()
	if err != nil {
		return []Warning{{Message: err.Error()}}
	}
	var ws []Warning
	for _, sp := range p.timeline(from, to) {
		if sp.Person == "" {
			// The window starts at the caller's now, to the nanosecond:
			// the gap's length is said in whole seconds.
			ws = append(ws, Warning{At: sp.From, Message: fmt.Sprintf("nobody is on call for %v, from %s to %s",
				sp.To.Sub(sp.From).Round(time.Second), stamp(sp.From), stamp(sp.To))})
		}
	}
	ws = append(ws, p.doubleBooked(s, from, to)...)
	for _, tr := range transitions(p.loc, from, to) {
		ws = append(ws, p.lintTransition(s, tr, from, to)...)
	}
	slices.SortStableFunc(ws, func(a, b Warning) int { return a.At.Compare(b.At) })
	return ws
}

// doubleBooked finds people on call in two or more layers at once: one
// warning per person and set of layers, at the first stretch, counting the
// rest, so a rota that double-books every week reads as one line.
func (p *prepared) doubleBooked(s *Schedule, from, to time.Time) []Warning {
	type stretch struct {
		from, to int64
		more     int
	}
	first := map[string]*stretch{} // by person + layers
	open := map[string]string{}    // person → layers of the stretch in progress
	sec, end := max(from.Unix(), minSec), min(to.Unix(), maxSec)
	for sec < end {
		next := end
		byPerson := map[string][]string{}
		for i := range p.layers {
			who, u := p.layers[i].at(p.loc, sec)
			next = min(next, max(u, sec+1))
			if who != "" {
				byPerson[who] = append(byPerson[who], layerName(i, s.Layers[i]))
			}
		}
		for who := range open {
			if ls := byPerson[who]; len(ls) < 2 || strings.Join(ls, " and ") != open[who] {
				delete(open, who)
			}
		}
		for who, ls := range byPerson {
			if len(ls) < 2 {
				continue
			}
			layers := strings.Join(ls, " and ")
			key := who + "\x00" + layers
			st := first[key]
			switch {
			case st == nil:
				first[key] = &stretch{from: sec, to: next}
			case open[who] == layers && st.more == 0 && st.to == sec:
				st.to = next // the first stretch goes on
			case open[who] != layers:
				st.more++
			}
			open[who] = layers
		}
		sec = next
	}
	var ws []Warning
	for _, key := range slices.Sorted(maps.Keys(first)) {
		st := first[key]
		who, layers, _ := strings.Cut(key, "\x00")
		from, to := time.Unix(st.from, 0).In(p.loc), time.Unix(st.to, 0).In(p.loc)
		msg := fmt.Sprintf("%s is on call in layers %s at once, from %s to %s", who, layers, stamp(from), stamp(to))
		if st.more > 0 {
			msg += fmt.Sprintf(", and %d more time(s) in the period", st.more)
		}
		ws = append(ws, Warning{At: from, Message: msg + ": the higher layer hides the lower, which gives no cover then"})
	}
	return ws
}

// transition is a change of UTC offset at Unix second at.
type transition struct {
	at, before, after int64
}

// transitions lists loc's offset changes in [from, to).
func transitions(loc *time.Location, from, to time.Time) []transition {
	var trs []transition
	t := from.In(loc)
	for {
		_, end := t.ZoneBounds()
		if end.IsZero() || !end.Before(to) {
			return trs
		}
		_, before := t.Zone()
		_, after := end.Zone()
		if before != after { // some bounds only rename the zone
			trs = append(trs, transition{end.Unix(), int64(before), int64(after)})
		}
		t = end
	}
}

// lintTransition finds the layers' wall-clock handoffs and window edges in
// the local times that a transition skips or repeats.
func (p *prepared) lintTransition(s *Schedule, tr transition, from, to time.Time) []Warning {
	// The affected local times, as seconds since 1970-01-01 local.
	lo, hi := tr.at+tr.before, tr.at+tr.after
	what := "does not exist (clocks go forward); it happens at the end of the gap,"
	if hi < lo {
		lo, hi = hi, lo
		what = "happens twice (clocks go back); it happens at the first,"
	}
	var ws []Warning
	check := func(li int, k int64, c Clock, kind string) {
		wall := k*day + c.seconds()
		if wall < lo || wall >= hi {
			return
		}
		at := time.Unix(localAt(p.loc, wall), 0).In(p.loc)
		if at.Before(from) || !at.Before(to) {
			return
		}
		ws = append(ws, Warning{At: at, Message: fmt.Sprintf("layer %s: %s at %v on %v %s %s",
			layerName(li, s.Layers[li]), kind, c, dateOf(k), what, stamp(at))})
	}
	for k := floorDiv(lo, day); k <= floorDiv(hi-1, day); k++ {
		for li, l := range s.Layers {
			pl := &p.layers[li]
			if pl.handsOff(k) {
				check(li, k, l.Handoff, "handoff")
			}
			for wi, w := range l.Restrictions {
				pw := &p.layers[li].windows[wi]
				if floorMod(k-pw.start, pw.step) == 0 {
					check(li, k, w.From, fmt.Sprintf("restriction %v starts", w))
				}
				if floorMod(k-pw.span-pw.start, pw.step) == 0 {
					check(li, k, w.To, fmt.Sprintf("restriction %v ends", w))
				}
			}
		}
	}
	return ws
}

// handsOff says whether on day k, at the handoff time, the layer starts or
// passes to someone else. An hour-based layer's only wall-clock handoff is
// its first; the rest are exact durations after it.
func (l *layer) handsOff(k int64) bool {
	switch {
	case k == l.first:
		return true
	case l.hours || k < l.first || floorMod(k-l.anchor, l.period) != 0:
		return false
	}
	n := int64(len(l.names))
	idx := (k - l.anchor) / l.period
	return l.names[idx%n] != l.names[(idx-1)%n]
}

func layerName(i int, l Layer) string {
	if l.Name == "" {
		return fmt.Sprint(i + 1)
	}
	return fmt.Sprintf("%d (%q)", i+1, l.Name)
}

// stamp formats an instant in its location with the zone, which tells the
// two occurrences of an ambiguous time apart.
func stamp(t time.Time) string { return t.Format("2006-01-02 15:04 MST") }

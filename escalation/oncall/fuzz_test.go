package oncall

import (
	"testing"
	"time"
)

// fuzzInput hands out small numbers from the fuzzer's input, zeros when it
// runs out.
type fuzzInput []byte

func (b *fuzzInput) n(k int) int {
	if len(*b) == 0 {
		return 0
	}
	v := int((*b)[0]) % k
	*b = (*b)[1:]
	return v
}

var fuzzZones = []string{"UTC", "America/Los_Angeles", "Europe/Berlin", "Australia/Sydney", "Pacific/Chatham",
	"Australia/Lord_Howe", "America/Santiago", "Asia/Kolkata", "Pacific/Apia"}

// fuzzSchedule builds a small schedule around 2025 from the input.
func fuzzSchedule(t testing.TB, b *fuzzInput) Schedule {
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	names := []string{"a", "b", "c", "d"}
	s := Schedule{Name: "fuzz", Location: zone(t, fuzzZones[b.n(len(fuzzZones))])}
	clock := func() Clock { return Clock{b.n(24), 15 * b.n(4)} }
	for range 1 + b.n(3) {
		l := Layer{Shift: Shift{Unit(1 + b.n(3)), 1 + b.n(3)}, Handoff: clock()}
		if l.Shift.Unit == Hours {
			l.Shift.N = []int{1, 5, 8, 12, 24, 36}[b.n(6)]
		}
		for range 1 + b.n(4) {
			l.Participants = append(l.Participants, names[b.n(len(names))])
		}
		if l.Shift.Unit == Weeks && b.n(2) == 1 {
			l.Weekday = wd(time.Weekday(b.n(7)))
		}
		y, m, d := base.AddDate(0, 0, b.n(256)+b.n(128)).Date()
		l.Start = Date{y, m, d}
		for range b.n(3) {
			w := Window{From: clock(), To: clock()}
			if b.n(2) == 1 {
				w.FromDay, w.ToDay = wd(time.Weekday(b.n(7))), wd(time.Weekday(b.n(7)))
			}
			l.Restrictions = append(l.Restrictions, w)
		}
		s.Layers = append(s.Layers, l)
	}
	for range b.n(5) {
		from := base.Add(time.Duration(b.n(256)*b.n(256)) * 9 * time.Minute)
		s.Overrides = append(s.Overrides, Override{Person: names[b.n(len(names))], From: from,
			To: from.Add(time.Duration(1+b.n(256)) * 7 * time.Minute)})
	}
	return s
}

// FuzzSchedule: for random small schedules and instants, lookups never
// panic, and Timeline's spans are contiguous, merged and agree with OnCall
// at both ends of every span and with NextHandoff.
func FuzzSchedule(f *testing.F) {
	f.Add([]byte{1, 0, 1, 2, 9, 0, 3, 0, 1, 2, 3, 10, 10, 1, 22, 0, 6, 0, 0}, int64(5_000_000), uint16(200))
	f.Add([]byte{4, 2, 0, 2, 3, 3, 0, 1, 2, 0, 1, 200, 50, 2, 17, 0, 9, 0, 1, 5, 1, 3, 1, 2, 30, 40, 3, 1, 9}, int64(23_000_000), uint16(900))
	f.Add([]byte{2, 1, 2, 0, 2, 2, 3, 1, 0, 3, 2, 100, 0, 0, 2, 1, 255, 255, 2, 40}, int64(7_600_000), uint16(4000))
	f.Fuzz(func(t *testing.T, data []byte, offset int64, minutes uint16) {
		b := fuzzInput(data)
		sc := fuzzSchedule(t, &b)
		from := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(offset%(3*366*24*3600)) * time.Second)
		s, err := New(sc)
		if err != nil {
			sc.OnCall(from) // a hand-made invalid schedule is nobody, not a panic
			return
		}
		s.OnCall(time.Unix(offset, int64(minutes)))
		to := from.Add(time.Duration(minutes)*37*time.Second + time.Nanosecond)
		spans := s.Timeline(from, to)
		if len(spans) == 0 || !spans[0].From.Equal(from) || !spans[len(spans)-1].To.Equal(to) {
			t.Fatalf("spans %v don't cover [%v, %v)", spans, from, to)
		}
		for i, sp := range spans {
			if !sp.From.Before(sp.To) {
				t.Fatalf("span %d empty: %v", i, sp)
			}
			if i > 0 && (!spans[i-1].To.Equal(sp.From) || spans[i-1].Person == sp.Person) {
				t.Fatalf("spans %d and %d: %v %v", i-1, i, spans[i-1], sp)
			}
			for _, x := range []time.Time{sp.From, sp.To.Add(-time.Nanosecond)} {
				if p, ok := s.OnCall(x); p != sp.Person || ok != (p != "") {
					t.Fatalf("OnCall(%v) = %q, span %d says %q", x, p, i, sp.Person)
				}
			}
		}
		next, ok := s.NextHandoff(from)
		if len(spans) > 1 && (!ok || !next.Equal(spans[0].To)) {
			t.Fatalf("NextHandoff(%v) = %v %v, timeline says %v", from, next, ok, spans[0].To)
		}
		if len(spans) == 1 && ok && next.Before(to) {
			t.Fatalf("NextHandoff(%v) = %v inside one span to %v", from, next, to)
		}
		Lint(s, from, to)
	})
}

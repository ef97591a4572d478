package oncall

import (
	"math/rand/v2"
	"testing"
	"time"
)

// benchSchedule: a year in Europe/Berlin with five layers (hourly, daily,
// weekly, two restricted) and 100 overrides spread over the year.
func benchSchedule(b *testing.B) (*Schedule, []time.Time) {
	people := []string{"ann", "ben", "cat", "dan", "eve", "fay", "gus", "hal"}
	sc := Schedule{Name: "bench", Location: zone(b, "Europe/Berlin"), Layers: []Layer{
		{Name: "weekly", Participants: people, Shift: Shift{Weeks, 1}, Handoff: Clock{9, 0}, Weekday: wd(time.Monday), Start: Date{2025, 1, 1}},
		{Name: "daily", Participants: people[:5], Shift: Shift{Days, 1}, Handoff: Clock{2, 30}, Start: Date{2025, 1, 2}},
		{Name: "hourly", Participants: people[2:], Shift: Shift{Hours, 12}, Handoff: Clock{8, 0}, Start: Date{2025, 1, 3},
			Restrictions: []Window{{From: Clock{8, 0}, To: Clock{20, 0}}}},
		{Name: "nights", Participants: people[:3], Shift: Shift{Days, 2}, Handoff: Clock{22, 0}, Start: Date{2025, 1, 1},
			Restrictions: []Window{{From: Clock{22, 0}, To: Clock{6, 0}}}},
		{Name: "weekend", Participants: people[5:], Shift: Shift{Weeks, 1}, Handoff: Clock{17, 0}, Weekday: wd(time.Friday), Start: Date{2025, 1, 3},
			Restrictions: []Window{{FromDay: wd(time.Friday), From: Clock{17, 0}, ToDay: wd(time.Monday), To: Clock{9, 0}}}},
	}}
	r := rand.New(rand.NewPCG(1, 2))
	year := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for range 100 {
		from := year.Add(time.Duration(r.Int64N(int64(365 * 24 * time.Hour))))
		sc.Overrides = append(sc.Overrides, Override{Person: people[r.IntN(len(people))], From: from,
			To: from.Add(time.Duration(1+r.IntN(72)) * time.Hour)})
	}
	s, err := New(sc)
	if err != nil {
		b.Fatal(err)
	}
	instants := make([]time.Time, 4096)
	for i := range instants {
		instants[i] = year.Add(time.Duration(r.Int64N(int64(365 * 24 * time.Hour))))
	}
	return s, instants
}

func BenchmarkOnCall(b *testing.B) {
	s, instants := benchSchedule(b)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		s.OnCall(instants[i%len(instants)])
	}
}

func BenchmarkNextHandoff(b *testing.B) {
	s, instants := benchSchedule(b)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, ok := s.NextHandoff(instants[i%len(instants)]); !ok {
			b.Fatal("no handoff")
		}
	}
}

// BenchmarkTimelineYear: the whole year's timeline, as a UI or lint would
// ask for it.
func BenchmarkTimelineYear(b *testing.B) {
	s, _ := benchSchedule(b)
	from := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	b.ResetTimer()
	for b.Loop() {
		s.Timeline(from, from.AddDate(1, 0, 0))
	}
}

func BenchmarkLocalInstant(b *testing.B) {
	l := zone(b, "Europe/Berlin")
	for i := 0; b.Loop(); i++ {
		localInstant(l, 2025, 3, 1+i%31, 2, 30)
	}
}

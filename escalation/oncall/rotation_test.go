package oncall

import (
	"slices"
	"testing"
	"time"
)

var abc = []string{"alice", "bob", "carol"}

// TestHandoffsAcrossDST walks each rotation from `from` with NextHandoff and
// checks the exact handoff instants, the shift lengths between them, that
// the people take turns in order, and that Timeline has the same edges.
func TestHandoffsAcrossDST(t *testing.T) {
	h := time.Hour
	tests := []struct {
		name     string
		zone     string
		layer    Layer
		from     string
		handoffs []string
		lengths  []time.Duration // between consecutive handoffs
	}{
		{
			name:     "LA 2025-03-09 spring forward, daily 09:00: 23h",
			zone:     "America/Los_Angeles",
			layer:    Layer{Shift: Shift{Days, 1}, Handoff: Clock{9, 0}, Start: Date{2025, 3, 7}},
			from:     "2025-03-07T18:00:00Z",
			handoffs: []string{"2025-03-08T17:00:00Z", "2025-03-09T16:00:00Z", "2025-03-10T16:00:00Z"},
			lengths:  []time.Duration{23 * h, 24 * h},
		},
		{
			name:     "LA 2025-03-09 daily handoff 02:30 in the gap happens at 03:00 PDT",
			zone:     "America/Los_Angeles",
			layer:    Layer{Shift: Shift{Days, 1}, Handoff: Clock{2, 30}, Start: Date{2025, 3, 7}},
			from:     "2025-03-07T11:00:00Z",
			handoffs: []string{"2025-03-08T10:30:00Z", "2025-03-09T10:00:00Z", "2025-03-10T09:30:00Z"},
			lengths:  []time.Duration{23*h + 30*time.Minute, 23*h + 30*time.Minute},
		},
		{
			name:     "LA 2025-11-02 fall back, daily 09:00: 25h",
			zone:     "America/Los_Angeles",
			layer:    Layer{Shift: Shift{Days, 1}, Handoff: Clock{9, 0}, Start: Date{2025, 10, 31}},
			from:     "2025-10-31T17:00:00Z",
			handoffs: []string{"2025-11-01T16:00:00Z", "2025-11-02T17:00:00Z", "2025-11-03T17:00:00Z"},
			lengths:  []time.Duration{25 * h, 24 * h},
		},
		{
			name:     "LA 2025-11-02 daily handoff 01:30 in the overlap happens at the first (PDT)",
			zone:     "America/Los_Angeles",
			layer:    Layer{Shift: Shift{Days, 1}, Handoff: Clock{1, 30}, Start: Date{2025, 10, 31}},
			from:     "2025-10-31T09:00:00Z",
			handoffs: []string{"2025-11-01T08:30:00Z", "2025-11-02T08:30:00Z", "2025-11-03T09:30:00Z"},
			lengths:  []time.Duration{24 * h, 25 * h},
		},
		{
			name:     "Berlin 2025-03-30 spring forward, daily 09:00: 23h",
			zone:     "Europe/Berlin",
			layer:    Layer{Shift: Shift{Days, 1}, Handoff: Clock{9, 0}, Start: Date{2025, 3, 28}},
			from:     "2025-03-28T09:00:00Z",
			handoffs: []string{"2025-03-29T08:00:00Z", "2025-03-30T07:00:00Z", "2025-03-31T07:00:00Z"},
			lengths:  []time.Duration{23 * h, 24 * h},
		},
		{
			name:     "Berlin 2025-03-30 daily handoff 02:30 in the gap happens at 03:00 CEST",
			zone:     "Europe/Berlin",
			layer:    Layer{Shift: Shift{Days, 1}, Handoff: Clock{2, 30}, Start: Date{2025, 3, 28}},
			from:     "2025-03-28T02:00:00Z",
			handoffs: []string{"2025-03-29T01:30:00Z", "2025-03-30T01:00:00Z", "2025-03-31T00:30:00Z"},
			lengths:  []time.Duration{23*h + 30*time.Minute, 23*h + 30*time.Minute},
		},
		{
			name:     "Berlin 2025-10-26 fall back, daily 09:00: 25h",
			zone:     "Europe/Berlin",
			layer:    Layer{Shift: Shift{Days, 1}, Handoff: Clock{9, 0}, Start: Date{2025, 10, 24}},
			from:     "2025-10-24T08:00:00Z",
			handoffs: []string{"2025-10-25T07:00:00Z", "2025-10-26T08:00:00Z", "2025-10-27T08:00:00Z"},
			lengths:  []time.Duration{25 * h, 24 * h},
		},
		{
			name:     "Berlin 2025-10-26 daily handoff 02:30 in the overlap happens at the first (CEST)",
			zone:     "Europe/Berlin",
			layer:    Layer{Shift: Shift{Days, 1}, Handoff: Clock{2, 30}, Start: Date{2025, 10, 24}},
			from:     "2025-10-24T01:00:00Z",
			handoffs: []string{"2025-10-25T00:30:00Z", "2025-10-26T00:30:00Z", "2025-10-27T01:30:00Z"},
			lengths:  []time.Duration{24 * h, 25 * h},
		},
		{
			name:     "Sydney 2025-04-06 fall back (southern autumn), daily 09:00: 25h",
			zone:     "Australia/Sydney",
			layer:    Layer{Shift: Shift{Days, 1}, Handoff: Clock{9, 0}, Start: Date{2025, 4, 4}},
			from:     "2025-04-04T00:00:00Z",
			handoffs: []string{"2025-04-04T22:00:00Z", "2025-04-05T23:00:00Z", "2025-04-06T23:00:00Z"},
			lengths:  []time.Duration{25 * h, 24 * h},
		},
		{
			name:     "Sydney 2025-04-06 daily handoff 02:30 in the overlap happens at the first (AEDT)",
			zone:     "Australia/Sydney",
			layer:    Layer{Shift: Shift{Days, 1}, Handoff: Clock{2, 30}, Start: Date{2025, 4, 4}},
			from:     "2025-04-03T16:00:00Z",
			handoffs: []string{"2025-04-04T15:30:00Z", "2025-04-05T15:30:00Z", "2025-04-06T16:30:00Z"},
			lengths:  []time.Duration{24 * h, 25 * h},
		},
		{
			name:     "Sydney 2025-10-05 spring forward, daily 09:00: 23h",
			zone:     "Australia/Sydney",
			layer:    Layer{Shift: Shift{Days, 1}, Handoff: Clock{9, 0}, Start: Date{2025, 10, 3}},
			from:     "2025-10-03T00:00:00Z",
			handoffs: []string{"2025-10-03T23:00:00Z", "2025-10-04T22:00:00Z", "2025-10-05T22:00:00Z"},
			lengths:  []time.Duration{23 * h, 24 * h},
		},
		{
			name:     "Sydney 2025-10-05 daily handoff 02:30 in the gap happens at 03:00 AEDT",
			zone:     "Australia/Sydney",
			layer:    Layer{Shift: Shift{Days, 1}, Handoff: Clock{2, 30}, Start: Date{2025, 10, 3}},
			from:     "2025-10-02T17:00:00Z",
			handoffs: []string{"2025-10-03T16:30:00Z", "2025-10-04T16:00:00Z", "2025-10-05T15:30:00Z"},
			lengths:  []time.Duration{23*h + 30*time.Minute, 23*h + 30*time.Minute},
		},
		{
			name:     "Kolkata +05:30 no DST, daily 09:00 is 03:30Z",
			zone:     "Asia/Kolkata",
			layer:    Layer{Shift: Shift{Days, 1}, Handoff: Clock{9, 0}, Start: Date{2025, 3, 8}},
			from:     "2025-03-08T04:00:00Z",
			handoffs: []string{"2025-03-09T03:30:00Z", "2025-03-10T03:30:00Z", "2025-03-11T03:30:00Z"},
			lengths:  []time.Duration{24 * h, 24 * h},
		},
		{
			name:     "Chatham 2025-04-06 fall back 03:45→02:45, daily handoff 03:00 in the overlap happens at the first (+13:45)",
			zone:     "Pacific/Chatham",
			layer:    Layer{Shift: Shift{Days, 1}, Handoff: Clock{3, 0}, Start: Date{2025, 4, 4}},
			from:     "2025-04-03T14:00:00Z",
			handoffs: []string{"2025-04-04T13:15:00Z", "2025-04-05T13:15:00Z", "2025-04-06T14:15:00Z"},
			lengths:  []time.Duration{24 * h, 25 * h},
		},
		{
			name:     "Chatham 2025-09-28 spring forward 02:45→03:45, daily handoff 03:00 in the gap happens at 03:45 +13:45",
			zone:     "Pacific/Chatham",
			layer:    Layer{Shift: Shift{Days, 1}, Handoff: Clock{3, 0}, Start: Date{2025, 9, 26}},
			from:     "2025-09-25T15:00:00Z",
			handoffs: []string{"2025-09-26T14:15:00Z", "2025-09-27T14:00:00Z", "2025-09-28T13:15:00Z"},
			lengths:  []time.Duration{23*h + 45*time.Minute, 23*h + 15*time.Minute},
		},
		{
			name:     "Lord Howe 2025-04-06 30-minute fall back, daily 09:00: 24h30m",
			zone:     "Australia/Lord_Howe",
			layer:    Layer{Shift: Shift{Days, 1}, Handoff: Clock{9, 0}, Start: Date{2025, 4, 4}},
			from:     "2025-04-04T00:00:00Z",
			handoffs: []string{"2025-04-04T22:00:00Z", "2025-04-05T22:30:00Z", "2025-04-06T22:30:00Z"},
			lengths:  []time.Duration{24*h + 30*time.Minute, 24 * h},
		},
		{
			name:     "Lord Howe 2025-10-05 daily handoff 02:15 in the 30-minute gap happens at 02:30 +11",
			zone:     "Australia/Lord_Howe",
			layer:    Layer{Shift: Shift{Days, 1}, Handoff: Clock{2, 15}, Start: Date{2025, 10, 3}},
			from:     "2025-10-02T16:00:00Z",
			handoffs: []string{"2025-10-03T15:45:00Z", "2025-10-04T15:30:00Z", "2025-10-05T15:15:00Z"},
			lengths:  []time.Duration{23*h + 45*time.Minute, 23*h + 45*time.Minute},
		},
		{
			name:     "Santiago 2025-09-07 gap at midnight, daily handoff 00:00 happens at 01:00 -03",
			zone:     "America/Santiago",
			layer:    Layer{Shift: Shift{Days, 1}, Handoff: Clock{0, 0}, Start: Date{2025, 9, 5}},
			from:     "2025-09-05T05:00:00Z",
			handoffs: []string{"2025-09-06T04:00:00Z", "2025-09-07T04:00:00Z", "2025-09-08T03:00:00Z"},
			lengths:  []time.Duration{24 * h, 23 * h},
		},
		{
			name:     "Santiago 2025-04-06 overlap at midnight (24:00→23:00), daily handoff 23:30 happens at the first (-03)",
			zone:     "America/Santiago",
			layer:    Layer{Shift: Shift{Days, 1}, Handoff: Clock{23, 30}, Start: Date{2025, 4, 3}},
			from:     "2025-04-04T03:00:00Z",
			handoffs: []string{"2025-04-05T02:30:00Z", "2025-04-06T02:30:00Z", "2025-04-07T03:30:00Z"},
			lengths:  []time.Duration{24 * h, 25 * h},
		},
		{
			name:     "LA 2025-03-09 spring forward, 12h shifts stay 12 elapsed hours",
			zone:     "America/Los_Angeles",
			layer:    Layer{Shift: Shift{Hours, 12}, Handoff: Clock{8, 0}, Start: Date{2025, 3, 8}},
			from:     "2025-03-08T16:01:00Z",
			handoffs: []string{"2025-03-09T04:00:00Z", "2025-03-09T16:00:00Z", "2025-03-10T04:00:00Z"},
			lengths:  []time.Duration{12 * h, 12 * h},
		},
		{
			name:     "LA 2025-11-02 fall back, 8h shifts stay 8 elapsed hours",
			zone:     "America/Los_Angeles",
			layer:    Layer{Shift: Shift{Hours, 8}, Handoff: Clock{0, 0}, Start: Date{2025, 11, 1}},
			from:     "2025-11-01T08:00:00Z",
			handoffs: []string{"2025-11-01T15:00:00Z", "2025-11-01T23:00:00Z", "2025-11-02T07:00:00Z", "2025-11-02T15:00:00Z"},
			lengths:  []time.Duration{8 * h, 8 * h, 8 * h},
		},
		{
			name:     "Berlin 2025-03-30 12h shifts anchored at 02:30 in the gap start at 03:00 CEST",
			zone:     "Europe/Berlin",
			layer:    Layer{Shift: Shift{Hours, 12}, Handoff: Clock{2, 30}, Start: Date{2025, 3, 30}},
			from:     "2025-03-30T00:00:00Z",
			handoffs: []string{"2025-03-30T01:00:00Z", "2025-03-30T13:00:00Z", "2025-03-31T01:00:00Z"},
			lengths:  []time.Duration{12 * h},
		},
		{
			name:     "Berlin 2025-03-30 weekly, Monday 09:00: the DST week is 167h",
			zone:     "Europe/Berlin",
			layer:    Layer{Shift: Shift{Weeks, 1}, Handoff: Clock{9, 0}, Weekday: wd(time.Monday), Start: Date{2025, 3, 24}},
			from:     "2025-03-24T00:00:00Z",
			handoffs: []string{"2025-03-24T08:00:00Z", "2025-03-31T07:00:00Z", "2025-04-07T07:00:00Z"},
			lengths:  []time.Duration{167 * h, 168 * h},
		},
		{
			name:     "LA 2025-11-02 weekly Monday 09:00 starting on a Wednesday: a short first week",
			zone:     "America/Los_Angeles",
			layer:    Layer{Shift: Shift{Weeks, 1}, Handoff: Clock{9, 0}, Weekday: wd(time.Monday), Start: Date{2025, 10, 29}},
			from:     "2025-10-29T00:00:00Z",
			handoffs: []string{"2025-10-29T16:00:00Z", "2025-11-03T17:00:00Z", "2025-11-10T17:00:00Z"},
			lengths:  []time.Duration{5*24*h + h, 168 * h},
		},
		{
			name:     "Berlin fortnightly from Start's weekday (Thursday 10:00) across 2025-10-26",
			zone:     "Europe/Berlin",
			layer:    Layer{Shift: Shift{Weeks, 2}, Handoff: Clock{10, 0}, Start: Date{2025, 10, 16}},
			from:     "2025-10-16T09:00:00Z",
			handoffs: []string{"2025-10-30T09:00:00Z", "2025-11-13T09:00:00Z"},
			lengths:  []time.Duration{14 * 24 * h},
		},
		{
			name:     "Stockholm schedule seen from America/Los_Angeles, 2025-03-30: 09:00 CET is 01:00 PDT, then 00:00 PDT",
			zone:     "Europe/Stockholm",
			layer:    Layer{Shift: Shift{Days, 1}, Handoff: Clock{9, 0}, Start: Date{2025, 3, 20}},
			from:     "2025-03-28T12:00:00-07:00",
			handoffs: []string{"2025-03-29T01:00:00-07:00", "2025-03-30T00:00:00-07:00", "2025-03-31T00:00:00-07:00"},
			lengths:  []time.Duration{23 * h, 24 * h},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := tt.layer
			l.Name, l.Participants = "primary", abc
			s := mustNew(t, Schedule{Name: "ops", Location: zone(t, tt.zone), Layers: []Layer{l}})
			cur := at(t, tt.from)
			var got []time.Time
			for range tt.handoffs {
				next, ok := s.NextHandoff(cur)
				if !ok {
					t.Fatalf("no handoff after %v", cur)
				}
				before, after := whoAt(s, next.Add(-time.Nanosecond)), whoAt(s, next)
				if before == after || (before != "" && after != abc[(slices.Index(abc, before)+1)%len(abc)]) {
					t.Errorf("at %v: %q → %q, want the next in turn", next, before, after)
				}
				got = append(got, next)
				cur = next
			}
			for i, w := range tt.handoffs {
				if want := at(t, w); !got[i].Equal(want) {
					t.Errorf("handoff %d: %v (%v), want %v", i+1, got[i].UTC(), got[i], want.UTC())
				}
			}
			for i, want := range tt.lengths {
				if d := got[i+1].Sub(got[i]); d != want {
					t.Errorf("shift %d: %v, want %v", i+1, d, want)
				}
			}
			// Timeline agrees: from `from` to the last handoff, its edges are
			// the handoffs.
			spans := s.Timeline(at(t, tt.from), got[len(got)-1])
			var edges []time.Time
			for _, sp := range spans[1:] {
				edges = append(edges, sp.From)
			}
			if !slices.EqualFunc(edges, got[:len(got)-1], time.Time.Equal) {
				t.Errorf("timeline edges %v, want %v", edges, got[:len(got)-1])
			}
		})
	}
}

func TestBeforeStartNobody(t *testing.T) {
	s := mustNew(t, Schedule{Name: "ops", Location: zone(t, "Europe/Berlin"), Layers: []Layer{
		{Participants: abc, Shift: Shift{Days, 1}, Handoff: Clock{9, 0}, Start: Date{2025, 6, 2}},
	}})
	if p, ok := s.OnCall(at(t, "2025-06-02T06:59:59Z")); ok {
		t.Fatalf("before start: %q", p)
	}
	if p, _ := s.OnCall(at(t, "2025-06-02T07:00:00Z")); p != "alice" {
		t.Fatalf("at start: %q, want alice", p)
	}
	// Index arithmetic, not stepping: a year on, 365 shifts later.
	if p, _ := s.OnCall(at(t, "2026-06-02T07:00:00Z")); p != abc[365%3] {
		t.Fatalf("a year on: %q, want %q", p, abc[365%3])
	}
}

func TestRepeatedNamesAreOneShift(t *testing.T) {
	s := mustNew(t, Schedule{Name: "ops", Location: time.UTC, Layers: []Layer{
		{Participants: []string{"alice", "alice", "bob"}, Shift: Shift{Days, 1}, Handoff: Clock{9, 0}, Start: Date{2025, 6, 2}},
	}})
	next, ok := s.NextHandoff(at(t, "2025-06-02T10:00:00Z"))
	if want := at(t, "2025-06-04T09:00:00Z"); !ok || !next.Equal(want) {
		t.Fatalf("next handoff %v %v, want %v (alice's two shifts are one)", next, ok, want)
	}
}

package oncall

import (
	"testing"
	"time"
)

type probe struct {
	at, want string
}

func checkProbes(t *testing.T, s *Schedule, probes []probe) {
	t.Helper()
	for _, p := range probes {
		got, ok := s.OnCall(at(t, p.at))
		if got != p.want || ok != (p.want != "") {
			t.Errorf("OnCall(%s) = %q, %v; want %q", p.at, got, ok, p.want)
		}
	}
}

func TestRestrictions(t *testing.T) {
	daily := func(from, to Clock) []Window { return []Window{{From: from, To: to}} }
	base := Layer{Name: "base", Participants: []string{"dana"}, Shift: Shift{Weeks, 1}, Start: Date{2025, 1, 1}}
	tests := []struct {
		name   string
		zone   string
		layers []Layer
		probes []probe
	}{
		{
			name: "follow-the-sun in UTC: three layers, 8h windows each",
			zone: "UTC",
			layers: []Layer{
				{Name: "apac", Participants: []string{"ann", "al"}, Shift: Shift{Days, 1}, Start: Date{2025, 6, 2}, Restrictions: daily(Clock{0, 0}, Clock{8, 0})},
				{Name: "emea", Participants: []string{"eve"}, Shift: Shift{Weeks, 1}, Start: Date{2025, 6, 2}, Restrictions: daily(Clock{8, 0}, Clock{16, 0})},
				{Name: "amer", Participants: []string{"sam"}, Shift: Shift{Weeks, 1}, Start: Date{2025, 6, 2}, Restrictions: daily(Clock{16, 0}, Clock{0, 0})},
			},
			probes: []probe{
				{"2025-06-02T03:00:00Z", "ann"}, {"2025-06-02T07:59:59Z", "ann"}, {"2025-06-02T08:00:00Z", "eve"},
				{"2025-06-02T15:59:59Z", "eve"}, {"2025-06-02T16:00:00Z", "sam"}, {"2025-06-02T23:59:59Z", "sam"},
				{"2025-06-03T00:00:00Z", "al"}, {"2025-06-03T08:00:00Z", "eve"},
			},
		},
		{
			name:   "wrap past midnight 22:00–06:00 over a base layer, Berlin",
			zone:   "Europe/Berlin",
			layers: []Layer{base, {Name: "night", Participants: []string{"nick", "nora"}, Shift: Shift{Days, 1}, Handoff: Clock{22, 0}, Start: Date{2025, 6, 2}, Restrictions: daily(Clock{22, 0}, Clock{6, 0})}},
			probes: []probe{
				{"2025-06-02T21:59:59+02:00", "dana"}, {"2025-06-02T22:00:00+02:00", "nick"}, {"2025-06-03T05:59:59+02:00", "nick"},
				{"2025-06-03T06:00:00+02:00", "dana"}, {"2025-06-03T12:00:00+02:00", "dana"}, {"2025-06-03T22:00:00+02:00", "nora"},
				{"2025-06-04T01:00:00+02:00", "nora"},
			},
		},
		{
			name:   "LA 2025-03-09 night 22:00–06:00 across spring forward is 7h",
			zone:   "America/Los_Angeles",
			layers: []Layer{base, {Name: "night", Participants: []string{"nick"}, Shift: Shift{Days, 1}, Start: Date{2025, 3, 1}, Restrictions: daily(Clock{22, 0}, Clock{6, 0})}},
			probes: []probe{
				{"2025-03-08T21:59:59-08:00", "dana"}, {"2025-03-08T22:00:00-08:00", "nick"},
				{"2025-03-09T05:59:59-07:00", "nick"}, {"2025-03-09T06:00:00-07:00", "dana"},
			},
		},
		{
			name: "weekly window Fri 17:00 → Mon 09:00, Berlin",
			zone: "Europe/Berlin",
			layers: []Layer{base, {Name: "weekend", Participants: []string{"wes", "wil"}, Shift: Shift{Weeks, 1}, Handoff: Clock{17, 0}, Weekday: wd(time.Friday), Start: Date{2025, 6, 6},
				Restrictions: []Window{{FromDay: wd(time.Friday), From: Clock{17, 0}, ToDay: wd(time.Monday), To: Clock{9, 0}}}}},
			probes: []probe{
				{"2025-06-06T16:59:59+02:00", "dana"}, {"2025-06-06T17:00:00+02:00", "wes"}, {"2025-06-08T12:00:00+02:00", "wes"},
				{"2025-06-09T08:59:59+02:00", "wes"}, {"2025-06-09T09:00:00+02:00", "dana"}, {"2025-06-11T12:00:00+02:00", "dana"},
				{"2025-06-13T17:00:00+02:00", "wil"}, {"2025-06-16T08:00:00+02:00", "wil"}, {"2025-06-20T18:00:00+02:00", "wes"},
			},
		},
		{
			name: "Berlin weekly window Fri 17:00 → Mon 09:00 over 2025-10-26 is 65h",
			zone: "Europe/Berlin",
			layers: []Layer{base, {Name: "weekend", Participants: []string{"wes"}, Shift: Shift{Weeks, 1}, Start: Date{2025, 10, 3},
				Restrictions: []Window{{FromDay: wd(time.Friday), From: Clock{17, 0}, ToDay: wd(time.Monday), To: Clock{9, 0}}}}},
			probes: []probe{
				{"2025-10-24T14:59:59Z", "dana"}, {"2025-10-24T15:00:00Z", "wes"}, {"2025-10-27T07:59:59Z", "wes"}, {"2025-10-27T08:00:00Z", "dana"},
			},
		},
		{
			name: "adjacent windows are one stretch; a restricted layer before its start has nobody",
			zone: "UTC",
			layers: []Layer{base, {Name: "day", Participants: []string{"dee"}, Shift: Shift{Days, 1}, Start: Date{2025, 6, 3},
				Restrictions: []Window{{From: Clock{9, 0}, To: Clock{12, 0}}, {From: Clock{12, 0}, To: Clock{17, 0}}}}},
			probes: []probe{
				{"2025-06-02T10:00:00Z", "dana"}, {"2025-06-03T10:00:00Z", "dee"}, {"2025-06-03T12:00:00Z", "dee"}, {"2025-06-03T17:00:00Z", "dana"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustNew(t, Schedule{Name: "ops", Location: zone(t, tt.zone), Layers: tt.layers})
			checkProbes(t, s, tt.probes)
		})
	}
}

func TestNightAcrossSpringForwardNextHandoff(t *testing.T) {
	la := zone(t, "America/Los_Angeles")
	s := mustNew(t, Schedule{Name: "ops", Location: la, Layers: []Layer{
		{Participants: []string{"dana"}, Shift: Shift{Weeks, 1}, Start: Date{2025, 1, 1}},
		{Participants: []string{"nick"}, Shift: Shift{Days, 1}, Start: Date{2025, 3, 1}, Restrictions: []Window{{From: Clock{22, 0}, To: Clock{6, 0}}}},
	}})
	start, _ := s.NextHandoff(at(t, "2025-03-08T21:00:00-08:00"))
	end, _ := s.NextHandoff(start)
	if !start.Equal(at(t, "2025-03-09T06:00:00Z")) || end.Sub(start) != 7*time.Hour {
		t.Fatalf("night %v → %v, want 06:00Z for 7h", start.UTC(), end.UTC())
	}
}

// TestFollowTheSunGapsAndOverlap: three teams each work 09:00–17:00 in their
// own zone, expressed in the schedule's zone (UTC) on 2025-01-15 (Sydney on
// AEDT, Berlin on CET, New York on EST): 22:00–06:00, 08:00–16:00 and
// 14:00–22:00 UTC. Between 06:00 and 08:00 nobody; from 14:00 both Berlin
// and New York, and the later layer wins.
func TestFollowTheSunGapsAndOverlap(t *testing.T) {
	win := func(h1, h2 int) []Window { return []Window{{From: Clock{h1, 0}, To: Clock{h2, 0}}} }
	s := mustNew(t, Schedule{Name: "sun", Location: time.UTC, Layers: []Layer{
		{Name: "sydney", Participants: []string{"syd"}, Shift: Shift{Weeks, 1}, Start: Date{2025, 1, 1}, Restrictions: win(22, 6)},
		{Name: "berlin", Participants: []string{"ber"}, Shift: Shift{Weeks, 1}, Start: Date{2025, 1, 1}, Restrictions: win(8, 16)},
		{Name: "newyork", Participants: []string{"nyc"}, Shift: Shift{Weeks, 1}, Start: Date{2025, 1, 1}, Restrictions: win(14, 22)},
	}})
	got := s.Timeline(at(t, "2025-01-15T00:00:00Z"), at(t, "2025-01-16T00:00:00Z"))
	want := []Span{
		{"syd", at(t, "2025-01-15T00:00:00Z"), at(t, "2025-01-15T06:00:00Z")},
		{"", at(t, "2025-01-15T06:00:00Z"), at(t, "2025-01-15T08:00:00Z")},
		{"ber", at(t, "2025-01-15T08:00:00Z"), at(t, "2025-01-15T14:00:00Z")},
		{"nyc", at(t, "2025-01-15T14:00:00Z"), at(t, "2025-01-15T22:00:00Z")},
		{"syd", at(t, "2025-01-15T22:00:00Z"), at(t, "2025-01-16T00:00:00Z")},
	}
	checkSpans(t, got, want)
	ws := Lint(s, at(t, "2025-01-15T00:00:00Z"), at(t, "2025-01-16T00:00:00Z"))
	if len(ws) != 1 || !ws[0].At.Equal(at(t, "2025-01-15T06:00:00Z")) {
		t.Fatalf("lint: %v, want one gap at 06:00", ws)
	}
}

func checkSpans(t *testing.T, got, want []Span) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("spans:\n%v\nwant\n%v", got, want)
	}
	for i := range got {
		if got[i].Person != want[i].Person || !got[i].From.Equal(want[i].From) || !got[i].To.Equal(want[i].To) {
			t.Errorf("span %d: %q %v–%v, want %q %v–%v", i, got[i].Person, got[i].From.UTC(), got[i].To.UTC(),
				want[i].Person, want[i].From.UTC(), want[i].To.UTC())
		}
	}
}

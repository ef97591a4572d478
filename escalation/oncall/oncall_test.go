package oncall

import (
	"strings"
	"testing"
	"time"
)

// utcDaily: alice, bob, carol in turn, daily at 09:00 UTC from 2025-06-02.
func utcDaily() Schedule {
	return Schedule{Name: "ops", Location: time.UTC, Layers: []Layer{
		{Name: "primary", Participants: []string{"alice", "bob", "carol"}, Shift: Shift{Days, 1}, Handoff: Clock{9, 0}, Start: Date{2025, 6, 2}},
	}}
}

func TestOverrides(t *testing.T) {
	o := func(p, from, to string) Override {
		return Override{Person: p, From: at(t, from), To: at(t, to)}
	}
	tests := []struct {
		name      string
		overrides []Override
		probes    []probe
	}{
		{
			name:      "an override beats the layer",
			overrides: []Override{o("xavier", "2025-06-02T10:00:00Z", "2025-06-02T14:00:00Z")},
			probes:    []probe{{"2025-06-02T09:59:59Z", "alice"}, {"2025-06-02T10:00:00Z", "xavier"}, {"2025-06-02T14:00:00Z", "alice"}},
		},
		{
			name: "overlapping: the later-added one wins, the earlier resumes",
			overrides: []Override{
				o("xavier", "2025-06-02T10:00:00Z", "2025-06-02T14:00:00Z"),
				o("yusuf", "2025-06-02T11:00:00Z", "2025-06-02T12:00:00Z"),
			},
			probes: []probe{{"2025-06-02T10:30:00Z", "xavier"}, {"2025-06-02T11:00:00Z", "yusuf"}, {"2025-06-02T12:00:00Z", "xavier"}, {"2025-06-02T14:00:00Z", "alice"}},
		},
		{
			name: "overlapping: a later-added wider one hides an earlier one",
			overrides: []Override{
				o("yusuf", "2025-06-02T11:00:00Z", "2025-06-02T12:00:00Z"),
				o("xavier", "2025-06-02T10:00:00Z", "2025-06-02T14:00:00Z"),
			},
			probes: []probe{{"2025-06-02T11:30:00Z", "xavier"}},
		},
		{
			name: "overrides in another zone, with nanoseconds",
			overrides: []Override{{Person: "zoe",
				From: time.Date(2025, 6, 3, 3, 0, 0, 500, zone(t, "America/Los_Angeles")),
				To:   time.Date(2025, 6, 3, 4, 0, 0, 0, zone(t, "America/Los_Angeles"))}},
			probes: []probe{{"2025-06-03T10:00:00Z", "bob"}, {"2025-06-03T10:00:00.000001Z", "zoe"}, {"2025-06-03T11:00:00Z", "bob"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc := utcDaily()
			sc.Overrides = tt.overrides
			checkProbes(t, mustNew(t, sc), tt.probes)
		})
	}
}

func TestTimelineMergesAndReportsGaps(t *testing.T) {
	sc := utcDaily()
	// Layer 2 only in the mornings, bob for the first two days: adjacent to
	// bob's own daily shift on 06-03, so those merge.
	sc.Layers = append(sc.Layers, Layer{Name: "mornings", Participants: []string{"bob", "bob", "dana"}, Shift: Shift{Days, 1},
		Handoff: Clock{6, 0}, Start: Date{2025, 6, 2}, Restrictions: []Window{{From: Clock{6, 0}, To: Clock{9, 0}}}})
	sc.Overrides = []Override{{Person: "carol", From: at(t, "2025-06-04T09:00:00Z"), To: at(t, "2025-06-04T12:00:00Z")}}
	// Before Start nobody is on call: a gap.
	got := mustNew(t, sc).Timeline(at(t, "2025-06-02T00:00:00Z"), at(t, "2025-06-04T12:00:00Z"))
	want := []Span{
		{"", at(t, "2025-06-02T00:00:00Z"), at(t, "2025-06-02T06:00:00Z")},
		{"bob", at(t, "2025-06-02T06:00:00Z"), at(t, "2025-06-02T09:00:00Z")},
		{"alice", at(t, "2025-06-02T09:00:00Z"), at(t, "2025-06-03T06:00:00Z")},
		{"bob", at(t, "2025-06-03T06:00:00Z"), at(t, "2025-06-04T06:00:00Z")},
		{"dana", at(t, "2025-06-04T06:00:00Z"), at(t, "2025-06-04T09:00:00Z")},
		{"carol", at(t, "2025-06-04T09:00:00Z"), at(t, "2025-06-04T12:00:00Z")},
	}
	checkSpans(t, got, want)
	if got[0].From.Location() != time.UTC {
		t.Errorf("spans are in %v, want the schedule's zone", got[0].From.Location())
	}
	if s := mustNew(t, sc).Timeline(at(t, "2025-06-04T00:00:00Z"), at(t, "2025-06-04T00:00:00Z")); s != nil {
		t.Errorf("empty range: %v", s)
	}
}

func TestNextHandoff(t *testing.T) {
	withNight := func(s Schedule) Schedule {
		s.Layers = append(s.Layers, Layer{Name: "night", Participants: []string{"nick"}, Shift: Shift{Weeks, 1}, Start: Date{2025, 6, 1},
			Restrictions: []Window{{From: Clock{22, 0}, To: Clock{6, 0}}}})
		return s
	}
	tests := []struct {
		name  string
		sched Schedule
		after string
		want  string // "" for none
	}{
		{"the next shift", utcDaily(), "2025-06-02T12:00:00Z", "2025-06-03T09:00:00Z"},
		{"exactly at a handoff, the one after", utcDaily(), "2025-06-03T09:00:00Z", "2025-06-04T09:00:00Z"},
		{"before start, the start", utcDaily(), "2025-05-01T00:00:00Z", "2025-06-02T09:00:00Z"},
		{"into a restriction window", withNight(utcDaily()), "2025-06-02T12:00:00Z", "2025-06-02T22:00:00Z"},
		{"out of a restriction window", withNight(utcDaily()), "2025-06-02T23:00:00Z", "2025-06-03T06:00:00Z"},
		{"an override's end", func() Schedule {
			s := utcDaily()
			s.Overrides = []Override{{Person: "xavier", From: at(t, "2025-06-02T10:00:00Z"), To: at(t, "2025-06-02T14:00:00Z")}}
			return s
		}(), "2025-06-02T11:00:00Z", "2025-06-02T14:00:00Z"},
		{"an override hides a shift change: its end", func() Schedule {
			s := utcDaily()
			s.Overrides = []Override{{Person: "xavier", From: at(t, "2025-06-02T10:00:00Z"), To: at(t, "2025-06-04T10:00:00Z")}}
			return s
		}(), "2025-06-02T11:00:00Z", "2025-06-04T10:00:00Z"},
		{"an override of the person on call is no handoff", func() Schedule {
			s := utcDaily()
			s.Overrides = []Override{{Person: "alice", From: at(t, "2025-06-02T10:00:00Z"), To: at(t, "2025-06-04T10:00:00Z")}}
			return s
		}(), "2025-06-02T09:30:00Z", "2025-06-04T10:00:00Z"},
		{"a window of the person below is no handoff", func() Schedule {
			s := Schedule{Name: "ops", Location: time.UTC, Layers: []Layer{{Participants: []string{"nick", "dana"}, Shift: Shift{Days, 7}, Start: Date{2025, 6, 1}}}}
			return withNight(s)
		}(), "2025-06-02T12:00:00Z", "2025-06-08T06:00:00Z"},
		{"one person, no overrides: never", Schedule{Name: "solo", Location: time.UTC, Layers: []Layer{
			{Participants: []string{"sole"}, Shift: Shift{Hours, 1}, Start: Date{2025, 1, 1}}}}, "2025-06-02T12:00:00Z", ""},
		{"one person under a night layer of the same person: never, within the lookahead", withNight(Schedule{Name: "solo", Location: time.UTC, Layers: []Layer{
			{Participants: []string{"nick"}, Shift: Shift{Days, 1}, Start: Date{2025, 1, 1}}}}), "2025-06-02T12:00:00Z", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := mustNew(t, tt.sched).NextHandoff(at(t, tt.after))
			if tt.want == "" {
				if ok {
					t.Fatalf("got %v, want none", got)
				}
				return
			}
			if want := at(t, tt.want); !ok || !got.Equal(want) {
				t.Fatalf("got %v %v, want %v", got.UTC(), ok, want)
			}
		})
	}
}

func TestScheduleWithoutNew(t *testing.T) {
	s := utcDaily() // a literal: lookups build the indexes per call
	if p, ok := s.OnCall(at(t, "2025-06-03T09:00:00Z")); p != "bob" || !ok {
		t.Fatalf("got %q %v, want bob", p, ok)
	}
	bad := utcDaily()
	bad.Layers[0].Participants = nil
	if p, ok := bad.OnCall(at(t, "2025-06-03T09:00:00Z")); ok {
		t.Fatalf("invalid schedule: %q", p)
	}
	if ws := Lint(&bad, at(t, "2025-06-03T00:00:00Z"), at(t, "2025-06-04T00:00:00Z")); len(ws) != 1 || !strings.Contains(ws[0].Message, "no participants") {
		t.Fatalf("lint of an invalid schedule: %v", ws)
	}
}

func TestNewCopies(t *testing.T) {
	sc := utcDaily()
	s := mustNew(t, sc)
	sc.Layers[0].Participants[0] = "mallory"
	if p, _ := s.OnCall(at(t, "2025-06-02T09:00:00Z")); p != "alice" {
		t.Fatalf("New shares the caller's slices: %q", p)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Schedule)
		want   string
	}{
		{"valid", func(*Schedule) {}, ""},
		{"no location", func(s *Schedule) { s.Location = nil }, `schedule "ops": no location`},
		{"no layers", func(s *Schedule) { s.Layers = nil }, "no layers"},
		{"no participants", func(s *Schedule) { s.Layers[0].Participants = nil }, `layer 1 ("primary"): no participants`},
		{"empty name", func(s *Schedule) { s.Layers[0].Participants = []string{"a", ""} }, "participant 2 has no name"},
		{"no unit", func(s *Schedule) { s.Layers[0].Shift.Unit = 0 }, "shift unit Unit(0)"},
		{"zero N", func(s *Schedule) { s.Layers[0].Shift.N = 0 }, "shift of 0 days: want 1 to 366"},
		{"too long", func(s *Schedule) { s.Layers[0].Shift = Shift{Weeks, 53} }, "shift of 53 weeks: want 1 to 52"},
		{"handoff hour", func(s *Schedule) { s.Layers[0].Handoff = Clock{24, 0} }, "handoff 24:00 is not a time of day"},
		{"handoff minute", func(s *Schedule) { s.Layers[0].Handoff = Clock{9, -1} }, "handoff 09:-1"},
		{"weekday on days", func(s *Schedule) { s.Layers[0].Weekday = wd(time.Monday) }, "weekday is only for week-based shifts"},
		{"bad weekday", func(s *Schedule) { s.Layers[0].Shift.Unit = Weeks; s.Layers[0].Weekday = wd(7) }, "weekday 7"},
		{"bad date", func(s *Schedule) { s.Layers[0].Start = Date{2025, 2, 29} }, "start 2025-02-29 is not a date"},
		{"window clock", func(s *Schedule) { s.Layers[0].Restrictions = []Window{{From: Clock{9, 0}, To: Clock{25, 0}}} }, "restriction 1: 09:00–25:00"},
		{"empty daily window", func(s *Schedule) { s.Layers[0].Restrictions = []Window{{From: Clock{9, 0}, To: Clock{9, 0}}} }, "daily window 09:00–09:00 is empty"},
		{"one day", func(s *Schedule) {
			s.Layers[0].Restrictions = []Window{{FromDay: wd(time.Friday), From: Clock{9, 0}, To: Clock{10, 0}}}
		}, "set both days"},
		{"empty weekly window", func(s *Schedule) {
			s.Layers[0].Restrictions = []Window{{FromDay: wd(time.Friday), From: Clock{9, 0}, ToDay: wd(time.Friday), To: Clock{9, 0}}}
		}, "weekly window Fri 09:00–Fri 09:00 is empty"},
		{"override without person", func(s *Schedule) {
			s.Overrides = []Override{{From: time.Unix(0, 0), To: time.Unix(1, 0)}}
		}, "override 1: no person"},
		{"override backwards", func(s *Schedule) {
			s.Overrides = []Override{{Person: "x", From: time.Unix(1, 0), To: time.Unix(1, 0)}}
		}, "override 1 (x): from 1970-01-01T00:00:01Z is not before to"},
		{"override without times", func(s *Schedule) { s.Overrides = []Override{{Person: "x"}} }, "from and to are required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := utcDaily()
			tt.change(&s)
			err := s.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want %q", err, tt.want)
			}
			if _, err := New(s); err == nil {
				t.Fatal("New accepted it")
			}
		})
	}
}

package oncall

import (
	"strings"
	"testing"
	"time"
)

func TestLint(t *testing.T) {
	type want struct{ at, msg string }
	tests := []struct {
		name     string
		zone     string
		layers   []Layer
		from, to string
		want     []want
	}{
		{
			name:   "LA 2025-03-09 daily handoff at 02:30 does not exist",
			zone:   "America/Los_Angeles",
			layers: []Layer{{Name: "primary", Participants: abc, Shift: Shift{Days, 1}, Handoff: Clock{2, 30}, Start: Date{2025, 3, 1}}},
			from:   "2025-03-02T00:00:00Z", to: "2025-03-20T00:00:00Z",
			want: []want{{"2025-03-09T10:00:00Z", `layer 1 ("primary"): handoff at 02:30 on 2025-03-09 does not exist (clocks go forward); it happens at the end of the gap, 2025-03-09 03:00 PDT`}},
		},
		{
			name:   "LA 2025-11-02 daily handoff at 01:30 happens twice",
			zone:   "America/Los_Angeles",
			layers: []Layer{{Name: "primary", Participants: abc, Shift: Shift{Days, 1}, Handoff: Clock{1, 30}, Start: Date{2025, 10, 1}}},
			from:   "2025-10-02T00:00:00Z", to: "2025-11-20T00:00:00Z",
			want: []want{{"2025-11-02T08:30:00Z", `layer 1 ("primary"): handoff at 01:30 on 2025-11-02 happens twice (clocks go back); it happens at the first, 2025-11-02 01:30 PDT`}},
		},
		{
			name: "Berlin 2025-03-30 a window edge at 02:30 and a gap before Start",
			zone: "Europe/Berlin",
			layers: []Layer{
				{Name: "base", Participants: []string{"dana"}, Shift: Shift{Weeks, 1}, Start: Date{2025, 3, 29}},
				{Name: "early", Participants: []string{"eli"}, Shift: Shift{Weeks, 1}, Start: Date{2025, 3, 1}, Restrictions: []Window{{From: Clock{2, 30}, To: Clock{6, 0}}}},
			},
			from: "2025-03-28T00:00:00Z", to: "2025-04-01T00:00:00Z",
			want: []want{
				{"2025-03-28T00:00:00Z", "nobody is on call for 1h30m0s, from 2025-03-28 01:00 CET to 2025-03-28 02:30 CET"},
				{"2025-03-28T05:00:00Z", "nobody is on call for 18h0m0s, from 2025-03-28 06:00 CET to 2025-03-29 00:00 CET"},
				{"2025-03-30T01:00:00Z", `layer 2 ("early"): restriction 02:30–06:00 starts at 02:30 on 2025-03-30 does not exist`},
			},
		},
		{
			name:   "Chatham 2025-09-28 daily handoff at 03:00 does not exist",
			zone:   "Pacific/Chatham",
			layers: []Layer{{Participants: abc, Shift: Shift{Days, 1}, Handoff: Clock{3, 0}, Start: Date{2025, 9, 1}}},
			from:   "2025-09-02T00:00:00Z", to: "2025-10-01T00:00:00Z",
			want: []want{{"2025-09-27T14:00:00Z", "layer 1: handoff at 03:00 on 2025-09-28 does not exist"}},
		},
		{
			name: "no warning: hourly handoffs are exact, a weekly handoff on another day, one person",
			zone: "America/Los_Angeles",
			layers: []Layer{
				{Participants: abc, Shift: Shift{Hours, 1}, Handoff: Clock{2, 30}, Start: Date{2025, 3, 1}},
				{Participants: []string{"dee", "eve", "fay"}, Shift: Shift{Weeks, 1}, Handoff: Clock{2, 30}, Weekday: wd(time.Monday), Start: Date{2025, 3, 1}},
				{Participants: []string{"sole"}, Shift: Shift{Days, 1}, Handoff: Clock{2, 30}, Start: Date{2025, 3, 1}},
			},
			from: "2025-03-02T00:00:00Z", to: "2025-11-20T00:00:00Z",
		},
		{
			name: "Kolkata: alice in the weekday layer and the weekend layer on Saturday mornings",
			zone: "Asia/Kolkata",
			layers: []Layer{
				{Name: "weekdays", Participants: []string{"alice", "bob"}, Shift: Shift{Weeks, 1}, Handoff: Clock{9, 0}, Weekday: wd(time.Monday), Start: Date{2025, 6, 2}},
				{Name: "weekend", Participants: []string{"alice", "carol"}, Shift: Shift{Weeks, 1}, Handoff: Clock{9, 0}, Weekday: wd(time.Monday), Start: Date{2025, 6, 2},
					Restrictions: []Window{{FromDay: wd(time.Saturday), From: Clock{0, 0}, ToDay: wd(time.Monday), To: Clock{9, 0}}}},
			},
			from: "2025-06-02T03:30:00Z", to: "2025-06-30T03:30:00Z",
			want: []want{{"2025-06-06T18:30:00Z", `alice is on call in layers 1 ("weekdays") and 2 ("weekend") at once, from 2025-06-07 00:00 IST to 2025-06-09 09:00 IST, and 1 more time(s) in the period: the higher layer hides the lower, which gives no cover then`}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustNew(t, Schedule{Name: "ops", Location: zone(t, tt.zone), Layers: tt.layers})
			got := Lint(s, at(t, tt.from), at(t, tt.to))
			if len(got) != len(tt.want) {
				t.Fatalf("got %d warnings, want %d: %v", len(got), len(tt.want), got)
			}
			for i, w := range tt.want {
				if !got[i].At.Equal(at(t, w.at)) || !strings.Contains(got[i].Message, w.msg) {
					t.Errorf("warning %d: %v %q, want %s %q", i, got[i].At.UTC(), got[i].Message, w.at, w.msg)
				}
			}
		})
	}
}

// `klaxon check` lints from its now, which has nanoseconds: a gap's length
// is said in whole seconds all the same.
func TestLintGapLengthInWholeSeconds(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	s := &Schedule{Name: "night", Location: berlin, Layers: []Layer{{Name: "base", Participants: []string{"dana"},
		Shift: Shift{Weeks, 1}, Start: Date{2025, 3, 29}}}}
	from := time.Date(2025, 3, 28, 8, 3, 12, 970846755, time.UTC)
	ws := Lint(s, from, from.Add(72*time.Hour))
	if len(ws) == 0 || !strings.Contains(ws[0].Message, "nobody is on call for 14h56m47s,") {
		t.Fatalf("warnings %+v", ws)
	}
}

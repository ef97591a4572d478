package bot

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/escalation"
)

func TestParseSpanInTheSchedulesTimezone(t *testing.T) {
	sthlm, err := time.LoadLocation("Europe/Stockholm")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2025, 3, 29, 20, 0, 0, 0, time.UTC) // Sat 21:00 CET
	for _, tc := range []struct{ in, from, to string }{
		// Tonight 22:00 CET to tomorrow 06:00 CEST: the night clocks spring forward is 7 hours.
		{"22:00-06:00", "2025-03-29T21:00:00Z", "2025-03-30T04:00:00Z"},
		// 14:00-18:00 is over today: tomorrow's.
		{"14:00-18:00", "2025-03-30T12:00:00Z", "2025-03-30T16:00:00Z"},
		{"2025-12-24-2025-12-27", "2025-12-23T23:00:00Z", "2025-12-26T23:00:00Z"},
		{"2025-04-01T08:00-2025-04-01T20:00", "2025-04-01T06:00:00Z", "2025-04-01T18:00:00Z"},
	} {
		from, to, err := ParseSpan(tc.in, sthlm, now)
		if err != nil || from.UTC().Format(time.RFC3339) != tc.from || to.UTC().Format(time.RFC3339) != tc.to {
			t.Errorf("ParseSpan(%q) = %s, %s, %v; want %s, %s", tc.in, from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339), err, tc.from, tc.to)
		}
	}
}

// Times typed into a gap or an overlap read as the schedules read them:
// a spring-forward 02:30 is 03:00, a fall-back 02:30 the first one.
func TestParseSpanFollowsTheSchedulesDSTRules(t *testing.T) {
	for _, tc := range []struct{ zone, now, in, from, to string }{
		// Los Angeles springs forward at 02:00 on 2026-03-08.
		{"America/Los_Angeles", "2026-03-07T20:00:00-08:00", "22:00-02:30", "2026-03-08T06:00:00Z", "2026-03-08T10:00:00Z"},
		// Stockholm springs forward at 02:00 on 2026-03-29.
		{"Europe/Stockholm", "2026-03-28T20:00:00+01:00", "22:00-02:30", "2026-03-28T21:00:00Z", "2026-03-29T01:00:00Z"},
		// Stockholm falls back at 03:00 on 2026-10-25: 02:30 is the first
		// one, still summer time.
		{"Europe/Stockholm", "2026-10-25T00:10:00+02:00", "01:00-02:30", "2026-10-24T23:00:00Z", "2026-10-25T00:30:00Z"},
		{"Europe/Stockholm", "2026-10-24T20:00:00+02:00", "2026-10-25T02:30-2026-10-25T08:00", "2026-10-25T00:30:00Z", "2026-10-25T07:00:00Z"},
		// Sydney falls back at 03:00 on 2026-04-05.
		{"Australia/Sydney", "2026-04-04T20:00:00+11:00", "22:00-02:30", "2026-04-04T11:00:00Z", "2026-04-04T15:30:00Z"},
	} {
		loc, err := time.LoadLocation(tc.zone)
		if err != nil {
			t.Fatal(err)
		}
		now, err := time.Parse(time.RFC3339, tc.now)
		if err != nil {
			t.Fatal(err)
		}
		from, to, err := ParseSpan(tc.in, loc, now)
		if err != nil || from.UTC().Format(time.RFC3339) != tc.from || to.UTC().Format(time.RFC3339) != tc.to {
			t.Errorf("%s at %s: ParseSpan(%q) = %s, %s, %v; want %s, %s", tc.zone, tc.now, tc.in,
				from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339), err, tc.from, tc.to)
		}
	}
}

func TestParseSpanRefusesAnEndBeforeTheStart(t *testing.T) {
	// 09:30+02:00 is 07:30Z, before the 08:00Z start.
	if from, to, err := ParseSpan("2025-04-01T08:00:00Z-2025-04-01T09:30:00+02:00", time.UTC, time.Unix(0, 0)); err == nil {
		t.Fatalf("accepted %s–%s", from, to)
	}
}

func TestResolveMentionsOfSlackAndDiscord(t *testing.T) {
	people := map[string]string{"U024BE7LH": "alice", "80351110224678912": "bikram"}
	lookup := func(id string) (string, bool) { p, ok := people[id]; return p, ok }
	for in, want := range map[string]string{
		"reassign 42 <@U024BE7LH>":             "reassign 42 @alice",
		"reassign 42 <@U024BE7LH|alice.s>":     "reassign 42 @alice",
		"page <@!80351110224678912> db down":   "page @bikram db down",
		"page <@80351110224678912> <@UNKNOWN>": "page @bikram <@UNKNOWN>",
		"note 1 a <@ b <@x|y and <@>":          "note 1 a <@ b <@x|y and <@>",
		"no mentions":                          "no mentions",
	} {
		if got := ResolveMentions(in, lookup); got != want {
			t.Errorf("ResolveMentions(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want Command
	}{
		{"ack 42", Command{Verb: VerbAck, IncidentID: 42}},
		{"/klaxon ack #42", Command{Verb: VerbAck, IncidentID: 42}},
		{"ACK", Command{Verb: VerbAck}},
		{"  a42 ", Command{Verb: VerbAck, IncidentID: 42}},
		{"A42", Command{Verb: VerbAck, IncidentID: 42}},
		{"42a", Command{Verb: VerbAck, IncidentID: 42}},
		{"1", Command{Verb: VerbAck}},
		{"ack all", Command{Verb: VerbAck, All: true}},
		{"acknowledge 7", Command{Verb: VerbAck, IncidentID: 7}},
		{"resolve 42 rolled back the deploy", Command{Verb: VerbResolve, IncidentID: 42, Note: "rolled back the deploy"}},
		{"R42", Command{Verb: VerbResolve, IncidentID: 42}},
		{"2 42", Command{Verb: VerbResolve, IncidentID: 42}},
		{"help", Command{Verb: VerbHelp}},
		{"escalate 42", Command{Verb: VerbEscalate, IncidentID: 42}},
		{"esc 42 level2", Command{Verb: VerbEscalate, IncidentID: 42, Level: 2}},
		{"snooze 42 30m", Command{Verb: VerbSnooze, IncidentID: 42, Duration: 30 * time.Minute}},
		{"snooze #42 1d", Command{Verb: VerbSnooze, IncidentID: 42, Duration: 24 * time.Hour}},
		{"reassign 42 @carmen", Command{Verb: VerbReassign, IncidentID: 42, Person: "carmen"}},
		{"who", Command{Verb: VerbWho}},
		{"who primary", Command{Verb: VerbWho, Schedule: "primary"}},
		{"oncall", Command{Verb: VerbOnCall}},
		{"oncall @bikram", Command{Verb: VerbOnCall, Person: "bikram"}},
		{"override primary @alice 4h", Command{Verb: VerbOverride, Schedule: "primary", Person: "alice", Duration: 4 * time.Hour}},
		{"override primary @alice 22:00-06:00", Command{Verb: VerbOverride, Schedule: "primary", Person: "alice", Span: "22:00-06:00"}},
		{"override primary @alice 2025-12-24-2025-12-27", Command{Verb: VerbOverride, Schedule: "primary", Person: "alice", Span: "2025-12-24-2025-12-27"}},
		{"incidents", Command{Verb: VerbIncidents}},
		{"incident 42", Command{Verb: VerbIncident, IncidentID: 42}},
		{"merge 43 into 42", Command{Verb: VerbMerge, IncidentID: 43, Into: 42}},
		{"merge 43 42", Command{Verb: VerbMerge, IncidentID: 43, Into: 42}},
		{"priority 42 p1", Command{Verb: VerbPriority, IncidentID: 42, Priority: escalation.P1}},
		{"note 42 the CDN is fine", Command{Verb: VerbNote, IncidentID: 42, Note: "the CDN is fine"}},
		{`update 42 investigating "Slow checkout" Some payments take longer.`, Command{Verb: VerbUpdate, IncidentID: 42,
			Status: escalation.PublicInvestigating, Title: "Slow checkout", Note: "Some payments take longer."}},
		{"update 42 Monitoring A fix is out.", Command{Verb: VerbUpdate, IncidentID: 42, Status: escalation.PublicMonitoring, Note: "A fix is out."}},
		{"page @carmen the import is stuck", Command{Verb: VerbPage, Person: "carmen", Note: "the import is stuck"}},
		{"page primary db on fire", Command{Verb: VerbPage, Schedule: "primary", Note: "db on fire"}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Fatalf("Parse(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseErrorsSayWhatToType(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", `empty command`},
		{"   ", `empty command`},
		{"restart db", `unknown command "restart"`},
		{"ack forty-two", `"forty-two" is not an incident ID; try "ack 42"`},
		{"ack 0", `"0" is not an incident ID`},
		{"ack 1 2", `ack takes one incident ID`},
		{"resolve -3", `"-3" is not an incident ID; try "resolve 42`},
		{"resolve", `resolve needs the incident's ID (R42 in an SMS reply); try "resolve 42 rolled back the deploy"`},
		{"2", `resolve needs the incident's ID`},
		{"a4b2", `unknown command "a4b2"`},
		{"escalate", `escalate needs an incident ID; try "escalate 42"`},
		{"escalate 42 up", `"up" is not a level`},
		{"snooze 42", `snooze needs a duration; try "snooze 42 30m"`},
		{"snooze 42 forever", `"forever" is not a duration like 30m`},
		{"reassign 42 carmen", `"carmen" is not a @person; try "reassign 42 @alice"`},
		{"override primary @alice soon", `"soon" is neither a duration`},
		{"override primary @alice 2025-12-27-2025-12-24", `neither a duration`},
		{"merge 43 into", `merge needs an incident ID; try "merge 43 into 42"`},
		{"priority 42 urgent", `want one of P0, P1, P2, P3, P4`},
		{"note 42", `note needs text`},
		{"update 42 fixed all good", `want investigating, identified, monitoring or resolved`},
		{`update 42 resolved "Slow checkout`, `quote is not closed`},
		{"update 42 resolved", `update needs a message`},
		{"page @carmen", `page needs a message`},
		{"incidents 3", `unexpected "3"`},
		{"who primary secondary", `unexpected "secondary"`},
		{strings.Repeat("a", 5000), `command too long`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, err := Parse(tt.in)
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("Parse(%q) error = %v, want a ParseError", tt.in, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Parse(%q) = %q, want it to contain %q", tt.in, err, tt.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error is not one line: %q", err)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"ack 42", "a42", "42a", "resolve 9 note", "/klaxon ack all", "1", "", "ack 99999999999999999999",
		"override primary @alice 22:00-06:00", `update 1 identified "t" m`, "merge 1 into 2", "snooze 3 2d", "page @a b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_ = ResolveMentions(s, func(id string) (string, bool) { return "p" + id, len(id)%2 == 0 })
		cmd, err := Parse(s)
		if err != nil {
			return
		}
		if cmd.IncidentID < 0 || cmd.Verb == "" || cmd.Duration < 0 || cmd.Level < 0 {
			t.Fatalf("Parse(%q) = %+v", s, cmd)
		}
		if cmd.Span != "" {
			if _, _, err := ParseSpan(cmd.Span, time.UTC, time.Unix(0, 0)); err != nil {
				t.Fatalf("Parse(%q) kept span %q that does not parse: %v", s, cmd.Span, err)
			}
		}
	})
}

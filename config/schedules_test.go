package config

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/escalation"
	"github.com/klaxonhq/klaxon/escalation/oncall"
)

// scheduleSection goes into base before policies: alice and bob take weeks
// handing off on Mondays (the first week cut short, from a Wednesday), and
// bob covers every night above that.
const scheduleSection = `schedules:
  - name: primary
    timezone: Europe/Stockholm
    layers:
      - name: weekly
        participants: [alice, bob]
        shift: 1w
        handoff: "09:00"
        weekday: monday
        start: 2025-01-08
      - name: nights
        participants: [bob]
        shift: 1d
        handoff: "09:00"
        start: 2025-01-06
        restrictions:
          - {from: "22:00", to: "06:00"}
    overrides:
      - {person: alice, from: "2025-06-01T00:00:00Z", to: "2025-06-02T00:00:00Z"}
`

// editSchedules is edit on base with scheduleSection in it.
func editSchedules(t *testing.T, pairs ...string) string {
	t.Helper()
	return editDoc(t, edit(t, "policies:\n", scheduleSection+"policies:\n"), pairs...)
}

// checkOnCall checks who s has on call at each RFC 3339 instant ("" for
// nobody).
func checkOnCall(t *testing.T, s *oncall.Schedule, want map[string]string) {
	t.Helper()
	for at, who := range want {
		instant, err := time.Parse(time.RFC3339, at)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := s.OnCall(instant)
		if got != who || ok != (who != "") {
			t.Errorf("on call at %s: %q, %v; want %q", at, got, ok, who)
		}
	}
}

func TestExampleSchedule(t *testing.T) {
	c, err := Load("../config.example.yaml", env(nil))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	cat := c.Catalog()
	primary := cat.Schedules["primary"]
	if len(cat.Schedules) != 1 || primary == nil {
		t.Fatalf("schedules = %v; want primary only", cat.Schedules)
	}
	if primary.Location.String() != "Europe/Stockholm" || len(primary.Layers) != 2 {
		t.Errorf("primary: %s, %d layers", primary.Location, len(primary.Layers))
	}
	checkOnCall(t, primary, map[string]string{
		"2025-01-06T08:59:00+01:00": "",       // before the rotation starts
		"2025-01-15T12:00:00+01:00": "bikram", // Wednesday of the second week
		"2025-01-11T12:00:00+01:00": "carmen", // alice's week, but a Saturday
		// Summer time began on 2025-03-30: bikram's weekend ends and
		// alice's week begins at 09:00 CEST, 07:00 UTC.
		"2025-03-31T08:30:00+02:00": "bikram",
		"2025-03-31T09:30:00+02:00": "alice",
		"2025-12-25T12:00:00+01:00": "bikram", // carmen's week, overridden
	})
	want := []escalation.Target{{Kind: escalation.TargetSchedule, Name: "primary"}}
	if got := cat.Policies["default"].Levels[0].Targets; !slices.Equal(got, want) {
		t.Errorf("default level 1 targets = %+v; want %+v", got, want)
	}
}

func TestSchedules(t *testing.T) {
	doc := editSchedules(t, "targets: [alice]", "targets: [schedule:primary, person:alice]")
	c, err := Parse([]byte(doc), nil)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	cat := c.Catalog()
	if err := cat.Validate(); err != nil {
		t.Fatalf("Catalog.Validate: %v", err)
	}
	primary := cat.Schedules["primary"]
	if primary == nil {
		t.Fatalf("no primary schedule in %v", cat.Schedules)
	}
	weekly := primary.Layers[0]
	if weekly.Name != "weekly" || weekly.Shift != (oncall.Shift{Unit: oncall.Weeks, N: 1}) ||
		weekly.Handoff != (oncall.Clock{Hour: 9}) || weekly.Weekday == nil || *weekly.Weekday != time.Monday ||
		weekly.Start != (oncall.Date{Year: 2025, Month: time.January, Day: 8}) {
		t.Errorf("weekly layer = %+v", weekly)
	}
	nights := primary.Layers[1]
	if nights.Weekday != nil || len(nights.Restrictions) != 1 ||
		nights.Restrictions[0] != (oncall.Window{From: oncall.Clock{Hour: 22}, To: oncall.Clock{Hour: 6}}) {
		t.Errorf("nights layer = %+v", nights)
	}
	checkOnCall(t, primary, map[string]string{
		"2025-01-08T08:00:00+01:00": "", // before either layer has anyone
		"2025-01-09T12:00:00+01:00": "alice",
		"2025-01-09T23:00:00+01:00": "bob", // nights
		"2025-01-13T08:59:00+01:00": "alice",
		"2025-01-13T09:00:00+01:00": "bob", // the first week was cut short at Monday
		"2025-01-20T12:00:00+01:00": "alice",
		"2025-06-01T23:30:00+02:00": "alice", // override, over the night
	})
	want := []escalation.Target{
		{Kind: escalation.TargetSchedule, Name: "primary"},
		{Kind: escalation.TargetPerson, Name: "alice"},
	}
	if got := cat.Policies["default"].Levels[0].Targets; !slices.Equal(got, want) {
		t.Errorf("targets = %+v; want %+v", got, want)
	}
	// The config keeps what was written.
	if l := c.Schedules[0].Layers[0]; l.Shift != "1w" || l.Handoff != "09:00" || l.Start != "2025-01-08" {
		t.Errorf("config layer = %+v", l)
	}

	t.Run("none", func(t *testing.T) {
		c, err := Parse([]byte(base), nil)
		if err != nil {
			t.Fatal(err)
		}
		if s := c.Catalog().Schedules; s == nil || len(s) != 0 {
			t.Errorf("Schedules = %#v; want an empty map", s)
		}
	})

	t.Run("weekly windows, names in any case, hour shifts", func(t *testing.T) {
		doc := editSchedules(t,
			`{from: "22:00", to: "06:00"}`, `{from: "Friday 17:00", to: "MON 9:00"}`,
			"shift: 1d", "shift: 12h")
		c, err := Parse([]byte(doc), nil)
		if err != nil {
			t.Fatalf("Parse: %v", err)
		}
		l := c.Catalog().Schedules["primary"].Layers[1]
		fri, mon := time.Friday, time.Monday
		w := oncall.Window{FromDay: &fri, From: oncall.Clock{Hour: 17}, ToDay: &mon, To: oncall.Clock{Hour: 9}}
		if l.Shift != (oncall.Shift{Unit: oncall.Hours, N: 12}) || len(l.Restrictions) != 1 || l.Restrictions[0].String() != w.String() {
			t.Errorf("layer = %+v", l)
		}
	})

	t.Run("a schedule and a person may share a name", func(t *testing.T) {
		doc := editSchedules(t, "targets: [alice]", "targets: [alice, schedule:alice]", "name: primary", "name: alice")
		c, err := Parse([]byte(doc), nil)
		if err != nil {
			t.Fatalf("Parse: %v", err)
		}
		want := []escalation.Target{{Kind: escalation.TargetPerson, Name: "alice"}, {Kind: escalation.TargetSchedule, Name: "alice"}}
		if got := c.Catalog().Policies["default"].Levels[0].Targets; !slices.Equal(got, want) {
			t.Errorf("targets = %+v", got)
		}
	})
}

func TestScheduleProblems(t *testing.T) {
	tests := []struct {
		name  string
		yaml  string
		wants []string
	}{
		{
			name:  "unknown schedule target",
			yaml:  editSchedules(t, "targets: [bob]", "targets: [schedule:primay, bob]"),
			wants: []string{`policies[0].levels[1].targets[0]: unknown schedule "primay"`},
		},
		{
			name:  "schedule target without schedules",
			yaml:  edit(t, "targets: [bob]", "targets: [schedule:primary]"),
			wants: []string{`policies[0].levels[1].targets[0]: unknown schedule "primary"`},
		},
		{
			name: "duplicate and empty schedule targets",
			yaml: editSchedules(t, "targets: [alice]", "targets: [schedule:primary, alice, person:alice, schedule:, schedule:primary]"),
			wants: []string{
				`policies[0].levels[0].targets[2]: "alice" is already a target of this level`,
				`policies[0].levels[0].targets[3]: required`,
				`policies[0].levels[0].targets[4]: "schedule:primary" is already a target of this level`,
			},
		},
		{
			name: "names",
			yaml: editSchedules(t,
				"  - name: bob\n", "  - name: schedule:bob\n",
				"targets: [bob]", "targets: [alice]",
				"    overrides:\n", "  - name: primary\n    timezone: UTC\n    layers: [{participants: [alice], shift: 1d, handoff: \"00:00\", start: 2025-01-01}]\n  - name: on call\n    overrides:\n"),
			wants: []string{
				`people[1].name: "schedule:bob" is not a valid name: use letters, digits, '.', '_' and '-', starting with a letter or digit`,
				`schedules[0].layers[0].participants[1]: unknown person "bob"`,
				`schedules[0].layers[1].participants[0]: unknown person "bob"`,
				`schedules[1].name: duplicate schedule "primary"`,
				`schedules[2].name: "on call" is not a valid name: use letters, digits, '.', '_' and '-', starting with a letter or digit`,
				`schedules[2].timezone: required`,
				`schedules[2].layers: at least one layer is required`,
			},
		},
		{
			name: "missing fields",
			yaml: editSchedules(t,
				"    timezone: Europe/Stockholm\n    layers:", "    layers:",
				"      - name: weekly\n        participants: [alice, bob]\n        shift: 1w\n        handoff: \"09:00\"\n        weekday: monday\n        start: 2025-01-08\n",
				"      - {name: weekly, participants: []}\n",
				`{from: "22:00", to: "06:00"}`, `{from: "22:00"}`,
				`{person: alice, from: "2025-06-01T00:00:00Z", to: "2025-06-02T00:00:00Z"}`, `{}`),
			wants: []string{
				`schedules[0].timezone: required`,
				`schedules[0].layers[0].participants: at least one participant is required`,
				`schedules[0].layers[0].shift: required: <N>h, <N>d or <N>w, like 1w`,
				`schedules[0].layers[0].handoff: required: the local time shifts change, like "09:00"`,
				`schedules[0].layers[0].start: required: the local date the rotation starts, like 2025-01-06`,
				`schedules[0].layers[1].restrictions[0].to: required`,
				`schedules[0].overrides[0].person: required`,
				`schedules[0].overrides[0].from: required`,
				`schedules[0].overrides[0].to: required`,
			},
		},
		{
			name: "layer fields",
			yaml: editSchedules(t,
				"participants: [bob]", "participants: [bob, alice, dave]",
				"shift: 1w", "shift: 3x",
				`handoff: "09:00"`, `handoff: "25:00"`,
				"start: 2025-01-08", "start: 2025-13-01",
				"shift: 1d\n        handoff: \"09:00\"\n", "shift: 1d\n        handoff: \"9:5\"\n        weekday: friday\n",
				"start: 2025-01-06", "start: 2025-02-29"),
			wants: []string{
				`schedules[0].layers[0].shift: "3x" is not a shift (want <N>h, <N>d or <N>w)`,
				`schedules[0].layers[0].handoff: "25:00" is not a time HH:MM`,
				`schedules[0].layers[0].start: "2025-13-01" is not a date YYYY-MM-DD`,
				`schedules[0].layers[1].participants[2]: unknown person "dave"`,
				`schedules[0].layers[1].handoff: "9:5" is not a time HH:MM`,
				`schedules[0].layers[1].weekday: only weekly shifts have a handoff weekday`,
				`schedules[0].layers[1].start: "2025-02-29" is not a date YYYY-MM-DD`,
			},
		},
		{
			name: "bad weekday and shifts without a unit or length",
			yaml: editSchedules(t,
				"weekday: monday", "weekday: mondays",
				"shift: 1w", "shift: 7",
				"shift: 1d", "shift: 0d"),
			wants: []string{
				`schedules[0].layers[0].shift: "7" has no unit (want <N>h, <N>d or <N>w, like 7d)`,
				`schedules[0].layers[0].weekday: "mondays" is not a weekday (want monday to sunday, or mon to sun)`,
				`schedules[0].layers[1].shift: "0d" is not a shift: N must be at least 1`,
			},
		},
		{
			name: "restrictions",
			yaml: editSchedules(t, `          - {from: "22:00", to: "06:00"}
`, `          - {from: "9am", to: "fri 17:00:00"}
          - {from: "fri 17:00", to: "09:00"}
          - {from: "09:00", to: "09:00"}
          - {from: "mon 09:00", to: "monday 09:00"}
          - {from: "funday 09:00", to: "mon"}
`),
			wants: []string{
				`schedules[0].layers[1].restrictions[0].from: "9am" is not a time HH:MM or a weekday and time like "fri 17:00"`,
				`schedules[0].layers[1].restrictions[0].to: "fri 17:00:00" is not a time HH:MM or a weekday and time like "fri 17:00"`,
				`schedules[0].layers[1].restrictions[1]: give both from and to a weekday (a weekly window) or neither (a daily window)`,
				`schedules[0].layers[1].restrictions[2]: from and to are both 09:00: a daily window can be neither empty nor the whole day (leave out restrictions to cover all day)`,
				`schedules[0].layers[1].restrictions[3]: from and to are both Mon 09:00: a weekly window can be neither empty nor the whole week`,
				`schedules[0].layers[1].restrictions[4].from: "funday 09:00" is not a time HH:MM or a weekday and time like "fri 17:00"`,
				`schedules[0].layers[1].restrictions[4].to: "mon" is not a time HH:MM or a weekday and time like "fri 17:00"`,
			},
		},
		{
			name: "overrides",
			yaml: editSchedules(t, `      - {person: alice, from: "2025-06-01T00:00:00Z", to: "2025-06-02T00:00:00Z"}
`, `      - {person: dave, from: "2025-06-01T00:00:00Z", to: "2025-06-02T00:00:00Z"}
      - {person: bob, from: "2025-06-02T02:00:00+02:00", to: "2025-06-02T00:00:00Z"}
      - {person: bob, from: "2025-06-02T00:00:00Z", to: "2025-06-01T00:00:00Z"}
      - {person: bob, from: "2025-06-01", to: "2025-06-02 00:00"}
`),
			wants: []string{
				`schedules[0].overrides[0].person: unknown person "dave"`,
				`schedules[0].overrides[1].to: "2025-06-02T00:00:00Z" is not after from ("2025-06-02T02:00:00+02:00")`,
				`schedules[0].overrides[2].to: "2025-06-01T00:00:00Z" is not after from ("2025-06-02T00:00:00Z")`,
				`schedules[0].overrides[3].from: "2025-06-01" is not an RFC 3339 instant, like 2025-06-01T09:00:00Z`,
				`schedules[0].overrides[3].to: "2025-06-02 00:00" is not an RFC 3339 instant, like 2025-06-01T09:00:00Z`,
			},
		},
		{
			// Past the loader's own checks, oncall.New's are the backstop.
			name:  "shift too long for oncall",
			yaml:  editSchedules(t, "shift: 1w", "shift: 60w"),
			wants: []string{`schedules[0]: layer 1 ("weekly"): shift of 60 weeks: want 1 to 52`},
		},
		{
			// A targeted schedule with problems is not also unknown.
			name: "broken schedule as a target",
			yaml: editSchedules(t,
				"timezone: Europe/Stockholm\n    layers:", "timezone: Europe/Stokholm\n    layers:",
				"targets: [alice]", "targets: [schedule:primary]"),
			wants: []string{`schedules[0].timezone: unknown time zone "Europe/Stokholm"`},
		},
		{
			// The decoder's report stands alone; the empty list left in
			// its place is not reported again, nor built.
			name: "wrong shapes and unknown keys",
			yaml: editSchedules(t,
				"participants: [alice, bob]", "participants: alice",
				"shift: 1d", "shift: {days: 1}",
				"    overrides:\n", "    override:\n"),
			wants: []string{
				`schedules[0].layers[0].participants: expected a list, got a single value (line 19)`,
				`schedules[0].layers[1].shift: expected a string, got a mapping (line 26)`,
				`schedules[0].override: unknown key "override" (line 31); known keys: name, timezone, layers, overrides, notify`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(tt.yaml), nil)
			if err == nil {
				t.Fatalf("Parse succeeded: %+v", c)
			}
			got := problemLines(t, err)
			if !slices.Equal(got, tt.wants) {
				t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.wants, "\n"))
			}
		})
	}
}

func TestParseShift(t *testing.T) {
	good := map[string]oncall.Shift{
		"1w":  {Unit: oncall.Weeks, N: 1},
		"12h": {Unit: oncall.Hours, N: 12},
		"3d":  {Unit: oncall.Days, N: 3},
		"07d": {Unit: oncall.Days, N: 7},
	}
	for s, want := range good {
		if got, err := parseShift(s); err != nil || got != want {
			t.Errorf("parseShift(%q) = %+v, %v; want %+v", s, got, err, want)
		}
	}
	for _, s := range []string{"", "w", "1", "1W", "1.5d", "-1d", "+1d", " 1w", "1w ", "1 w", "1dd", "1m", "168h0m", "99999999999999999999h"} {
		if got, err := parseShift(s); err == nil {
			t.Errorf("parseShift(%q) = %+v; want an error", s, got)
		}
	}
}

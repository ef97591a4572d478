package config

import (
	"strings"
	"testing"
	"time"
)

func TestWorkingHoursAndPreferAwake(t *testing.T) {
	good := edit(t,
		"    repeat_every: 10m\n", "    repeat_every: 10m\n    working_hours: {from: \"22:00\", to: \"06:00\", days: [fri, Saturday]}\n",
		"      - targets: [bob]\n        delay: 10m\n", "      - targets: [bob, alice]\n        delay: 10m\n        prefer_awake: true\n        wake_after: 5m\n        wake_at_once: P1\n")
	c, err := Parse([]byte(good), nil)
	if err != nil {
		t.Fatal(err)
	}
	cat := c.Catalog()
	wh := cat.People["alice"].WorkingHours
	if wh == nil || wh.From.Hour != 22 || wh.To.Hour != 6 || len(wh.Days) != 2 || wh.Days[1] != time.Saturday {
		t.Fatalf("working hours: %+v", wh)
	}
	if cat.People["bob"].WorkingHours != nil {
		t.Fatal("bob has no working hours: he answers any time")
	}
	lv := cat.Policies["default"].Levels[1]
	if !lv.PreferAwake || lv.WakeAfter != 5*time.Minute || lv.WakeAtOnce == nil || lv.WakeAtOnce.String() != "P1" {
		t.Fatalf("level: %+v", lv)
	}

	tests := []struct {
		name, old, new, want string
	}{
		{"bad from", "    repeat_every: 10m\n", "    repeat_every: 10m\n    working_hours: {from: \"8am\", to: \"18:00\"}\n",
			`people[0].working_hours.from: "8am" is not a time HH:MM`},
		{"empty window", "    repeat_every: 10m\n", "    repeat_every: 10m\n    working_hours: {from: \"09:00\", to: \"09:00\"}\n",
			`people[0].working_hours.to: the same as from: leave working_hours out for a person who answers any time`},
		{"bad day", "    repeat_every: 10m\n", "    repeat_every: 10m\n    working_hours: {from: \"09:00\", to: \"17:00\", days: [funday]}\n",
			`people[0].working_hours.days[0]: "funday" is not a weekday (monday or mon)`},
		{"prefer_awake without wake_after", "        delay: 10m\n", "        delay: 10m\n        prefer_awake: true\n",
			`policies[0].levels[1].wake_after: required with prefer_awake: how long the awake get before the asleep are woken, like 10m`},
		{"wake_after alone", "        delay: 10m\n", "        delay: 10m\n        wake_after: 5m\n",
			`policies[0].levels[1].wake_after: only means something with prefer_awake: true`},
		{"yes is not a boolean", "        delay: 10m\n", "        delay: 10m\n        prefer_awake: yes\n",
			`policies[0].levels[1].prefer_awake: "yes" is not true or false`},
		{"bad wake_at_once", "        delay: 10m\n", "        delay: 10m\n        prefer_awake: true\n        wake_after: 5m\n        wake_at_once: urgent\n",
			`policies[0].levels[1].wake_at_once: unknown priority "urgent" (want P0 to P4)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(edit(t, tt.old, tt.new)), nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v\nwant a problem containing %q", err, tt.want)
			}
		})
	}
}

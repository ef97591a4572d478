package escalation

import (
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/escalation/oncall"
)

func TestContactStepTimes(t *testing.T) {
	since := time.Date(2025, 3, 13, 16, 0, 0, 0, time.UTC)
	rules := []ContactRule{{ChannelSMS, 0}, {ChannelVoice, 2 * time.Minute}, {ChannelVoice, 5 * time.Minute}}
	tests := []struct {
		name   string
		repeat time.Duration
		step   int
		at     time.Duration
		ch     Channel
		ok     bool
	}{
		{"first rule at once", 0, 0, 0, ChannelSMS, true},
		{"third rule", 0, 2, 5 * time.Minute, ChannelVoice, true},
		{"used up without repeat", 0, 3, 0, "", false},
		{"second loop starts over with sms", 10 * time.Minute, 3, 10 * time.Minute, ChannelSMS, true},
		{"third loop's call", 10 * time.Minute, 7, 22 * time.Minute, ChannelVoice, true},
		{"negative step", 10 * time.Minute, -1, 0, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &Person{Rules: rules, RepeatEvery: tt.repeat}
			at, rule, ok := p.stepAt(since, tt.step)
			if ok != tt.ok {
				t.Fatalf("ok = %v, want %v", ok, tt.ok)
			}
			if !ok {
				return
			}
			if !at.Equal(since.Add(tt.at)) || rule.Channel != tt.ch {
				t.Fatalf("step %d: %s %s, want +%s %s", tt.step, at.Sub(since), rule.Channel, tt.at, tt.ch)
			}
		})
	}
}

func TestGroupKeyByLabels(t *testing.T) {
	svc := &Service{GroupBy: []string{"alertname", "cluster"}}
	a := Alert{DedupKey: "f1", GroupKey: "{}:{}", Labels: map[string]string{"alertname": "Down", "cluster": "eu", "pod": "x"}}
	b := a
	b.DedupKey, b.Labels = "f2", map[string]string{"alertname": "Down", "cluster": "eu", "pod": "y"}
	if svc.groupKey(a) != svc.groupKey(b) {
		t.Fatalf("same alertname and cluster grouped apart: %q vs %q", svc.groupKey(a), svc.groupKey(b))
	}
	// The key is stored (groups bucket): its form must not change, or
	// open incidents stop taking their alerts after an upgrade.
	c := a
	c.Labels = map[string]string{"alertname": "Disk \"full\"\n", "cluster": "eu-ü"}
	if got, want := svc.groupKey(c), `alertname="Disk \"full\"\n",cluster="eu-ü"`; got != want {
		t.Fatalf("group key %s; want %s", got, want)
	}
	if got := (&Service{}).groupKey(a); got != "{}:{}" {
		t.Fatalf("without group_by the sender's group key is used, got %q", got)
	}
	a.GroupKey = ""
	if got := (&Service{}).groupKey(a); got != "f1" {
		t.Fatalf("without any group key the dedup key is used, got %q", got)
	}
}

func TestParsePriority(t *testing.T) {
	for in, want := range map[string]Priority{"P0": P0, "p4": P4, " P2 ": P2} {
		if got, err := ParsePriority(in); err != nil || got != want {
			t.Errorf("ParsePriority(%q) = %v, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "P5", "high", "P-1", "PP"} {
		if _, err := ParsePriority(bad); err == nil {
			t.Errorf("ParsePriority(%q) accepted", bad)
		}
	}
}

func TestAwake(t *testing.T) {
	sthlm, err := time.LoadLocation("Europe/Stockholm")
	if err != nil {
		t.Fatal(err)
	}
	day := &Person{Timezone: sthlm, WorkingHours: &WorkingHours{From: clock(8, 0), To: clock(18, 0), Days: []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday}}}
	night := &Person{Timezone: sthlm, WorkingHours: &WorkingHours{From: clock(22, 0), To: clock(6, 0), Days: []time.Weekday{time.Friday}}}
	tests := []struct {
		name string
		p    *Person
		at   string // Stockholm local time
		want bool
	}{
		{"weekday 09:00", day, "2025-06-10T09:00:00+02:00", true},
		{"weekday 07:59", day, "2025-06-10T07:59:00+02:00", false},
		{"weekday 18:00 is after hours", day, "2025-06-10T18:00:00+02:00", false},
		{"saturday noon", day, "2025-06-14T12:00:00+02:00", false},
		{"friday night shift 23:00", night, "2025-06-13T23:00:00+02:00", true},
		{"friday night shift runs into saturday 05:00", night, "2025-06-14T05:00:00+02:00", true},
		{"saturday night is not a shift", night, "2025-06-14T23:00:00+02:00", false},
		{"friday 05:00 belongs to thursday's night", night, "2025-06-13T05:00:00+02:00", false},
		{"monday after the 2025-03-30 DST change, 09:00 CEST", day, "2025-03-31T09:00:00+02:00", true},
		{"no working hours: always", &Person{}, "2025-06-14T03:00:00+02:00", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			at, err := time.Parse(time.RFC3339, tt.at)
			if err != nil {
				t.Fatal(err)
			}
			if got := tt.p.Awake(at.UTC()); got != tt.want {
				t.Fatalf("Awake(%s) = %v, want %v", tt.at, got, tt.want)
			}
		})
	}
}

func clock(h, m int) oncall.Clock { return oncall.Clock{Hour: h, Minute: m} }

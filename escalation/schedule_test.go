package escalation_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/escalation"
	"github.com/klaxonhq/klaxon/escalation/escalationtest"
	"github.com/klaxonhq/klaxon/escalation/oncall"
	"github.com/klaxonhq/klaxon/store"
)

// A daily rotation hands off at 09:00 in the middle of an incident: the
// page goes to whoever is on call when it is sent, and the person going off
// shift stops being paged.
func TestScheduleHandoffMidIncidentPagesTheNewOnCall(t *testing.T) {
	sched, err := oncall.New(oncall.Schedule{
		Name: "primary", Location: time.UTC,
		Layers: []oncall.Layer{{
			Participants: []string{"ana", "ben"},
			Shift:        oncall.Shift{Unit: oncall.Days, N: 1},
			Handoff:      oncall.Clock{Hour: 9},
			Start:        oncall.Date{Year: 2025, Month: time.June, Day: 1},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	rules := []escalation.ContactRule{{Channel: escalation.ChannelSMS}, {Channel: escalation.ChannelVoice, After: 2 * time.Minute}}
	cat := &escalation.Catalog{
		People: map[string]*escalation.Person{
			"ana": {Name: "ana", Timezone: time.UTC, Phone: "+46700000001", Rules: rules, RepeatEvery: 5 * time.Minute},
			"ben": {Name: "ben", Timezone: time.UTC, Phone: "+46700000002", Rules: rules, RepeatEvery: 5 * time.Minute},
		},
		Schedules: map[string]*oncall.Schedule{"primary": sched},
		Policies: map[string]*escalation.Policy{"p": {Name: "p", Levels: []escalation.Level{
			{Targets: []escalation.Target{{Kind: escalation.TargetSchedule, Name: "primary"}}, Delay: time.Hour},
		}}},
		Services:     map[string]*escalation.Service{"web": {Name: "web", Policy: "p", DefaultPriority: escalation.P2}},
		Integrations: map[string]*escalation.Integration{"am": {Name: "am", Service: "web", Format: "alertmanager", Token: "t"}},
	}
	// 2025-06-02 08:57: ana's first shift (from June 1 09:00) ends at 09:00,
	// then ben is on call.
	clock := escalationtest.NewClock(time.Date(2025, 6, 2, 8, 57, 0, 0, time.UTC))
	db, err := store.Open(filepath.Join(t.TempDir(), "k.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rec := &escalationtest.Pager{Clock: clock}
	eng, err := escalation.New(escalation.Options{Store: db, Catalog: cat, Clock: clock,
		Pagers: map[escalation.Channel]escalation.Pager{escalation.ChannelSMS: rec, escalation.ChannelVoice: rec}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := eng.Ingest(ctx, "am", []escalation.Alert{{DedupKey: "x", State: escalation.AlertFiring, Summary: "down"}}); err != nil {
		t.Fatal(err)
	}
	if err := eng.RunUntil(ctx, clock, time.Date(2025, 6, 2, 9, 6, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range rec.Sent() {
		got = append(got, s.String())
	}
	want := []string{
		"08:57:00 ana sms #1", "08:59:00 ana voice #1",
		"09:00:00 ben sms #1", "09:02:00 ben voice #1", "09:05:00 ben sms #1",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("pages:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	_, events, err := eng.Incident(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	var notes []string
	for _, ev := range events {
		if ev.Kind == escalation.EventHandoff || ev.Kind == escalation.EventEscalated {
			notes = append(notes, ev.Message)
		}
	}
	if len(notes) != 2 || notes[0] != "policy p level 1: paging ana (on call for primary)" || notes[1] != "primary handed off by ana to ben" {
		t.Fatalf("timeline notes: %q", notes)
	}
}

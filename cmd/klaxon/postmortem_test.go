package main

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/escalation"
	"github.com/klaxonhq/klaxon/escalation/escalationtest"
	"github.com/klaxonhq/klaxon/postmortem"
)

// askedAlerts is the engine, noting whose alerts a draft asks for.
type askedAlerts struct {
	*escalation.Engine
	ids []int64
}

func (a *askedAlerts) IncidentAlerts(ctx context.Context, id int64) ([]*escalation.AlertRecord, error) {
	a.ids = append(a.ids, id)
	return a.Engine.IncidentAlerts(ctx, id)
}

// The domain expiry through the wired app: the DNS probe began failing at
// 02:38 but PagerDuty's event reached Klaxon at 02:45 (#1, storage); the
// checkout probe began at 02:41 and Alertmanager's webhook came at 02:52
// (#2); alice acknowledged #2 at 03:04 and merged #1 into it. The draft of
// #2, from the API and from draftPostmortem on the engine, dates the
// outage from the DNS probe's start, whose alert the merge moved to #2.
func TestPostmortemDraftDatesTheIncidentFromItsAlerts(t *testing.T) {
	cfg := exampleConfig(t)
	clock := escalationtest.NewClock(time.Date(2026, 3, 14, 2, 45, 0, 0, time.UTC))
	a, err := newApp(cfg, clock, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.close()
	serve := func(path, token, body string) string {
		t.Helper()
		method := http.MethodPost
		if body == "" {
			method = http.MethodGet
		}
		return settle(t, a, method, path, token, body)
	}
	serve("/v2/enqueue", "", `{"routing_key":"demo-pagerduty-routing-key","event_action":"trigger","dedup_key":"dns-acme",
		"payload":{"summary":"DNS: acme.example does not resolve","source":"blackbox","severity":"critical","timestamp":"2026-03-14T02:38:00Z"}}`)
	clock.Set(time.Date(2026, 3, 14, 2, 52, 0, 0, time.UTC))
	serve("/hooks/alertmanager-checkout", "demo-alertmanager-token", `{"version":"4","groupKey":"{}:{alertname=\"ProbeFailed\"}","status":"firing","receiver":"klaxon",
		"alerts":[{"status":"firing","labels":{"alertname":"ProbeFailed","severity":"critical"},"annotations":{"summary":"Probe failed: https://shop.acme.example returns 502"},
		"startsAt":"2026-03-14T02:41:00Z","endsAt":"0001-01-01T00:00:00Z","fingerprint":"shop"}]}`)
	clock.Set(time.Date(2026, 3, 14, 3, 4, 0, 0, time.UTC))
	serve("/api/v1/incidents/2/ack", "demo-api-token", `{"as":"alice"}`)
	if _, err := a.engine.Merge(t.Context(), 1, 2, escalation.Actor{Name: "alice", Via: escalation.ViaAPI}); err != nil {
		t.Fatal(err)
	}

	eng := &askedAlerts{Engine: a.engine}
	md, err := draftPostmortem(t.Context(), eng, 2, postmortemOptions(cfg))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(eng.ids, []int64{2, 1}) {
		t.Errorf("the draft asked for the alerts of %v, want #2's and the merged #1's", eng.ids)
	}
	for _, want := range []string{
		"| Started | 2026-03-14 02:38:00 UTC: alert “DNS: acme.example does not resolve” on storage began firing, per pagerduty-storage; " +
			"Klaxon opened #1 on storage (merged in later) at 02:45 UTC, 7m later; #2 opened at 02:52 UTC |",
		"| Time to detect | 7m, from the first alert's start to Klaxon opening #1 |",
		"| Time to acknowledge | 19m, from Klaxon opening #1 |",
		"| 2026-03-14 02:38:00 | **Alert began firing** on storage (per pagerduty-storage): DNS: acme.example does not resolve (dedup key dns-acme) |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("the draft lacks %q:\n%s", want, md)
		}
	}
	if api := serve("/api/v1/incidents/2/postmortem.md", "demo-api-token", ""); api != md {
		t.Errorf("the API's draft differs from draftPostmortem's:\n%s\n---\n%s", api, md)
	}
}

// fakeIncidents is a store of incidents and the alerts each holds.
type fakeIncidents struct {
	incidents map[int64]*escalation.Incident
	events    map[int64][]escalation.Event
	alerts    map[int64][]*escalation.AlertRecord
	alertsErr error
}

func (f *fakeIncidents) Incident(_ context.Context, id int64) (*escalation.Incident, []escalation.Event, error) {
	inc, ok := f.incidents[id]
	if !ok {
		return nil, nil, escalation.ErrNotFound
	}
	return inc, f.events[id], nil
}

func (f *fakeIncidents) IncidentAlerts(_ context.Context, id int64) ([]*escalation.AlertRecord, error) {
	return f.alerts[id], f.alertsErr
}

// An alert a merged incident still holds dates the incident too, and a
// failure to read alerts is not drafted over.
func TestPostmortemDraftReadsTheMergedIncidentsAlerts(t *testing.T) {
	at := func(hm string) time.Time { return mustParse(t, "2026-03-14T"+hm+":00Z") }
	f := &fakeIncidents{
		incidents: map[int64]*escalation.Incident{
			58: {ID: 58, Service: "checkout", Title: "Probe failed", Status: escalation.StatusTriggered, CreatedAt: at("02:07")},
			57: {ID: 57, Service: "edge-dns", Title: "NXDOMAIN", Status: escalation.StatusResolved, CreatedAt: at("02:05"), MergedInto: 58},
		},
		events: map[int64][]escalation.Event{58: {
			{At: at("02:07"), Kind: escalation.EventTriggered},
			{At: at("02:41"), Kind: escalation.EventMerged, Actor: "bob", Message: "merged #57 NXDOMAIN (1 alert(s)) into this incident"},
		}},
		alerts: map[int64][]*escalation.AlertRecord{
			58: {{Service: "checkout", Integration: "alertmanager-checkout", IncidentID: 58,
				Alert: escalation.Alert{DedupKey: "shop", Summary: "Probe failed", StartsAt: at("02:06")}}},
			57: {{Service: "edge-dns", Integration: "blackbox", IncidentID: 57,
				Alert: escalation.Alert{DedupKey: "dns", Summary: "NXDOMAIN", StartsAt: at("02:01")}}},
		},
	}
	md, err := draftPostmortem(t.Context(), f, 58, postmortem.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if want := "| Started | 2026-03-14 02:01:00 UTC: alert “NXDOMAIN” on edge-dns began firing, per blackbox; "; !strings.Contains(md, want) {
		t.Errorf("the draft lacks %q:\n%s", want, md)
	}

	f.alertsErr = errors.New("disk on fire")
	if _, err := draftPostmortem(t.Context(), f, 58, postmortem.Options{}); err == nil || !strings.Contains(err.Error(), "disk on fire") {
		t.Errorf("a failure to read the alerts gave %v", err)
	}
}

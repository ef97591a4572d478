package postmortem_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/escalation"
	"github.com/klaxonhq/klaxon/postmortem"
)

// firing is an alert as stored, whose monitor says it began at startsAt
// (zero: the sender gave no start).
func firing(service, integration, key, summary string, startsAt time.Time, seen time.Time) *escalation.AlertRecord {
	return &escalation.AlertRecord{Service: service, Integration: integration,
		Alert:     escalation.Alert{DedupKey: key, State: escalation.AlertFiring, Summary: summary, StartsAt: startsAt},
		FirstSeen: seen, LastSeen: seen}
}

// lateNight is the domain expiry as one checkout incident: the probe began
// failing at 02:41, but Alertmanager's group wait and a queued retry held
// the webhook until 02:52, when Klaxon opened #12 and paged alice by SMS;
// she acknowledged at 03:04 and resolved it at 03:30.
func lateNight() (*escalation.Incident, []escalation.Event, *escalation.AlertRecord) {
	inc := &escalation.Incident{ID: 12, Service: "checkout", Title: "Probe failed: https://shop.acme.example returns 502",
		Status: escalation.StatusResolved, Priority: escalation.P1, Policy: "checkout-p1",
		CreatedAt: night("02:52:00"), UpdatedAt: night("03:30:00"), AcknowledgedAt: night("03:04:00"), AcknowledgedBy: "alice",
		ResolvedAt: night("03:30:00"), ResolvedBy: "alice", Alerts: 1}
	events := []escalation.Event{
		monitor(escalation.Event{At: night("02:52:00"), Kind: escalation.EventTriggered, Message: "P1 Probe failed: https://shop.acme.example returns 502 on checkout"}),
		monitor(escalation.Event{At: night("02:52:00"), Kind: escalation.EventAlertAttached, DedupKey: "8c1f2d3e4a5b6c7d",
			Message: "Probe failed: https://shop.acme.example returns 502"}),
	}
	events = append(events, paged("02:52:00", "alice", escalation.ChannelSMS, 1, 201)...)
	events = append(events,
		escalation.Event{At: night("03:04:00"), Kind: escalation.EventAcknowledged, Actor: "alice", Via: escalation.ViaSMS},
		viaSlack(escalation.Event{At: night("03:30:00"), Kind: escalation.EventResolved, Actor: "alice", Message: "Domain renewed."}),
	)
	probe := firing("checkout", "alertmanager-checkout", "8c1f2d3e4a5b6c7d", "Probe failed: https://shop.acme.example returns 502",
		night("02:41:00"), night("02:52:00"))
	return inc, events, probe
}

func TestDraftDatesTheIncidentFromTheAlertsStart(t *testing.T) {
	inc, events, probe := lateNight()
	opts := postmortem.Options{Services: map[string]string{"checkout": "Checkout"}, Alerts: []*escalation.AlertRecord{probe}}
	md := postmortem.Draft(inc, events, opts)
	for label, want := range map[string]string{
		"Started": "2026-03-14 02:41:00 UTC: alert “Probe failed: https://shop.acme.example returns 502” began firing, " +
			"per alertmanager-checkout; Klaxon opened #12 at 02:52 UTC, 11m later",
		// The first page and the acknowledgement are Klaxon's response: they
		// count from its opening, the outage from the monitor's start.
		"Detected (first page)": "2026-03-14 02:52:02 UTC: SMS to alice, 11m 2s after the start (2s after Klaxon opened #12)",
		"Time to detect":        "11m, from the first alert's start to Klaxon opening #12",
		"Time to acknowledge":   "12m, from Klaxon opening #12",
		"Duration":              "49m",
		"Time to resolve":       "49m",
	} {
		if got := summaryRow(t, md, label); got != want {
			t.Errorf("%s = %q, want %q", label, got, want)
		}
	}
	for _, s := range []string{
		"Checkout was affected for 49m, from 2026-03-14 02:41:00 UTC to 03:30:00 UTC. " +
			"Its first alert began 11m before Klaxon opened #12, and the first page went out 2s after the opening. " +
			"alice acknowledged by SMS reply 12m after Klaxon opened #12.",
		"| 2026-03-14 02:41:00 | **Alert began firing** (per alertmanager-checkout): Probe failed: https://shop.acme.example returns 502 (dedup key 8c1f2d3e4a5b6c7d) |\n" +
			"| 02:52:00 | **Incident opened** by alertmanager (monitor)",
	} {
		if !strings.Contains(md, s) {
			t.Errorf("the draft does not say %q:\n%s", s, md)
		}
	}
	checkTables(t, md)

	// The time to detect is one figure, right before the time to acknowledge.
	if i, j := strings.Index(md, "| Time to detect |"), strings.Index(md, "| Time to acknowledge |"); i < 0 || j < i {
		t.Errorf("Time to detect is not before Time to acknowledge:\n%s", md)
	}
}

// Alerts that cannot date the incident leave the draft as it is without
// alerts, byte for byte.
func TestAlertsThatCannotDateTheIncident(t *testing.T) {
	inc, events, probe := lateNight()
	at := func(t time.Time) *escalation.AlertRecord {
		rec := *probe
		rec.Alert.StartsAt = t
		return &rec
	}
	for _, tt := range []struct {
		name   string
		alerts []*escalation.AlertRecord
	}{
		// The probe fired again at 03:20 after resolving in between:
		// Alertmanager gave it a new start, after Klaxon opened #12.
		{"a refire started after Klaxon opened the incident", []*escalation.AlertRecord{at(night("03:20:00"))}},
		{"the monitor began it as Klaxon opened it", []*escalation.AlertRecord{at(night("02:52:00"))}},
		// A generic webhook or a PagerDuty event without a timestamp.
		{"the sender gives no start", []*escalation.AlertRecord{at(time.Time{}), nil}},
		// A warning that fired unnoticed since the week before, or a
		// monitor whose clock is off.
		{"the start is eight days before", []*escalation.AlertRecord{at(night("02:52:00").Add(-8 * 24 * time.Hour))}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			want := postmortem.Draft(inc, events, postmortem.Options{})
			got := postmortem.Draft(inc, events, postmortem.Options{Alerts: tt.alerts})
			if got != want {
				t.Errorf("the draft changed:\n got %s\nwant %s", got, want)
			}
		})
	}

	// Beside a credible start, the absurd one and the refire are skipped,
	// not taken as the start.
	old, refire := at(night("02:52:00").Add(-8*24*time.Hour)), at(night("03:20:00"))
	md := postmortem.Draft(inc, events, postmortem.Options{Alerts: []*escalation.AlertRecord{old, refire, probe}})
	if got := summaryRow(t, md, "Started"); !strings.HasPrefix(got, "2026-03-14 02:41:00 UTC: alert") {
		t.Errorf("Started = %q, want the probe's 02:41 start", got)
	}
	// Up to a week back is still a detection lag.
	week := at(night("02:52:00").Add(-7 * 24 * time.Hour))
	md = postmortem.Draft(inc, events, postmortem.Options{Alerts: []*escalation.AlertRecord{week}})
	if got, want := summaryRow(t, md, "Time to detect"), "7d 0h 0m, from the first alert's start to Klaxon opening #12"; got != want {
		t.Errorf("Time to detect = %q, want %q", got, want)
	}
}

// The domain expiry with its alerts: the DNS probe began failing at
// 02:03:30, before Klaxon opened #57 for it at 02:05:12; #57 was merged
// into #58, and its alert moved with it. The checkout probes began at
// 02:07:10, after #57 opened: not the start.
func TestDomainExpiryDraftWithAlerts(t *testing.T) {
	inc, events, opts := domainExpiry()
	dns := firing("edge-dns", "blackbox-dns", "dns-acme", "DNS: acme.example does not resolve (NXDOMAIN)", night("02:03:30"), night("02:05:12"))
	dns.IncidentID = 58
	shop := firing("checkout", "alertmanager-checkout", "8c1f2d3e4a5b6c7d", "Probe failed: https://shop.acme.example returns 502",
		night("02:07:10"), night("02:07:41"))
	shop.IncidentID = 58
	opts.Alerts = []*escalation.AlertRecord{shop, dns}
	md := postmortem.Draft(inc, events, opts)
	checkGolden(t, "domain_expiry_alerts.golden.md", []byte(md))
	checkTables(t, md)

	if got, want := summaryRow(t, md, "Started"), "2026-03-14 02:03:30 UTC: alert “DNS: acme.example does not resolve (NXDOMAIN)” on Edge DNS "+
		"began firing, per blackbox-dns; Klaxon opened #57 on Edge DNS (merged in later) at 02:05 UTC, 1m 42s later; #58 opened at 02:07 UTC"; got != want {
		t.Errorf("Started = %q, want %q", got, want)
	}
	// Time to acknowledge counts from #57's opening, as it does without
	// alerts; the duration from the DNS probe's start.
	without := postmortem.Draft(inc, events, func() postmortem.Options { _, _, o := domainExpiry(); return o }())
	if got, was := summaryRow(t, md, "Time to acknowledge"), summaryRow(t, without, "Time to acknowledge"); got != was+", from Klaxon opening #57" {
		t.Errorf("Time to acknowledge = %q, was %q without alerts", got, was)
	}
	if got, want := summaryRow(t, md, "Duration"), "9h 6m"; got != want {
		t.Errorf("Duration = %q, want %q (02:03:30 to 11:09:30)", got, want)
	}

	// The order the caller lists the alerts in does not matter.
	opts.Alerts = []*escalation.AlertRecord{dns, shop, dns}
	if again := postmortem.Draft(inc, events, opts); again != md {
		t.Error("listing the alerts in another order changed the draft")
	}
	slices.Reverse(opts.Alerts)
	if again := postmortem.Draft(inc, events, opts); again != md {
		t.Error("listing the alerts in another order changed the draft")
	}
}

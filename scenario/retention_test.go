package scenario

import (
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/escalation"
)

// Months of running with a 90-day retention. In January the db pages
// alice three times: #1 resolves with its alert; #2 alice resolves by
// hand while its disk alert goes on firing; #4 is merged into #3, which
// resolves. A resolve of an alert never seen firing is remembered too.
// In late April, with #5 open, the prune deletes #1, #3 and #4 and the
// old early resolve, and keeps #2 (its alert still fires, so its next
// notice must find it) and #5. Everything goes on working afterwards:
// the pruned group fires again and pages afresh, a bare "ack" by SMS
// finds the new page, and a second prune finds nothing more.
func TestMonthsOfRunningWithARetention(t *testing.T) {
	h := newHarness(t, `
people:
  - {name: alice, timezone: Europe/Stockholm, phone: "+46701234567", contact_rules: [{channel: sms, after: 0s}]}
policies:
  - name: db
    levels: [{targets: [alice], delay: 30m}]
services:
  - {name: db, policy: db}
integrations: [{name: am, service: db, format: alertmanager, token: am-token-0123456789}]
`, "2026-01-05T02:00:00Z")
	ctx := t.Context()
	fire := func(name string) { h.Webhook("am", alertmanager("firing", name, name, "critical", name+" on db-1")) }
	clear := func(name string) { h.Webhook("am", alertmanager("resolved", name, name, "critical", name+" on db-1")) }

	fire("Replication") // #1
	h.SMS("alice", "ack")
	h.Advance(time.Hour)
	clear("Replication")
	h.ExpectStatus(1, escalation.StatusResolved)

	h.AdvanceTo(mustTime(t, "2026-01-06T02:00:00Z"))
	fire("DiskFull") // #2: the alert goes on firing
	h.ok(h.eng.Resolve(ctx, 2, byAlice, "cleaned up; the alert is stale"))

	h.AdvanceTo(mustTime(t, "2026-01-07T02:00:00Z"))
	fire("Latency") // #3
	fire("Errors")  // #4
	h.ok(h.eng.Merge(ctx, 4, 3, byAlice))
	clear("Latency")
	clear("Errors")
	h.ExpectStatus(3, escalation.StatusResolved)
	clear("NeverSeen") // an early resolve, remembered

	h.AdvanceTo(mustTime(t, "2026-04-20T02:00:00Z"))
	fire("Connections") // #5, open
	// A page a day, two on the 7th, and one now.
	h.ExpectPages("02:00 alice sms", "02:00 alice sms", "02:00 alice sms", "02:00 alice sms", "02:00 alice sms")

	d, err := h.eng.Prune(ctx, 90*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if d.Incidents != 3 || d.Pages != 3 || d.Alerts != 4 {
		t.Errorf("pruned %+v, want 3 incidents, their 3 pages, and 3 alerts and the early resolve", d)
	}
	for _, id := range []int64{1, 3, 4} {
		if _, _, err := h.eng.Incident(ctx, id); escalation.ErrorCode(err) != escalation.CodeNotFound {
			t.Errorf("incident #%d after the prune: %v", id, err)
		}
	}
	if inc := h.ExpectStatus(2, escalation.StatusResolved); inc.Firing != 1 {
		t.Errorf("#2 firing %d", inc.Firing)
	}
	h.ExpectStatus(5, escalation.StatusTriggered)

	// The replication alert fires again: a new incident, paged as any.
	h.Advance(time.Minute)
	fire("Replication")
	h.ExpectPages("02:01 alice sms")
	if inc := h.ExpectStatus(6, escalation.StatusTriggered); inc.Title != "Replication on db-1" {
		t.Fatalf("#6 is %q", inc.Title)
	}
	if reply := h.SMS("alice", "ack 6"); reply == "" {
		t.Fatal("no reply to the ack")
	}
	h.ExpectStatus(6, escalation.StatusAcknowledged)
	// The early resolve is forgotten: its firing now opens an incident.
	fire("NeverSeen")
	h.ExpectStatus(7, escalation.StatusTriggered)

	h.Restart()
	again, err := h.eng.Prune(ctx, 90*24*time.Hour)
	if err != nil || again != (escalation.Deleted{}) {
		t.Fatalf("a second prune: %+v, %v", again, err)
	}
	if _, err := h.eng.Prune(ctx, 0); err == nil {
		t.Fatal("a prune keeping nothing was accepted")
	}
}

// dbService: alice is paged for the db's alerts, grouped by alertname.
const dbService = `
people:
  - {name: alice, timezone: UTC, phone: "+46701234567", contact_rules: [{channel: sms, after: 0s}]}
policies:
  - {name: db, levels: [{targets: [alice], delay: 30m}]}
services:
  - {name: db, policy: db, group_by: [alertname], public: {name: Database}}
integrations: [{name: am, service: db, format: alertmanager, token: am-token-0123456789}]
`

// prune runs the retention of 90 days, and fails the test on an error.
func (h *harness) prune() escalation.Deleted {
	h.t.Helper()
	d, err := h.eng.Prune(h.t.Context(), 90*24*time.Hour)
	if err != nil {
		h.t.Fatal(err)
	}
	return d
}

func (h *harness) expectGone(ids ...int64) {
	h.t.Helper()
	for _, id := range ids {
		if _, _, err := h.eng.Incident(h.t.Context(), id); escalation.ErrorCode(err) != escalation.CodeNotFound {
			h.t.Errorf("#%d after the prune: %v", id, err)
		}
	}
}

// X (#1) was merged into Y (#2), and Y into Z (#3), which alice is still
// working on months later (its alert still fires). #1 and #2 are pruned;
// X fires again on another host and joins #3, where X's group went, as
// it would have without the prune.
func TestAPrunedMergeChainStillLeadsToItsOpenEnd(t *testing.T) {
	h := newHarness(t, dbService, "2026-01-05T02:00:00Z")
	ctx := t.Context()
	h.Webhook("am", alertmanager("firing", "X", "x1", "critical", "X"))
	h.Webhook("am", alertmanager("firing", "Y", "y1", "critical", "Y"))
	h.ok(h.eng.Merge(ctx, 1, 2, byAlice))
	h.Webhook("am", alertmanager("firing", "Z", "z1", "critical", "Z"))
	h.ok(h.eng.Merge(ctx, 2, 3, byAlice))
	h.SMS("alice", "ack 3")
	h.AdvanceTo(mustTime(t, "2026-05-01T00:00:00Z"))
	h.Webhook("am", alertmanager("firing", "Other", "o1", "warning", "other")) // #4: something happens now
	if d := h.prune(); d.Incidents != 2 {
		t.Fatalf("pruned %+v, want #1 and #2", d)
	}
	h.expectGone(1, 2)
	h.Webhook("am", alertmanager("firing", "X", "x2", "critical", "X on another host"))
	if inc := h.ExpectStatus(3, escalation.StatusAcknowledged); inc.Alerts != 4 {
		t.Fatalf("#3 holds %d alerts, want X's second host too", inc.Alerts)
	}
	if _, _, err := h.eng.Incident(ctx, 5); err == nil {
		t.Fatal("X's new alert opened an incident of its own")
	}
}

// The db went down in January; alice told customers "investigating" and
// then fixed it, but nobody posted "resolved". The status page still shows
// it ongoing, so it is kept until someone does; then it goes.
func TestAnIncidentStillOngoingOnTheStatusPageIsKept(t *testing.T) {
	h := newHarness(t, dbService, "2026-01-05T02:00:00Z")
	ctx := t.Context()
	h.Webhook("am", alertmanager("firing", "A", "a", "critical", "A"))
	h.ok(h.eng.PostUpdate(ctx, 1, escalation.PublicUpdate{Status: escalation.PublicInvestigating, Title: "Database down", Message: "Looking into it"}, byAlice))
	h.Webhook("am", alertmanager("resolved", "A", "a", "critical", "A"))
	h.AdvanceTo(mustTime(t, "2026-06-01T00:00:00Z"))
	h.Webhook("am", alertmanager("firing", "Other", "o1", "warning", "other"))
	if d := h.prune(); d.Incidents != 0 {
		t.Fatalf("pruned %+v while the status page shows #1", d)
	}
	h.ok(h.eng.PostUpdate(ctx, 1, escalation.PublicUpdate{Status: escalation.PublicResolved, Message: "Fixed in January"}, byAlice))
	h.AdvanceTo(mustTime(t, "2026-09-01T00:00:00Z"))
	h.Webhook("am", alertmanager("firing", "Later", "l1", "warning", "later"))
	if d := h.prune(); d.Incidents != 1 {
		t.Fatalf("pruned %+v, want #1 once resolved in public and aged", d)
	}
	h.expectGone(1)
}

// The clock once ran a year ahead (a bad clock at boot) while #2 opened;
// #1 and #3 were opened on time. The prune still finds #3, opened after
// #2 but long ago.
func TestAnIncidentFromAClockRunAheadDoesNotHideLaterOnes(t *testing.T) {
	h := newHarness(t, dbService, "2026-01-05T02:00:00Z")
	cycle := func(name string) {
		h.Webhook("am", alertmanager("firing", name, name, "critical", name))
		h.Webhook("am", alertmanager("resolved", name, name, "critical", name))
	}
	cycle("A")
	h.clock.Advance(365 * 24 * time.Hour) // 2027-01-05
	cycle("B")
	h.clock.Advance(-365*24*time.Hour + time.Hour) // put right: 2026-01-05 03:00
	cycle("C")
	h.AdvanceTo(mustTime(t, "2026-06-01T00:00:00Z"))
	h.Webhook("am", alertmanager("firing", "Now", "n1", "warning", "now"))
	h.prune()
	h.expectGone(1, 3)
	h.ExpectStatus(2, escalation.StatusResolved)
}

// Klaxon starts with its clock a year ahead. The incidents resolved
// yesterday are not a year old: the prune goes by the latest change it
// has seen, and keeps them.
func TestAClockRunAheadDoesNotPruneYesterday(t *testing.T) {
	h := newHarness(t, dbService, "2026-01-05T02:00:00Z")
	h.Webhook("am", alertmanager("firing", "A", "a", "critical", "A"))
	h.Webhook("am", alertmanager("resolved", "A", "a", "critical", "A"))
	h.clock.Set(mustTime(t, "2027-01-06T02:00:00Z"))
	if d := h.prune(); d != (escalation.Deleted{}) {
		t.Fatalf("pruned %+v a day after, by a clock a year ahead", d)
	}
	h.ExpectStatus(1, escalation.StatusResolved)
}

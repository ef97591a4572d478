package scenario

import (
	"errors"
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

// #2 was merged into #1, and both resolved long ago: they are pruned
// together, and a new alert of #2's group opens an incident of its own
// rather than look for them.
func TestAMergedPairIsPrunedTogether(t *testing.T) {
	h := newHarness(t, `
people:
  - {name: alice, timezone: UTC, phone: "+46701234567", contact_rules: [{channel: sms, after: 0s}]}
policies:
  - {name: db, levels: [{targets: [alice], delay: 30m}]}
services:
  - {name: db, policy: db, group_by: [alertname]}
integrations: [{name: am, service: db, format: alertmanager, token: am-token-0123456789}]
`, "2026-01-05T02:00:00Z")
	ctx := t.Context()
	h.Webhook("am", alertmanager("firing", "A", "a", "critical", "A"))
	h.Webhook("am", alertmanager("firing", "B", "b", "critical", "B"))
	h.ok(h.eng.Merge(ctx, 2, 1, byAlice))
	h.ok(h.eng.Resolve(ctx, 1, byAlice, "done"))
	h.Webhook("am", alertmanager("resolved", "A", "a", "critical", "A"))
	h.Webhook("am", alertmanager("resolved", "B", "b", "critical", "B"))
	h.AdvanceTo(mustTime(t, "2026-06-01T00:00:00Z"))
	if _, err := h.eng.Prune(ctx, 90*24*time.Hour); err != nil {
		t.Fatal(err)
	}
	for _, id := range []int64{1, 2} {
		if _, _, err := h.eng.Incident(ctx, id); !errors.Is(err, escalation.ErrNotFound) && escalation.ErrorCode(err) != escalation.CodeNotFound {
			t.Errorf("#%d: %v", id, err)
		}
	}
	h.Webhook("am", alertmanager("firing", "B", "b", "critical", "B again"))
	h.ExpectStatus(3, escalation.StatusTriggered)
}

package scenario

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/escalation"
)

var (
	byAlice  = escalation.Actor{Name: "alice", Via: "slack"}
	byBikram = escalation.Actor{Name: "bikram", Via: escalation.ViaSMS}
)

// ok fails the test when an engine call failed, and returns its incident.
func (h *harness) ok(inc *escalation.Incident, err error) *escalation.Incident {
	h.t.Helper()
	if err != nil {
		h.t.Fatal(err)
	}
	return inc
}

// refused asserts an engine call failed with a code and a message part.
func refused(t *testing.T, err error, code escalation.Code, part string) {
	t.Helper()
	if escalation.ErrorCode(err) != code || !strings.Contains(escalation.ErrorMessage(err), part) {
		t.Fatalf("got %v (%s), want %s containing %q", err, escalation.ErrorCode(err), code, part)
	}
}

// Bikram acknowledges, then realises he needs help: "escalate 1" triggers
// the incident again and pages the second level at once.
func TestEscalateAnAcknowledgedIncidentBringsInTheNextLevel(t *testing.T) {
	h := newHarness(t, team, "2026-03-02T01:00:00Z")
	ctx := context.Background()
	h.Webhook("prometheus", alertmanager("firing", "DiskFull", "fp1", "error", "disk full on db-1"))
	h.ExpectPages("01:00 bikram sms")
	h.ok(h.eng.Acknowledge(ctx, 1, byBikram))
	h.Advance(time.Minute)
	inc := h.ok(h.eng.Escalate(ctx, 1, 0, byBikram))
	if inc.Status != escalation.StatusTriggered || inc.Escalation.Level != 1 {
		t.Fatalf("after escalate: %s level %d", inc.Status, inc.Escalation.Level+1)
	}
	h.runDue()
	h.ExpectPages("01:01 alice sms", "01:01 carmen sms")
	_, err := h.eng.Escalate(ctx, 1, 3, byBikram)
	refused(t, err, escalation.CodeInvalid, "policy default has 2 level(s)")
	h.ok(h.eng.Acknowledge(ctx, 1, byAlice))
	h.Advance(time.Hour)
	h.ExpectNoPages()
}

// Snoozed for 30 minutes at 01:00: quiet until 01:30, then paging starts
// over from the first level. Resolving during a snooze ends it.
func TestSnoozeStopsPagingThenStartsOver(t *testing.T) {
	h := newHarness(t, team, "2026-03-02T01:00:00Z")
	ctx := context.Background()
	h.Webhook("prometheus", alertmanager("firing", "DiskFull", "fp1", "error", "disk full on db-1"))
	h.ExpectPages("01:00 bikram sms")
	inc := h.ok(h.eng.Snooze(ctx, 1, 30*time.Minute, byBikram))
	if inc.Status != escalation.StatusAcknowledged || !inc.SnoozedUntil.Equal(mustTime(t, "2026-03-02T01:30:00Z")) {
		t.Fatalf("snoozed: %s until %s", inc.Status, inc.SnoozedUntil)
	}
	h.Restart() // a snooze is durable
	h.AdvanceTo(mustTime(t, "2026-03-02T01:29:59Z"))
	h.ExpectNoPages()
	h.AdvanceTo(mustTime(t, "2026-03-02T01:32:00Z"))
	h.ExpectPages("01:30 bikram sms", "01:32 bikram voice")
	h.ExpectStatus(1, escalation.StatusTriggered)

	h.ok(h.eng.Snooze(ctx, 1, time.Hour, byBikram))
	h.ok(h.eng.Resolve(ctx, 1, byBikram, "cleaned up"))
	h.Advance(2 * time.Hour)
	h.ExpectNoPages()

	_, err := h.eng.Snooze(ctx, 1, time.Hour, byBikram)
	refused(t, err, escalation.CodeConflict, "resolved")
	_, err = h.eng.Snooze(ctx, 1, 48*time.Hour, byBikram)
	refused(t, err, escalation.CodeInvalid, "want a duration")
}

// Reassigned to carmen: bikram's calls stop, carmen is paged now, and if
// she does not answer the policy's next level still follows.
func TestReassignPagesTheNewPersonAndStopsTheOld(t *testing.T) {
	h := newHarness(t, team, "2026-03-02T01:00:00Z")
	ctx := context.Background()
	h.Webhook("prometheus", alertmanager("firing", "DiskFull", "fp1", "error", "disk full on db-1"))
	h.ExpectPages("01:00 bikram sms")
	h.Advance(time.Minute)
	h.ok(h.eng.Reassign(ctx, 1, "carmen", byAlice))
	h.runDue()
	h.ExpectPages("01:01 carmen sms")
	h.AdvanceTo(mustTime(t, "2026-03-02T01:06:00Z"))
	// Carmen's call at 01:04 ends her rules; at 01:06 (the level's five
	// minutes from the reassignment) level 2 pages alice and carmen anew.
	h.ExpectPages("01:04 carmen voice", "01:06 carmen sms", "01:06 alice sms")
	h.ExpectTimeline(1, escalation.EventTriggered, escalation.EventReassigned, escalation.EventEscalated)
	_, err := h.eng.Reassign(ctx, 1, "mallory", byAlice)
	refused(t, err, escalation.CodeNotFound, `unknown person "mallory"`)
}

// Two incidents for one outage: merging the database one into the web one
// moves its alerts, so its resolve notice and its repeats land on the web
// incident; the merged incident is resolved and stops paging.
func TestMergeMovesAlertsAndStopsTheSourcePages(t *testing.T) {
	h := newHarness(t, team, "2026-03-02T01:00:00Z")
	ctx := context.Background()
	h.Webhook("prometheus", alertmanager("firing", "WebDown", "fp-web", "error", "web is down"))
	h.Webhook("prometheus", alertmanager("firing", "DBDown", "fp-db", "critical", "db is down"))
	// The P0 database incident is on the urgent policy: bikram and alice.
	h.ExpectPages("01:00 bikram sms", "01:00 bikram sms", "01:00 alice sms")
	web := h.ok(h.eng.Merge(ctx, 2, 1, byAlice))
	if web.Priority != escalation.P0 || web.Policy != "urgent" || web.Firing != 2 || web.Alerts != 2 {
		t.Fatalf("after merge: %s %s firing %d of %d", web.Priority, web.Policy, web.Firing, web.Alerts)
	}
	db := h.ExpectStatus(2, escalation.StatusResolved)
	if db.MergedInto != 1 {
		t.Fatalf("source merged into %d", db.MergedInto)
	}
	h.runDue()
	h.ExpectPages("01:00 alice sms") // the urgent policy's first level adds alice

	h.Webhook("prometheus", alertmanager("firing", "DBDown", "fp-db", "critical", "db is down, replica too"))
	if inc, _ := h.Incident(1); inc.Alerts != 2 {
		t.Fatalf("repeat of a merged alert made incident #1 count %d alerts", inc.Alerts)
	}
	h.Webhook("prometheus", alertmanager("resolved", "DBDown", "fp-db", "critical", "db is down"))
	h.Webhook("prometheus", alertmanager("resolved", "WebDown", "fp-web", "error", "web is down"))
	h.ExpectStatus(1, escalation.StatusResolved)
	h.ExpectTimeline(1, escalation.EventTriggered, escalation.EventMerged, escalation.EventPriorityChanged, escalation.EventResolved)

	_, err := h.eng.Merge(ctx, 2, 1, byAlice)
	refused(t, err, escalation.CodeConflict, "resolved")
	_, err = h.eng.Merge(ctx, 1, 1, byAlice)
	refused(t, err, escalation.CodeInvalid, "into itself")
}

func TestPriorityNotesAndPublicUpdates(t *testing.T) {
	h := newHarness(t, team, "2026-03-02T01:00:00Z")
	ctx := context.Background()
	h.Webhook("prometheus", alertmanager("firing", "Slow", "fp1", "warning", "p99 latency 2s on checkout"))
	h.ExpectPages("01:00 bikram sms")
	inc := h.ok(h.eng.SetPriority(ctx, 1, escalation.P0, byAlice))
	if inc.Policy != "urgent" {
		t.Fatalf("raised to P0 on policy %s", inc.Policy)
	}
	h.runDue()
	h.ExpectPages("01:00 alice sms")
	h.ok(h.eng.SetPriority(ctx, 1, escalation.P2, byAlice))
	_, err := h.eng.SetPriority(ctx, 1, escalation.P2, byAlice)
	refused(t, err, escalation.CodeConflict, "already P2")

	h.ok(h.eng.AddNote(ctx, 1, "it's the card processor, not us", byAlice))
	_, err = h.eng.PostUpdate(ctx, 1, escalation.PublicUpdate{Status: escalation.PublicInvestigating, Message: "Checkout is slow"}, byAlice)
	refused(t, err, escalation.CodeInvalid, "needs a public title")
	_, err = h.eng.PostUpdate(ctx, 1, escalation.PublicUpdate{Status: "fixed", Message: "x", Title: "y"}, byAlice)
	refused(t, err, escalation.CodeInvalid, "want investigating")
	inc = h.ok(h.eng.PostUpdate(ctx, 1, escalation.PublicUpdate{Status: escalation.PublicInvestigating,
		Title: "Slow checkout", Message: "Some payments take longer than usual."}, byAlice))
	if inc.Public == nil || inc.Public.Title != "Slow checkout" || inc.Public.Status != escalation.PublicInvestigating {
		t.Fatalf("public: %+v", inc.Public)
	}
	h.Advance(10 * time.Minute)
	inc = h.ok(h.eng.PostUpdate(ctx, 1, escalation.PublicUpdate{Status: escalation.PublicMonitoring, Message: "A fix is out."}, byAlice))
	if inc.Public.Title != "Slow checkout" || !inc.Public.StartedAt.Equal(mustTime(t, "2026-03-02T01:00:00Z")) {
		t.Fatalf("public after second update: %+v", inc.Public)
	}
	_, events := h.Incident(1)
	var got []string
	for _, ev := range events {
		switch ev.Kind {
		case escalation.EventNote, escalation.EventPublicUpdate, escalation.EventPriorityChanged:
			got = append(got, string(ev.Kind)+" "+string(ev.Status)+" "+ev.Actor+": "+ev.Message)
		}
	}
	want := []string{
		"priority_changed  alice: priority P3 → P0",
		"priority_changed  alice: priority P0 → P2; paging continues on policy urgent until someone acknowledges",
		"note  alice: it's the card processor, not us",
		"public_update investigating alice: Some payments take longer than usual.",
		"public_update monitoring alice: A fix is out.",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("timeline:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// "page @carmen the batch import is stuck": an incident of its own that
// pages carmen by her contact rules until she acknowledges.
func TestPageSomeoneDirectly(t *testing.T) {
	h := newHarness(t, team, "2026-03-02T01:00:00Z")
	ctx := context.Background()
	inc := h.ok(h.eng.PageDirectly(ctx, escalation.Target{Kind: escalation.TargetPerson, Name: "carmen"}, "the batch import is stuck", byAlice))
	h.runDue()
	h.AdvanceTo(mustTime(t, "2026-03-02T01:05:00Z"))
	h.ExpectPages("01:00 carmen sms", "01:03 carmen voice")
	h.ok(h.eng.Acknowledge(ctx, inc.ID, escalation.Actor{Name: "carmen", Via: escalation.ViaSMS}))
	h.Advance(time.Hour)
	h.ExpectNoPages()
	_, err := h.eng.PageDirectly(ctx, escalation.Target{Kind: escalation.TargetPerson, Name: "mallory"}, "hi", byAlice)
	refused(t, err, escalation.CodeNotFound, "unknown person")
	_, err = h.eng.PageDirectly(ctx, escalation.Target{Kind: escalation.TargetPerson, Name: "carmen"}, "  ", byAlice)
	refused(t, err, escalation.CodeInvalid, "needs a message")
}

// Only the incident's responders and the comms lead may speak for the
// company on the status page.
func TestWhoMayPostPublicUpdates(t *testing.T) {
	h := newHarness(t, team+`
public_updates:
  responders: true
  people: [carmen]
`, "2026-03-02T01:00:00Z")
	ctx := context.Background()
	h.Webhook("prometheus", alertmanager("firing", "DiskFull", "fp1", "error", "disk full on db-1"))
	update := escalation.PublicUpdate{Status: escalation.PublicInvestigating, Title: "Slow pages", Message: "We are looking into it."}
	_, err := h.eng.PostUpdate(ctx, 1, update, byAlice)
	refused(t, err, escalation.CodeForbidden, "only carmen and the incident's responders may post public updates")
	h.ok(h.eng.PostUpdate(ctx, 1, update, byBikram))                                                  // paged for it
	h.ok(h.eng.PostUpdate(ctx, 1, update, escalation.Actor{Name: "carmen", Via: "discord"}))          // listed
	h.ok(h.eng.PostUpdate(ctx, 1, update, escalation.Actor{Name: "ops-cli", Via: escalation.ViaAPI})) // an API token
	h.ok(h.eng.AddNote(ctx, 1, "looking", byAlice))                                                   // a note makes nobody a responder
	_, err = h.eng.PostUpdate(ctx, 1, update, byAlice)
	refused(t, err, escalation.CodeForbidden, "may post public updates")
	h.ok(h.eng.Acknowledge(ctx, 1, byAlice)) // taking it on does
	h.ok(h.eng.PostUpdate(ctx, 1, update, byAlice))
}

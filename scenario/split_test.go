package scenario

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/escalation"
)

// splitOutage: storage fails at 17:52 and apps alert with it (app01 and,
// of two, app02), attached as its impact; sam acknowledges storage.
// Storage recovers at 18:00.
func splitOutage(t *testing.T, apps int) *harness {
	t.Helper()
	h := newHarness(t, storage(apps), "2025-06-12T17:52:00Z")
	h.Webhook("kv-probes", alertmanager("firing", "KVErrors", "kv", "error", "workers-kv 5xx rate 40%"))
	h.Webhook("app01-am", alertmanager("firing", "HighErrorRate", "app01", "critical", "app01 errors"))
	if apps > 1 {
		h.Webhook("app02-am", alertmanager("firing", "HighErrorRate", "app02", "warning", "app02 slow"))
	}
	h.ExpectPages("17:52 sam sms")
	h.Advance(time.Minute)
	h.SMS("sam", "ack")
	h.AdvanceTo(mustTime(t, "2025-06-12T18:00:00Z"))
	h.Webhook("kv-probes", alertmanager("resolved", "KVErrors", "kv", "error", "workers-kv 5xx rate 40%"))
	return h
}

func hasEvent(events []escalation.Event, kind escalation.EventKind, text string) bool {
	return slices.ContainsFunc(events, func(ev escalation.Event) bool {
		return ev.Kind == kind && strings.Contains(ev.Message, text)
	})
}

// app02 recovers with storage; app01 is still failing ten minutes after
// storage's own alerts resolved (its connection pool never came back).
// That is app01's own failure now: it leaves storage's incident for one of
// its own, which pages dana, the apps' on-call. Storage's incident, with
// nothing of its own firing, resolves.
func TestAnImpactStillFiringAfterItsRootRecoveredPagesItsOwnTeam(t *testing.T) {
	h := splitOutage(t, 2)
	if inc := h.ExpectStatus(1, escalation.StatusAcknowledged); inc.SplitAt.IsZero() {
		t.Fatal("storage resolved with app01 and app02 firing, and no split is due")
	}
	_, events := h.Incident(1)
	if !hasEvent(events, escalation.EventSplit, "unless they resolve by 18:10 UTC") {
		t.Fatalf("the timeline does not say when the impact leaves: %+v", events)
	}
	h.AdvanceTo(mustTime(t, "2025-06-12T18:04:00Z"))
	h.Webhook("app02-am", alertmanager("resolved", "HighErrorRate", "app02", "warning", "app02 slow"))
	h.AdvanceTo(mustTime(t, "2025-06-12T18:09:59Z"))
	h.ExpectNoPages()
	h.ExpectStatus(1, escalation.StatusAcknowledged)

	h.AdvanceTo(mustTime(t, "2025-06-12T18:10:00Z"))
	h.ExpectPages("18:10 dana sms")
	root := h.ExpectStatus(1, escalation.StatusResolved)
	if root.Firing != 0 || root.ImpactFiring != 0 || !root.SplitAt.IsZero() {
		t.Fatalf("storage's incident after the split: %d firing, %d impact, split at %s", root.Firing, root.ImpactFiring, root.SplitAt)
	}
	own := h.ExpectStatus(2, escalation.StatusTriggered)
	if own.Service != "app01" || own.Firing != 1 || own.Alerts != 1 || own.Priority != escalation.P1 || own.Title != "app01 errors" {
		t.Fatalf("incident #2: %s, %d firing of %d, %s, %q", own.Service, own.Firing, own.Alerts, own.Priority, own.Title)
	}
	_, events = h.Incident(1)
	if !hasEvent(events, escalation.EventSplit, "1 alert(s) of app01 still fire after workers-kv's own resolved: moved to #2 (app01)") {
		t.Fatalf("storage's timeline does not say where app01 went: %+v", events)
	}
	_, events = h.Incident(2)
	if !hasEvent(events, escalation.EventTriggered, "split from #1") || !hasEvent(events, escalation.EventAlertAttached, "app01 errors") {
		t.Fatalf("app01's timeline does not say where it came from: %+v", events)
	}
	if _, _, err := h.eng.Incident(t.Context(), 3); err == nil {
		t.Fatal("app02, recovered, got an incident too")
	}

	// app01 is fixed: its own incident resolves with its alert, and its
	// next failure goes to the same group's incident, not to storage's.
	h.AdvanceTo(mustTime(t, "2025-06-12T18:20:00Z"))
	h.Webhook("app01-am", alertmanager("resolved", "HighErrorRate", "app01", "critical", "app01 errors"))
	h.ExpectStatus(2, escalation.StatusResolved)
	h.ExpectStatus(1, escalation.StatusResolved)
}

// Both apps recover within minutes of storage: storage's incident resolves
// with the last of them, and the apps' team sleeps on.
func TestImpactThatRecoversWithItsRootStaysWithIt(t *testing.T) {
	h := splitOutage(t, 2)
	h.AdvanceTo(mustTime(t, "2025-06-12T18:03:00Z"))
	h.Webhook("app01-am", alertmanager("resolved", "HighErrorRate", "app01", "critical", "app01 errors"))
	h.ExpectStatus(1, escalation.StatusAcknowledged)
	h.Webhook("app02-am", alertmanager("resolved", "HighErrorRate", "app02", "warning", "app02 slow"))
	if inc := h.ExpectStatus(1, escalation.StatusResolved); !inc.SplitAt.IsZero() {
		t.Fatal("a split is still due on a resolved incident")
	}
	h.AdvanceTo(mustTime(t, "2025-06-12T19:00:00Z"))
	h.ExpectNoPages()
	if _, _, err := h.eng.Incident(t.Context(), 2); err == nil {
		t.Fatal("an app got an incident of its own")
	}
}

// Storage flaps back before the wait is over: the apps are its impact
// after all, and stay.
func TestARootFiringAgainKeepsItsImpact(t *testing.T) {
	h := splitOutage(t, 2)
	h.AdvanceTo(mustTime(t, "2025-06-12T18:06:00Z"))
	h.Webhook("kv-probes", alertmanager("firing", "KVErrors", "kv", "error", "workers-kv 5xx rate 40%"))
	h.AdvanceTo(mustTime(t, "2025-06-12T18:30:00Z"))
	h.ExpectNoPages()
	if inc := h.ExpectStatus(1, escalation.StatusAcknowledged); inc.Firing != 3 || inc.ImpactFiring != 2 || !inc.SplitAt.IsZero() {
		t.Fatalf("storage's incident: %d firing, %d impact, split at %s", inc.Firing, inc.ImpactFiring, inc.SplitAt)
	}
	_, events := h.Incident(1)
	if !hasEvent(events, escalation.EventSplit, "workers-kv fires again: the impacted services' alerts stay here") {
		t.Fatalf("the timeline does not say the split was called off: %+v", events)
	}
}

// Sam resolves storage's incident by hand while app01 still fires: a
// person decided, so nothing is split off and dana is not paged.
func TestAResolveByHandCallsTheSplitOff(t *testing.T) {
	h := splitOutage(t, 1)
	h.Advance(2 * time.Minute)
	h.ok(h.eng.Resolve(t.Context(), 1, escalation.Actor{Name: "sam", Via: escalation.ViaSMS}, "kv fixed; app01 restarting"))
	h.AdvanceTo(mustTime(t, "2025-06-12T18:30:00Z"))
	h.ExpectNoPages()
	if _, _, err := h.eng.Incident(t.Context(), 2); err == nil {
		t.Fatal("app01 got an incident after sam resolved storage's")
	}
}

// Klaxon restarts while the wait runs: the split is a durable timer like
// any page, and happens on time after the restart.
func TestASplitDueAcrossARestartHappensOnTime(t *testing.T) {
	h := splitOutage(t, 1)
	h.AdvanceTo(mustTime(t, "2025-06-12T18:05:00Z"))
	h.Restart()
	h.AdvanceTo(mustTime(t, "2025-06-12T18:10:00Z"))
	h.ExpectPages("18:10 dana sms")
	h.ExpectStatus(1, escalation.StatusResolved)
	if inc := h.ExpectStatus(2, escalation.StatusTriggered); inc.Service != "app01" {
		t.Fatalf("incident #2 is %s's", inc.Service)
	}
}

// app01 needs both storage and auth. Storage recovers, but auth has been
// down since 17:58: app01's alerts go on as auth's impact, and dana is
// still not paged — the auth team is on it.
func TestAnImpactLeavingForAnotherDependencyStillDown(t *testing.T) {
	cfg := strings.Replace(storage(1), "depends_on: [workers-kv]}", "depends_on: [workers-kv, auth]}", 1)
	cfg = strings.Replace(cfg, "integrations:\n", "  - {name: auth, policy: storage}\nintegrations:\n  - {name: auth-am, service: auth, format: alertmanager, token: auth-token-0123456789}\n", 1)
	h := newHarness(t, cfg, "2025-06-12T17:52:00Z")
	h.Webhook("kv-probes", alertmanager("firing", "KVErrors", "kv", "error", "workers-kv 5xx rate 40%"))
	h.Webhook("app01-am", alertmanager("firing", "HighErrorRate", "app01", "critical", "app01 errors"))
	h.AdvanceTo(mustTime(t, "2025-06-12T17:58:00Z"))
	h.Webhook("auth-am", alertmanager("firing", "AuthDown", "auth", "error", "auth 5xx"))
	h.ExpectPages("17:52 sam sms", "17:54 sam voice", "17:58 sam sms")
	h.SMS("sam", "ack 1")
	h.SMS("sam", "ack 2")
	h.AdvanceTo(mustTime(t, "2025-06-12T18:00:00Z"))
	h.Webhook("kv-probes", alertmanager("resolved", "KVErrors", "kv", "error", "workers-kv 5xx rate 40%"))
	h.AdvanceTo(mustTime(t, "2025-06-12T18:10:00Z"))
	h.ExpectNoPages()
	h.ExpectStatus(1, escalation.StatusResolved)
	auth := h.ExpectStatus(2, escalation.StatusAcknowledged)
	if auth.Service != "auth" || !slices.Contains(auth.Impacted, "app01") || auth.Firing != 2 || auth.ImpactFiring != 1 {
		t.Fatalf("auth's incident: %s, impacted %v, %d firing, %d impact", auth.Service, auth.Impacted, auth.Firing, auth.ImpactFiring)
	}
	// Auth recovers and app01 with it: all resolved, no one else paged.
	h.Webhook("auth-am", alertmanager("resolved", "AuthDown", "auth", "error", "auth 5xx"))
	h.Webhook("app01-am", alertmanager("resolved", "HighErrorRate", "app01", "critical", "app01 errors"))
	h.ExpectStatus(2, escalation.StatusResolved)
	h.ExpectNoPages()
}

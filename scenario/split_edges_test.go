package scenario

import (
	"strings"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/escalation"
)

var bySam = escalation.Actor{Name: "sam", Via: escalation.ViaSMS}

// kvFlapping is storage(1) with workers-kv damped for flapping: after one
// reopen within two hours it resolves only 15 minutes after its alerts do.
func kvFlapping(t *testing.T) *harness {
	t.Helper()
	cfg := strings.Replace(storage(1), "    policy: storage\n", "    policy: storage\n    reopen_window: 1h\n    flap: {count: 1, window: 2h, cooldown: 15m}\n", 1)
	h := newHarness(t, cfg, "2025-06-12T17:40:00Z")
	kv := func(s string) {
		h.Webhook("kv-probes", alertmanager(s, "KVErrors", "kv", "error", "workers-kv 5xx rate 40%"))
	}
	kv("firing")
	h.SMS("sam", "ack")
	h.AdvanceTo(mustTime(t, "2025-06-12T17:45:00Z"))
	kv("resolved")
	h.AdvanceTo(mustTime(t, "2025-06-12T17:50:00Z"))
	kv("firing") // reopened: flapping, stays acknowledged
	h.AdvanceTo(mustTime(t, "2025-06-12T18:00:00Z"))
	kv("resolved") // resolves at 18:15 if it stays resolved
	h.ExpectPages("17:40 sam sms")
	return h
}

// Storage flaps and settles at 18:00; app01 starts failing at 18:05,
// inside storage's cooldown, and is attached to it as impact. Storage's
// own alerts are all resolved, so app01 gets the same wait as any impact:
// at 18:15 it leaves for an incident of its own and dana is paged, and
// storage resolves as its cooldown ends.
func TestAnImpactArrivingAfterItsRootRecoveredStillSplits(t *testing.T) {
	h := kvFlapping(t)
	h.AdvanceTo(mustTime(t, "2025-06-12T18:05:00Z"))
	h.Webhook("app01-am", alertmanager("firing", "HighErrorRate", "app01", "critical", "app01 errors"))
	h.AdvanceTo(mustTime(t, "2025-06-12T21:00:00Z"))
	h.ExpectPages("18:15 dana sms")
	h.ExpectStatus(1, escalation.StatusResolved)
	if inc := h.ExpectStatus(2, escalation.StatusTriggered); inc.Service != "app01" {
		t.Fatalf("#2 is %s's", inc.Service)
	}
}

// app01 attached while storage still failed, and recovers at 18:05, five
// minutes after storage: everything is resolved, so storage resolves when
// its cooldown from then ends, at 18:20, and says so once.
func TestAFlappingRootResolvesOnTimeAfterItsImpact(t *testing.T) {
	cfg := strings.Replace(storage(1), "    policy: storage\n", "    policy: storage\n    reopen_window: 1h\n    flap: {count: 1, window: 2h, cooldown: 15m}\n", 1)
	h := newHarness(t, cfg, "2025-06-12T17:40:00Z")
	kv := func(s string) {
		h.Webhook("kv-probes", alertmanager(s, "KVErrors", "kv", "error", "workers-kv 5xx rate 40%"))
	}
	kv("firing")
	h.SMS("sam", "ack")
	h.AdvanceTo(mustTime(t, "2025-06-12T17:45:00Z"))
	kv("resolved")
	h.AdvanceTo(mustTime(t, "2025-06-12T17:50:00Z"))
	kv("firing")
	h.Advance(2 * time.Minute)
	h.Webhook("app01-am", alertmanager("firing", "HighErrorRate", "app01", "critical", "app01 errors"))
	h.AdvanceTo(mustTime(t, "2025-06-12T18:00:00Z"))
	kv("resolved")
	h.AdvanceTo(mustTime(t, "2025-06-12T18:05:00Z"))
	h.Webhook("app01-am", alertmanager("resolved", "HighErrorRate", "app01", "critical", "app01 errors"))
	h.AdvanceTo(mustTime(t, "2025-06-12T18:30:00Z"))
	inc, events := h.Incident(1)
	if inc.Status != escalation.StatusResolved || !inc.ResolvedAt.Equal(mustTime(t, "2025-06-12T18:20:00Z")) {
		t.Fatalf("#1 %s at %s, want resolved at 18:20", inc.Status, inc.ResolvedAt)
	}
	n := 0
	for _, ev := range events {
		if ev.Kind == escalation.EventFlapping && strings.HasPrefix(ev.Message, "all alerts resolved") {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d \"all alerts resolved\" entries, want 1", n)
	}
}

// The network fails first (#1), then storage (#2) with app01 as its
// impact; sam merges storage into the network's incident. The network
// recovers at 18:00 while storage still fails: app01 stays, for its own
// dependency still fires there, and dana sleeps on.
func TestAMergedRootCauseKeepsItsImpact(t *testing.T) {
	cfg := strings.Replace(storage(1), "integrations:\n", "  - {name: network, policy: storage}\nintegrations:\n  - {name: net-am, service: network, format: alertmanager, token: net-token-0123456789}\n", 1)
	h := newHarness(t, cfg, "2025-06-12T17:50:00Z")
	h.Webhook("net-am", alertmanager("firing", "NetDown", "net", "error", "packet loss"))
	h.Advance(2 * time.Minute)
	h.Webhook("kv-probes", alertmanager("firing", "KVErrors", "kv", "error", "workers-kv 5xx rate 40%"))
	h.Webhook("app01-am", alertmanager("firing", "HighErrorRate", "app01", "critical", "app01 errors"))
	h.SMS("sam", "ack 1")
	h.SMS("sam", "ack 2")
	h.ok(h.eng.Merge(t.Context(), 2, 1, bySam))
	h.AdvanceTo(mustTime(t, "2025-06-12T18:00:00Z"))
	h.Webhook("net-am", alertmanager("resolved", "NetDown", "net", "error", "packet loss"))
	h.AdvanceTo(mustTime(t, "2025-06-12T18:30:00Z"))
	if inc := h.ExpectStatus(1, escalation.StatusAcknowledged); inc.Firing != 2 || inc.ImpactFiring != 1 || !inc.SplitAt.IsZero() {
		t.Fatalf("#1: %d firing, %d impact, split at %s", inc.Firing, inc.ImpactFiring, inc.SplitAt)
	}
	if _, _, err := h.eng.Incident(t.Context(), 3); err == nil {
		t.Fatal("app01 was split off while storage still fails")
	}
	// Storage recovers; app01 does not, and leaves ten minutes later.
	h.Webhook("kv-probes", alertmanager("resolved", "KVErrors", "kv", "error", "workers-kv 5xx rate 40%"))
	h.AdvanceTo(mustTime(t, "2025-06-12T18:40:00Z"))
	if inc := h.ExpectStatus(3, escalation.StatusTriggered); inc.Service != "app01" {
		t.Fatalf("#3 is %s's", inc.Service)
	}
	h.ExpectStatus(1, escalation.StatusResolved)
}

// app01 failed first and opened its own incident; when storage failed, sam
// merged app01's into storage's. Storage recovers, app01 does not: it is
// storage's impact now, and is split off like any.
func TestADependentMergedByHandIsSplitOff(t *testing.T) {
	h := newHarness(t, storage(1), "2025-06-12T17:50:00Z")
	h.Webhook("app01-am", alertmanager("firing", "HighErrorRate", "app01", "critical", "app01 errors"))
	h.Advance(2 * time.Minute)
	h.Webhook("kv-probes", alertmanager("firing", "KVErrors", "kv", "error", "workers-kv 5xx rate 40%"))
	h.SMS("sam", "ack 2")
	h.ok(h.eng.Merge(t.Context(), 1, 2, bySam))
	h.AdvanceTo(mustTime(t, "2025-06-12T18:00:00Z"))
	h.Webhook("kv-probes", alertmanager("resolved", "KVErrors", "kv", "error", "workers-kv 5xx rate 40%"))
	h.AdvanceTo(mustTime(t, "2025-06-12T19:00:00Z"))
	if inc := h.ExpectStatus(3, escalation.StatusTriggered); inc.Service != "app01" {
		t.Fatalf("#3 is %s's", inc.Service)
	}
	h.ExpectStatus(2, escalation.StatusResolved)
}

// app01 needs storage and auth; auth blipped and recovered, and waits,
// resolve: manual, for a person. When storage recovers, app01 is not
// handed to auth's incident, which is no longer down: it gets its own.
func TestASplitSkipsADependencyThatIsNoLongerDown(t *testing.T) {
	cfg := strings.Replace(storage(1), "depends_on: [workers-kv]}", "depends_on: [workers-kv, auth]}", 1)
	cfg = strings.Replace(cfg, "integrations:\n", "  - {name: auth, policy: storage, resolve: manual}\nintegrations:\n  - {name: auth-am, service: auth, format: alertmanager, token: auth-token-0123456789}\n", 1)
	h := newHarness(t, cfg, "2025-06-12T17:52:00Z")
	h.Webhook("kv-probes", alertmanager("firing", "KVErrors", "kv", "error", "workers-kv 5xx rate 40%"))
	h.Webhook("app01-am", alertmanager("firing", "HighErrorRate", "app01", "critical", "app01 errors"))
	h.AdvanceTo(mustTime(t, "2025-06-12T17:58:00Z"))
	h.Webhook("auth-am", alertmanager("firing", "AuthDown", "auth", "error", "auth 5xx"))
	h.SMS("sam", "ack 1")
	h.SMS("sam", "ack 2")
	h.AdvanceTo(mustTime(t, "2025-06-12T17:59:00Z"))
	h.Webhook("auth-am", alertmanager("resolved", "AuthDown", "auth", "error", "auth 5xx"))
	h.AdvanceTo(mustTime(t, "2025-06-12T18:00:00Z"))
	h.Webhook("kv-probes", alertmanager("resolved", "KVErrors", "kv", "error", "workers-kv 5xx rate 40%"))
	h.ExpectPages("17:52 sam sms", "17:54 sam voice", "17:58 sam sms")
	h.AdvanceTo(mustTime(t, "2025-06-12T20:00:00Z"))
	h.ExpectPages("18:10 dana sms")
	if inc := h.ExpectStatus(3, escalation.StatusTriggered); inc.Service != "app01" {
		t.Fatalf("#3 is %s's", inc.Service)
	}
}

// app01 was removed from the config across a restart while its alert
// still fired in storage's incident: nobody could be paged for it, so it
// no longer holds storage's incident open, and the timeline says why.
func TestAnImpactOfARemovedServiceLetsItsRootResolve(t *testing.T) {
	h := splitOutage(t, 1)
	cfg := strings.Replace(storage(1), "  - {name: app01, policy: apps, depends_on: [workers-kv]}\n", "", 1)
	cfg = strings.Replace(cfg, "  - {name: app01-am, service: app01, format: alertmanager, token: app01-token-0123456789}\n", "", 1)
	h.reconfigure(cfg)
	h.AdvanceTo(mustTime(t, "2025-06-12T18:10:00Z"))
	h.ExpectStatus(1, escalation.StatusResolved)
	_, events := h.Incident(1)
	if !hasEvent(events, escalation.EventSplit, "1 alert(s) of app01 still fire, but app01 is no longer configured") {
		t.Fatalf("the timeline does not say why: %+v", events)
	}
}

package scenario

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/escalation"
)

// team is a small team over three timezones: bikram in Sydney is primary,
// alice (Stockholm) and carmen (Los Angeles) are the second level.
const team = `
people:
  - name: bikram
    timezone: Australia/Sydney
    phone: "+61255501001"
    contact_rules:
      - {channel: sms, after: 0s}
      - {channel: voice, after: 2m}
      - {channel: voice, after: 4m}
    repeat_every: 6m
  - name: alice
    timezone: Europe/Stockholm
    phone: "+46855501002"
    contact_rules:
      - {channel: sms, after: 0s}
      - {channel: voice, after: 3m}
  - name: carmen
    timezone: America/Los_Angeles
    phone: "+13105550103"
    contact_rules:
      - {channel: sms, after: 0s}
      - {channel: voice, after: 3m}
policies:
  - name: default
    repeat: 1
    levels:
      - targets: [bikram]
        delay: 5m
      - targets: [alice, carmen]
        delay: 10m
  - name: urgent
    levels:
      - targets: [bikram, alice]
        delay: 2m
      - targets: [carmen]
        delay: 5m
services:
  - name: web
    policy: default
    policy_by_priority: {P0: urgent}
    severity_priority: {critical: P0, error: P2, warning: P3}
    reopen_window: 30m
  - name: batch
    policy: default
    resolve: manual
integrations:
  - name: prometheus
    service: web
    format: alertmanager
    token: prometheus-token-0123456789
  - name: batch-prometheus
    service: batch
    format: alertmanager
    token: batch-token-0123456789abcdef
  - name: uptime
    service: web
    format: pagerduty
    token: e93facc04764012d7bfb002500d5d1a6
`

// The domain-expiry outage: the certificate and domain lapse at night for
// the primary in Sydney. Users see 502s; the probe fires. Klaxon texts the
// sleeping primary, then calls him again and again, brings in the second
// level after five minutes, and alice in Stockholm acknowledges by SMS
// within fifteen minutes. Nothing is paged after her ack.
func TestOutageDomainExpiredNightInSydney(t *testing.T) {
	// 16:00 UTC is 03:00 in Sydney (AEDT), 17:00 in Stockholm, 08:00 in LA.
	h := newHarness(t, team, "2025-03-13T16:00:00Z")

	rec := h.Webhook("prometheus", alertmanager("firing", "ProbeHTTP502", "a1b2c3d4e5f60718", "error",
		"shop.example.com answers 502: certificate and domain expired"))
	if rec.Code != http.StatusOK {
		t.Fatalf("webhook: %d %s", rec.Code, rec.Body)
	}
	h.ExpectPages("16:00 bikram sms")
	inc := h.ExpectStatus(1, escalation.StatusTriggered)
	if inc.Priority != escalation.P2 || inc.Policy != "default" {
		t.Fatalf("incident is %s on %s, want P2 on default", inc.Priority, inc.Policy)
	}

	h.AdvanceTo(h.Now().Add(4 * time.Minute))
	h.ExpectPages("16:02 bikram voice", "16:04 bikram voice")

	h.AdvanceTo(mustTime(t, "2025-03-13T16:09:00Z"))
	h.ExpectPages(
		"16:05 alice sms", "16:05 carmen sms",
		"16:06 bikram sms", // his rules start over every 6m
		"16:08 bikram voice", "16:08 alice voice", "16:08 carmen voice",
	)

	if reply := h.SMS("alice", "A1"); !strings.Contains(reply, "Acknowledged #1") {
		t.Fatalf("ack reply: %q", reply)
	}
	inc = h.ExpectStatus(1, escalation.StatusAcknowledged)
	if inc.AcknowledgedBy != "alice" || inc.AcknowledgedAt.Sub(inc.CreatedAt) > 15*time.Minute {
		t.Fatalf("acknowledged by %q after %s", inc.AcknowledgedBy, inc.AcknowledgedAt.Sub(inc.CreatedAt))
	}

	h.Advance(3 * time.Hour)
	h.ExpectNoPages()
	h.ExpectTimeline(1,
		escalation.EventTriggered, escalation.EventAlertAttached, escalation.EventEscalated,
		escalation.EventPageQueued, escalation.EventPageSent, escalation.EventEscalated,
		escalation.EventAcknowledged)

	_, events := h.Incident(1)
	ack := events[len(events)-1]
	for _, ev := range events {
		if ev.Kind == escalation.EventAcknowledged {
			ack = ev
		}
	}
	if ack.Actor != "alice" || ack.Via != escalation.ViaSMS {
		t.Fatalf("ack recorded as %s via %s", ack.Actor, ack.Via)
	}
}

// A restart in the middle of an escalation loses nothing: the next call goes
// out at the minute it was due.
func TestRestartResumesEscalation(t *testing.T) {
	h := newHarness(t, team, "2025-03-13T16:00:00Z")
	h.Webhook("prometheus", alertmanager("firing", "DiskFull", "0000000000000001", "error", "disk full on db-1"))
	h.AdvanceTo(mustTime(t, "2025-03-13T16:03:00Z"))
	h.ExpectPages("16:00 bikram sms", "16:02 bikram voice")

	h.Restart()
	h.ExpectNoPages()
	h.AdvanceTo(mustTime(t, "2025-03-13T16:05:00Z"))
	h.ExpectPages("16:04 bikram voice", "16:05 alice sms", "16:05 carmen sms")
}

// A crash while a page was with the provider sends it again after the
// restart: one duplicate at most, never a miss.
func TestRestartResendsPageInterruptedMidSend(t *testing.T) {
	h := newHarness(t, team, "2025-03-13T16:00:00Z")
	h.Webhook("prometheus", alertmanager("firing", "DiskFull", "0000000000000001", "error", "disk full on db-1"))
	h.ExpectPages("16:00 bikram sms")

	// The 16:02 call is claimed for sending, then the process dies before
	// it records the outcome.
	h.clock.Set(mustTime(t, "2025-03-13T16:02:00Z"))
	if _, err := h.eng.Tick(t.Context()); err != nil {
		t.Fatal(err)
	}
	claimed, err := h.eng.ClaimDue(t.Context(), 10)
	if err != nil || len(claimed) != 1 {
		t.Fatalf("claimed %d pages, err %v", len(claimed), err)
	}
	h.Restart()
	h.ExpectPages("16:02 bikram voice")
}

// The BGP flap: an alert fires, resolves, fires again within the reopen
// window — one incident, reopened, not a storm. After the window a new
// incident opens.
func TestFlappingAlertReopensWithinWindow(t *testing.T) {
	h := newHarness(t, team, "2025-06-02T09:00:00Z")
	fire := alertmanager("firing", "IPv4Unreachable", "00000000000000f1", "error", "IPv4 probes failing")
	clear := alertmanager("resolved", "IPv4Unreachable", "00000000000000f1", "error", "IPv4 probes failing")

	h.Webhook("prometheus", fire)
	h.ExpectPages("09:00 bikram sms")
	h.Advance(time.Minute)
	h.Webhook("prometheus", clear)
	h.ExpectStatus(1, escalation.StatusResolved)

	h.Advance(20 * time.Minute)
	h.ExpectNoPages() // nothing after the resolve...
	h.Webhook("prometheus", fire)
	inc := h.ExpectStatus(1, escalation.StatusTriggered)
	if inc.Reopened != 1 {
		t.Fatalf("reopened %d times, want 1", inc.Reopened)
	}
	h.ExpectTimeline(1, escalation.EventTriggered, escalation.EventResolved, escalation.EventReopened, escalation.EventEscalated)
	// ...and the reopened incident pages from the first level again.
	h.ExpectPages("09:21 bikram sms")

	h.Webhook("prometheus", clear)
	h.Advance(31 * time.Minute)
	h.Webhook("prometheus", fire)
	h.ExpectStatus(1, escalation.StatusResolved)
	inc = h.ExpectStatus(2, escalation.StatusTriggered)
	if inc.Reopened != 0 {
		t.Fatalf("new incident says reopened %d", inc.Reopened)
	}
}

// Repeats of an unchanged alert change nothing; a changed summary is kept
// (dropping updates on dedup hides what is happening).
func TestDedupUnchangedRepeatAndUpdate(t *testing.T) {
	h := newHarness(t, team, "2025-06-02T09:00:00Z")
	first := alertmanager("firing", "Latency", "00000000000000aa", "warning", "p99 latency 800ms")
	h.Webhook("prometheus", first)
	_, before := h.Incident(1)
	commits := h.db.Commits()

	rec := h.Webhook("prometheus", first)
	var res escalation.IngestResult
	if err := json.Unmarshal(rec.Body.Bytes(), &res); err != nil || res.Unchanged != 1 {
		t.Fatalf("repeat: %s (%v)", rec.Body, err)
	}
	if n := h.db.Commits() - commits; n != 0 {
		t.Fatalf("an unchanged repeat cost %d commits, want none", n)
	}
	_, after := h.Incident(1)
	if len(after) != len(before) {
		t.Fatalf("an unchanged repeat added %d timeline entries", len(after)-len(before))
	}

	h.Webhook("prometheus", alertmanager("firing", "Latency", "00000000000000aa", "warning", "p99 latency 2.4s"))
	h.ExpectTimeline(1, escalation.EventAlertAttached, escalation.EventAlertUpdated)
	_, events := h.Incident(1)
	if last := events[len(events)-1]; last.Kind != escalation.EventAlertUpdated || last.Message != "p99 latency 2.4s" {
		t.Fatalf("last entry %+v", last)
	}
	// A second alert of the same group joins the same incident.
	h.Webhook("prometheus", alertmanager("firing", "Latency", "00000000000000bb", "warning", "p99 latency on eu"))
	inc := h.ExpectStatus(1, escalation.StatusTriggered)
	if inc.Alerts != 2 || inc.Firing != 2 {
		t.Fatalf("alerts %d firing %d, want 2 and 2", inc.Alerts, inc.Firing)
	}
	if incs, _ := h.eng.Incidents(t.Context(), "", 0); len(incs) != 1 {
		t.Fatalf("%d incidents, want 1", len(incs))
	}
}

// A critical alert is P0 and pages on the louder policy: two people at once
// and the next level after two minutes.
func TestCriticalAlertPagesLouderPolicy(t *testing.T) {
	h := newHarness(t, team, "2025-06-02T09:00:00Z")
	h.Webhook("prometheus", alertmanager("firing", "CheckoutDown", "00000000000000c1", "critical", "checkout down"))
	inc := h.ExpectStatus(1, escalation.StatusTriggered)
	if inc.Priority != escalation.P0 || inc.Policy != "urgent" {
		t.Fatalf("incident is %s on %s, want P0 on urgent", inc.Priority, inc.Policy)
	}
	h.Advance(2 * time.Minute)
	h.ExpectPages("09:00 bikram sms", "09:00 alice sms", "09:02 bikram voice", "09:02 carmen sms")
}

// An incident that starts as a warning and then gets a critical alert is
// raised to P0 and re-planned on the louder policy at once.
func TestCriticalAlertRaisesPriorityOfOpenIncident(t *testing.T) {
	h := newHarness(t, team, "2025-06-02T09:00:00Z")
	h.Webhook("prometheus", alertmanager("firing", "Errors", "00000000000000e1", "warning", "error rate 2%"))
	h.ExpectPages("09:00 bikram sms")
	h.Advance(time.Minute)
	h.Webhook("prometheus", alertmanager("firing", "Errors", "00000000000000e2", "critical", "error rate 40%"))
	inc := h.ExpectStatus(1, escalation.StatusTriggered)
	if inc.Priority != escalation.P0 || inc.Policy != "urgent" {
		t.Fatalf("incident is %s on %s, want P0 on urgent", inc.Priority, inc.Policy)
	}
	h.ExpectPages("09:01 alice sms") // bikram is already being paged
	h.ExpectTimeline(1, escalation.EventPriorityChanged, escalation.EventEscalated)
}

// A warning resolves; ten minutes later the same alert fires again as
// critical. The incident reopens as what it is now, P0 on the urgent
// policy, and pages both of that policy's first level, not only the quiet
// policy's one person.
func TestCriticalRefireReopensAtItsOwnPriority(t *testing.T) {
	h := newHarness(t, team, "2025-06-02T09:00:00Z")
	h.Webhook("prometheus", alertmanager("firing", "Errors", "00000000000000e1", "warning", "error rate 2%"))
	h.ExpectPages("09:00 bikram sms")
	h.Webhook("prometheus", alertmanager("resolved", "Errors", "00000000000000e1", "warning", "error rate 2%"))
	h.ExpectStatus(1, escalation.StatusResolved)
	h.Advance(10 * time.Minute)
	h.Webhook("prometheus", alertmanager("firing", "Errors", "00000000000000e1", "critical", "error rate 40%"))
	inc := h.ExpectStatus(1, escalation.StatusTriggered)
	if inc.Priority != escalation.P0 || inc.Policy != "urgent" || inc.Reopened != 1 {
		t.Fatalf("reopened as %s on %s (reopened %d times), want P0 on urgent", inc.Priority, inc.Policy, inc.Reopened)
	}
	h.ExpectPages("09:10 bikram sms", "09:10 alice sms")
	h.ExpectTimeline(1, escalation.EventReopened, escalation.EventPriorityChanged)
}

// When every alert resolves the incident resolves; a service set to manual
// keeps it open for a human.
func TestAutoAndManualResolve(t *testing.T) {
	h := newHarness(t, team, "2025-06-02T09:00:00Z")
	h.Webhook("prometheus", alertmanager("firing", "A", "00000000000000a1", "warning", "a"))
	h.Webhook("batch-prometheus", alertmanager("firing", "Nightly", "00000000000000b1", "warning", "nightly job failed"))
	h.Webhook("prometheus", alertmanager("resolved", "A", "00000000000000a1", "warning", "a"))
	h.Webhook("batch-prometheus", alertmanager("resolved", "Nightly", "00000000000000b1", "warning", "nightly job failed"))
	inc := h.ExpectStatus(1, escalation.StatusResolved)
	if inc.ResolvedBy != "prometheus" {
		t.Fatalf("resolved by %q", inc.ResolvedBy)
	}
	inc = h.ExpectStatus(2, escalation.StatusTriggered)
	if inc.Firing != 0 {
		t.Fatalf("batch incident has %d firing alerts", inc.Firing)
	}
	if rec := h.API(http.MethodPost, "/api/v1/incidents/2/resolve", map[string]string{"as": "carmen", "note": "job re-run by hand"}); rec.Code != http.StatusOK {
		t.Fatalf("resolve: %d %s", rec.Code, rec.Body)
	}
	h.ExpectStatus(2, escalation.StatusResolved)
}

// PagerDuty-style senders trigger, acknowledge and resolve by dedup key.
func TestPagerDutyEventsLifecycle(t *testing.T) {
	h := newHarness(t, team, "2025-06-02T09:00:00Z")
	rec := h.PagerDuty(fixture(t, "pagerduty_events_v2_trigger.json"))
	if rec.Code != http.StatusAccepted {
		t.Fatalf("trigger: %d %s", rec.Code, rec.Body)
	}
	var body map[string]string
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body["status"] != "success" || body["dedup_key"] == "" {
		t.Fatalf("trigger answer: %s", rec.Body)
	}
	// The event's severity is critical: P0, the urgent policy.
	h.ExpectPages("09:00 bikram sms", "09:00 alice sms")
	h.ExpectStatus(1, escalation.StatusTriggered)

	ack := strings.Replace(`{"routing_key":"e93facc04764012d7bfb002500d5d1a6","dedup_key":"KEY","event_action":"acknowledge"}`, "KEY", body["dedup_key"], 1)
	if rec := h.PagerDuty([]byte(ack)); rec.Code != http.StatusAccepted {
		t.Fatalf("ack: %d %s", rec.Code, rec.Body)
	}
	h.ExpectStatus(1, escalation.StatusAcknowledged)
	h.Advance(time.Hour)
	h.ExpectNoPages()

	resolve := strings.Replace(ack, "acknowledge", "resolve", 1)
	if rec := h.PagerDuty([]byte(resolve)); rec.Code != http.StatusAccepted {
		t.Fatalf("resolve: %d %s", rec.Code, rec.Body)
	}
	h.ExpectStatus(1, escalation.StatusResolved)
	// PagerDuty's resolve carries no summary; the timeline names the alert
	// by the one it fired with.
	_, events := h.Incident(1)
	for _, ev := range events {
		if ev.Kind == escalation.EventAlertResolved && ev.Message != "DISK at 99% on machine prod-datapipe03.example.com" {
			t.Fatalf("alert resolved: %q", ev.Message)
		}
	}
}

// A number the provider rejects for good (Twilio 21211) moves on to the
// next contact rule at once; a provider outage is retried with backoff.
func TestPermanentFailureMovesToNextRuleAndTransientRetries(t *testing.T) {
	h := newHarness(t, team, "2025-06-02T09:00:00Z")
	h.pagers[escalation.ChannelSMS].Fail = func(p escalation.Page) error {
		if p.Person == "bikram" {
			return escalation.Permanent(errString("twilio 21211: invalid To number"))
		}
		return nil
	}
	failures := 0
	h.pagers[escalation.ChannelVoice].Fail = func(p escalation.Page) error {
		if failures < 2 {
			failures++
			return errString("twilio 503: service unavailable")
		}
		return nil
	}
	h.Webhook("prometheus", alertmanager("firing", "A", "00000000000000a1", "error", "a"))
	// The SMS failed for good, so the first call is made now (attempt 1
	// fails), retried after 20s (fails) and after 40s more (delivered).
	h.Advance(time.Minute)
	h.ExpectPages("09:01 bikram voice")
	if got := h.pages()[0].At; !got.Equal(mustTime(t, "2025-06-02T09:01:00Z")) {
		t.Fatalf("call delivered at %s", got)
	}
	_, events := h.Incident(1)
	var failed []string
	for _, ev := range events {
		if ev.Kind == escalation.EventPageFailed {
			failed = append(failed, string(ev.Channel)+": "+ev.Message)
		}
	}
	if len(failed) != 3 || !strings.Contains(failed[0], "failed for good") || !strings.Contains(failed[2], "retrying in 40s") {
		t.Fatalf("failures on the timeline: %q", failed)
	}
}

type errString string

func (e errString) Error() string { return string(e) }

// A human resolves an incident while its alert still fires; Alertmanager's
// repeat of the same alert reopens it, counted once, and its resolve then
// closes it again.
func TestManualResolveWhileFiringThenRepeat(t *testing.T) {
	h := newHarness(t, team, "2025-06-02T09:00:00Z")
	fire := alertmanager("firing", "Disk", "00000000000000d1", "error", "disk 91%")
	h.Webhook("prometheus", fire)
	h.API(http.MethodPost, "/api/v1/incidents/1/resolve", map[string]string{"as": "alice", "note": "cleaned up"})
	h.Advance(10 * time.Minute)
	h.Webhook("prometheus", fire)
	inc := h.ExpectStatus(1, escalation.StatusTriggered)
	if inc.Firing != 1 || inc.Alerts != 1 {
		t.Fatalf("reopened with firing %d, alerts %d; want 1 and 1", inc.Firing, inc.Alerts)
	}
	h.Webhook("prometheus", alertmanager("resolved", "Disk", "00000000000000d1", "error", "disk 91%"))
	h.ExpectStatus(1, escalation.StatusResolved)
}

// Nobody answers: the policy runs its second round (alice and carmen, whose
// rules do not repeat, are texted again), then is exhausted — and bikram,
// whose rules repeat, keeps being paged until someone acknowledges.
func TestPolicyRepeatsThenKeepsPagingUntilAck(t *testing.T) {
	h := newHarness(t, team, "2025-03-13T16:00:00Z")
	h.Webhook("prometheus", alertmanager("firing", "Down", "00000000000000d0", "error", "site down"))
	h.AdvanceTo(mustTime(t, "2025-03-13T16:30:00Z"))
	var alice []string
	for _, s := range h.pages() {
		if s.Page.Person == "alice" {
			alice = append(alice, s.At.Format("15:04")+" "+string(s.Page.Channel))
		}
	}
	if got := strings.Join(alice, ", "); got != "16:05 sms, 16:08 voice, 16:20 sms, 16:23 voice" {
		t.Fatalf("alice was paged at %s", got)
	}
	_, events := h.Incident(1)
	exhausted := false
	for _, ev := range events {
		if ev.Kind == escalation.EventPolicyExhausted {
			exhausted = ev.At.Equal(mustTime(t, "2025-03-13T16:30:00Z"))
		}
	}
	if !exhausted {
		t.Fatal("no policy_exhausted entry at 16:30")
	}
	h.seen = len(h.pages())
	h.AdvanceTo(mustTime(t, "2025-03-13T16:43:00Z"))
	h.ExpectPages("16:32 bikram voice", "16:34 bikram voice", "16:36 bikram sms", "16:38 bikram voice", "16:40 bikram voice", "16:42 bikram sms")
}

// An alert storm in one webhook is one timeline entry per incident, not a
// line per alert; single alerts keep their own entries.
func TestAlertStormIsOneTimelineEntry(t *testing.T) {
	h := newHarness(t, team, "2025-06-02T09:00:00Z")
	var alerts []map[string]any
	for i := range 40 {
		alerts = append(alerts, map[string]any{
			"status": "firing", "fingerprint": fmt.Sprintf("%016x", i+1),
			"labels":      map[string]string{"alertname": "KVDown", "shard": fmt.Sprint(i), "severity": "error"},
			"annotations": map[string]string{"summary": fmt.Sprintf("kv shard %d down", i)},
			"startsAt":    "2025-06-02T08:59:00Z", "endsAt": "0001-01-01T00:00:00Z",
		})
	}
	body, _ := json.Marshal(map[string]any{"version": "4", "groupKey": `{}:{alertname="KVDown"}`, "status": "firing", "alerts": alerts})
	if rec := h.Webhook("prometheus", body); rec.Code != http.StatusOK {
		t.Fatalf("storm: %d %s", rec.Code, rec.Body)
	}
	inc, events := h.Incident(1)
	if inc.Alerts != 40 || inc.Firing != 40 {
		t.Fatalf("incident has %d alerts, %d firing", inc.Alerts, inc.Firing)
	}
	var attached []escalation.Event
	for _, ev := range events {
		if ev.Kind == escalation.EventAlertAttached {
			attached = append(attached, ev)
		}
	}
	if len(attached) != 1 || attached[0].Count != 40 ||
		attached[0].Message != "40 alerts attached: kv shard 0 down; kv shard 1 down; kv shard 2 down; and 37 more" {
		t.Fatalf("attached entries: %+v", attached)
	}
	h.ExpectTimeline(1, escalation.EventTriggered, escalation.EventAlertAttached, escalation.EventEscalated, escalation.EventPageQueued)
}

// A restart with a config whose policy was renamed: the open incident goes
// on paging on the service's current policy instead of falling silent.
func TestRestartWithRenamedPolicyKeepsPaging(t *testing.T) {
	h := newHarness(t, team, "2025-03-13T16:00:00Z")
	h.Webhook("prometheus", alertmanager("firing", "Down", "00000000000000d0", "error", "site down"))
	h.ExpectPages("16:00 bikram sms")

	h.reconfigure(strings.ReplaceAll(strings.ReplaceAll(team, "name: default", "name: standard"), "policy: default", "policy: standard"))
	h.AdvanceTo(mustTime(t, "2025-03-13T16:05:00Z"))
	h.ExpectPages("16:02 bikram voice", "16:04 bikram voice", "16:05 alice sms", "16:05 carmen sms")
	inc := h.ExpectStatus(1, escalation.StatusTriggered)
	if inc.Policy != "standard" {
		t.Fatalf("incident policy %q", inc.Policy)
	}
	h.ExpectTimeline(1, escalation.EventPolicyChanged)
}

// The database alert fires at 00:59 and resolves at 01:01. A copy of the
// firing notification arrives after the resolve (a retried delivery, an
// HA peer's copy): the occurrence it tells of is over, so it reopens
// nothing, where it would leave an incident open that no resolve closes.
// The alert firing again, as a new occurrence, does reopen it.
func TestALateCopyOfAFiringDoesNotReopen(t *testing.T) {
	h := newHarness(t, team, "2026-03-02T01:00:00Z")
	occurrence := func(status, startsAt, endsAt string) []byte {
		b := alertmanager(status, "DBDown", "00000000000000d1", "error", "db down")
		b = bytes.Replace(b, []byte(`"startsAt":"2025-01-01T00:10:00Z"`), []byte(`"startsAt":"`+startsAt+`"`), 1)
		b = bytes.Replace(b, []byte(`"startsAt":"2025-01-01T00:00:00Z"`), []byte(`"startsAt":"`+startsAt+`"`), 1)
		return bytes.Replace(b, []byte(`"endsAt":"2025-01-01T00:05:00Z"`), []byte(`"endsAt":"`+endsAt+`"`), 1)
	}
	fire := occurrence("firing", "2026-03-02T00:59:00Z", "")
	h.Webhook("prometheus", fire)
	h.ExpectPages("01:00 bikram sms")
	h.Advance(time.Minute)
	h.Webhook("prometheus", occurrence("resolved", "2026-03-02T00:59:00Z", "2026-03-02T01:01:00Z"))
	h.ExpectStatus(1, escalation.StatusResolved)
	h.Advance(time.Minute)
	h.Webhook("prometheus", fire) // the 00:59 firing, delivered late
	h.ExpectStatus(1, escalation.StatusResolved)
	h.ExpectNoPages()
	h.Advance(5 * time.Minute)
	h.Webhook("prometheus", occurrence("firing", "2026-03-02T01:07:00Z", ""))
	if inc := h.ExpectStatus(1, escalation.StatusTriggered); inc.Reopened != 1 {
		t.Fatalf("reopened %d times, want once", inc.Reopened)
	}
	h.ExpectPages("01:07 bikram sms")
}

package scenario

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/escalation"
)

// edge: the network team's edge routers, with flap damping.
const edge = `
people:
  - {name: nina, timezone: Europe/Berlin, phone: "+4930555010", contact_rules: [{channel: sms, after: 0s}, {channel: voice, after: 2m}], repeat_every: 10m}
  - {name: oscar, timezone: Europe/Berlin, phone: "+4930555011", contact_rules: [{channel: sms, after: 0s}]}
policies:
  - name: network
    levels:
      - {targets: [nina], delay: 30m}
      - {targets: [oscar], delay: 30m}
services:
  - name: edge
    policy: network
    reopen_window: 1h
    flap: {count: 1, window: 2h, cooldown: 15m}
integrations: [{name: probes, service: edge, format: alertmanager, token: probes-token-0123456789}]
`

// The IPv4 BGP outage: traffic down at 12:32, up and down at 12:41 and
// 12:46, recovered 13:34, down again 14:07, briefly up at 14:10, recovered
// 14:18. One incident, reopened with its flaps on the timeline; nina is
// paged once and acknowledges; no page storm.
func TestOutageIPv4BGPFlapsOneIncidentOnePage(t *testing.T) {
	h := newHarness(t, edge, "2025-07-14T12:32:00Z")
	down := func() {
		h.Webhook("probes", alertmanager("firing", "IPv4Unreachable", "bgp", "critical", "IPv4 traffic down"))
	}
	up := func() {
		h.Webhook("probes", alertmanager("resolved", "IPv4Unreachable", "bgp", "critical", "IPv4 traffic down"))
	}
	at := func(hhmm string) { h.AdvanceTo(mustTime(t, "2025-07-14T"+hhmm+":00Z")) }

	down()
	h.ExpectPages("12:32 nina sms")
	at("12:33")
	if got := h.SMS("nina", "ack"); !strings.Contains(got, "Acknowledged #1") {
		t.Fatalf("ack: %q", got)
	}
	at("12:41")
	up()
	at("12:46")
	down()
	at("13:34")
	up()
	at("14:07")
	down()
	at("14:10")
	up()
	at("14:11")
	down()
	at("14:18")
	up()
	at("15:00")
	h.ExpectNoPages()
	inc := h.ExpectStatus(1, escalation.StatusResolved)
	if inc.Reopened != 2 {
		t.Fatalf("reopened %d times, want 2 (12:46 and 14:07)", inc.Reopened)
	}
	if _, _, err := h.eng.Incident(t.Context(), 2); err == nil {
		t.Fatal("a second incident opened")
	}
	h.ExpectTimeline(1, escalation.EventTriggered, escalation.EventAcknowledged, escalation.EventResolved,
		escalation.EventReopened, escalation.EventFlapping, escalation.EventFlapping, escalation.EventResolved,
		escalation.EventReopened, escalation.EventFlapping, escalation.EventResolved)
}

// Nobody acknowledged: a flapping reopen holds its pages for the cooldown,
// and a flap that is over by then pages nobody.
func TestFlappingWithoutAckHoldsPages(t *testing.T) {
	h := newHarness(t, edge, "2025-07-14T12:00:00Z")
	down := func() {
		h.Webhook("probes", alertmanager("firing", "IPv4Unreachable", "bgp", "critical", "IPv4 traffic down"))
	}
	up := func() {
		h.Webhook("probes", alertmanager("resolved", "IPv4Unreachable", "bgp", "critical", "IPv4 traffic down"))
	}
	down()
	h.ExpectPages("12:00 nina sms")
	h.Advance(time.Minute)
	up()
	h.Advance(4 * time.Minute)
	down() // 12:05: reopened, flapping, held until 12:20
	h.Advance(5 * time.Minute)
	up() // 12:10: gone again; resolves at 12:25 if it stays so
	h.AdvanceTo(mustTime(t, "2025-07-14T12:40:00Z"))
	h.ExpectNoPages()
	h.ExpectStatus(1, escalation.StatusResolved)

	// A flap that stays down past the cooldown pages.
	h.Advance(time.Minute)
	down() // 12:41: reopened within the hour, held until 12:56
	h.AdvanceTo(mustTime(t, "2025-07-14T12:56:00Z"))
	h.ExpectPages("12:56 nina sms")
}

// storage: the store every service depends on.
func storage(dependents int) string {
	var b strings.Builder
	b.WriteString(`
people:
  - {name: sam, timezone: America/New_York, phone: "+12125550101", contact_rules: [{channel: sms, after: 0s}, {channel: voice, after: 2m}], repeat_every: 10m}
  - {name: lead, timezone: America/New_York, phone: "+12125550102", contact_rules: [{channel: sms, after: 0s}]}
  - {name: dana, timezone: America/Chicago, phone: "+13125550103", contact_rules: [{channel: sms, after: 0s}]}
policies:
  - name: storage
    levels: [{targets: [sam], delay: 30m}, {targets: [lead], delay: 30m}]
  - name: storage-urgent
    levels: [{targets: [sam, lead], delay: 5m}]
  - name: apps
    levels: [{targets: [dana], delay: 30m}]
services:
  - name: workers-kv
    policy: storage
    policy_by_priority: {P0: storage-urgent}
`)
	for i := 1; i <= dependents; i++ {
		fmt.Fprintf(&b, "  - {name: app%02d, policy: apps, depends_on: [workers-kv]}\n", i)
	}
	b.WriteString("  - {name: billing, policy: apps, depends_on: [workers-kv], correlate: false}\n")
	b.WriteString("integrations:\n  - {name: kv-probes, service: workers-kv, format: alertmanager, token: kv-token-0123456789}\n")
	for i := 1; i <= dependents; i++ {
		fmt.Fprintf(&b, "  - {name: app%02d-am, service: app%02d, format: alertmanager, token: app%02d-token-0123456789}\n", i, i, i)
	}
	b.WriteString("  - {name: billing-am, service: billing, format: alertmanager, token: billing-token-0123456789}\n")
	return b.String()
}

// The storage outage: the store everyone depends on fails; twenty
// dependent services alert within two minutes. One incident, the other
// teams not paged; at +15 minutes a responder raises it to P0 and the
// louder policy pages the next level at once. Billing opted out of
// correlation and pages its own team.
func TestOutageStorageDependencyOneIncident(t *testing.T) {
	h := newHarness(t, storage(20), "2025-06-12T17:52:00Z")
	h.Webhook("kv-probes", alertmanager("firing", "KVErrors", "kv", "error", "workers-kv 5xx rate 40%"))
	h.ExpectPages("17:52 sam sms")
	for i := 1; i <= 20; i++ {
		h.Advance(6 * time.Second)
		h.Webhook(fmt.Sprintf("app%02d-am", i), alertmanager("firing", "HighErrorRate", fmt.Sprintf("app%02d", i), "critical", fmt.Sprintf("app%02d errors", i)))
	}
	h.ExpectPages("17:54 sam voice") // sam's own rules; dana, the apps' on-call, sleeps on
	inc, _ := h.Incident(1)
	if len(inc.Impacted) != 20 || inc.Alerts != 21 || inc.Priority != escalation.P2 { // the dependents' critical alerts do not raise it
		t.Fatalf("incident #1: %d impacted, %d alerts, %s", len(inc.Impacted), inc.Alerts, inc.Priority)
	}
	if _, _, err := h.eng.Incident(t.Context(), 2); err == nil {
		t.Fatal("a dependent opened its own incident")
	}
	_, events := h.Incident(1)
	found := false
	for _, ev := range events {
		if ev.Kind == escalation.EventImpacted && ev.Message == "app07 impacted — attached to #1 workers-kv" {
			found = true
		}
	}
	if !found {
		t.Fatal("the timeline does not say app07 was attached")
	}

	h.Webhook("billing-am", alertmanager("firing", "HighErrorRate", "billing", "critical", "billing errors"))
	h.ExpectPages("17:54 dana sms")

	h.AdvanceTo(mustTime(t, "2025-06-12T18:07:00Z"))
	h.ExpectPages("18:02 sam sms", "18:04 sam voice")
	h.ok(h.eng.SetPriority(t.Context(), 1, escalation.P0, byAlice))
	h.runDue()
	h.ExpectPages("18:07 lead sms")
}

// Storage fails and app01 alerts with it, attached as impact. Sam fixes
// storage and resolves the incident; app01 recovers too. Twenty minutes
// later app01 fails on its own: its team is paged for an incident of its
// own, not sam for storage's incident reopened. And app01's resolve never
// closes storage's incident while storage resolves by hand.
func TestADependentsLaterFailureIsItsOwn(t *testing.T) {
	h := newHarness(t, strings.Replace(storage(1), "    policy: storage\n", "    policy: storage\n    resolve: manual\n    reopen_window: 1h\n", 1), "2025-06-12T17:52:00Z")
	h.Webhook("kv-probes", alertmanager("firing", "KVErrors", "kv", "error", "workers-kv 5xx rate 40%"))
	h.Webhook("app01-am", alertmanager("firing", "HighErrorRate", "app01", "critical", "app01 errors"))
	h.ExpectPages("17:52 sam sms")
	h.Advance(time.Minute)
	h.Webhook("kv-probes", alertmanager("resolved", "KVErrors", "kv", "error", "workers-kv 5xx rate 40%"))
	h.Webhook("app01-am", alertmanager("resolved", "HighErrorRate", "app01", "critical", "app01 errors"))
	h.ExpectStatus(1, escalation.StatusTriggered) // storage resolves by hand
	h.ok(h.eng.Resolve(t.Context(), 1, escalation.Actor{Name: "sam", Via: escalation.ViaSMS}, "kv fixed"))
	h.AdvanceTo(mustTime(t, "2025-06-12T18:15:00Z"))
	h.Webhook("app01-am", alertmanager("firing", "HighErrorRate", "app01", "critical", "app01 errors again"))
	h.ExpectStatus(1, escalation.StatusResolved)
	if inc := h.ExpectStatus(2, escalation.StatusTriggered); inc.Service != "app01" {
		t.Fatalf("incident #2 is %s's", inc.Service)
	}
	h.ExpectPages("18:15 dana sms")
}

// The IPv4 route flaps in the morning; bikram acknowledges and, once the
// monitor is quiet, resolves it by hand. The flapping episode ends with
// it: a fresh failure in the afternoon, hours after the last flap, pages
// him like any new failure, not "still acknowledged: flapping".
func TestAFailureHoursAfterAFlapEpisodePages(t *testing.T) {
	h := newHarness(t, `
people:
  - {name: bikram, timezone: UTC, phone: "+61255501001", contact_rules: [{channel: sms, after: 0s}]}
policies:
  - name: default
    levels: [{targets: [bikram], delay: 30m}]
services:
  - {name: edge, policy: default, reopen_window: 6h, flap: {count: 2, window: 1h, cooldown: 15m}}
integrations: [{name: probes, service: edge, format: alertmanager, token: probes-token-0123456789}]
`, "2026-03-02T10:00:00Z")
	down := func() { h.Webhook("probes", alertmanager("firing", "V4", "bgp", "critical", "IPv4 down")) }
	up := func() { h.Webhook("probes", alertmanager("resolved", "V4", "bgp", "critical", "IPv4 down")) }
	at := func(hhmm string) { h.AdvanceTo(mustTime(t, "2026-03-02T"+hhmm+":00Z")) }
	down()
	h.ExpectPages("10:00 bikram sms")
	at("10:01")
	h.SMS("bikram", "ack")
	at("10:05")
	up()
	at("10:06")
	down()
	h.ExpectPages("10:06 bikram sms")
	at("10:07")
	h.SMS("bikram", "ack")
	at("10:10")
	up()
	at("10:11")
	down() // the second reopen within the hour: flapping, stays acknowledged
	h.ExpectNoPages()
	at("15:00")
	up()
	at("15:01")
	h.ok(h.eng.Resolve(t.Context(), 1, byBikram, "upstream fixed the route"))
	at("15:40")
	down()
	h.ExpectPages("15:40 bikram sms")
	if inc := h.ExpectStatus(1, escalation.StatusTriggered); inc.Flapping {
		t.Fatal("still flapping hours after the episode")
	}
}

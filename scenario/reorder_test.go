package scenario

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/escalation"
)

// amOccurrence is an Alertmanager webhook for one occurrence of the edge
// probe's alert: when it started and, once resolved, when it ended.
func amOccurrence(t *testing.T, status, startsAt, endsAt string) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{
		"version": "4", "groupKey": `{}:{alertname="ProbeDown"}`, "status": status, "receiver": "klaxon",
		"alerts": []map[string]any{{
			"status": status, "labels": map[string]string{"alertname": "ProbeDown", "severity": "critical"},
			"annotations": map[string]string{"summary": "edge probe down"},
			"startsAt":    startsAt, "endsAt": endsAt, "fingerprint": "probe-edge",
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// edgeProbe: bikram is paged for the edge probe's alerts.
const edgeProbe = `
people:
  - {name: bikram, timezone: Australia/Sydney, phone: "+61255501001", contact_rules: [{channel: sms, after: 0s}, {channel: voice, after: 2m}]}
policies:
  - name: edge
    levels: [{targets: [bikram], delay: 30m}]
services:
  - {name: edge, policy: edge}
integrations: [{name: probes, service: edge, format: alertmanager, token: probes-token-0123456789}]
`

// The edge probe fails for eight minutes at 02:50. Klaxon was restarting
// when Alertmanager first told it, so that firing notification is retried
// — and lands after the resolve that a peer Alertmanager delivered at
// 02:59. The late firing is of an occurrence known to be over: it opens no
// incident, and nobody is woken for an outage that ended. A new failure at
// 04:00 pages as any would, and resolves with its own resolve.
func TestAFiringThatArrivesAfterItsResolveWakesNobody(t *testing.T) {
	h := newHarness(t, edgeProbe, "2026-03-02T02:59:00Z")
	h.Webhook("probes", amOccurrence(t, "resolved", "2026-03-02T02:50:00Z", "2026-03-02T02:58:00Z"))
	h.Advance(2 * time.Minute)
	h.Webhook("probes", amOccurrence(t, "firing", "2026-03-02T02:50:00Z", "0001-01-01T00:00:00Z"))
	h.AdvanceTo(mustTime(t, "2026-03-02T03:30:00Z"))
	h.ExpectNoPages()
	if incs, err := h.eng.Incidents(t.Context(), "", 0); err != nil || len(incs) != 0 {
		t.Fatalf("incidents after the late firing: %d, %v", len(incs), err)
	}
	// The same late copy again, and a repeat of the resolve: still nothing.
	h.Webhook("probes", amOccurrence(t, "firing", "2026-03-02T02:50:00Z", "0001-01-01T00:00:00Z"))
	h.Webhook("probes", amOccurrence(t, "resolved", "2026-03-02T02:50:00Z", "2026-03-02T02:58:00Z"))
	h.ExpectNoPages()

	h.AdvanceTo(mustTime(t, "2026-03-02T04:00:00Z"))
	h.Webhook("probes", amOccurrence(t, "firing", "2026-03-02T03:59:30Z", "0001-01-01T00:00:00Z"))
	h.ExpectPages("04:00 bikram sms")
	if inc := h.ExpectStatus(1, escalation.StatusTriggered); inc.Firing != 1 || inc.Alerts != 1 {
		t.Fatalf("incident #1: %d firing of %d", inc.Firing, inc.Alerts)
	}
	h.Advance(time.Minute)
	h.Webhook("probes", amOccurrence(t, "resolved", "2026-03-02T03:59:30Z", "2026-03-02T04:00:30Z"))
	h.ExpectStatus(1, escalation.StatusResolved)
	h.AdvanceTo(mustTime(t, "2026-03-02T05:00:00Z"))
	h.ExpectNoPages()
}

// The race happens twice: at 02:50 and again at 03:10, each time the
// resolve landing first. Each late firing is of an occurrence known to be
// over, and wakes nobody.
func TestTheSameRaceTwiceWakesNobody(t *testing.T) {
	h := newHarness(t, edgeProbe, "2026-03-02T02:59:00Z")
	h.Webhook("probes", amOccurrence(t, "resolved", "2026-03-02T02:50:00Z", "2026-03-02T02:58:00Z"))
	h.Webhook("probes", amOccurrence(t, "firing", "2026-03-02T02:50:00Z", "0001-01-01T00:00:00Z"))
	h.AdvanceTo(mustTime(t, "2026-03-02T03:21:00Z"))
	h.Webhook("probes", amOccurrence(t, "resolved", "2026-03-02T03:10:00Z", "2026-03-02T03:20:00Z"))
	h.Advance(time.Minute)
	h.Webhook("probes", amOccurrence(t, "firing", "2026-03-02T03:10:00Z", "0001-01-01T00:00:00Z"))
	h.AdvanceTo(mustTime(t, "2026-03-02T04:00:00Z"))
	h.ExpectNoPages()
}

// The probe failed at 02:50 and bikram handled it; at 04:10 it fails
// again, and this time the resolve lands before the firing. The late
// firing wakes nobody, and the incident stays resolved.
func TestARaceOnAnAlertSeenBeforeWakesNobody(t *testing.T) {
	h := newHarness(t, edgeProbe, "2026-03-02T02:50:00Z")
	h.Webhook("probes", amOccurrence(t, "firing", "2026-03-02T02:50:00Z", "0001-01-01T00:00:00Z"))
	h.SMS("bikram", "ack")
	h.Advance(5 * time.Minute)
	h.Webhook("probes", amOccurrence(t, "resolved", "2026-03-02T02:50:00Z", "2026-03-02T02:55:00Z"))
	h.ExpectPages("02:50 bikram sms")
	h.AdvanceTo(mustTime(t, "2026-03-02T04:21:00Z"))
	h.Webhook("probes", amOccurrence(t, "resolved", "2026-03-02T04:10:00Z", "2026-03-02T04:20:00Z"))
	h.Advance(time.Minute)
	h.Webhook("probes", amOccurrence(t, "firing", "2026-03-02T04:10:00Z", "0001-01-01T00:00:00Z"))
	h.AdvanceTo(mustTime(t, "2026-03-02T05:00:00Z"))
	h.ExpectNoPages()
	h.ExpectStatus(1, escalation.StatusResolved)
}

package scenario

import (
	"strings"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/escalation"
)

// followTheSun: one engineer each in Stockholm, Sydney and San Francisco,
// all on one level that asks the awake first.
const followTheSun = `
people:
  - name: sven
    timezone: Europe/Stockholm
    phone: "+46855501011"
    working_hours: {from: "08:00", to: "18:00"}
    contact_rules: [{channel: sms, after: 0s}, {channel: voice, after: 2m}]
  - name: sadie
    timezone: Australia/Sydney
    phone: "+61255501012"
    working_hours: {from: "08:00", to: "18:00", days: [mon, tue, wed, thu, fri]}
    contact_rules: [{channel: sms, after: 0s}, {channel: voice, after: 2m}]
  - name: frank
    timezone: America/Los_Angeles
    phone: "+14155550113"
    working_hours: {from: "08:00", to: "18:00"}
    contact_rules: [{channel: sms, after: 0s}, {channel: voice, after: 2m}]
policies:
  - name: follow-the-sun
    levels:
      - targets: [sven, sadie, frank]
        delay: 30m
        prefer_awake: true
        wake_after: 10m
        wake_at_once: P0
services:
  - name: api
    policy: follow-the-sun
    severity_priority: {critical: P0, error: P2}
integrations:
  - {name: prometheus, service: api, format: alertmanager, token: prometheus-token-0123456789}
`

// 03:00 in Stockholm on a Tuesday is 11:00 in Sydney and 18:00 (Monday) in
// San Francisco: only the Sydney engineer is asked, and when she
// acknowledges, Stockholm and San Francisco sleep on.
func TestFollowTheSunPagesSydneyAndLetsStockholmSleep(t *testing.T) {
	h := newHarness(t, followTheSun, "2025-06-10T01:00:00Z")
	h.Webhook("prometheus", alertmanager("firing", "Latency", "00000000000000f5", "error", "p99 over 2s"))
	h.Advance(5 * time.Minute)
	h.ExpectPages("01:00 sadie sms", "01:02 sadie voice")
	_, events := h.Incident(1)
	found := false
	for _, ev := range events {
		found = found || ev.Kind == escalation.EventEscalated &&
			strings.Contains(ev.Message, "skipped sven (asleep, 03:00 CEST), frank (asleep, 18:00 PDT): woken 10m0s later")
	}
	if !found {
		t.Fatalf("the timeline does not say who was skipped as asleep: %+v", events)
	}
	h.SMS("sadie", "ack")
	h.Advance(8 * time.Hour)
	h.ExpectNoPages()
}

// Nobody awake answers: after ten minutes the sleepers are woken, and the
// timeline says so.
func TestFollowTheSunWakesTheSleepersWhenNobodyAcks(t *testing.T) {
	h := newHarness(t, followTheSun, "2025-06-10T01:00:00Z")
	h.Webhook("prometheus", alertmanager("firing", "Latency", "00000000000000f5", "error", "p99 over 2s"))
	h.Advance(12 * time.Minute)
	h.ExpectPages("01:00 sadie sms", "01:02 sadie voice", "01:10 sven sms", "01:10 frank sms", "01:12 sven voice", "01:12 frank voice")
	h.ExpectTimeline(1, escalation.EventEscalated, escalation.EventWoken, escalation.EventWoken)
}

// P0 does not wait: everyone is woken at once.
func TestFollowTheSunP0WakesEveryoneAtOnce(t *testing.T) {
	h := newHarness(t, followTheSun, "2025-06-10T01:00:00Z")
	h.Webhook("prometheus", alertmanager("firing", "Down", "00000000000000f6", "critical", "api down"))
	h.ExpectPages("01:00 sven sms", "01:00 sadie sms", "01:00 frank sms")
}

// Working days count: on a Sunday in Sydney sadie is left to sleep, and
// San Francisco, awake on Saturday afternoon, is asked first.
func TestFollowTheSunOnTheWeekend(t *testing.T) {
	// Saturday 2025-06-14 23:00 UTC: 01:00 Sunday in Stockholm, 09:00 Sunday
	// in Sydney (not a working day for sadie), 16:00 Saturday in LA (awake).
	h := newHarness(t, followTheSun, "2025-06-14T23:00:00Z")
	h.Webhook("prometheus", alertmanager("firing", "Latency", "00000000000000f7", "error", "p99 over 2s"))
	h.ExpectPages("23:00 frank sms")
	h.Advance(10 * time.Minute)
	h.ExpectPages("23:02 frank voice", "23:10 sven sms", "23:10 sadie sms")
}

// When everyone is asleep there is nobody to ask first: all are woken now.
func TestEveryoneAsleepIsWokenAtOnce(t *testing.T) {
	// Saturday 2025-06-14 01:00 UTC: 03:00 in Stockholm, 11:00 Saturday in
	// Sydney (not a working day), 18:00 Friday in LA (after hours).
	h := newHarness(t, followTheSun, "2025-06-14T01:00:00Z")
	h.Webhook("prometheus", alertmanager("firing", "Latency", "00000000000000f8", "error", "p99 over 2s"))
	h.ExpectPages("01:00 sven sms", "01:00 sadie sms", "01:00 frank sms")
}

// Sadie is paged at 01:00 UTC; sven and frank, outside their hours, wait
// for wake_after. At 01:03 she raises the incident to P0, which the level
// wakes everyone for: they are paged then, not at 01:10.
func TestRaisingToAWakeEveryonePriorityWakesTheSleepersNow(t *testing.T) {
	h := newHarness(t, followTheSun, "2025-06-10T01:00:00Z")
	h.Webhook("prometheus", alertmanager("firing", "Latency", "00000000000000f5", "error", "p99 over 2s"))
	h.Advance(3 * time.Minute)
	h.SMS("sadie", "priority 1 P0")
	h.Advance(time.Minute)
	h.ExpectPages("01:00 sadie sms", "01:02 sadie voice", "01:03 sven sms", "01:03 frank sms")
	h.ExpectTimeline(1, escalation.EventPriorityChanged, escalation.EventWoken, escalation.EventWoken)
}

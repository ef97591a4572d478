package scenario

import (
	"strings"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/escalation"
)

// The storage team is paged as one: its second level names the team, so
// sam (already paged at the first level, still paged by his own rules) and
// lead both get it, each by their own contact rules, and one ack stops
// them all.
func TestATeamIsPagedTogether(t *testing.T) {
	h := newHarness(t, `
people:
  - {name: sam, timezone: America/New_York, phone: "+12125550101", contact_rules: [{channel: sms, after: 0s}, {channel: voice, after: 5m}], repeat_every: 30m}
  - {name: lead, timezone: Europe/Berlin, phone: "+4915112345678", contact_rules: [{channel: voice, after: 0s}]}
teams:
  - {name: storage, members: [sam, lead]}
policies:
  - name: storage
    levels: [{targets: [sam], delay: 10m}, {targets: [team:storage], delay: 30m}]
services:
  - {name: workers-kv, policy: storage}
integrations: [{name: kv-probes, service: workers-kv, format: alertmanager, token: kv-token-0123456789}]
`, "2025-06-12T03:00:00Z")
	h.Webhook("kv-probes", alertmanager("firing", "KVErrors", "kv", "critical", "workers-kv 5xx rate 40%"))
	h.ExpectPages("03:00 sam sms")
	h.AdvanceTo(mustTime(t, "2025-06-12T03:10:00Z"))
	h.ExpectPages("03:05 sam voice", "03:10 lead voice")
	h.SMS("sam", "ack")
	h.ExpectStatus(1, escalation.StatusAcknowledged)
	h.Advance(time.Hour)
	h.ExpectNoPages()
}

// Dana, on the apps team, sees storage misbehave at 03:00 and pages the
// storage team by SMS. Sam and lead are both paged by their own rules
// until lead acknowledges.
func TestPagingATeamFromChat(t *testing.T) {
	h := newHarness(t, `
people:
  - {name: sam, timezone: America/New_York, phone: "+12125550101", contact_rules: [{channel: sms, after: 0s}, {channel: voice, after: 5m}]}
  - {name: lead, timezone: Europe/Berlin, phone: "+4915112345678", contact_rules: [{channel: voice, after: 0s}], repeat_every: 10m}
  - {name: dana, timezone: America/Chicago, phone: "+13125550103", contact_rules: [{channel: sms, after: 0s}]}
teams:
  - {name: storage, members: [sam, lead]}
policies:
  - {name: apps, levels: [{targets: [dana], delay: 30m}]}
services:
  - {name: app01, policy: apps}
integrations: [{name: app01-am, service: app01, format: alertmanager, token: app01-token-0123456789}]
`, "2025-06-12T03:00:00Z")
	reply := h.SMS("dana", "page storage kv p99 is 4s and climbing")
	if !strings.Contains(reply, "Paging sam, lead (#1) until one of them acknowledges.") {
		t.Fatalf("reply %q", reply)
	}
	h.ExpectPages("03:00 sam sms", "03:00 lead voice")
	h.AdvanceTo(mustTime(t, "2025-06-12T03:06:00Z"))
	h.ExpectPages("03:05 sam voice")
	h.SMS("lead", "ack 1")
	h.Advance(time.Hour)
	h.ExpectNoPages()
	_, events := h.Incident(1)
	if !hasEvent(events, escalation.EventTriggered, "dana paged team storage (sam, lead): kv p99 is 4s and climbing") {
		t.Fatalf("the timeline does not say who was paged: %+v", events)
	}
	if reply := h.SMS("dana", "who storage"); reply != "team storage: sam, lead" {
		t.Fatalf("who storage: %q", reply)
	}
	if reply := h.SMS("dana", "page nobody hello"); !strings.Contains(reply, `no schedule or team is named "nobody"`) {
		t.Fatalf("reply to an unknown name %q", reply)
	}
}

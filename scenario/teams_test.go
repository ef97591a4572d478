package scenario

import (
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

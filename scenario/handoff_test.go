package scenario

import (
	"strings"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/escalation"
)

// Handoffs the engine must follow whoever is paged at the moment they
// happen: a schedule in a gap, a person who used up their contact rules,
// a person paged for two schedules, and someone asleep coming on call.

// The day schedule has ana 09:00–17:00 and bob 18:00–22:00 Stockholm time,
// nobody between.
const gappedDay = `
people:
  - {name: ana, timezone: Europe/Stockholm, phone: "+46855500001", contact_rules: [{channel: sms, after: 0s}], repeat_every: 30m}
  - {name: bob, timezone: Europe/Stockholm, phone: "+46855500002", contact_rules: [{channel: sms, after: 0s}], repeat_every: 30m}
schedules:
  - name: day
    timezone: Europe/Stockholm
    layers:
      - {participants: [ana], shift: 1w, handoff: "09:00", start: 2026-01-05, restrictions: [{from: "09:00", to: "17:00"}]}
      - {participants: [bob], shift: 1w, handoff: "09:00", start: 2026-01-05, restrictions: [{from: "18:00", to: "22:00"}]}
policies:
  - name: p
    levels: [{targets: [schedule:day], delay: 6h}]
services: [{name: web, policy: p}]
integrations: [{name: am, service: web, format: alertmanager, token: am-token-0123456789}]
`

// An alert at 08:00 finds nobody on call; ana comes on at 09:00 and is
// paged then, not when the level's six hours are up.
func TestScheduleInAGapPagesWhoeverComesOn(t *testing.T) {
	h := newHarness(t, gappedDay, "2026-03-10T07:00:00Z") // 08:00 CET
	h.Webhook("am", alertmanager("firing", "Down", "00000000000000a1", "critical", "down"))
	h.ExpectNoPages()
	h.AdvanceTo(mustTime(t, "2026-03-10T08:45:00Z"))
	h.ExpectPages("08:00 ana sms", "08:30 ana sms")
}

// Ana is paged at 16:00; at 17:00 her shift ends and nobody is on call
// until bob comes on at 18:00, who is paged then.
func TestHandoffIntoAGapAndOutOfIt(t *testing.T) {
	h := newHarness(t, gappedDay, "2026-03-10T15:00:00Z") // 16:00 CET
	h.Webhook("am", alertmanager("firing", "Down", "00000000000000a1", "critical", "down"))
	h.AdvanceTo(mustTime(t, "2026-03-10T17:45:00Z"))
	h.ExpectPages("15:00 ana sms", "15:30 ana sms", "17:00 bob sms", "17:30 bob sms")
	h.ExpectTimeline(1, "escalated", "handoff", "handoff")
}

// Ana's rules do not repeat: by 08:02 she has had her text and her call.
// At 09:00 her shift passes to bob, who is paged although ana's paging had
// run out.
func TestHandoffAfterTheRulesRanOut(t *testing.T) {
	h := newHarness(t, `
people:
  - {name: ana, timezone: Europe/Stockholm, phone: "+46855500001", contact_rules: [{channel: sms, after: 0s}, {channel: voice, after: 2m}]}
  - {name: bob, timezone: Europe/Stockholm, phone: "+46855500002", contact_rules: [{channel: sms, after: 0s}, {channel: voice, after: 2m}]}
schedules:
  - name: primary
    timezone: Europe/Stockholm
    layers: [{participants: [ana, bob], shift: 1d, handoff: "09:00", start: 2026-03-01}]
policies:
  - name: p
    levels: [{targets: [schedule:primary], delay: 30m}]
services: [{name: web, policy: p}]
integrations: [{name: am, service: web, format: alertmanager, token: am-token-0123456789}]
`, "2026-03-10T07:00:00Z") // 08:00 CET
	h.Webhook("am", alertmanager("firing", "Down", "00000000000000a1", "critical", "down"))
	h.AdvanceTo(mustTime(t, "2026-03-10T08:05:00Z"))
	h.ExpectPages("07:00 ana sms", "07:02 ana voice", "08:00 bob sms", "08:02 bob voice")
}

// Schedule a rotates hourly through alice, xavier and carol; xavier is
// also on call for b all week. When a passes to xavier, already paged for
// b, a's next handoffs (carol at 10:00, alice at 11:00) are still followed.
func TestHandoffToSomeoneAlreadyPagedKeepsFollowingTheSchedule(t *testing.T) {
	h := newHarness(t, `
people:
  - {name: alice, timezone: Europe/Stockholm, phone: "+46855500001", contact_rules: [{channel: sms, after: 0s}], repeat_every: 40m}
  - {name: xavier, timezone: Europe/Stockholm, phone: "+46855500002", contact_rules: [{channel: sms, after: 0s}], repeat_every: 40m}
  - {name: carol, timezone: Europe/Stockholm, phone: "+46855500003", contact_rules: [{channel: sms, after: 0s}], repeat_every: 40m}
schedules:
  - name: a
    timezone: Europe/Stockholm
    layers: [{participants: [alice, xavier, carol], shift: 1h, handoff: "09:00", start: 2026-03-10}]
  - name: b
    timezone: Europe/Stockholm
    layers: [{participants: [xavier], shift: 1w, handoff: "09:00", start: 2026-03-02}]
policies:
  - name: p
    levels: [{targets: [schedule:a, schedule:b], delay: 6h}]
services: [{name: web, policy: p}]
integrations: [{name: am, service: web, format: alertmanager, token: am-token-0123456789}]
`, "2026-03-10T08:30:00Z") // 09:30 CET: alice on a, xavier on b
	h.Webhook("am", alertmanager("firing", "Down", "00000000000000a1", "critical", "down"))
	h.AdvanceTo(mustTime(t, "2026-03-10T11:05:00Z"))
	h.ExpectPages("08:30 alice sms", "08:30 xavier sms", "09:10 xavier sms", "09:50 xavier sms",
		"10:00 carol sms", "10:30 xavier sms", "10:40 carol sms", "11:00 alice sms")
}

// Sadie in Sydney is awake and paged; the Stockholm night schedule passes
// from n1 to n2 at 03:00 their time, both asleep. On a level that pages
// the awake first, n2 is woken half an hour later like n1 would have been,
// not at once.
func TestHandoffToASleeperOnALevelThatPrefersTheAwake(t *testing.T) {
	h := newHarness(t, `
people:
  - {name: sadie, timezone: Australia/Sydney, phone: "+61255500001", working_hours: {from: "08:00", to: "18:00"}, contact_rules: [{channel: sms, after: 0s}], repeat_every: 10m}
  - {name: n1, timezone: Europe/Stockholm, phone: "+46855500001", working_hours: {from: "08:00", to: "18:00"}, contact_rules: [{channel: sms, after: 0s}], repeat_every: 10m}
  - {name: n2, timezone: Europe/Stockholm, phone: "+46855500002", working_hours: {from: "08:00", to: "18:00"}, contact_rules: [{channel: sms, after: 0s}], repeat_every: 10m}
schedules:
  - name: night
    timezone: Europe/Stockholm
    layers: [{participants: [n1, n2], shift: 1d, handoff: "03:00", start: 2026-03-01}]
policies:
  - name: p
    levels: [{targets: [sadie, schedule:night], delay: 6h, prefer_awake: true, wake_after: 30m}]
services: [{name: web, policy: p}]
integrations: [{name: am, service: web, format: alertmanager, token: am-token-0123456789}]
`, "2026-03-10T01:50:00Z") // 02:50 in Stockholm, 12:50 in Sydney
	h.Webhook("am", alertmanager("firing", "Down", "00000000000000a1", "critical", "down"))
	h.AdvanceTo(mustTime(t, "2026-03-10T02:35:00Z"))
	h.ExpectPages("01:50 sadie sms", "02:00 sadie sms", "02:10 sadie sms", "02:20 sadie sms", "02:30 sadie sms", "02:30 n2 sms")
}

// Dora is on call and also named on the level; at 03:00 she is the only
// one to page, asleep or not, so she is paged at once rather than after
// wake_after as if someone awake were asked first.
func TestTheOnlyPersonIsPagedAtOnceEvenIfNamedTwice(t *testing.T) {
	h := newHarness(t, `
people:
  - {name: dora, timezone: Europe/Stockholm, phone: "+46855500001", working_hours: {from: "08:00", to: "18:00"}, contact_rules: [{channel: sms, after: 0s}], repeat_every: 10m}
  - {name: eli, timezone: Europe/Stockholm, phone: "+46855500002", working_hours: {from: "08:00", to: "18:00"}, contact_rules: [{channel: sms, after: 0s}], repeat_every: 10m}
schedules:
  - name: primary
    timezone: Europe/Stockholm
    layers: [{participants: [dora, eli], shift: 1w, handoff: "09:00", start: 2026-03-02}]
policies:
  - name: p
    levels: [{targets: [schedule:primary, dora], delay: 6h, prefer_awake: true, wake_after: 30m}]
services: [{name: web, policy: p}]
integrations: [{name: am, service: web, format: alertmanager, token: am-token-0123456789}]
`, "2026-03-04T02:00:00Z") // 03:00 in Stockholm
	h.Webhook("am", alertmanager("firing", "Down", "00000000000000a1", "critical", "down"))
	h.ExpectPages("02:00 dora sms")
}

// The primary schedule passes from ana to bob at 09:00; the incident
// commander schedule has carl all week.
const primaryAndCommander = `
people:
  - {name: ana, timezone: UTC, phone: "+46855500001", contact_rules: [{channel: sms, after: 0s}], repeat_every: 30m}
  - {name: bob, timezone: UTC, phone: "+46855500002", contact_rules: [{channel: sms, after: 0s}], repeat_every: 30m}
  - {name: carl, timezone: UTC, phone: "+46855500003", contact_rules: [{channel: sms, after: 0s}], repeat_every: 30m}
schedules:
  - name: primary
    timezone: UTC
    layers: [{participants: [ana, bob], shift: 1d, handoff: "09:00", start: 2026-03-01}]
  - name: ic
    timezone: UTC
    layers: [{participants: [carl], shift: 1w, handoff: "09:00", start: 2026-03-02}]
policies:
  - name: normal
    levels: [{targets: [schedule:primary], delay: 30m}, {targets: [carl], delay: 6h}]
  - name: urgent
    levels: [{targets: [schedule:ic], delay: 6h}]
services: [{name: web, policy: normal, policy_by_priority: {P1: urgent}}]
integrations: [{name: am, service: web, format: alertmanager, token: am-token-0123456789}]
`

// Ana is paged on the normal policy at 08:30; at 08:40 the incident is
// raised to P1, whose urgent policy pages carl, and ana keeps her place.
// At 09:00 primary still passes from ana to bob.
func TestALouderPolicyKeepsFollowingTheSchedulesAlreadyPaged(t *testing.T) {
	h := newHarness(t, primaryAndCommander, "2026-03-10T08:30:00Z")
	h.Webhook("am", alertmanager("firing", "Down", "00000000000000a1", "warning", "down"))
	h.ExpectPages("08:30 ana sms")
	h.Advance(10 * time.Minute)
	h.ok(h.eng.SetPriority(t.Context(), 1, escalation.P1, byAlice))
	h.runDue()
	h.AdvanceTo(mustTime(t, "2026-03-10T09:45:00Z"))
	h.ExpectPages("08:40 carl sms", "09:00 bob sms", "09:10 carl sms", "09:30 bob sms", "09:40 carl sms")
}

// Ana snoozes her page at 08:35; at 09:10, with primary passed to bob,
// she escalates to level 2: carl is paged, and nobody through a schedule
// the snooze had stopped paging.
func TestEscalatingASnoozedIncidentPagesOnlyTheLevel(t *testing.T) {
	h := newHarness(t, strings.Replace(primaryAndCommander, "policy_by_priority: {P1: urgent}", "policy_by_priority: {P0: urgent}", 1), "2026-03-10T08:30:00Z")
	h.Webhook("am", alertmanager("firing", "Down", "00000000000000a1", "critical", "down"))
	h.ExpectPages("08:30 ana sms")
	h.Advance(5 * time.Minute)
	ana := escalation.Actor{Name: "ana", Via: escalation.ViaSMS}
	h.ok(h.eng.Snooze(t.Context(), 1, 2*time.Hour, ana))
	h.AdvanceTo(mustTime(t, "2026-03-10T09:10:00Z"))
	h.ok(h.eng.Escalate(t.Context(), 1, 0, ana))
	h.runDue()
	h.AdvanceTo(mustTime(t, "2026-03-10T09:20:00Z"))
	h.ExpectPages("09:10 carl sms")
}

// Xavier is paged for a at 09:10, yan for b. At 09:30 b passes to xavier,
// already being paged; at 10:00 a passes from him to zed, but he is still
// on call for b until 10:30 and is still paged.
func TestAHandoffAwayFromSomeoneStillOnCallForAnotherSchedule(t *testing.T) {
	h := newHarness(t, `
people:
  - {name: xavier, timezone: UTC, phone: "+46855500001", contact_rules: [{channel: sms, after: 0s}], repeat_every: 20m}
  - {name: yan, timezone: UTC, phone: "+46855500002", contact_rules: [{channel: sms, after: 0s}], repeat_every: 20m}
  - {name: zed, timezone: UTC, phone: "+46855500003", contact_rules: [{channel: sms, after: 0s}], repeat_every: 20m}
schedules:
  - name: a
    timezone: UTC
    layers: [{participants: [xavier, zed], shift: 1h, handoff: "09:00", start: 2026-03-10}]
  - name: b
    timezone: UTC
    layers: [{participants: [yan, xavier], shift: 1h, handoff: "08:30", start: 2026-03-10}]
policies:
  - name: p
    levels: [{targets: [schedule:a, schedule:b], delay: 6h}]
services: [{name: web, policy: p}]
integrations: [{name: am, service: web, format: alertmanager, token: am-token-0123456789}]
`, "2026-03-10T09:10:00Z")
	h.Webhook("am", alertmanager("firing", "Down", "00000000000000a1", "critical", "down"))
	h.AdvanceTo(mustTime(t, "2026-03-10T10:25:00Z"))
	h.ExpectPages("09:10 xavier sms", "09:10 yan sms", "09:30 xavier sms", "09:50 xavier sms", "10:00 zed sms", "10:10 xavier sms", "10:20 zed sms")
}

package scenario

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/escalation"
)

// coverage: a daily rotation in Los Angeles handing off at 09:00, and a
// third engineer in Kolkata who only ever covers by override. Everyone is
// paged by SMS, then called five minutes later, every fifteen minutes until
// someone acknowledges.
const coverage = `
people:
  - {name: ana, timezone: America/Los_Angeles, phone: "+13105550201", contact_rules: [{channel: sms, after: 0s}, {channel: voice, after: 5m}], repeat_every: 15m}
  - {name: ben, timezone: Europe/Berlin, phone: "+49305550202", contact_rules: [{channel: sms, after: 0s}, {channel: voice, after: 5m}], repeat_every: 15m}
  - {name: cyrus, timezone: Asia/Kolkata, phone: "+912255550203", contact_rules: [{channel: sms, after: 0s}, {channel: voice, after: 5m}], repeat_every: 15m}
schedules:
  - name: primary
    timezone: America/Los_Angeles
    layers:
      - {participants: [ana, ben], shift: 1d, handoff: "09:00", start: 2025-03-01}
policies:
  - name: p
    levels: [{targets: [schedule:primary], delay: 1h}]
services: [{name: web, policy: p}]
integrations: [{name: am, service: web, format: alertmanager, token: am-token-0123456789}]
`

type overrideReply struct {
	Override escalation.Override
	Error    string
}

func (h *harness) addOverride(schedule string, body map[string]any) (int, overrideReply) {
	h.t.Helper()
	rec := h.API(http.MethodPost, "/api/v1/schedules/"+schedule+"/overrides", body)
	var out overrideReply
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		h.t.Fatalf("override reply %d: %s", rec.Code, rec.Body)
	}
	return rec.Code, out
}

func (h *harness) listOverrides(schedule string) []escalation.Override {
	h.t.Helper()
	rec := h.API(http.MethodGet, "/api/v1/schedules/"+schedule+"/overrides", nil)
	var out struct{ Overrides []escalation.Override }
	if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &out) != nil {
		h.t.Fatalf("list overrides: %d %s", rec.Code, rec.Body)
	}
	return out.Overrides
}

// Ben is paged at 18:00 UTC on 2025-03-12 (11:00 in Los Angeles). Cyrus
// takes over by an override from 18:10 to 20:00: at 18:10 the page passes
// to him, and at 20:00 back to Ben, who is still on call by the rotation.
func TestOverrideMidIncidentPagesTheCoveringPerson(t *testing.T) {
	h := newHarness(t, coverage, "2025-03-12T18:00:00Z")
	h.Webhook("am", alertmanager("firing", "CheckoutDown", "fp1", "critical", "checkout is down"))
	h.ExpectPages("18:00 ben sms")

	code, got := h.addOverride("primary", map[string]any{
		"person": "cyrus", "from": "2025-03-12T18:10:00Z", "to": "2025-03-12T20:00:00Z", "note": "ben is on a plane", "as": "ana",
	})
	if code != http.StatusCreated || got.Override.ID != 1 || got.Override.CreatedBy.Name != "ana" {
		t.Fatalf("add override: %d %+v", code, got)
	}
	h.ExpectNoPages()

	h.AdvanceTo(mustTime(t, "2025-03-12T18:10:00Z"))
	h.ExpectPages("18:05 ben voice", "18:10 cyrus sms")
	h.AdvanceTo(mustTime(t, "2025-03-12T20:00:00Z"))
	h.ExpectPages("18:15 cyrus voice", "18:25 cyrus sms", "18:30 cyrus voice",
		"18:40 cyrus sms", "18:45 cyrus voice", "18:55 cyrus sms", "19:00 cyrus voice",
		"19:10 cyrus sms", "19:15 cyrus voice", "19:25 cyrus sms", "19:30 cyrus voice",
		"19:40 cyrus sms", "19:45 cyrus voice", "19:55 cyrus sms", "20:00 ben sms")
	h.ExpectTimeline(1, escalation.EventTriggered, escalation.EventHandoff, escalation.EventHandoff)
	_, events := h.Incident(1)
	var handoffs []string
	for _, ev := range events {
		if ev.Kind == escalation.EventHandoff {
			handoffs = append(handoffs, ev.Message)
		}
	}
	if want := "primary handed off by ben to cyrus|primary handed off by cyrus to ben"; strings.Join(handoffs, "|") != want {
		t.Fatalf("handoffs %q, want %q", handoffs, want)
	}
}

func TestOverridesSurviveARestartAndCanBeDeleted(t *testing.T) {
	h := newHarness(t, coverage, "2025-03-12T18:00:00Z")
	if code, got := h.addOverride("primary", map[string]any{"person": "cyrus", "duration": "2h"}); code != http.StatusCreated ||
		!got.Override.From.Equal(mustTime(t, "2025-03-12T18:00:00Z")) || !got.Override.To.Equal(mustTime(t, "2025-03-12T20:00:00Z")) {
		t.Fatalf("add override: %d %+v", code, got)
	}
	h.Restart()
	if ovs := h.listOverrides("primary"); len(ovs) != 1 || ovs[0].Person != "cyrus" {
		t.Fatalf("overrides after restart: %+v", ovs)
	}
	h.Webhook("am", alertmanager("firing", "CheckoutDown", "fp1", "critical", "checkout is down"))
	h.ExpectPages("18:00 cyrus sms")

	h.Advance(2 * time.Minute)
	if rec := h.API(http.MethodDelete, "/api/v1/schedules/primary/overrides/1", nil); rec.Code != http.StatusOK {
		t.Fatalf("delete: %d %s", rec.Code, rec.Body)
	}
	h.ExpectPages("18:02 ben sms")
	if ovs := h.listOverrides("primary"); len(ovs) != 0 {
		t.Fatalf("overrides after delete: %+v", ovs)
	}
	if rec := h.API(http.MethodDelete, "/api/v1/schedules/primary/overrides/1", nil); rec.Code != http.StatusNotFound {
		t.Fatalf("second delete: %d %s", rec.Code, rec.Body)
	}
}

func TestOverridesThatConflictOrLieInThePastAreRefused(t *testing.T) {
	h := newHarness(t, coverage, "2025-03-12T18:00:00Z")
	if code, _ := h.addOverride("primary", map[string]any{"person": "cyrus", "from": "2025-03-12T19:00:00Z", "to": "2025-03-12T21:00:00Z"}); code != http.StatusCreated {
		t.Fatalf("first override: %d", code)
	}
	for _, tc := range []struct {
		name     string
		schedule string
		body     map[string]any
		code     int
		msg      string
	}{
		{"overlaps the first", "primary", map[string]any{"person": "ana", "from": "2025-03-12T20:00:00Z", "duration": "3h"},
			http.StatusConflict, "overlaps override #1 (cyrus"},
		{"ended yesterday", "primary", map[string]any{"person": "ana", "from": "2025-03-11T10:00:00Z", "to": "2025-03-11T12:00:00Z"},
			http.StatusBadRequest, "lies in the past"},
		{"started an hour ago", "primary", map[string]any{"person": "ana", "from": "2025-03-12T17:00:00Z", "to": "2025-03-12T18:30:00Z"},
			http.StatusBadRequest, "starts in the past"},
		{"ends before it starts", "primary", map[string]any{"person": "ana", "from": "2025-03-13T10:00:00Z", "to": "2025-03-13T09:00:00Z"},
			http.StatusBadRequest, "before it starts"},
		{"no end", "primary", map[string]any{"person": "ana"}, http.StatusBadRequest, `"to" or "duration" is required`},
		{"both ends", "primary", map[string]any{"person": "ana", "to": "2025-03-13T09:00:00Z", "duration": "1h"}, http.StatusBadRequest, "not both"},
		{"bad duration", "primary", map[string]any{"person": "ana", "duration": "soon"}, http.StatusBadRequest, "positive duration"},
		{"unknown person", "primary", map[string]any{"person": "mallory", "duration": "1h"}, http.StatusNotFound, `unknown person "mallory"`},
		{"unknown schedule", "secondary", map[string]any{"person": "ana", "duration": "1h"}, http.StatusNotFound, `unknown schedule "secondary"`},
		{"unknown field", "primary", map[string]any{"person": "ana", "duration": "1h", "until": "never"}, http.StatusBadRequest, "unknown field"},
		{"acting as a stranger", "primary", map[string]any{"person": "ana", "duration": "1h", "as": "mallory"}, http.StatusForbidden, "only people in the config"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, got := h.addOverride(tc.schedule, tc.body)
			if code != tc.code || !strings.Contains(got.Error, tc.msg) {
				t.Fatalf("%d %q, want %d with %q", code, got.Error, tc.code, tc.msg)
			}
		})
	}
	if ovs := h.listOverrides("primary"); len(ovs) != 1 {
		t.Fatalf("refused overrides were stored: %+v", ovs)
	}
}

// notified: the same rotation, with shift notices and a Monday digest at
// 09:00 in Kolkata.
var notified = strings.Replace(coverage, `start: 2025-03-01}
`, `start: 2025-03-01}
    notify:
      shift_start: true
      digest: "CRON_TZ=Asia/Kolkata 0 9 * * MON"
`, 1)

// notices returns the texts of notice SMS sent since the start, as
// "15:04 person: text".
func (h *harness) notices() []string {
	var out []string
	for _, s := range h.pages() {
		if s.Page.Notice() {
			out = append(out, fmt.Sprintf("%s %s: %s", s.At.UTC().Format("01-02 15:04"), s.Page.Person, s.Page.Text))
		}
	}
	return out
}

func TestShiftNoticesTellTheIncomingPersonAndSurviveRestarts(t *testing.T) {
	// Thursday 2025-03-13 12:00 UTC; ben has been on call since 09:00 PDT
	// 03-12. Starting up sends nobody a notice.
	h := newHarness(t, notified, "2025-03-13T12:00:00Z")
	h.AdvanceTo(mustTime(t, "2025-03-13T15:59:00Z"))
	if got := h.notices(); len(got) != 0 {
		t.Fatalf("notices at startup: %q", got)
	}
	// 09:00 PDT is 16:00 UTC.
	h.AdvanceTo(mustTime(t, "2025-03-13T16:00:00Z"))
	h.Restart()
	h.AdvanceTo(mustTime(t, "2025-03-14T16:30:00Z"))
	want := []string{
		"03-13 16:00 ana: Klaxon: you are on call for primary until Fri 09:00 PDT.",
		"03-14 16:00 ben: Klaxon: you are on call for primary until Sat 09:00 PDT (Sat 17:00 CET your time).",
	}
	if got := h.notices(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("notices:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// An override starting later tells the person covering when it starts.
	if code, _ := h.addOverride("primary", map[string]any{"person": "cyrus", "from": "2025-03-14T20:00:00Z", "duration": "3h"}); code != http.StatusCreated {
		t.Fatalf("override: %d", code)
	}
	h.AdvanceTo(mustTime(t, "2025-03-14T23:00:00Z"))
	got := h.notices()[2:]
	want = []string{
		"03-14 20:00 cyrus: Klaxon: you are on call for primary until Fri 16:00 PDT (Sat 04:30 IST your time).",
		"03-14 23:00 ben: Klaxon: you are on call for primary until Sat 09:00 PDT (Sat 17:00 CET your time).",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("override notices:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// Monday 2025-03-17 09:00 IST is 03:30 UTC: the weekly digest.
	h.AdvanceTo(mustTime(t, "2025-03-17T03:30:00Z"))
	var digests []string
	for _, n := range h.notices() {
		if strings.Contains(n, "next 7 days") {
			digests = append(digests, n)
		}
	}
	want = []string{
		"03-17 03:30 ana: Klaxon: your on-call for primary in the next 7 days (America/Los_Angeles): Mon Mar 17 09:00 – Tue Mar 18 09:00; Wed Mar 19 09:00 – Thu Mar 20 09:00; Fri Mar 21 09:00 – Sat Mar 22 09:00; Sun Mar 23 09:00 – Sun Mar 23 20:30.",
		"03-17 03:30 ben: Klaxon: your on-call for primary in the next 7 days (America/Los_Angeles): Sun Mar 16 20:30 – Mon Mar 17 09:00; Tue Mar 18 09:00 – Wed Mar 19 09:00; Thu Mar 20 09:00 – Fri Mar 21 09:00; Sat Mar 22 09:00 – Sun Mar 23 09:00.",
	}
	if strings.Join(digests, "\n") != strings.Join(want, "\n") {
		t.Fatalf("digests:\n%s\nwant:\n%s", strings.Join(digests, "\n"), strings.Join(want, "\n"))
	}
}

// The team moves the daily handoff from 10:00 to 08:00 and restarts
// Klaxon at 06:00. The shift-start notice goes out at the new 08:00, not
// at the 10:00 the stored timer was waiting for.
func TestShiftNoticeFollowsAHandoffMovedInTheConfig(t *testing.T) {
	doc := func(handoff string) string {
		return `
people:
  - {name: alice, timezone: Europe/Stockholm, phone: "+46855500001", contact_rules: [{channel: sms, after: 0s}]}
  - {name: bikram, timezone: Australia/Sydney, phone: "+61255500002", contact_rules: [{channel: sms, after: 0s}]}
schedules:
  - name: primary
    timezone: Europe/Stockholm
    layers:
      - {participants: [alice, bikram], shift: 1d, handoff: "` + handoff + `", start: 2026-03-01}
    notify: {shift_start: true}
policies:
  - name: p
    levels: [{targets: [schedule:primary], delay: 5m}]
services: [{name: web, policy: p}]
integrations: [{name: am, service: web, format: alertmanager, token: am-token-0123456789}]
`
	}
	h := newHarness(t, doc("10:00"), "2026-03-10T05:00:00Z") // 06:00 in Stockholm
	h.runDue()
	h.reconfigure(doc("08:00"))
	h.AdvanceTo(mustTime(t, "2026-03-10T10:00:00Z"))
	h.ExpectPages("07:00 bikram sms")
}

package scenario

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/escalation"
)

// Planned disk swap on web: a silence for DiskFull alerts. The alert during
// the swap is recorded, its incident opened, nobody paged; the one still
// firing when the silence is expired early pages at once.
func TestSilenceHoldsPagesAndRecordsAlerts(t *testing.T) {
	h := newHarness(t, team, "2026-03-02T01:00:00Z")
	rec := h.API(http.MethodPost, "/api/v1/silences", map[string]any{
		"service": "web", "matchers": map[string]string{"alertname": "DiskFull"}, "duration": "2h", "comment": "disk swap", "as": "alice"})
	if rec.Code != http.StatusCreated {
		t.Fatalf("add silence: %d %s", rec.Code, rec.Body)
	}
	h.Webhook("prometheus", alertmanager("firing", "DiskFull", "fp1", "error", "disk full on db-1"))
	h.Webhook("prometheus", alertmanager("firing", "CPUHigh", "fp2", "error", "cpu high on db-1"))
	h.ExpectPages("01:00 bikram sms") // CPUHigh only
	inc, events := h.Incident(1)
	if inc.Status != escalation.StatusTriggered || inc.HeldBy != 1 {
		t.Fatalf("silenced incident: %s held by %d", inc.Status, inc.HeldBy)
	}
	found := false
	for _, ev := range events {
		if ev.Kind == escalation.EventSilenced && strings.Contains(ev.Message, "held by silence #1 (disk swap) until 2026-03-02 03:00 UTC") {
			found = true
		}
	}
	if !found {
		t.Fatal("the timeline does not name the silence")
	}
	h.ok(h.eng.Acknowledge(t.Context(), 2, byBikram))
	h.Advance(30 * time.Minute)
	h.ExpectNoPages() // DiskFull still firing, still held
	var list struct{ Silences []escalation.Silence }
	if rec := h.API(http.MethodGet, "/api/v1/silences", nil); json.Unmarshal(rec.Body.Bytes(), &list) != nil || len(list.Silences) != 1 {
		t.Fatalf("list: %s", rec.Body)
	}
	if rec := h.API(http.MethodDelete, "/api/v1/silences/1", nil); rec.Code != http.StatusOK {
		t.Fatalf("expire: %d %s", rec.Code, rec.Body)
	}
	h.ExpectPages("01:30 bikram sms")
	if rec := h.API(http.MethodDelete, "/api/v1/silences/1", nil); rec.Code != http.StatusConflict {
		t.Fatalf("expire twice: %d", rec.Code)
	}
	for _, body := range []map[string]any{
		{"duration": "2h"},
		// Only "no team label": nearly every alert.
		{"matchers": map[string]string{"team": ""}, "duration": "2h"},
		{"service": "nope", "duration": "2h"},
		{"service": "web", "duration": "30d"},
		{"service": "web"},
		{"service": "web", "starts_at": "2026-03-01T00:00:00Z", "ends_at": "2026-03-01T02:00:00Z"},
	} {
		if rec := h.API(http.MethodPost, "/api/v1/silences", body); rec.Code/100 != 4 {
			t.Errorf("%v: %d", body, rec.Code)
		}
	}
}

// The disk swap's silence covers DiskFull on db-1. Alertmanager groups the
// host's alerts: DiskFull and, in the same group, CPUHigh, which no
// silence covers. CPUHigh pages, whether it arrives with DiskFull or ten
// minutes after it; the silence holds only what it matches.
func TestASilenceHoldsOnlyTheAlertsItMatches(t *testing.T) {
	for _, later := range []bool{false, true} {
		h := newHarness(t, team, "2026-03-02T01:00:00Z")
		rec := h.API(http.MethodPost, "/api/v1/silences", map[string]any{
			"service": "web", "matchers": map[string]string{"alertname": "DiskFull"}, "duration": "2h", "comment": "disk swap", "as": "alice"})
		if rec.Code != http.StatusCreated {
			t.Fatalf("add silence: %d %s", rec.Code, rec.Body)
		}
		disk := alertmanager("firing", "DiskFull", "fp1", "error", "disk full on db-1")
		both := hostGroup(t, disk, alertmanager("firing", "CPUHigh", "fp2", "error", "cpu high on db-1"))
		if later {
			h.Webhook("prometheus", hostGroup(t, disk))
			h.ExpectNoPages()
			h.Advance(10 * time.Minute)
		}
		h.Webhook("prometheus", both)
		if later {
			h.ExpectPages("01:10 bikram sms")
		} else {
			h.ExpectPages("01:00 bikram sms")
		}
		if inc := h.ExpectStatus(1, escalation.StatusTriggered); inc.HeldBy != 0 || inc.Alerts != 2 {
			t.Fatalf("incident held by %d with %d alerts", inc.HeldBy, inc.Alerts)
		}
	}
}

// hostGroup is one Alertmanager webhook of the alerts of the given ones,
// all in db-1's group.
func hostGroup(t *testing.T, webhooks ...[]byte) []byte {
	t.Helper()
	var msg map[string]any
	var alerts []any
	for _, w := range webhooks {
		var m map[string]any
		if err := json.Unmarshal(w, &m); err != nil {
			t.Fatal(err)
		}
		msg = m
		alerts = append(alerts, m["alerts"].([]any)...)
	}
	msg["groupKey"], msg["alerts"] = `{}:{instance="db-1"}`, alerts
	b, err := json.Marshal(msg)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// weeklyBatchWindow is a maintenance window in the config: batch is held
// Sundays 02:00–04:00 Stockholm time.
const weeklyBatchWindow = `
silences:
  - service: batch
    cron: "CRON_TZ=Europe/Stockholm 0 2 * * SUN"
    duration: 2h
    comment: weekly batch maintenance
`

// A weekly maintenance window in the config: Sunday 02:00–04:00 Stockholm.
func TestMaintenanceWindowFromTheConfig(t *testing.T) {
	h := newHarness(t, team+weeklyBatchWindow, "2026-03-01T01:30:00Z") // Sun 02:30 CET
	h.Webhook("batch-prometheus", alertmanager("firing", "ImportStuck", "fp1", "error", "import stuck"))
	h.ExpectNoPages()
	h.AdvanceTo(mustTime(t, "2026-03-01T03:00:00Z")) // 04:00 CET: the window ends, still firing
	h.ExpectPages("03:00 bikram sms")
	h.ok(h.eng.Acknowledge(t.Context(), 1, byBikram))
	// Monday, outside the window: pages at once.
	h.AdvanceTo(mustTime(t, "2026-03-02T09:00:00Z"))
	h.Webhook("batch-prometheus", alertmanager("firing", "ExportStuck", "fp2", "error", "export stuck"))
	h.ExpectPages("09:00 bikram sms")
}

// Two silences cover DiskFull on web, for one hour and for three. The
// alert is silenced until the longer one ends, not paged when the
// shorter one does.
func TestOverlappingSilencesHoldUntilTheLastEnds(t *testing.T) {
	h := newHarness(t, team, "2026-03-02T01:00:00Z")
	for _, d := range []string{"1h", "3h"} {
		if rec := h.API(http.MethodPost, "/api/v1/silences", map[string]any{"service": "web",
			"matchers": map[string]string{"alertname": "DiskFull"}, "duration": d, "as": "alice"}); rec.Code != http.StatusCreated {
			t.Fatalf("silence %s: %d %s", d, rec.Code, rec.Body)
		}
	}
	h.Webhook("prometheus", alertmanager("firing", "DiskFull", "fp1", "error", "disk full"))
	h.AdvanceTo(mustTime(t, "2026-03-02T03:59:00Z"))
	h.ExpectNoPages()
	h.AdvanceTo(mustTime(t, "2026-03-02T04:00:00Z"))
	h.ExpectPages("04:00 bikram sms")
}

// The disk swap's silence holds DiskFull; alice sees it is worse than
// planned and escalates to level 2 by hand: alice and carmen are paged
// now, the silence notwithstanding, as the timeline says.
func TestEscalatingAHeldIncidentPagesNow(t *testing.T) {
	h := newHarness(t, team, "2026-03-02T01:00:00Z")
	if rec := h.API(http.MethodPost, "/api/v1/silences", map[string]any{"service": "web",
		"matchers": map[string]string{"alertname": "DiskFull"}, "duration": "2h", "as": "alice"}); rec.Code != http.StatusCreated {
		t.Fatalf("silence: %d %s", rec.Code, rec.Body)
	}
	h.Webhook("prometheus", alertmanager("firing", "DiskFull", "fp1", "error", "disk full"))
	h.ExpectNoPages()
	h.ok(h.eng.Escalate(t.Context(), 1, 2, byAlice))
	h.runDue()
	h.ExpectPages("01:00 alice sms", "01:00 carmen sms")
}

// The weekly maintenance window holds batch from 02:00 to 04:00 CET;
// someone also silences batch through the API until 05:00, then ends that
// early at 02:45. The window still covers the alert: it stays held, and
// pages only when the window is over.
func TestEndingASilenceEarlyLeavesTheWindowThatStillCoversIt(t *testing.T) {
	h := newHarness(t, team+weeklyBatchWindow, "2026-03-01T01:30:00Z") // Sun 02:30 CET
	if rec := h.API(http.MethodPost, "/api/v1/silences", map[string]any{"service": "batch", "duration": "2h30m", "as": "alice"}); rec.Code != http.StatusCreated {
		t.Fatalf("silence: %d %s", rec.Code, rec.Body)
	}
	h.Webhook("batch-prometheus", alertmanager("firing", "ImportStuck", "fp1", "error", "import stuck"))
	h.ExpectNoPages()
	h.AdvanceTo(mustTime(t, "2026-03-01T01:45:00Z"))
	if rec := h.API(http.MethodDelete, "/api/v1/silences/1", nil); rec.Code != http.StatusOK {
		t.Fatalf("expire: %d %s", rec.Code, rec.Body)
	}
	h.runDue()
	h.AdvanceTo(mustTime(t, "2026-03-01T02:59:00Z"))
	h.ExpectNoPages()
	h.AdvanceTo(mustTime(t, "2026-03-01T03:00:00Z"))
	h.ExpectPages("03:00 bikram sms")
}

// The weekly window covers batch's ImportStuck only; CPUHigh in the same
// group is not covered, and pages inside the window.
func TestAWindowHoldsOnlyTheAlertsItMatches(t *testing.T) {
	h := newHarness(t, team+`
silences:
  - service: batch
    matchers: {alertname: ImportStuck}
    cron: "CRON_TZ=Europe/Stockholm 0 2 * * SUN"
    duration: 2h
    comment: weekly import maintenance
`, "2026-03-01T01:30:00Z") // Sun 02:30 CET
	h.Webhook("batch-prometheus", hostGroup(t,
		alertmanager("firing", "ImportStuck", "fp1", "error", "import stuck"),
		alertmanager("firing", "CPUHigh", "fp2", "error", "cpu high")))
	h.ExpectPages("01:30 bikram sms")
}

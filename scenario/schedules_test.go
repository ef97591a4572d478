package scenario

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"
)

// rota: a daily rotation in Los Angeles whose handoff at 02:30 meets the
// spring-forward night of 2025-03-09.
const rota = `
people:
  - {name: ana, timezone: America/Los_Angeles, phone: "+13105550201", contact_rules: [{channel: sms, after: 0s}]}
  - {name: ben, timezone: Europe/Berlin, phone: "+49305550202", contact_rules: [{channel: sms, after: 0s}]}
schedules:
  - name: primary
    timezone: America/Los_Angeles
    layers:
      - participants: [ana, ben]
        shift: 1d
        handoff: "02:30"
        start: 2025-03-01
    overrides:
      - {person: ana, from: "2025-03-10T17:00:00Z", to: "2025-03-10T19:00:00Z"}
policies:
  - name: p
    levels: [{targets: [schedule:primary], delay: 5m}]
services: [{name: web, policy: p}]
integrations: [{name: am, service: web, format: alertmanager, token: am-token-0123456789}]
`

func TestSchedulesAPI(t *testing.T) {
	// 2025-03-08 12:00 PST: day 8 of the rotation (index 7): ben.
	h := newHarness(t, rota, "2025-03-08T20:00:00Z")
	rec := h.API(http.MethodGet, "/api/v1/schedules", nil)
	var list struct {
		Schedules []struct {
			Schedule string
			Person   *string
			Until    time.Time
		}
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &list); err != nil || len(list.Schedules) != 1 {
		t.Fatalf("schedules: %d %s", rec.Code, rec.Body)
	}
	now := list.Schedules[0]
	// The 2025-03-09 02:30 handoff does not exist in Los Angeles: it
	// happens at 03:00 PDT, 10:00 UTC.
	if now.Person == nil || *now.Person != "ben" || !now.Until.Equal(mustTime(t, "2025-03-09T10:00:00Z")) {
		t.Fatalf("on call now: %+v (until %s)", now, now.Until)
	}

	rec = h.API(http.MethodGet, "/api/v1/schedules/primary/oncall?at=2025-03-10T12:00:00Z&days=1", nil)
	var got struct {
		Timeline []struct {
			Person   *string
			From, To time.Time
		}
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatalf("oncall: %d %s", rec.Code, rec.Body)
	}
	var line []string
	for _, s := range got.Timeline {
		who := "nobody"
		if s.Person != nil {
			who = *s.Person
		}
		line = append(line, who+" "+s.From.UTC().Format("01-02T15:04")+"–"+s.To.UTC().Format("01-02T15:04"))
	}
	want := []string{"ben 03-10T12:00–03-10T17:00", "ana 03-10T17:00–03-10T19:00", "ben 03-10T19:00–03-11T09:30", "ana 03-11T09:30–03-11T12:00"}
	if len(line) != len(want) {
		t.Fatalf("timeline %q, want %q", line, want)
	}
	for i := range want {
		if line[i] != want[i] {
			t.Fatalf("timeline %q, want %q", line, want)
		}
	}

	for path, code := range map[string]int{
		"/api/v1/schedules/secondary/oncall":      http.StatusNotFound,
		"/api/v1/schedules/primary/oncall?at=x":   http.StatusBadRequest,
		"/api/v1/schedules/primary/oncall?days=0": http.StatusBadRequest,
		// A timeline past year 9999 could not be written as RFC 3339.
		"/api/v1/schedules/primary/oncall?at=9999-12-31T23:59:59Z": http.StatusBadRequest,
	} {
		if rec := h.API(http.MethodGet, path, nil); rec.Code != code {
			t.Errorf("%s: %d %s, want %d", path, rec.Code, rec.Body, code)
		}
	}
}

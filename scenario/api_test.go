package scenario

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/escalation"
)

// The incidents API: list, read with timeline, acknowledge and resolve, and
// every way to get it wrong.
func TestIncidentsAPI(t *testing.T) {
	h := newHarness(t, team, "2025-06-02T09:00:00Z")
	h.Webhook("prometheus", alertmanager("firing", "A", "00000000000000a1", "error", "api errors"))
	h.Webhook("prometheus", alertmanager("firing", "B", "00000000000000b1", "error", "queue backlog"))

	rec := h.API(http.MethodGet, "/api/v1/incidents?status=triggered", nil)
	var list struct{ Incidents []escalation.Incident }
	if err := json.Unmarshal(rec.Body.Bytes(), &list); err != nil || rec.Code != http.StatusOK {
		t.Fatalf("list: %d %s", rec.Code, rec.Body)
	}
	if len(list.Incidents) != 2 || list.Incidents[0].ID != 2 {
		t.Fatalf("list newest first: %+v", list.Incidents)
	}

	if rec := h.API(http.MethodPost, "/api/v1/incidents/1/ack", map[string]string{"as": "alice", "note": "db failover under way"}); rec.Code != http.StatusOK {
		t.Fatalf("ack: %d %s", rec.Code, rec.Body)
	}
	rec = h.API(http.MethodGet, "/api/v1/incidents/1", nil)
	var one struct {
		Incident escalation.Incident
		Timeline []escalation.Event
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &one); err != nil {
		t.Fatal(err)
	}
	last := one.Timeline[len(one.Timeline)-1]
	if one.Incident.Status != escalation.StatusAcknowledged || one.Incident.AcknowledgedBy != "alice" {
		t.Fatalf("incident after ack: %+v", one.Incident)
	}
	if last.Kind != escalation.EventAcknowledged || last.Actor != "alice" || last.Via != "api" {
		// Cancelled pages may follow the ack; find it.
		found := false
		for _, ev := range one.Timeline {
			found = found || ev.Kind == escalation.EventAcknowledged && ev.Actor == "alice" && ev.Via == "api"
		}
		if !found {
			t.Fatalf("timeline has no ack by alice via api: %+v", one.Timeline)
		}
	}
	// The note sent with the ack is on the timeline, by alice.
	noted := false
	for _, ev := range one.Timeline {
		noted = noted || ev.Kind == escalation.EventNote && ev.Actor == "alice" && ev.Message == "db failover under way"
	}
	if !noted {
		t.Fatalf("the ack's note is not on the timeline: %+v", one.Timeline)
	}
	// Acting as no one in particular records the token's name.
	if rec := h.API(http.MethodPost, "/api/v1/incidents/2/resolve", nil); rec.Code != http.StatusOK {
		t.Fatalf("resolve: %d %s", rec.Code, rec.Body)
	}
	if inc := h.ExpectStatus(2, escalation.StatusResolved); inc.ResolvedBy != "scenario" {
		t.Fatalf("resolved by %q", inc.ResolvedBy)
	}

	bad := []struct {
		name, method, path, token string
		body                      string
		code                      int
		msg                       string
	}{
		{"no token", "GET", "/api/v1/incidents", "", "", 401, "missing bearer token"},
		{"wrong token", "GET", "/api/v1/incidents", "nope", "", 401, "invalid API token"},
		{"unknown incident", "POST", "/api/v1/incidents/99/ack", apiToken, "", 404, "incident #99 does not exist"},
		{"not a number", "GET", "/api/v1/incidents/abc", apiToken, "", 400, `incident ID "abc" is not a positive number`},
		{"bad status filter", "GET", "/api/v1/incidents?status=open", apiToken, "", 400, `status "open"`},
		{"unknown person", "POST", "/api/v1/incidents/1/resolve", apiToken, `{"as":"mallory"}`, 403, `unknown person "mallory"`},
		{"malformed body", "POST", "/api/v1/incidents/1/resolve", apiToken, `{"as":`, 400, "request body"},
		{"unknown field", "POST", "/api/v1/incidents/1/resolve", apiToken, `{"who":"alice"}`, 400, "unknown field"},
		{"ack with a note too long", "POST", "/api/v1/incidents/2/ack", apiToken, `{"note":"` + strings.Repeat("n", 2001) + `"}`, 400, "a note is 1 to 2000 characters"},
		{"garbage after the body", "POST", "/api/v1/incidents/1/priority", apiToken, `{"priority":"P0"} this is not json`, 400, "unexpected data after the JSON value, which ends at offset 17"},
		{"a second body after the first", "POST", "/api/v1/incidents/1/resolve", apiToken, `{"as":"alice"}{"as":"mallory"`, 400, "unexpected data after the JSON value"},
		{"double ack", "POST", "/api/v1/incidents/1/ack", apiToken, "", 409, "already acknowledged by alice"},
		{"resolve resolved", "POST", "/api/v1/incidents/2/resolve", apiToken, "", 409, "already resolved"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			hdr := http.Header{}
			if tt.token != "" {
				hdr.Set("Authorization", "Bearer "+tt.token)
			}
			rec := h.Request(tt.method, tt.path, hdr, []byte(tt.body))
			var e struct{ Error string }
			_ = json.Unmarshal(rec.Body.Bytes(), &e)
			if rec.Code != tt.code || !strings.Contains(e.Error, tt.msg) {
				t.Fatalf("%s %s: %d %s, want %d containing %q", tt.method, tt.path, rec.Code, rec.Body, tt.code, tt.msg)
			}
		})
	}
	// The bodies refused changed nothing: still acknowledged by alice, at
	// the priority its error alert gave it.
	if inc := h.ExpectStatus(1, escalation.StatusAcknowledged); inc.Priority != escalation.P2 {
		t.Fatalf("incident 1 is %s after refused requests", inc.Priority)
	}
	h.ExpectStatus(1, escalation.StatusAcknowledged)
}

// Bad webhooks are answered precisely and leave no trace: no incident, no
// page.
func TestBadWebhooksChangeNothing(t *testing.T) {
	h := newHarness(t, team, "2025-06-02T09:00:00Z")
	good := alertmanager("firing", "A", "00000000000000a1", "error", "api errors")
	auth := http.Header{"Authorization": {"Bearer prometheus-token-0123456789"}}
	tests := []struct {
		name   string
		path   string
		header http.Header
		body   []byte
		code   int
		want   string // in the error, when set
	}{
		{"malformed JSON", "/hooks/prometheus", auth, []byte(`{"version":"4","alerts":[`), 400, ""},
		{"missing status", "/hooks/prometheus", auth, []byte(`{"version":"4","alerts":[{"labels":{"a":"b"}}]}`), 400, ""},
		{"wrong token", "/hooks/prometheus", http.Header{"Authorization": {"Bearer batch-token-0123456789abcdef"}}, good, 401, ""},
		{"missing token", "/hooks/prometheus", nil, good, 401, ""},
		{"unknown integration", "/hooks/nagios", auth, good, 404, ""},
		{"token in URL, wrong", "/hooks/prometheus/not-the-token", nil, good, 401, ""},
		{"oversized", "/hooks/prometheus", auth, append(append([]byte(`{"version":"4","x":"`), strings.Repeat("x", 1<<20)...), `"}`...), 413, ""},
		// Beside a good alert, one whose key no index could hold: the whole
		// delivery is refused, not accepted and then lost.
		{"fingerprint of 33,000 bytes", "/hooks/prometheus", auth, bytes.Replace(twoAlerts(t, good), []byte("00000000000000b2"), bytes.Repeat([]byte("f"), 33000), 1), 400,
			"alerts[1]: dedup key is 33000 bytes, at most 4096"},
		{"groupKey of 40,000 bytes", "/hooks/prometheus", auth, bytes.Replace(good, []byte(`"groupKey":"`), []byte(`"groupKey":"`+strings.Repeat("g", 40000)), 1), 400,
			"alerts[0]: group key is 40018 bytes, at most 4096"},
		{"pagerduty invalid event", "/v2/enqueue", nil, []byte(`{"routing_key":"e93facc04764012d7bfb002500d5d1a6","event_action":"trigger","payload":{}}`), 400, ""},
		{"pagerduty unknown routing key", "/v2/enqueue", nil, []byte(`{"routing_key":"nope","event_action":"trigger","payload":{"summary":"s","source":"x","severity":"error"}}`), 400, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := h.Request(http.MethodPost, tt.path, tt.header, tt.body)
			if rec.Code != tt.code {
				t.Fatalf("%d %s, want %d", rec.Code, rec.Body, tt.code)
			}
			if !strings.Contains(rec.Body.String(), "error") || !strings.Contains(rec.Body.String(), tt.want) {
				t.Fatalf("error message: %s", rec.Body)
			}
		})
	}
	h.Advance(time.Hour)
	if incs, _ := h.eng.Incidents(t.Context(), "", 0); len(incs) != 0 {
		t.Fatalf("bad input created %d incidents", len(incs))
	}
	h.ExpectNoPages()
	// The same alert, properly sent, works.
	if rec := h.Request(http.MethodPost, "/hooks/prometheus/prometheus-token-0123456789", nil, good); rec.Code != http.StatusOK {
		t.Fatalf("good webhook with URL token: %d %s", rec.Code, rec.Body)
	}
	h.ExpectPages("10:00 bikram sms")
}

// twoAlerts is an Alertmanager webhook with one alert and a copy of it
// whose fingerprint is 00000000000000b2.
func twoAlerts(t *testing.T, webhook []byte) []byte {
	t.Helper()
	var msg map[string]any
	if err := json.Unmarshal(webhook, &msg); err != nil {
		t.Fatal(err)
	}
	alerts := msg["alerts"].([]any)
	second := maps.Clone(alerts[0].(map[string]any))
	second["fingerprint"] = "00000000000000b2"
	msg["alerts"] = append(alerts, second)
	b, err := json.Marshal(msg)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// People reply by SMS the way they do half asleep.
func TestSMSReplies(t *testing.T) {
	h := newHarness(t, team, "2025-06-02T09:00:00Z")
	if reply := h.SMS("bikram", "ack"); !strings.Contains(reply, "not been paged") {
		t.Fatalf("ack with nothing paged: %q", reply)
	}
	h.Webhook("prometheus", alertmanager("firing", "A", "00000000000000a1", "error", "api errors"))
	h.Webhook("prometheus", alertmanager("firing", "B", "00000000000000b1", "error", "queue backlog"))
	if reply := h.SMS("bikram", "ack"); !strings.Contains(reply, "Acknowledged #2") {
		t.Fatalf("bare ack acknowledges the latest page: %q", reply)
	}
	if reply := h.SMS("bikram", "ack 2"); !strings.Contains(reply, "already acknowledged by bikram") {
		t.Fatalf("second ack: %q", reply)
	}
	if reply := h.SMS("bikram", "reboot it"); !strings.Contains(reply, `unknown command "reboot"`) {
		t.Fatalf("garbage: %q", reply)
	}
	if reply := h.SMS("alice", "ack all"); !strings.Contains(reply, "Acknowledged 1 incident") {
		t.Fatalf("ack all: %q", reply)
	}
	if reply := h.SMS("alice", "R1 failover done"); !strings.Contains(reply, "Resolved #1") {
		t.Fatalf("resolve: %q", reply)
	}
	if reply := h.SMS("alice", "ack 7"); !strings.Contains(reply, "incident #7 does not exist") {
		t.Fatalf("unknown incident: %q", reply)
	}
}

func TestIncidentsListLimit(t *testing.T) {
	h := newHarness(t, team, "2025-06-02T09:00:00Z")
	for i := range 3 {
		h.Webhook("prometheus", alertmanager("firing", fmt.Sprint("A", i), fmt.Sprintf("%016x", i+1), "warning", "a"))
	}
	rec := h.API(http.MethodGet, "/api/v1/incidents?limit=2", nil)
	var list struct{ Incidents []escalation.Incident }
	if err := json.Unmarshal(rec.Body.Bytes(), &list); err != nil || len(list.Incidents) != 2 || list.Incidents[0].ID != 3 {
		t.Fatalf("limit=2: %d %s", rec.Code, rec.Body)
	}
	if rec := h.API(http.MethodGet, "/api/v1/incidents?limit=0", nil); rec.Code != http.StatusBadRequest {
		t.Fatalf("limit=0: %d", rec.Code)
	}
}

func TestPublicUpdatesThroughTheAPI(t *testing.T) {
	h := newHarness(t, team, "2026-03-02T01:00:00Z")
	h.Webhook("prometheus", alertmanager("firing", "DiskFull", "fp1", "error", "disk full on db-1"))
	for _, tc := range []struct {
		body any
		code int
		want string
	}{
		{map[string]any{"status": "investigating", "message": "Looking into it"}, http.StatusBadRequest, "needs a public title"},
		{map[string]any{"status": "down", "message": "x", "title": "y"}, http.StatusBadRequest, "want investigating"},
		{map[string]any{"status": "investigating", "message": "x", "title": "y", "labels": "z"}, http.StatusBadRequest, "unknown field"},
		{map[string]any{"status": "investigating", "message": "Some pages are slow.", "title": "Slow pages", "as": "mallory"}, http.StatusForbidden, "only people in the config"},
		{map[string]any{"status": "investigating", "message": "Some pages are slow.", "title": "Slow pages", "as": "alice"}, http.StatusCreated, `"title":"Slow pages"`},
		{map[string]any{"status": "resolved", "message": "Fixed."}, http.StatusCreated, `"status":"resolved"`},
	} {
		rec := h.API(http.MethodPost, "/api/v1/incidents/1/updates", tc.body)
		if rec.Code != tc.code || !strings.Contains(rec.Body.String(), tc.want) {
			t.Fatalf("%v: %d %s, want %d with %q", tc.body, rec.Code, rec.Body, tc.code, tc.want)
		}
	}
	if rec := h.API(http.MethodPost, "/api/v1/incidents/9/updates", map[string]any{"status": "resolved", "message": "x", "title": "y"}); rec.Code != http.StatusNotFound {
		t.Fatalf("unknown incident: %d", rec.Code)
	}
}

// The storage outage, from a script: two incidents merged into one, then
// raised to P0, which pages the louder policy at once.
func TestMergeAndPriorityThroughTheAPI(t *testing.T) {
	h := newHarness(t, team, "2026-03-02T01:00:00Z")
	h.Webhook("prometheus", alertmanager("firing", "KVDown", "fp-kv", "error", "workers-kv errors"))
	h.Webhook("prometheus", alertmanager("firing", "AccessDown", "fp-access", "error", "access 5xx"))
	h.ExpectPages("01:00 bikram sms", "01:00 bikram sms")
	for _, tc := range []struct {
		path string
		body any
		code int
		want string
	}{
		{"/api/v1/incidents/2/merge", map[string]any{}, http.StatusBadRequest, "is required: the incident to merge into"},
		{"/api/v1/incidents/2/merge", map[string]any{"into": 2}, http.StatusBadRequest, "into itself"},
		{"/api/v1/incidents/2/merge", map[string]any{"into": 9}, http.StatusNotFound, "incident #9 does not exist"},
		{"/api/v1/incidents/2/merge", map[string]any{"into": 1, "as": "alice"}, http.StatusOK, `"id":1`},
		{"/api/v1/incidents/2/merge", map[string]any{"into": 1}, http.StatusConflict, "already merged into #1"},
		{"/api/v1/incidents/1/priority", map[string]any{"priority": "urgent"}, http.StatusBadRequest, "want one of P0"},
		{"/api/v1/incidents/1/priority", map[string]any{"priority": "P0", "as": "alice"}, http.StatusOK, `"policy":"urgent"`},
	} {
		rec := h.API(http.MethodPost, tc.path, tc.body)
		if rec.Code != tc.code || !strings.Contains(rec.Body.String(), tc.want) {
			t.Fatalf("%s %v: %d %s, want %d with %q", tc.path, tc.body, rec.Code, rec.Body, tc.code, tc.want)
		}
	}
	h.ExpectPages("01:00 alice sms") // the urgent policy's first level, at once
	h.ExpectStatus(2, escalation.StatusResolved)
}

// Three incidents turn out to share a cause: #1 is merged into #2, and #2
// into #3. #1's alert firing anew joins #3, where its incident's alerts
// went, rather than opening and paging a fourth incident.
func TestAMergeChainIsFollowed(t *testing.T) {
	h := newHarness(t, team, "2026-03-02T01:00:00Z")
	for _, name := range []string{"AX", "AY", "AZ"} {
		h.Webhook("prometheus", alertmanager("firing", name, "fp-"+name, "error", name+" down"))
	}
	h.ExpectPages("01:00 bikram sms", "01:00 bikram sms", "01:00 bikram sms")
	for _, m := range [][2]int{{1, 2}, {2, 3}} {
		if rec := h.API(http.MethodPost, fmt.Sprintf("/api/v1/incidents/%d/merge", m[0]), map[string]any{"into": m[1], "as": "alice"}); rec.Code != http.StatusOK {
			t.Fatalf("merge %d into %d: %d %s", m[0], m[1], rec.Code, rec.Body)
		}
	}
	// Merging #1 again is refused, naming where its alerts are now.
	if rec := h.API(http.MethodPost, "/api/v1/incidents/1/merge", map[string]any{"into": 3, "as": "alice"}); rec.Code != http.StatusConflict ||
		!strings.Contains(rec.Body.String(), "already merged into #3") {
		t.Fatalf("merge #1 again: %d %s", rec.Code, rec.Body)
	}
	h.Webhook("prometheus", alertmanager("firing", "AX", "fp-AX2", "error", "AX down again"))
	if _, _, err := h.eng.Incident(t.Context(), 4); err == nil {
		t.Fatal("AX's alert opened incident #4")
	}
	if inc := h.ExpectStatus(3, escalation.StatusTriggered); inc.Alerts != 4 {
		t.Fatalf("#3 holds %d alerts, want 4", inc.Alerts)
	}
	h.ExpectNoPages()
}

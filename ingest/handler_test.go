package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/klaxonhq/klaxon/escalation"
)

const (
	promToken = "prom-secret-token-0123456789"
	grafToken = "grafana-secret-token-42"
	pdKey     = "e93facc04764012d7bfb002500d5d1a6" // routing key of the trigger fixtures
	pdDocsKey = "routingkeyhere"                   // routing key of the ack/resolve fixtures
	kumaToken = "kuma-secret-token-7"
	ddToken   = "datadog-secret-token-8"
	ogKey     = "eb243592-faa2-4ba2-a551-1afdf565c889"
	ogKey2    = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
	oldToken  = "nagios-secret-token-9"
)

type ingestCall struct {
	integration string
	alerts      []escalation.Alert
}

// fakeIngester records calls and answers with res or err.
type fakeIngester struct {
	mu    sync.Mutex
	calls []ingestCall
	res   escalation.IngestResult
	err   error
}

func (f *fakeIngester) Ingest(_ context.Context, integration string, alerts []escalation.Alert) (escalation.IngestResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, ingestCall{integration, alerts})
	return f.res, f.err
}

func (f *fakeIngester) recorded() []ingestCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

type testServer struct {
	mux *http.ServeMux
	ing *fakeIngester
}

// newTestServer serves test integrations with a body limit, and checks at
// the end of the test that no token reached the log.
func newTestServer(t *testing.T, maxBody int64) *testServer {
	t.Helper()
	integrations := map[string]*escalation.Integration{
		"prom":    {Name: "prom", Service: "checkout", Format: FormatAlertmanager, Token: promToken},
		"grafana": {Name: "grafana", Service: "checkout", Format: "grafana", Token: grafToken},
		"pd":      {Name: "pd", Service: "db", Format: FormatPagerDuty, Token: pdKey},
		"pd-docs": {Name: "pd-docs", Service: "db", Format: FormatPagerDuty, Token: pdDocsKey},
		"kuma":    {Name: "kuma", Service: "checkout", Format: FormatUptimeKuma, Token: kumaToken},
		"dd":      {Name: "dd", Service: "checkout", Format: FormatDatadog, Token: ddToken},
		"og":      {Name: "og", Service: "db", Format: FormatOpsgenie, Token: ogKey},
		"og-b":    {Name: "og-b", Service: "db", Format: FormatOpsgenie, Token: ogKey2},
		"og-c":    {Name: "og-c", Service: "checkout", Format: FormatOpsgenie, Token: ogKey2},
		"nagios":  {Name: "nagios", Service: "checkout", Format: "nagios", Token: oldToken},
	}
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ing := &fakeIngester{res: escalation.IngestResult{Incidents: []int64{7}, Created: 1}}
	mux := http.NewServeMux()
	NewHandler(integrations, ing, log, maxBody).Register(mux)
	t.Cleanup(func() {
		for _, tok := range []string{promToken, grafToken, pdKey, pdDocsKey, kumaToken, ddToken, ogKey, ogKey2, oldToken} {
			if strings.Contains(logs.String(), tok) {
				t.Errorf("log contains a token:\n%s", logs.String())
			}
		}
	})
	return &testServer{mux: mux, ing: ing}
}

func (s *testServer) post(path string, body []byte, header ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	s.mux.ServeHTTP(rec, req)
	return rec
}

func decodeMap(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("body %q: %v", b, err)
	}
	return m
}

func bearer(tok string) []string { return []string{"Authorization", "Bearer " + tok} }

func TestHooksAccept(t *testing.T) {
	tests := []struct {
		name, path, fixture string
		header              []string
		states              []escalation.AlertState
		truncated           float64
	}{
		{"bearer token", "/hooks/prom", "alertmanager_v4_firing.json", bearer(promToken),
			[]escalation.AlertState{escalation.AlertFiring}, 0},
		{"lowercase bearer", "/hooks/prom", "alertmanager_v4_resolved.json", []string{"Authorization", "bearer " + promToken},
			[]escalation.AlertState{escalation.AlertResolved}, 0},
		{"URL token", "/hooks/prom/" + promToken, "alertmanager_v0.34_partial_resolved.wire.json", nil,
			[]escalation.AlertState{escalation.AlertResolved, escalation.AlertFiring}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTestServer(t, 0)
			rec := s.post(tt.path, readFile(t, "testdata/"+tt.fixture), tt.header...)
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			got := decodeMap(t, rec.Body.Bytes())
			want := map[string]any{"status": "ok", "incidents": []any{7.0}, "created": 1.0, "reopened": 0.0,
				"updated": 0.0, "unchanged": 0.0, "ignored": 0.0}
			if tt.truncated > 0 {
				want["truncated_alerts"] = tt.truncated
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("body %v, want %v", got, want)
			}
			calls := s.ing.recorded()
			if len(calls) != 1 || calls[0].integration != "prom" {
				t.Fatalf("calls %+v", calls)
			}
			var states []escalation.AlertState
			for _, a := range calls[0].alerts {
				states = append(states, a.State)
			}
			if !slices.Equal(states, tt.states) {
				t.Errorf("states %v, want %v", states, tt.states)
			}
		})
	}
}

func TestHooksReject(t *testing.T) {
	firing := readFile(t, "testdata/alertmanager_v4_firing.json")
	tests := []struct {
		name, path string
		header     []string
		body       []byte
		status     int
		want       string // exact body, or a substring of the "error"
	}{
		{"unknown integration", "/hooks/nope", bearer(promToken), firing, 404, `{"error":"unknown integration \"nope\""}` + "\n"},
		{"unknown integration, URL token", "/hooks/nope/" + promToken, nil, firing, 404, `unknown integration "nope"`},
		{"missing token", "/hooks/prom", nil, firing, 401,
			`{"error":"missing bearer token: send Authorization: Bearer <token>, or post to /hooks/<integration>/<token>"}` + "\n"},
		{"basic auth is not bearer", "/hooks/prom", []string{"Authorization", "Basic cHJvbTpzZWNyZXQ="}, firing, 401, "missing bearer token"},
		{"wrong token", "/hooks/prom", bearer("guess"), firing, 401, `{"error":"invalid token for integration \"prom\""}` + "\n"},
		{"wrong URL token", "/hooks/prom/guess", nil, firing, 401, "invalid token"},
		{"another integration's token", "/hooks/prom", bearer(pdKey), firing, 401, "invalid token"},
		{"pagerduty integration", "/hooks/pd", bearer(pdKey), firing, 400, "POST /v2/enqueue"},
		{"format not served at /hooks", "/hooks/nagios/" + oldToken, nil, firing, 400, `has format "nagios", which /hooks does not accept`},
		{"opsgenie integration", "/hooks/og", bearer(ogKey), firing, 400, "POST /v2/alerts"},
		{"Alertmanager payload to grafana", "/hooks/grafana", bearer(grafToken), firing, 400, "give the integration format alertmanager"},
		{"Kuma body without heartbeat or msg", "/hooks/kuma", bearer(kumaToken), []byte(`{}`), 400, "heartbeat: required"},
		{"Datadog template never rendered", "/hooks/dd", bearer(ddToken),
			readFile(t, "testdata/datadog_webhook_default_template.constructed.json"), 400, "transition: required"},
		{"body over limit", "/hooks/prom", bearer(promToken), bytes.Repeat([]byte(" "), 2049), 413, "larger than 2048 bytes"},
		{"malformed JSON", "/hooks/prom", bearer(promToken), []byte(`{"version":"4",`), 400, "malformed JSON at offset 15"},
		{"not Alertmanager", "/hooks/prom", bearer(promToken), readFile(t, "testdata/pagerduty_events_v2_trigger.json"), 400, `version: got ""`},
		{"missing field", "/hooks/prom", bearer(promToken), []byte(amBody(`{"labels":{"alertname":"A"}}`)), 400, "alerts[0].status: required"},
		{"no alerts", "/hooks/prom", bearer(promToken), []byte(`{"version":"4","alerts":[]}`), 400, "alerts: required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTestServer(t, 2048)
			rec := s.post(tt.path, tt.body, tt.header...)
			if rec.Code != tt.status {
				t.Errorf("status %d, want %d: %s", rec.Code, tt.status, rec.Body)
			}
			if strings.HasPrefix(tt.want, "{") {
				if rec.Body.String() != tt.want {
					t.Errorf("body %q, want %q", rec.Body, tt.want)
				}
			} else if msg, _ := decodeMap(t, rec.Body.Bytes())["error"].(string); !strings.Contains(msg, tt.want) {
				t.Errorf("error %q does not mention %q", msg, tt.want)
			}
			if tt.status == 401 && rec.Header().Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
			if calls := s.ing.recorded(); len(calls) != 0 {
				t.Errorf("Ingest called: %+v", calls)
			}
		})
	}
}

func TestHooksMethodNotAllowed(t *testing.T) {
	s := newTestServer(t, 0)
	for _, path := range []string{"/hooks/prom", "/v2/enqueue"} {
		rec := httptest.NewRecorder()
		s.mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		if rec.Code != http.StatusMethodNotAllowed {
			t.Errorf("GET %s: status %d", path, rec.Code)
		}
	}
}

func TestIngestErrors(t *testing.T) {
	secret := "open /var/lib/klaxon/db: disk full"
	tests := []struct {
		name   string
		err    error
		status int
		want   string
	}{
		{"coded internal", escalation.Errorf(escalation.CodeInternal, "%s", secret), 500, "internal error"},
		{"uncoded", fmt.Errorf("store: %w", errors.New(secret)), 500, "internal error"},
		{"invalid", escalation.Errorf(escalation.CodeInvalid, "alert 1: bad"), 400, "alert 1: bad"},
	}
	for _, tt := range tests {
		for _, route := range []string{"hooks", "enqueue"} {
			t.Run(tt.name+" "+route, func(t *testing.T) {
				s := newTestServer(t, 0)
				s.ing.err = tt.err
				var rec *httptest.ResponseRecorder
				if route == "hooks" {
					// URL-token form: the path (with the token) must not reach the log.
					rec = s.post("/hooks/prom/"+promToken, readFile(t, "testdata/alertmanager_v4_firing.json"))
				} else {
					rec = s.post("/v2/enqueue", readFile(t, "testdata/pagerduty_events_v2_trigger.json"))
				}
				if rec.Code != tt.status {
					t.Errorf("status %d, want %d", rec.Code, tt.status)
				}
				if got := decodeMap(t, rec.Body.Bytes())["error"]; got != tt.want {
					t.Errorf("error %q, want %q", got, tt.want)
				}
				if len(s.ing.recorded()) != 1 {
					t.Errorf("Ingest called %d times", len(s.ing.recorded()))
				}
			})
		}
	}
}

func TestEnqueueAccept(t *testing.T) {
	tests := []struct {
		fixture, integration string
		state                escalation.AlertState
		dedup                string
	}{
		{"pagerduty_events_v2_trigger.json", "pd", escalation.AlertFiring, "srv01/mysql"},
		{"pagerduty_events_v2_trigger_docs.json", "", "", ""}, // routing key "samplekeyhere" is unknown
		{"pagerduty_events_v2_acknowledge.json", "pd-docs", escalation.AlertAcknowledged, "dedupkeyhere"},
		{"pagerduty_events_v2_resolve.json", "pd-docs", escalation.AlertResolved, "dedupkeyhere"},
	}
	shape := slices.Sorted(maps.Keys(decodeMap(t, readFile(t, "testdata/pagerduty_events_v2_response_202.json"))))
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			s := newTestServer(t, 0)
			rec := s.post("/v2/enqueue", readFile(t, "testdata/"+tt.fixture))
			calls := s.ing.recorded()
			if tt.integration == "" {
				if rec.Code != http.StatusBadRequest || len(calls) != 0 {
					t.Errorf("unknown routing key: status %d, %d calls", rec.Code, len(calls))
				}
				return
			}
			if rec.Code != http.StatusAccepted {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			want := `{"status":"success","message":"Event processed","dedup_key":"` + tt.dedup + `"}` + "\n"
			if rec.Body.String() != want {
				t.Errorf("body %q, want %q", rec.Body, want)
			}
			if got := slices.Sorted(maps.Keys(decodeMap(t, rec.Body.Bytes()))); !slices.Equal(got, shape) {
				t.Errorf("keys %v, PagerDuty's are %v", got, shape)
			}
			if len(calls) != 1 || calls[0].integration != tt.integration || len(calls[0].alerts) != 1 {
				t.Fatalf("calls %+v", calls)
			}
			if a := calls[0].alerts[0]; a.State != tt.state || a.DedupKey != tt.dedup {
				t.Errorf("alert state %s dedup %q, want %s %q", a.State, a.DedupKey, tt.state, tt.dedup)
			}
		})
	}
}

func TestEnqueueGeneratedDedupKey(t *testing.T) {
	s := newTestServer(t, 0)
	rec := s.post("/v2/enqueue", []byte(`{"routing_key":"`+pdKey+`","event_action":"trigger",
		"payload":{"summary":"s","source":"h","severity":"error"}}`))
	if rec.Code != http.StatusAccepted {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	key, _ := decodeMap(t, rec.Body.Bytes())["dedup_key"].(string)
	if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(key) {
		t.Errorf("dedup_key %q", key)
	}
	if calls := s.ing.recorded(); len(calls) != 1 || calls[0].alerts[0].DedupKey != key {
		t.Errorf("Ingest got %+v, reply says %q", calls, key)
	}
}

func TestEnqueueReject(t *testing.T) {
	valid := func(key string) []byte {
		return []byte(`{"routing_key":"` + key + `","event_action":"resolve","dedup_key":"d"}`)
	}
	invalidShape := slices.Sorted(maps.Keys(decodeMap(t, readFile(t, "testdata/pagerduty_events_v2_response_400.json"))))
	tests := []struct {
		name   string
		body   []byte
		status int
		want   map[string]any // nil: only the status is checked
	}{
		{"malformed JSON", []byte(`{"routing_key":`), 400,
			decodeMap(t, readFile(t, "testdata/pagerduty_events_v2_response_error_example.json"))},
		{"not an object", []byte(`[]`), 400,
			decodeMap(t, readFile(t, "testdata/pagerduty_events_v2_response_error_example.json"))},
		{"invalid event", []byte(`{"routing_key":"` + pdKey + `","event_action":"trigger","payload":{"severity":"bad"}}`), 400,
			map[string]any{"status": "invalid event", "message": "Event object is invalid", "errors": []any{
				"payload.summary is required", "payload.source is required",
				"payload.severity must be one of critical, error, warning, info"}}},
		{"missing routing key", []byte(`{"event_action":"resolve","dedup_key":"d"}`), 400,
			map[string]any{"status": "invalid event", "message": "Event object is invalid", "errors": []any{"routing_key is required"}}},
		{"unknown routing key", valid("0123456789abcdef0123456789abcdef"), 400,
			map[string]any{"status": "invalid event", "message": "Event object is invalid", "errors": []any{"Invalid routing key"}}},
		{"token of a non-PagerDuty integration", valid(promToken), 400,
			map[string]any{"status": "invalid event", "message": "Event object is invalid", "errors": []any{"Invalid routing key"}}},
		{"body over limit", append(valid(pdKey), bytes.Repeat([]byte(" "), 2048)...), 413, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTestServer(t, 2048)
			rec := s.post("/v2/enqueue", tt.body)
			if rec.Code != tt.status {
				t.Errorf("status %d, want %d: %s", rec.Code, tt.status, rec.Body)
			}
			if tt.want != nil {
				got := decodeMap(t, rec.Body.Bytes())
				if fmt.Sprint(got) != fmt.Sprint(tt.want) {
					t.Errorf("body %v, want %v", got, tt.want)
				}
				if keys := slices.Sorted(maps.Keys(got)); !slices.Equal(keys, invalidShape) {
					t.Errorf("keys %v, PagerDuty's are %v", keys, invalidShape)
				}
			}
			if calls := s.ing.recorded(); len(calls) != 0 {
				t.Errorf("Ingest called: %+v", calls)
			}
		})
	}
}

func TestNewHandlerDefaults(t *testing.T) {
	ing := &fakeIngester{}
	mux := http.NewServeMux()
	NewHandler(map[string]*escalation.Integration{
		"prom": {Name: "prom", Format: FormatAlertmanager, Token: promToken},
	}, ing, nil, 0).Register(mux)
	req := httptest.NewRequest(http.MethodPost, "/hooks/prom", bytes.NewReader(readFile(t, "testdata/alertmanager_v4_firing.json")))
	req.Header.Set("Authorization", "Bearer "+promToken)
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || len(ing.recorded()) != 1 {
		t.Errorf("status %d, %d calls", rec.Code, len(ing.recorded()))
	}
}

func TestHooksAcceptNewFormats(t *testing.T) {
	tests := []struct {
		integration, token, fixture string
		state                       escalation.AlertState
	}{
		{"grafana", grafToken, "grafana_v11_firing_values.json", escalation.AlertFiring},
		{"grafana", grafToken, "grafana_resolved.json", escalation.AlertResolved},
		{"kuma", kumaToken, "uptime_kuma_down.json", escalation.AlertFiring},
		{"kuma", kumaToken, "uptime_kuma_up.json", escalation.AlertResolved},
		{"dd", ddToken, "datadog_webhook_default_rendered.json", escalation.AlertFiring},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			s := newTestServer(t, 0)
			rec := s.post("/hooks/"+tt.integration, readFile(t, "testdata/"+tt.fixture), bearer(tt.token)...)
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			calls := s.ing.recorded()
			if len(calls) != 1 || calls[0].integration != tt.integration || len(calls[0].alerts) != 1 {
				t.Fatalf("calls %+v", calls)
			}
			if a := calls[0].alerts[0]; a.State != tt.state || a.DedupKey == "" {
				t.Errorf("alert state %s dedup %q, want %s", a.State, a.DedupKey, tt.state)
			}
		})
	}
}

func TestKumaTestButtonOpensNothing(t *testing.T) {
	s := newTestServer(t, 0)
	rec := s.post("/hooks/kuma/"+kumaToken, readFile(t, "testdata/uptime_kuma_test_notification.json"))
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	got := decodeMap(t, rec.Body.Bytes())
	if got["status"] != "ok" || fmt.Sprint(got["incidents"]) != "[]" || !strings.Contains(fmt.Sprint(got["note"]), "Test button") {
		t.Errorf("body %v", got)
	}
	if calls := s.ing.recorded(); len(calls) != 0 {
		t.Errorf("Ingest called: %+v", calls)
	}
}

func TestKumaPendingAndMaintenanceOpenNothing(t *testing.T) {
	for _, status := range []string{"2", "3"} {
		s := newTestServer(t, 0)
		body := strings.Replace(string(readFile(t, "testdata/uptime_kuma_down.json")), `"status":0`, `"status":`+status, 1)
		rec := s.post("/hooks/kuma", []byte(body), bearer(kumaToken)...)
		if rec.Code != http.StatusOK || len(s.ing.recorded()) != 0 {
			t.Errorf("status %s: answered %d, %d Ingest calls", status, rec.Code, len(s.ing.recorded()))
		}
	}
}

func TestFormatsListsWhatTheHandlerServes(t *testing.T) {
	want := []string{"alertmanager", "datadog", "generic", "grafana", "opsgenie", "pagerduty", "uptime-kuma"}
	if got := Formats(); !slices.Equal(got, want) {
		t.Fatalf("Formats() = %v, want %v", got, want)
	}
	// Every format but the two with their own endpoints gets through /hooks'
	// format check, to its parser.
	for _, format := range Formats() {
		mux := http.NewServeMux()
		NewHandler(map[string]*escalation.Integration{"x": {Name: "x", Format: format, Token: "t"}},
			&fakeIngester{}, nil, 0).Register(mux)
		req := httptest.NewRequest(http.MethodPost, "/hooks/x/t", strings.NewReader(`[]`))
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		msg, _ := decodeMap(t, rec.Body.Bytes())["error"].(string)
		ownEndpoint := format == FormatPagerDuty || format == FormatOpsgenie
		if strings.Contains(msg, "has format") != ownEndpoint {
			t.Errorf("format %s: /hooks answered %d %q", format, rec.Code, msg)
		}
	}
}

// The answer of a queued delivery is written by hand: byte for byte what
// web.JSON writes for it, and declined for any other answer.
func TestTheQueuedAnswerIsWhatEncodingJSONWrites(t *testing.T) {
	queued := func(n, truncated int) hookReply {
		return hookReply{Status: "accepted", IngestResult: escalation.IngestResult{Incidents: []int64{}, Queued: n}, Truncated: truncated}
	}
	for _, r := range []hookReply{queued(1, 0), queued(100, 0), queued(3, 250), queued(0, 0)} {
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(r); err != nil {
			t.Fatal(err)
		}
		got, ok := r.AppendJSON(nil)
		if !ok || string(got) != want.String() {
			t.Errorf("%+v: wrote %q (%v); encoding/json %q", r, got, ok, want.String())
		}
	}
	others := []hookReply{
		{Status: "ok", IngestResult: escalation.IngestResult{Incidents: []int64{}}},
		{Status: "accepted", IngestResult: escalation.IngestResult{Incidents: []int64{4}, Updated: 1}},
		{Status: "accepted", IngestResult: escalation.IngestResult{Queued: 1}}, // nil incidents: null
		{Status: "accepted", IngestResult: escalation.IngestResult{Incidents: []int64{}, Queued: 1, Ignored: 1}},
		{Status: "accepted", IngestResult: escalation.IngestResult{Incidents: []int64{}, Queued: 1}, Note: "test"},
	}
	for _, r := range others {
		if got, ok := r.AppendJSON(nil); ok {
			t.Errorf("%+v: wrote %q; want it left to web.JSON", r, got)
		}
	}
	// A field added to either struct must be written by AppendJSON, or
	// make it decline: its answer would otherwise leave the field out.
	if n, m := reflect.TypeFor[hookReply]().NumField(), reflect.TypeFor[escalation.IngestResult]().NumField(); n != 4 || m != 7 {
		t.Errorf("hookReply has %d fields and IngestResult %d (were 4 and 7): teach AppendJSON the new ones", n, m)
	}
}

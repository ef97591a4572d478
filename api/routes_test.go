package api

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/klaxonhq/klaxon/escalation"
)

const opsToken = "ops-token-0123456789"

// oneIncident is an engine that holds incident #3 and nothing else; the
// routes these tests call need nothing more.
type oneIncident struct{ Engine }

func (oneIncident) Incident(_ context.Context, id int64) (*escalation.Incident, []escalation.Event, error) {
	if id != 3 {
		return nil, nil, escalation.Errorf(escalation.CodeNotFound, "incident #%d does not exist", id)
	}
	return &escalation.Incident{ID: 3, Service: "checkout", Title: "disk full", Status: escalation.StatusTriggered}, nil, nil
}

// server is the API mounted as serve mounts it, beside a route of
// another adapter.
func server(t *testing.T) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	NewHandler(Options{Engine: oneIncident{}, Tokens: []Token{{Name: "ops", Token: opsToken}},
		Logger: slog.New(slog.DiscardHandler)}).Register(mux)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") })
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// reply is what a request got.
type reply struct {
	status      int
	contentType string
	allow       string
	body        string
}

func call(t *testing.T, srv *httptest.Server, method, path, token string) reply {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return reply{resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Allow"), string(b)}
}

// errorOf is the message of the API's error reply, failing the test when
// the body is not one.
func errorOf(t *testing.T, r reply) string {
	t.Helper()
	var e map[string]string
	if !strings.HasPrefix(r.contentType, "application/json") || json.Unmarshal([]byte(r.body), &e) != nil || len(e) != 1 {
		t.Fatalf("%d %s: %q is not the API's JSON error", r.status, r.contentType, r.body)
	}
	return e["error"]
}

// A typo in the path is answered like any other API error: a script that
// parses {"error": ...} reads why.
func TestAnUnknownAPIRouteIsA404InJSON(t *testing.T) {
	srv := server(t)
	for _, path := range []string{"/api/v1/incidnets", "/api/v1/incidents/3/acknowledge", "/api/v1"} {
		r := call(t, srv, http.MethodGet, path, opsToken)
		if msg := errorOf(t, r); r.status != http.StatusNotFound || msg != path+" is not an API route" {
			t.Errorf("GET %s: %d %q", path, r.status, msg)
		}
	}
}

// A method a route does not take keeps ServeMux's 405 and Allow header,
// and says which methods the path takes.
func TestAWrongMethodIsA405InJSONWithAllow(t *testing.T) {
	srv := server(t)
	for _, tc := range []struct{ method, path, allow string }{
		{http.MethodDelete, "/api/v1/incidents/3", "GET, HEAD"},
		{http.MethodGet, "/api/v1/incidents/3/ack", "POST"},
		{http.MethodPut, "/api/v1/silences", "GET, HEAD, POST"},
	} {
		r := call(t, srv, tc.method, tc.path, opsToken)
		msg := errorOf(t, r)
		if r.status != http.StatusMethodNotAllowed || r.allow != tc.allow ||
			msg != tc.method+" is not allowed on "+tc.path+"; it takes "+tc.allow {
			t.Errorf("%s %s: %d Allow %q: %q", tc.method, tc.path, r.status, r.allow, msg)
		}
	}
}

// Routing comes before the token, as it always has: without a token a
// miss is still a 404 or 405 (in JSON now), and a route still a 401.
func TestWithoutATokenAMissIsAMissAndARouteIs401(t *testing.T) {
	srv := server(t)
	r := call(t, srv, http.MethodGet, "/api/v1/incidnets", "")
	if msg := errorOf(t, r); r.status != http.StatusNotFound || msg != "/api/v1/incidnets is not an API route" {
		t.Errorf("unknown route without a token: %d %q", r.status, msg)
	}
	r = call(t, srv, http.MethodDelete, "/api/v1/incidents/3", "")
	if msg := errorOf(t, r); r.status != http.StatusMethodNotAllowed || r.allow != "GET, HEAD" {
		t.Errorf("wrong method without a token: %d Allow %q %q", r.status, r.allow, msg)
	}
	for _, token := range []string{"", "not-the-token"} {
		r := call(t, srv, http.MethodGet, "/api/v1/incidents/3", token)
		if msg := errorOf(t, r); r.status != http.StatusUnauthorized {
			t.Errorf("route with token %q: %d %q", token, r.status, msg)
		}
	}
}

// A route is served as before, with its path values, and paths outside
// /api/v1 keep net/http's answers.
func TestRoutesAndOtherPathsAreUnchanged(t *testing.T) {
	srv := server(t)
	r := call(t, srv, http.MethodGet, "/api/v1/incidents/3", opsToken)
	var got struct {
		Incident escalation.Incident `json:"incident"`
	}
	if err := json.Unmarshal([]byte(r.body), &got); r.status != http.StatusOK || err != nil || got.Incident.ID != 3 {
		t.Errorf("GET /api/v1/incidents/3: %d %s", r.status, r.body)
	}
	if r := call(t, srv, http.MethodGet, "/api/v1/incidents/4", opsToken); r.status != http.StatusNotFound ||
		errorOf(t, r) != "incident #4 does not exist" {
		t.Errorf("GET /api/v1/incidents/4: %d %s", r.status, r.body)
	}
	if r := call(t, srv, http.MethodGet, "/api/v2/nothing", ""); r.status != http.StatusNotFound || r.body != "404 page not found\n" {
		t.Errorf("GET /api/v2/nothing: %d %q", r.status, r.body)
	}
	if r := call(t, srv, http.MethodPost, "/healthz", ""); r.status != http.StatusMethodNotAllowed || r.allow != "GET, HEAD" ||
		r.body != "Method Not Allowed\n" {
		t.Errorf("POST /healthz: %d Allow %q %q", r.status, r.allow, r.body)
	}
}

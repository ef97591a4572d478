package status

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// source hands out a snapshot, or fails.
type source struct {
	mu   sync.Mutex
	snap Snapshot
	err  error
}

func (s *source) Snapshot(context.Context) (Snapshot, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.snap, s.err
}

func (s *source) set(snap Snapshot, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.snap, s.err = snap, err
}

func serve(t *testing.T, src Source, log *slog.Logger) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	NewHandler(src, log).Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func get(t *testing.T, url string, header ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(body)
}

func TestHandlerServesTheFourRenderings(t *testing.T) {
	srv := serve(t, &source{snap: ipv4Outage()}, nil)
	for _, tt := range []struct {
		path, contentType, contains string
	}{
		{"/status", "text/html; charset=utf-8", "<b>Partial outage</b>"},
		{"/status.json", "application/json; charset=utf-8", `"description": "Partial outage"`},
		{"/status/feed.atom", "application/atom+xml; charset=utf-8", "<title>IPv4 traffic failing to reach some services: Identified</title>"},
		{"/api/v2/summary.json", "application/json; charset=utf-8", `"indicator": "major"`},
	} {
		t.Run(tt.path, func(t *testing.T) {
			resp, body := get(t, srv.URL+tt.path)
			if resp.StatusCode != http.StatusOK || !strings.Contains(body, tt.contains) {
				t.Fatalf("%s: %s, body lacks %s", tt.path, resp.Status, tt.contains)
			}
			h := resp.Header
			if h.Get("Content-Type") != tt.contentType || h.Get("Cache-Control") != "public, max-age=30" ||
				h.Get("X-Content-Type-Options") != "nosniff" || h.Get("ETag") == "" {
				t.Errorf("headers %v", h)
			}
			if tt.path == "/status" {
				if csp := h.Get("Content-Security-Policy"); !strings.HasPrefix(csp, "default-src 'none'; style-src 'sha256-") {
					t.Errorf("Content-Security-Policy %q", csp)
				}
			} else if h.Get("Access-Control-Allow-Origin") != "*" {
				t.Error("the public data is not readable by widgets on other sites")
			}

			again, body := get(t, srv.URL+tt.path, "If-None-Match", h.Get("ETag"))
			if again.StatusCode != http.StatusNotModified || body != "" {
				t.Errorf("a revalidation of an unchanged page: %s with %d bytes, want 304", again.Status, len(body))
			}
		})
	}
}

func TestHandlerLinksResolveToItsRoutes(t *testing.T) {
	srv := serve(t, &source{snap: ipv4Outage()}, nil)
	_, page := get(t, srv.URL+"/status")
	for _, href := range []string{`href="status.json"`, `href="status/feed.atom"`, `href="api/v2/summary.json"`} {
		if !strings.Contains(page, href) {
			t.Fatalf("the page lacks %s", href)
		}
		rel := strings.Trim(strings.TrimPrefix(href, "href="), `"`)
		if resp, _ := get(t, srv.URL+"/"+rel); resp.StatusCode != http.StatusOK {
			t.Errorf("%s from /status: %s", rel, resp.Status)
		}
	}
}

func TestHandlerShowsANewSnapshotAtOnce(t *testing.T) {
	src := &source{snap: ipv4Outage()}
	srv := serve(t, src, nil)
	first, _ := get(t, srv.URL+"/status")

	snap := ipv4Outage()
	snap.Incidents[1].Updates = append([]Update{{ID: "8", Status: "monitoring", Message: "A fix is in place.", At: at("2025-07-09T14:10:00Z")}}, snap.Incidents[1].Updates...)
	src.set(snap, nil)
	resp, body := get(t, srv.URL+"/status", "If-None-Match", first.Header.Get("ETag"))
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "A fix is in place.") {
		t.Errorf("after a new update: %s; want the new page, not 304", resp.Status)
	}
}

func TestHandlerWhenTheSnapshotFails(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	src := &source{err: errors.New("store closed")}
	srv := serve(t, src, log)

	resp, body := get(t, srv.URL+"/status")
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("%s, Cache-Control %q; want 503 that no cache keeps", resp.Status, resp.Header.Get("Cache-Control"))
	}
	if strings.Contains(body, "store closed") {
		t.Error("the internal error reached the public")
	}
	if !strings.Contains(logs.String(), "store closed") || !strings.Contains(logs.String(), "path=/status") {
		t.Errorf("the failure was not logged: %s", logs.String())
	}

	// A snapshot the page cannot show is a failure too, not a broken page.
	snap := ipv4Outage()
	snap.Components[0].Status = "on_fire"
	src.set(snap, nil)
	if resp, _ := get(t, srv.URL+"/api/v2/summary.json"); resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("an invalid snapshot: %s, want 503", resp.Status)
	}
}

func TestHandlerAnswersHEADAndRefusesPOST(t *testing.T) {
	srv := serve(t, &source{snap: ipv4Outage()}, nil)
	resp, err := http.Head(srv.URL + "/status")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.ContentLength <= 0 {
		t.Errorf("HEAD /status: %s, length %d", resp.Status, resp.ContentLength)
	}
	resp, err = http.Post(srv.URL+"/status", "text/plain", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /status: %s, want 405", resp.Status)
	}
}

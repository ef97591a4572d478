package ingest

import (
	"bytes"
	"errors"
	"maps"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"testing"

	"github.com/klaxonhq/klaxon/escalation"
)

func genieKey(key string) []string { return []string{"Authorization", "GenieKey " + key} }

// checkOpsgenieShape checks the reply's keys against want and its request
// id against the X-Request-ID header.
func checkOpsgenieShape(t *testing.T, rec *httptest.ResponseRecorder, want []string) map[string]any {
	t.Helper()
	got := decodeMap(t, rec.Body.Bytes())
	if keys := slices.Sorted(maps.Keys(got)); !slices.Equal(keys, want) {
		t.Errorf("keys %v, want %v: %s", keys, want, rec.Body)
	}
	id, _ := got["requestId"].(string)
	uuid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	if !uuid.MatchString(id) || rec.Header().Get("X-Request-ID") != id {
		t.Errorf("requestId %q, X-Request-ID %q", id, rec.Header().Get("X-Request-ID"))
	}
	if took, ok := got["took"].(float64); !ok || took < 0 {
		t.Errorf("took %v", got["took"])
	}
	return got
}

// ogErrorKeys are the keys of Opsgenie's error replies.
func ogErrorKeys() []string { return []string{"message", "requestId", "took"} }

func TestOpsgenieRequestsReachTheIngester(t *testing.T) {
	shape := slices.Sorted(maps.Keys(decodeMap(t, readFile(t, "testdata/opsgenie_create_alert_response_202.json"))))
	tests := []struct {
		name, path string
		body       []byte
		state      escalation.AlertState
		dedup      string
	}{
		{"create", "/v2/alerts", readFile(t, "testdata/opsgenie_create_alert.json"),
			escalation.AlertFiring, "Life is too short for no alias"},
		{"close", "/v2/alerts/Life%20is%20too%20short%20for%20no%20alias/close?identifierType=alias",
			[]byte(`{"user":"Monitoring Script","source":"AWS Lambda","note":"Action executed via Alert API"}`),
			escalation.AlertResolved, "Life is too short for no alias"},
		{"acknowledge without body", "/v2/alerts/db%2Freplica-lag/acknowledge?identifierType=alias", nil,
			escalation.AlertAcknowledged, "db/replica-lag"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTestServer(t, 0)
			rec := s.post(tt.path, tt.body, genieKey(ogKey)...)
			if rec.Code != http.StatusAccepted {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			got := checkOpsgenieShape(t, rec, shape)
			if got["result"] != "Request will be processed" {
				t.Errorf("result %v", got["result"])
			}
			calls := s.ing.recorded()
			if len(calls) != 1 || calls[0].integration != "og" || len(calls[0].alerts) != 1 {
				t.Fatalf("calls %+v", calls)
			}
			if a := calls[0].alerts[0]; a.State != tt.state || a.DedupKey != tt.dedup {
				t.Errorf("alert state %s dedup %q, want %s %q", a.State, a.DedupKey, tt.state, tt.dedup)
			}
		})
	}
}

func TestOpsgenieAuthRejectedIngestsNothing(t *testing.T) {
	create := readFile(t, "testdata/opsgenie_create_alert.json")
	tests := []struct {
		name, path string
		header     []string
		want       string
	}{
		{"no header", "/v2/alerts", nil, "Could not authenticate: send the header Authorization: GenieKey <key>"},
		{"bearer scheme", "/v2/alerts", bearer(ogKey), "Could not authenticate: send the header Authorization: GenieKey <key>"},
		{"wrong key", "/v2/alerts", genieKey("00000000-0000-4000-8000-000000000000"), "Could not authenticate"},
		{"PagerDuty routing key", "/v2/alerts", genieKey(pdKey), "Could not authenticate"},
		{"hooks token", "/v2/alerts", genieKey(promToken), "Could not authenticate"},
		{"close with wrong key", "/v2/alerts/a/close?identifierType=alias", genieKey("guess"), "Could not authenticate"},
		{"acknowledge without key", "/v2/alerts/a/acknowledge?identifierType=alias", nil, "Could not authenticate: send the header Authorization: GenieKey <key>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTestServer(t, 0)
			rec := s.post(tt.path, create, tt.header...)
			if rec.Code != http.StatusUnauthorized {
				t.Errorf("status %d, want 401: %s", rec.Code, rec.Body)
			}
			if rec.Header().Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
			if got := checkOpsgenieShape(t, rec, ogErrorKeys()); got["message"] != tt.want {
				t.Errorf("message %q, want %q", got["message"], tt.want)
			}
			if calls := s.ing.recorded(); len(calls) != 0 {
				t.Errorf("Ingest called: %+v", calls)
			}
		})
	}
}

func TestOpsgenieKeyLookupIsDeterministic(t *testing.T) {
	// og-b and og-c share a key (config validation should prevent it);
	// the first by name always wins.
	for range 20 {
		s := newTestServer(t, 0)
		if rec := s.post("/v2/alerts", []byte(`{"message":"m","alias":"a"}`), "Authorization", "geniekey "+ogKey2); rec.Code != http.StatusAccepted {
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		if calls := s.ing.recorded(); len(calls) != 1 || calls[0].integration != "og-b" {
			t.Fatalf("calls %+v, want one for og-b", calls)
		}
	}
}

func TestOpsgenieRejectsBadRequests(t *testing.T) {
	tests := []struct {
		name, path string
		body       []byte
		status     int
		message    string
		errors     map[string]any // the 422's problems by field
	}{
		{"malformed JSON", "/v2/alerts", []byte(`{"message":`), 400, "malformed JSON at offset 11: unexpected end of JSON input", nil},
		{"not an object", "/v2/alerts", []byte(`[]`), 400, "body must be a JSON object, not array", nil},
		{"no message", "/v2/alerts", []byte(`{"alias":"a","priority":"P9"}`), 422, "Request body is not processable. Please check the errors.",
			map[string]any{"message": "required", "priority": `"P9" is not one of P1, P2, P3, P4, P5`}},
		{"details of the wrong type", "/v2/alerts", []byte(`{"message":"m","details":["x"]}`), 422, "Request body is not processable. Please check the errors.",
			map[string]any{"details": "must be an object, not array (offset 26)"}},
		{"close without identifierType", "/v2/alerts/a/close", nil, 400,
			"identifierType is required and must be alias: Klaxon identifies alerts by alias only (Opsgenie's default is id)", nil},
		{"close by id", "/v2/alerts/8418d193-2dab-4490-b331-8c02cdd196b7/close?identifierType=id", nil, 400,
			`identifierType "id" is not supported: Klaxon identifies alerts by alias only (identifierType=alias)`, nil},
		{"acknowledge by tiny id", "/v2/alerts/1791/acknowledge?identifierType=tiny", nil, 400,
			`identifierType "tiny" is not supported: Klaxon identifies alerts by alias only (identifierType=alias)`, nil},
		{"close with malformed body", "/v2/alerts/a/close?identifierType=alias", []byte(`{"note"`), 400,
			"malformed JSON at offset 7: unexpected end of JSON input", nil},
		{"body over limit", "/v2/alerts", bytes.Repeat([]byte(" "), 2049), 413, "request body is larger than 2048 bytes", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTestServer(t, 2048)
			rec := s.post(tt.path, tt.body, genieKey(ogKey)...)
			if rec.Code != tt.status {
				t.Errorf("status %d, want %d: %s", rec.Code, tt.status, rec.Body)
			}
			keys := ogErrorKeys()
			if tt.errors != nil {
				keys = []string{"errors", "message", "requestId", "took"}
			}
			got := checkOpsgenieShape(t, rec, keys)
			if got["message"] != tt.message {
				t.Errorf("message %q, want %q", got["message"], tt.message)
			}
			if tt.errors != nil {
				if errs, _ := got["errors"].(map[string]any); !maps.Equal(errs, tt.errors) {
					t.Errorf("errors %v, want %v", got["errors"], tt.errors)
				}
			}
			if calls := s.ing.recorded(); len(calls) != 0 {
				t.Errorf("Ingest called: %+v", calls)
			}
		})
	}
}

func TestOpsgenieFailedIngestIsNotAccepted(t *testing.T) {
	tests := []struct {
		name    string
		err     error
		status  int
		message string
	}{
		{"store failure", errors.New("bolt: disk /var/lib/klaxon full"), 500, "internal error"},
		{"engine refuses", escalation.Errorf(escalation.CodeInvalid, "alerts[0]: dedup key is required"), 400, "alerts[0]: dedup key is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTestServer(t, 0)
			s.ing.err = tt.err
			rec := s.post("/v2/alerts", []byte(`{"message":"m","alias":"a"}`), genieKey(ogKey)...)
			if rec.Code != tt.status {
				t.Errorf("status %d, want %d: %s", rec.Code, tt.status, rec.Body)
			}
			if got := checkOpsgenieShape(t, rec, ogErrorKeys()); got["message"] != tt.message {
				t.Errorf("message %q, want %q", got["message"], tt.message)
			}
			if len(s.ing.recorded()) != 1 {
				t.Errorf("Ingest called %d times", len(s.ing.recorded()))
			}
		})
	}
}

func TestOpsgenieRoutesAcceptOnlyPost(t *testing.T) {
	s := newTestServer(t, 0)
	for _, path := range []string{"/v2/alerts", "/v2/alerts/a/close", "/v2/alerts/a/acknowledge"} {
		rec := httptest.NewRecorder()
		s.mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		if rec.Code != http.StatusMethodNotAllowed {
			t.Errorf("GET %s: status %d", path, rec.Code)
		}
	}
}

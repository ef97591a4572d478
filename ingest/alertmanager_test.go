package ingest

import (
	"strings"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/escalation"
)

// amBody wraps alert JSON objects in a version 4 message.
func amBody(alerts ...string) string {
	return `{"version":"4","status":"firing","groupKey":"{}:{alertname=\"X\"}","alerts":[` + strings.Join(alerts, ",") + `]}`
}

func TestParseAlertmanagerPerAlertStatus(t *testing.T) {
	// The group says firing; the first alert inside is already resolved.
	b, err := ParseAlertmanager(readFile(t, "testdata/alertmanager_v4_partial_resolved.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Alerts) != 2 || b.Truncated != 1 {
		t.Fatalf("got %d alerts, truncated %d; want 2, 1", len(b.Alerts), b.Truncated)
	}
	if b.Alerts[0].State != escalation.AlertResolved || b.Alerts[1].State != escalation.AlertFiring {
		t.Errorf("states %s, %s; want resolved, firing", b.Alerts[0].State, b.Alerts[1].State)
	}
	if !b.Alerts[1].EndsAt.IsZero() {
		t.Errorf("firing alert EndsAt = %v, want zero", b.Alerts[1].EndsAt)
	}
	if want := time.Date(2026, 11, 21, 11, 27, 48, 0, time.UTC); !b.Alerts[0].EndsAt.Equal(want) {
		t.Errorf("resolved alert EndsAt = %v, want %v", b.Alerts[0].EndsAt, want)
	}
}

func TestParseAlertmanagerFallbacks(t *testing.T) {
	tests := []struct {
		name  string
		alert string
		check func(t *testing.T, a escalation.Alert)
	}{
		{"description becomes summary",
			`{"status":"firing","labels":{"alertname":"A","job":"j"},"annotations":{"description":"disk full"},"fingerprint":"f1"}`,
			func(t *testing.T, a escalation.Alert) {
				if a.Summary != "disk full" || a.Details != "" {
					t.Errorf("summary %q details %q", a.Summary, a.Details)
				}
				if a.Source != "j" {
					t.Errorf("source %q, want job", a.Source)
				}
			}},
		{"alertname on instance",
			`{"status":"firing","labels":{"alertname":"A","instance":"h:1"},"fingerprint":"f1"}`,
			func(t *testing.T, a escalation.Alert) {
				if a.Summary != "A on h:1" || a.Source != "h:1" {
					t.Errorf("summary %q source %q", a.Summary, a.Source)
				}
			}},
		{"fingerprint only",
			`{"status":"resolved","fingerprint":"abc"}`,
			func(t *testing.T, a escalation.Alert) {
				if a.DedupKey != "abc" || a.Summary == "" || a.Labels != nil {
					t.Errorf("got %+v", a)
				}
			}},
		{"no fingerprint derives key",
			`{"status":"firing","labels":{"b":"2","alertname":"A"}}`,
			func(t *testing.T, a escalation.Alert) {
				if len(a.DedupKey) != 16 {
					t.Errorf("dedup key %q, want 16 hex digits", a.DedupKey)
				}
				// Same labels in another order: same key.
				b, err := ParseAlertmanager([]byte(amBody(`{"status":"resolved","labels":{"alertname":"A","b":"2"}}`)))
				if err != nil {
					t.Fatal(err)
				}
				if b.Alerts[0].DedupKey != a.DedupKey {
					t.Errorf("keys differ: %q, %q", a.DedupKey, b.Alerts[0].DedupKey)
				}
				// Label boundaries matter: a="b,c" differs from a="b", c="".
				c, err := ParseAlertmanager([]byte(amBody(`{"status":"firing","labels":{"b":"2,\"alertname\"=\"A\""}}`)))
				if err != nil {
					t.Fatal(err)
				}
				if c.Alerts[0].DedupKey == a.DedupKey {
					t.Error("different label sets share a key")
				}
			}},
		{"severity normalised",
			`{"status":"firing","labels":{"alertname":"A","severity":" Page "},"fingerprint":"f"}`,
			func(t *testing.T, a escalation.Alert) {
				if a.Severity != "critical" {
					t.Errorf("severity %q", a.Severity)
				}
			}},
		{"unsafe links dropped",
			`{"status":"firing","labels":{"alertname":"A"},"annotations":{"runbook_url":"javascript:alert(1)"},"generatorURL":"/relative","fingerprint":"f"}`,
			func(t *testing.T, a escalation.Alert) {
				if len(a.Links) != 0 {
					t.Errorf("links %+v", a.Links)
				}
			}},
		{"group key and times",
			`{"status":"firing","labels":{"alertname":"A"},"startsAt":"2026-01-02T03:04:05.5+02:00","endsAt":"0001-01-01T00:00:00Z","fingerprint":"f"}`,
			func(t *testing.T, a escalation.Alert) {
				if a.GroupKey != `{}:{alertname="X"}` {
					t.Errorf("group key %q", a.GroupKey)
				}
				if want := time.Date(2026, 1, 2, 1, 4, 5, 5e8, time.UTC); !a.StartsAt.Equal(want) || !a.EndsAt.IsZero() {
					t.Errorf("starts %v ends %v", a.StartsAt, a.EndsAt)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := ParseAlertmanager([]byte(amBody(tt.alert)))
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, b.Alerts[0])
		})
	}
}

func TestNormalizeSeverity(t *testing.T) {
	for in, want := range map[string]string{
		"critical": "critical", "CRIT": "critical", "page": "critical", "P1": "critical",
		"error": "error", "high": "error", "Major": "error",
		"warning": "warning", "warn": "warning", "minor": "warning", "medium": "warning",
		"info": "info", "low": "info", "none": "info",
		"Disaster": "disaster", "": "",
	} {
		if got := escalation.NormalizeSeverity(in); got != want {
			t.Errorf("escalation.NormalizeSeverity(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseAlertmanagerInvalid(t *testing.T) {
	ok := `{"status":"firing","labels":{"alertname":"A"},"fingerprint":"f"}`
	tests := []struct {
		name, body, want string
	}{
		{"empty body", ``, "malformed JSON at offset 0"},
		{"truncated JSON", `{"version":"4","alerts":[`, "malformed JSON at offset"},
		{"trailing garbage", amBody(ok) + `x`, "malformed JSON at offset"},
		{"not an object", `[1]`, "body must be a JSON object"},
		{"wrong type", `{"version":4,"alerts":[]}`, "version: must be a string, not number"},
		{"label not a string", amBody(`{"status":"firing","labels":{"a":1}}`), "alerts[0].labels.a: must be a string"},
		{"missing version", `{"alerts":[` + ok + `]}`, `version: got "", want "4"`},
		{"wrong version", `{"version":"3","alerts":[` + ok + `]}`, `version: got "3", want "4"`},
		{"missing alerts", `{"version":"4"}`, "alerts: required"},
		{"empty alerts", `{"version":"4","alerts":[]}`, "alerts: required"},
		{"null alerts", `{"version":"4","alerts":null}`, "alerts: required"},
		{"missing status", amBody(ok, ok, `{"labels":{"alertname":"A"}}`), "alerts[2].status: required"},
		{"unknown status", amBody(`{"status":"pending","fingerprint":"f"}`), `alerts[0].status: "pending" is not firing or resolved`},
		{"null alert", amBody(ok, `null`), "alerts[1].status: required"},
		{"no labels no fingerprint", amBody(`{"status":"firing"}`), "alerts[0]: labels or fingerprint required"},
		{"bad startsAt", amBody(`{"status":"firing","fingerprint":"f","startsAt":"yesterday"}`), `alerts[0].startsAt: "yesterday" is not an RFC 3339 time`},
		{"bad endsAt", amBody(`{"status":"firing","fingerprint":"f","endsAt":"1"}`), `alerts[0].endsAt`},
		{"all problems", amBody(`{"status":"x","fingerprint":"f"}`, `{"status":"firing"}`), `alerts[0].status: "x" is not firing or resolved; alerts[1]: labels or fingerprint required`},
		{"long value clipped", `{"version":"` + strings.Repeat("9", 5000) + `"}`, `…", want "4"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := ParseAlertmanager([]byte(tt.body))
			if err == nil {
				t.Fatalf("no error; got %+v", b)
			}
			if code := escalation.ErrorCode(err); code != escalation.CodeInvalid {
				t.Errorf("code %s, want invalid", code)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not mention %q", err, tt.want)
			}
			if len(err.Error()) > 1000 {
				t.Errorf("error is %d bytes long", len(err.Error()))
			}
		})
	}
}

func TestParseAlertmanagerManyProblemsCapped(t *testing.T) {
	alerts := make([]string, 50)
	for i := range alerts {
		alerts[i] = `{"status":"bad","fingerprint":"f"}`
	}
	_, err := ParseAlertmanager([]byte(amBody(alerts...)))
	if err == nil || !strings.Contains(err.Error(), "and 40 more problems") || strings.Contains(err.Error(), "alerts[10]") {
		t.Errorf("error %v", err)
	}
}

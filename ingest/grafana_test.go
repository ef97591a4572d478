package ingest

import (
	"strings"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/escalation"
)

// grafanaBody wraps alert JSON objects in a version 1 message whose group
// says firing and alerting, whatever the alerts say.
func grafanaBody(alerts ...string) string {
	return `{"version":"1","status":"firing","state":"alerting","groupKey":"{}/{team=\"db\"}:{}","truncatedAlerts":0,` +
		`"alerts":[` + strings.Join(alerts, ",") + `]}`
}

func TestGrafanaUsesEachAlertsStatusNotTheGroups(t *testing.T) {
	b, err := ParseGrafana([]byte(grafanaBody(
		`{"status":"resolved","labels":{"alertname":"A"},"fingerprint":"f1","endsAt":"2026-01-02T03:04:05Z"}`,
		`{"status":"firing","labels":{"alertname":"B"},"fingerprint":"f2"}`)))
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Alerts) != 2 || b.Alerts[0].State != escalation.AlertResolved || b.Alerts[1].State != escalation.AlertFiring {
		t.Fatalf("got %+v; want resolved, firing", b.Alerts)
	}
	if want := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC); !b.Alerts[0].EndsAt.Equal(want) {
		t.Errorf("EndsAt %v, want %v", b.Alerts[0].EndsAt, want)
	}

	// The resolved fixture's group says "ok"; the fixtures share a fingerprint.
	firing, err := ParseGrafana(readFile(t, "testdata/grafana_firing.json"))
	if err != nil {
		t.Fatal(err)
	}
	resolved, err := ParseGrafana(readFile(t, "testdata/grafana_resolved.json"))
	if err != nil {
		t.Fatal(err)
	}
	f, r := firing.Alerts[0], resolved.Alerts[0]
	if f.State != escalation.AlertFiring || r.State != escalation.AlertResolved || f.DedupKey != "d8a21484c9c25a60" || r.DedupKey != f.DedupKey {
		t.Errorf("firing %s %q, resolved %s %q", f.State, f.DedupKey, r.State, r.DedupKey)
	}
	if f.GroupKey != `{}/{test="true"}:{}` {
		t.Errorf("group key %q", f.GroupKey)
	}
}

func TestGrafanaAlertFields(t *testing.T) {
	tests := []struct {
		name  string
		alert string
		check func(t *testing.T, a escalation.Alert)
	}{
		{"summary annotation",
			`{"status":"firing","labels":{"alertname":"A"},"annotations":{"summary":"disk full","description":"on db-1"},"fingerprint":"f"}`,
			func(t *testing.T, a escalation.Alert) {
				if a.Summary != "disk full" || a.Details != "on db-1" {
					t.Errorf("summary %q details %q", a.Summary, a.Details)
				}
			}},
		{"alertname without summary",
			`{"status":"firing","labels":{"alertname":"A","instance":"h:1"},"annotations":{"description":"on db-1"},"fingerprint":"f"}`,
			func(t *testing.T, a escalation.Alert) {
				if a.Summary != "A" || a.Details != "on db-1" {
					t.Errorf("summary %q details %q", a.Summary, a.Details)
				}
			}},
		{"neither",
			`{"status":"firing","labels":{"x":"y"},"fingerprint":"f"}`,
			func(t *testing.T, a escalation.Alert) {
				if a.Summary != "Grafana alert f" {
					t.Errorf("summary %q", a.Summary)
				}
			}},
		{"values null",
			`{"status":"firing","labels":{"alertname":"A"},"fingerprint":"f","values":null,"valueString":"[ var='B0' value=24 ]"}`,
			func(t *testing.T, a escalation.Alert) {
				if a.Details != "Value: [ var='B0' value=24 ]" {
					t.Errorf("details %q", a.Details)
				}
			}},
		{"values rendered sorted",
			`{"status":"firing","labels":{"alertname":"A"},"annotations":{"description":"d"},"fingerprint":"f","values":{"B":0,"A":2473545728,"C":0.5},"valueString":"long"}`,
			func(t *testing.T, a escalation.Alert) {
				if a.Details != "d\n\nValue: A=2.473545728e+09, B=0, C=0.5" {
					t.Errorf("details %q", a.Details)
				}
			}},
		{"values of another shape fall back",
			`{"status":"firing","labels":{"alertname":"A"},"fingerprint":"f","values":["x"],"valueString":"vs"}`,
			func(t *testing.T, a escalation.Alert) {
				if a.Details != "Value: vs" {
					t.Errorf("details %q", a.Details)
				}
			}},
		{"severity normalised like Alertmanager's",
			`{"status":"firing","labels":{"alertname":"A","severity":"High"},"fingerprint":"f"}`,
			func(t *testing.T, a escalation.Alert) {
				if a.Severity != "error" {
					t.Errorf("severity %q", a.Severity)
				}
			}},
		{"links when present",
			`{"status":"firing","labels":{"alertname":"A"},"fingerprint":"f","generatorURL":"https://g/view",
			 "silenceURL":"https://g/silence","dashboardURL":"","panelURL":"https://g/d?viewPanel=2","imageURL":"javascript:x"}`,
			func(t *testing.T, a escalation.Alert) {
				want := []escalation.Link{{Href: "https://g/view", Text: "Source"}, {Href: "https://g/silence", Text: "Silence"},
					{Href: "https://g/d?viewPanel=2", Text: "Panel"}}
				if len(a.Links) != len(want) {
					t.Fatalf("links %+v", a.Links)
				}
				for i := range want {
					if a.Links[i] != want[i] {
						t.Errorf("links[%d] = %+v, want %+v", i, a.Links[i], want[i])
					}
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := ParseGrafana([]byte(grafanaBody(tt.alert)))
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, b.Alerts[0])
		})
	}
}

func TestGrafanaTruncatedAlertsReported(t *testing.T) {
	body := strings.Replace(grafanaBody(`{"status":"firing","fingerprint":"f"}`), `"truncatedAlerts":0`, `"truncatedAlerts":3`, 1)
	b, err := ParseGrafana([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if b.Truncated != 3 {
		t.Errorf("truncated %d, want 3", b.Truncated)
	}
}

func TestParseGrafanaInvalid(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{"empty body", ``, "malformed JSON at offset 0"},
		{"not an object", `[]`, "body must be a JSON object"},
		{"missing version", `{"alerts":[{"status":"firing","fingerprint":"f"}]}`, `version: got "", want "1"`},
		{"Alertmanager payload", string(readFile(t, "testdata/alertmanager_v4_firing.json")), "give the integration format alertmanager"},
		{"no alerts", `{"version":"1","alerts":[]}`, "alerts: required"},
		{"group state is no alert status", grafanaBody(`{"state":"alerting","fingerprint":"f"}`), "alerts[0].status: required"},
		{"pending is not an alert status", grafanaBody(`{"status":"pending","fingerprint":"f"}`), `alerts[0].status: "pending" is not firing or resolved`},
		{"bad startsAt", grafanaBody(`{"status":"firing","fingerprint":"f","startsAt":"now"}`), `alerts[0].startsAt: "now" is not an RFC 3339 time`},
		{"wrong type", grafanaBody(`{"status":"firing","fingerprint":"f","silenceURL":1}`), "alerts[0].silenceURL: must be a string, not number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := ParseGrafana([]byte(tt.body))
			if err == nil {
				t.Fatalf("no error; got %+v", b)
			}
			if code := escalation.ErrorCode(err); code != escalation.CodeInvalid {
				t.Errorf("code %s, want invalid", code)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not mention %q", err, tt.want)
			}
		})
	}
}

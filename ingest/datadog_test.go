package ingest

import (
	"encoding/json"
	"maps"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/escalation"
)

// datadogExamples fills Datadog's template variables, with the examples of
// Datadog's Webhooks documentation where it gives one.
func datadogExamples() map[string]string {
	return map[string]string{
		"$EVENT_MSG": "%%%\n@webhook-klaxon\nsystem.load.1 over host:my-host was > 0 at least once during the last 1m\n\n" +
			"[[Monitor Status](https://app.datadoghq.com/monitors#1234?group=host%3Amy-host)] · " +
			"[[Edit Monitor](https://app.datadoghq.com/monitors#1234/edit)]\n%%%",
		"$LAST_UPDATED":     "1591216985000",
		"$EVENT_TYPE":       "query_alert_monitor",
		"$EVENT_TITLE":      "[P1] [Triggered on {availability-zone:us-east-1a,role:computing-node}] Load is high",
		"$DATE":             "1591216985000",
		"$ORG_ID":           "415600",
		"$ORG_NAME":         "Example",
		"$ID":               "5485379890863845239",
		"$ALERT_ID":         "1234",
		"$ALERT_CYCLE_KEY":  "5485379890863845000",
		"$AGGREG_KEY":       "9bd4ac313a4d1e8fae2482df7b77628",
		"$ALERT_TRANSITION": "Triggered",
		"$ALERT_TYPE":       "error",
		"$ALERT_PRIORITY":   "P1",
		"$ALERT_TITLE":      "[Triggered on {availability-zone:us-east-1a,role:computing-node}] Load is high",
		"$ALERT_STATUS":     "system.load.1 over host:my-host was > 0 at least once during the last 1m",
		"$ALERT_SCOPE":      "availability-zone:us-east-1a, role:computing-node",
		"$ALERT_QUERY":      "avg(last_1m):avg:system.load.1{*} by {host} > 0",
		"$ALERT_METRIC":     "system.load.1",
		"$HOSTNAME":         "my-host",
		"$TAGS":             "monitor,env:prod,team:compute",
		"$LINK":             "https://app.datadoghq.com/event/event?id=5485379890863845239",
	}
}

// renderDatadog fills a payload template's variables as Datadog does, with
// datadogExamples overridden by vars.
func renderDatadog(t testing.TB, template []byte, vars map[string]string) []byte {
	t.Helper()
	values := datadogExamples()
	maps.Copy(values, vars)
	out := regexp.MustCompile(`\$[A-Z_]+`).ReplaceAllStringFunc(string(template), func(v string) string {
		s, ok := values[v]
		if !ok {
			t.Fatalf("no example value for %s", v)
		}
		q, _ := json.Marshal(s) // the variables sit inside JSON strings
		return string(q[1 : len(q)-1])
	})
	return []byte(out)
}

func parseDatadogAlert(t *testing.T, body string) escalation.Alert {
	t.Helper()
	b, err := ParseDatadog([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Alerts) != 1 {
		t.Fatalf("got %d alerts", len(b.Alerts))
	}
	return b.Alerts[0]
}

func TestDatadogTransitionMapsToState(t *testing.T) {
	tests := []struct {
		name, body string
		want       escalation.AlertState
	}{
		{"Triggered", `{"transition":"Triggered","alert_id":"1"}`, escalation.AlertFiring},
		{"Re-Triggered", `{"transition":"Re-Triggered","alert_id":"1"}`, escalation.AlertFiring},
		{"Warn", `{"transition":"Warn","alert_id":"1"}`, escalation.AlertFiring},
		{"Re-Warn", `{"transition":"Re-Warn","alert_id":"1"}`, escalation.AlertFiring},
		{"No Data", `{"transition":"No Data","alert_id":"1"}`, escalation.AlertFiring},
		{"Re-No Data", `{"transition":"Re-No Data","alert_id":"1"}`, escalation.AlertFiring},
		{"Renotify", `{"transition":"Renotify","alert_id":"1"}`, escalation.AlertFiring},
		{"Recovered", `{"transition":"Recovered","alert_id":"1"}`, escalation.AlertResolved},
		{"any case", `{"alert_transition":"recovered","alert_id":"1"}`, escalation.AlertResolved},
		{"default payload title", `{"title":"[Triggered] CPU high"}`, escalation.AlertFiring},
		{"title with scope", `{"title":"[Recovered on {host:a}] CPU high"}`, escalation.AlertResolved},
		{"title with priority", `{"title":"[P2] [No Data on {host:a}] CPU high"}`, escalation.AlertFiring},
		{"field wins over title", `{"transition":"Recovered","title":"[Triggered] CPU high"}`, escalation.AlertResolved},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if a := parseDatadogAlert(t, tt.body); a.State != tt.want {
				t.Errorf("state %s, want %s", a.State, tt.want)
			}
		})
	}
}

func TestDatadogTriggerAndRecoveryShareDedupKey(t *testing.T) {
	tests := []struct {
		name, firing, resolved string
		key                    string // "": derived, only checked to be shared
	}{
		{"aggregation key", `{"transition":"Triggered","aggregation_key":"9bd4","alert_id":"1"}`,
			`{"transition":"Recovered","aggregation_key":"9bd4","alert_id":"1"}`, "9bd4"},
		{"aggreg_key spelling", `{"transition":"Triggered","aggreg_key":"9bd4"}`,
			`{"transition":"Recovered","aggreg_key":"9bd4"}`, "9bd4"},
		{"alert id and scope", `{"transition":"Triggered","alert_id":"1234","scope":"host:a"}`,
			`{"transition":"Recovered","alert_id":"1234","scope":"host:a"}`, "monitor/1234/host:a"},
		{"alert id, scope from the title", `{"transition":"Triggered","alert_id":"1234","title":"[Triggered on {host:a}] CPU"}`,
			`{"transition":"Recovered","alert_id":"1234","title":"[Recovered on {host:a}] CPU"}`, "monitor/1234/host:a"},
		{"alert id alone", `{"transition":"Triggered","alert_id":"1234"}`,
			`{"transition":"Recovered","alert_id":1234}`, "monitor/1234"},
		{"default payload", `{"title":"[P1] [Triggered on {host:a}] CPU high","id":"1"}`,
			`{"title":"[Recovered on {host:a}] CPU high","id":"2"}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, r := parseDatadogAlert(t, tt.firing), parseDatadogAlert(t, tt.resolved)
			if f.State != escalation.AlertFiring || r.State != escalation.AlertResolved {
				t.Fatalf("states %s, %s", f.State, r.State)
			}
			if f.DedupKey != r.DedupKey || f.DedupKey == "" {
				t.Errorf("dedup keys %q, %q", f.DedupKey, r.DedupKey)
			}
			if tt.key != "" && f.DedupKey != tt.key {
				t.Errorf("dedup key %q, want %q", f.DedupKey, tt.key)
			}
		})
	}
	// Another scope of the same monitor is another alert.
	a := parseDatadogAlert(t, `{"title":"[Triggered on {host:a}] CPU high"}`)
	b := parseDatadogAlert(t, `{"title":"[Triggered on {host:b}] CPU high"}`)
	if a.DedupKey == b.DedupKey {
		t.Error("scopes host:a and host:b share a dedup key")
	}
}

func TestDatadogSeverity(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{"P1", `{"transition":"Triggered","alert_id":"1","priority":"P1"}`, "critical"},
		{"P2", `{"transition":"Triggered","alert_id":"1","alert_priority":"P2"}`, "error"},
		{"P3", `{"transition":"Triggered","alert_id":"1","priority":"p3"}`, "warning"},
		{"P4", `{"transition":"Triggered","alert_id":"1","priority":"P4"}`, "info"},
		{"P5", `{"transition":"Triggered","alert_id":"1","priority":"P5"}`, "info"},
		{"priority in the title", `{"title":"[P2] [Triggered] CPU"}`, "error"},
		{"priority wins over type", `{"transition":"Triggered","alert_id":"1","priority":"P4","alert_type":"error"}`, "info"},
		{"alert type", `{"transition":"Triggered","alert_id":"1","alert_type":"warning"}`, "warning"},
		{"success says nothing", `{"transition":"Recovered","alert_id":"1","alert_type":"success"}`, ""},
		{"Warn", `{"transition":"Warn","alert_id":"1"}`, "warning"},
		{"nothing", `{"transition":"Triggered","alert_id":"1"}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if a := parseDatadogAlert(t, tt.body); a.Severity != tt.want {
				t.Errorf("severity %q, want %q", a.Severity, tt.want)
			}
		})
	}
}

func TestDatadogDates(t *testing.T) {
	ms := time.Date(2020, 6, 3, 20, 43, 5, 0, time.UTC) // 1591216985000
	tests := []struct {
		name, body     string
		starts, ending time.Time
	}{
		{"epoch milliseconds as a string", `{"transition":"Triggered","alert_id":"1","date":"1591216985000"}`, ms, time.Time{}},
		{"epoch milliseconds as a number", `{"transition":"Triggered","alert_id":"1","date":1591216985000}`, ms, time.Time{}},
		{"epoch seconds", `{"transition":"Triggered","alert_id":"1","date":"1591216985"}`, ms, time.Time{}},
		{"recovery ends", `{"transition":"Recovered","alert_id":"1","date":"1591216985000"}`, time.Time{}, ms},
		{"unreadable date is dropped", `{"transition":"Triggered","alert_id":"1","date":"$DATE"}`, time.Time{}, time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := parseDatadogAlert(t, tt.body)
			if !a.StartsAt.Equal(tt.starts) || !a.EndsAt.Equal(tt.ending) {
				t.Errorf("starts %v ends %v; want %v, %v", a.StartsAt, a.EndsAt, tt.starts, tt.ending)
			}
		})
	}
}

func TestDatadogDefaultPayload(t *testing.T) {
	a := parseDatadogAlert(t, string(readFile(t, "testdata/datadog_webhook_default_rendered.json")))
	if a.State != escalation.AlertFiring || a.Summary != "[TEST] Host Cluster Alert" {
		t.Errorf("state %s summary %q", a.State, a.Summary)
	}
	if strings.Contains(a.Details, "%%%") || !strings.HasPrefix(a.Details, "@webhook-relay-test") {
		t.Errorf("details %q: want the markdown without its %%%%%% markers", a.Details)
	}
	if want := time.UnixMilli(1591216985000).UTC(); !a.StartsAt.Equal(want) {
		t.Errorf("starts %v, want %v", a.StartsAt, want)
	}
	if len(a.Links) != 1 || a.Links[0] != (escalation.Link{Href: "https://app.datadoghq.com/monitors#18692904?", Text: "Monitor Status"}) {
		t.Errorf("links %+v", a.Links)
	}
}

func TestDatadogCustomPayloadFields(t *testing.T) {
	a := parseDatadogAlert(t, string(renderDatadog(t, readFile(t, "testdata/datadog_webhook_custom_template.constructed.json"), nil)))
	want := map[string]string{"env": "prod", "team": "compute", "availability-zone": "us-east-1a",
		"role": "computing-node", "monitor_id": "1234"}
	if !maps.Equal(a.Labels, want) {
		t.Errorf("labels %v, want %v", a.Labels, want)
	}
	if a.DedupKey != "9bd4ac313a4d1e8fae2482df7b77628" || a.Summary != "Load is high" || a.Source != "my-host" || a.Severity != "critical" {
		t.Errorf("got %+v", a)
	}
	r := parseDatadogAlert(t, string(renderDatadog(t, readFile(t, "testdata/datadog_webhook_custom_template.constructed.json"),
		map[string]string{"$ALERT_TRANSITION": "Recovered", "$ALERT_TYPE": "success",
			"$EVENT_TITLE": "[P1] [Recovered on {availability-zone:us-east-1a,role:computing-node}] Load is high"})))
	if r.State != escalation.AlertResolved || r.DedupKey != a.DedupKey {
		t.Errorf("recovery: state %s dedup %q", r.State, r.DedupKey)
	}
}

func TestDatadogTitle(t *testing.T) {
	tests := []struct {
		in   string
		want ddTitle
	}{
		{"[Triggered] [TEST] Host Cluster Alert", ddTitle{transition: "Triggered", name: "[TEST] Host Cluster Alert"}},
		{"[P1] [Triggered on {host:a,env:b}] CPU high", ddTitle{priority: "P1", transition: "Triggered", scope: "host:a,env:b", name: "CPU high"}},
		{"[Re-No Data on {queue:a]b}] Queue", ddTitle{transition: "Re-No Data", scope: "queue:a]b", name: "Queue"}},
		{"[TEST] not a transition", ddTitle{name: "[TEST] not a transition"}},
		{"[Triggered on {host:a] unclosed", ddTitle{name: "[Triggered on {host:a] unclosed"}},
		{"plain", ddTitle{name: "plain"}},
		{"", ddTitle{}},
	}
	for _, tt := range tests {
		if got := ddParseTitle(tt.in); got != tt.want {
			t.Errorf("ddParseTitle(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func TestParseDatadogInvalid(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{"empty body", ``, "malformed JSON at offset 0"},
		{"not an object", `["Triggered"]`, "body must be a JSON object"},
		{"no transition", `{"alert_id":"1","title":"CPU high"}`, `transition: required: add "transition": "$ALERT_TRANSITION"`},
		{"unrendered template", string(readFile(t, "testdata/datadog_webhook_default_template.constructed.json")), "transition: required"},
		{"unknown transition", `{"transition":"Exploded","alert_id":"1"}`, `transition: "Exploded" is not Triggered, Re-Triggered`},
		{"object where text belongs", `{"transition":"Triggered","title":{"text":"x"},"tags":["a"]}`,
			"title: must be a string or a number, not an object; tags: must be a string or a number, not an array"},
		{"nothing to tell alerts apart", `{"transition":"Triggered"}`, "aggregation_key, alert_id or title: required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := ParseDatadog([]byte(tt.body))
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

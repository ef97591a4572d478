package ingest

import (
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/escalation"
)

func TestParsePagerDutyActions(t *testing.T) {
	for file, want := range map[string]escalation.AlertState{
		"testdata/pagerduty_events_v2_trigger.json":     escalation.AlertFiring,
		"testdata/pagerduty_events_v2_acknowledge.json": escalation.AlertAcknowledged,
		"testdata/pagerduty_events_v2_resolve.json":     escalation.AlertResolved,
	} {
		ev, err := ParsePagerDutyEvent(readFile(t, file))
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if ev.Alert.State != want || ev.Alert.DedupKey == "" || ev.RoutingKey == "" {
			t.Errorf("%s: got %+v", file, ev)
		}
	}
}

func TestParsePagerDutyTrigger(t *testing.T) {
	ev, err := ParsePagerDutyEvent([]byte(`{"routing_key":"k","event_action":"trigger",
		"client_url":"https://c.example/x",
		"payload":{"summary":"s","source":"src","severity":"warning","timestamp":"2026-03-04T05:06:07+0100",
			"component":"db","custom_details":{"component":"ignored","team":"payments","n":3,"long":"` + strings.Repeat("x", 300) + `"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	a := ev.Alert
	if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(a.DedupKey) {
		t.Errorf("generated dedup key %q, want 32 hex digits", a.DedupKey)
	}
	if a.Labels["component"] != "db" || a.Labels["team"] != "payments" || len(a.Labels) != 2 {
		t.Errorf("labels %v: want payload component, string custom details only", a.Labels)
	}
	if !strings.Contains(a.Details, `"n": 3`) {
		t.Errorf("details %q", a.Details)
	}
	if want := time.Date(2026, 3, 4, 4, 6, 7, 0, time.UTC); !a.StartsAt.Equal(want) {
		t.Errorf("starts %v, want %v", a.StartsAt, want)
	}
	if len(a.Links) != 1 || a.Links[0] != (escalation.Link{Href: "https://c.example/x", Text: "Client"}) {
		t.Errorf("links %+v", a.Links)
	}

	// Two triggers without dedup_key are two alerts.
	ev2, err := ParsePagerDutyEvent([]byte(`{"routing_key":"k","event_action":"trigger","payload":{"summary":"s","source":"src","severity":"info"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if ev2.Alert.DedupKey == a.DedupKey {
		t.Error("generated dedup keys repeat")
	}
}

func TestParsePagerDutyDetailsAndTimes(t *testing.T) {
	tests := []struct {
		name, payload string
		details       string
		starts        time.Time
	}{
		{"string details", `"custom_details":"free text"`, "free text", time.Time{}},
		{"array details", `"custom_details":[1,2]`, "[\n  1,\n  2\n]", time.Time{}},
		{"null details", `"custom_details":null`, "", time.Time{}},
		{"RFC 3339", `"timestamp":"2026-01-02T03:04:05Z"`, "", time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)},
		{"no zone", `"timestamp":"2026-01-02T03:04:05.25"`, "", time.Date(2026, 1, 2, 3, 4, 5, 25e7, time.UTC)},
		{"unreadable timestamp is dropped", `"timestamp":"last tuesday"`, "", time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := ParsePagerDutyEvent([]byte(`{"routing_key":"k","event_action":"trigger","dedup_key":"d",
				"payload":{"summary":"s","source":"src","severity":"info",` + tt.payload + `}}`))
			if err != nil {
				t.Fatal(err)
			}
			if ev.Alert.Details != tt.details || !ev.Alert.StartsAt.Equal(tt.starts) {
				t.Errorf("details %q starts %v; want %q, %v", ev.Alert.Details, ev.Alert.StartsAt, tt.details, tt.starts)
			}
		})
	}
}

func TestParsePagerDutyInvalid(t *testing.T) {
	payload := `"payload":{"summary":"s","source":"src","severity":"info"}`
	tests := []struct {
		name, body string
		want       []string // nil: malformed
	}{
		{"empty body", ``, nil},
		{"syntax error", `{"routing_key":`, nil},
		{"not an object", `"trigger"`, nil},
		{"array", `[]`, nil},
		{"empty object", `{}`, []string{"routing_key is required", "event_action is required"}},
		{"bad action", `{"routing_key":"k","event_action":"explode"}`,
			[]string{"event_action must be one of trigger, acknowledge, resolve"}},
		{"trigger without payload", `{"routing_key":"k","event_action":"trigger"}`, []string{"payload is required"}},
		{"trigger with empty payload", `{"routing_key":"k","event_action":"trigger","payload":{}}`,
			[]string{"payload.summary is required", "payload.source is required", "payload.severity is required"}},
		{"bad severity", `{"routing_key":"k","event_action":"trigger","payload":{"summary":"s","source":"x","severity":"fatal"}}`,
			[]string{"payload.severity must be one of critical, error, warning, info"}},
		{"long summary", `{"routing_key":"k","event_action":"trigger","payload":{"summary":"` + strings.Repeat("é", 1025) + `","source":"x","severity":"info"}}`,
			[]string{"payload.summary must be at most 1024 characters"}},
		{"long dedup key", `{"routing_key":"k","event_action":"trigger","dedup_key":"` + strings.Repeat("d", 256) + `",` + payload + `}`,
			[]string{"dedup_key must be at most 255 characters"}},
		{"acknowledge without dedup key", `{"routing_key":"k","event_action":"acknowledge"}`,
			[]string{"dedup_key is required for acknowledge"}},
		{"resolve without dedup key", `{"routing_key":"k","event_action":"resolve","dedup_key":" "}`,
			[]string{"dedup_key is required for resolve"}},
		{"missing routing key", `{"event_action":"trigger",` + payload + `}`, []string{"routing_key is required"}},
		{"wrong field type", `{"routing_key":"k","event_action":"trigger","payload":{"summary":7,"source":"x","severity":"info"}}`,
			[]string{"payload.summary: must be a string, not number (offset 66)", "payload.summary is required"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := ParsePagerDutyEvent([]byte(tt.body))
			if err == nil {
				t.Fatalf("no error; got %+v", ev)
			}
			if code := escalation.ErrorCode(err); code != escalation.CodeInvalid {
				t.Errorf("code %s, want invalid", code)
			}
			var malformed *MalformedEventError
			var invalid *InvalidEventError
			switch {
			case tt.want == nil:
				if !errors.As(err, &malformed) {
					t.Errorf("got %T %v, want *MalformedEventError", err, err)
				}
			case !errors.As(err, &invalid):
				t.Errorf("got %T %v, want *InvalidEventError", err, err)
			case !slices.Equal(invalid.Problems, tt.want):
				t.Errorf("problems %q, want %q", invalid.Problems, tt.want)
			}
			if strings.Contains(err.Error(), `"k"`) {
				t.Errorf("error %q shows the routing key", err)
			}
		})
	}
}

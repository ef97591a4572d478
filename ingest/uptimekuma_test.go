package ingest

import (
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/escalation"
)

func parseKumaAlert(t *testing.T, body string) escalation.Alert {
	t.Helper()
	b, err := ParseUptimeKuma([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Alerts) != 1 {
		t.Fatalf("got %d alerts (note %q)", len(b.Alerts), b.Note)
	}
	return b.Alerts[0]
}

func TestKumaDownFiresAndUpResolvesTheSameAlert(t *testing.T) {
	down := parseKumaAlert(t, string(readFile(t, "testdata/uptime_kuma_down.json")))
	up := parseKumaAlert(t, string(readFile(t, "testdata/uptime_kuma_up.json")))
	if down.State != escalation.AlertFiring || up.State != escalation.AlertResolved {
		t.Fatalf("states %s, %s; want firing, resolved", down.State, up.State)
	}
	if down.DedupKey != "uptime-kuma/1" || up.DedupKey != down.DedupKey {
		t.Errorf("dedup keys %q, %q", down.DedupKey, up.DedupKey)
	}
	if down.Summary != "Checkout API is down: Request failed with status code 503" || up.Summary != "Checkout API is up: 200 - OK" {
		t.Errorf("summaries %q, %q", down.Summary, up.Summary)
	}
	wentDown := time.Date(2026, 11, 21, 11, 33, 42, 658e6, time.UTC)
	if !down.StartsAt.Equal(wentDown) || !down.EndsAt.IsZero() {
		t.Errorf("down: starts %v ends %v", down.StartsAt, down.EndsAt)
	}
	if wentUp := time.Date(2026, 11, 21, 11, 34, 2, 659e6, time.UTC); !up.StartsAt.Equal(wentDown) || !up.EndsAt.Equal(wentUp) {
		t.Errorf("up: starts %v ends %v; want %v, %v", up.StartsAt, up.EndsAt, wentDown, wentUp)
	}
}

func TestKumaTimeWithoutZoneIsUTC(t *testing.T) {
	// Read in any other zone, 11:33 would move by hours.
	a := parseKumaAlert(t, `{"heartbeat":{"monitorID":3,"status":0,"time":"2026-03-29 01:30:00.5","timezone":"Europe/Berlin","timezoneOffset":"+02:00","localDateTime":"2026-03-29 03:30:00"},"monitor":null,"msg":"m"}`)
	if want := time.Date(2026, 3, 29, 1, 30, 0, 5e8, time.UTC); !a.StartsAt.Equal(want) || a.StartsAt.Location() != time.UTC {
		t.Errorf("starts %v, want %v", a.StartsAt, want)
	}
	a = parseKumaAlert(t, `{"heartbeat":{"monitorID":3,"status":0,"time":"yesterday"},"msg":"m"}`)
	if !a.StartsAt.IsZero() {
		t.Errorf("unreadable time gave %v, want it dropped", a.StartsAt)
	}
}

func TestKumaBeatsThatDoNotPage(t *testing.T) {
	tests := []struct {
		name, body, note string
	}{
		{"Test button", string(readFile(t, "testdata/uptime_kuma_test_notification.json")), "Test button"},
		{"pending", `{"heartbeat":{"monitorID":1,"status":2,"msg":"retrying"},"monitor":{"id":1,"name":"A"},"msg":"m"}`, "pending"},
		{"maintenance", `{"heartbeat":{"monitorID":1,"status":3},"monitor":{"id":1,"name":"A"},"msg":"m"}`, "maintenance"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := ParseUptimeKuma([]byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if len(b.Alerts) != 0 || !strings.Contains(b.Note, tt.note) {
				t.Errorf("got %+v; want no alerts and a note about %s", b, tt.note)
			}
		})
	}
}

func TestKumaAlertFields(t *testing.T) {
	tests := []struct {
		name, body string
		check      func(t *testing.T, a escalation.Alert)
	}{
		{"monitor null: id from the heartbeat",
			`{"heartbeat":{"monitorID":5,"status":0,"msg":"timeout"},"monitor":null,"msg":"[x] [🔴 Down] timeout"}`,
			func(t *testing.T, a escalation.Alert) {
				if a.DedupKey != "uptime-kuma/5" || a.Summary != "Uptime Kuma monitor 5 is down: timeout" {
					t.Errorf("dedup %q summary %q", a.DedupKey, a.Summary)
				}
			}},
		{"reason from msg when the beat has none",
			`{"heartbeat":{"monitorID":5,"status":1},"monitor":{"id":5,"name":"DB"},"msg":"[DB] [✅ Up] ok"}`,
			func(t *testing.T, a escalation.Alert) {
				if a.Summary != "DB is up: [DB] [✅ Up] ok" {
					t.Errorf("summary %q", a.Summary)
				}
			}},
		{"credentials stay out of links",
			`{"heartbeat":{"status":0},"monitor":{"id":7,"name":"API","type":"http","url":"https://user:secret@api.example.com/health"},"msg":"m"}`,
			func(t *testing.T, a escalation.Alert) {
				want := escalation.Link{Href: "https://api.example.com/health", Text: "Monitored URL"}
				if len(a.Links) != 1 || a.Links[0] != want || a.Source != want.Href {
					t.Errorf("links %+v source %q", a.Links, a.Source)
				}
			}},
		{"placeholder URL of a ping monitor",
			`{"heartbeat":{"status":0},"monitor":{"id":8,"name":"Router","type":"ping","url":"https://","hostname":"10.0.0.1"},"msg":"m"}`,
			func(t *testing.T, a escalation.Alert) {
				if len(a.Links) != 0 || a.Source != "10.0.0.1" {
					t.Errorf("links %+v source %q", a.Links, a.Source)
				}
			}},
		{"labels and tags",
			`{"heartbeat":{"status":0},"monitor":{"id":9,"name":"API","type":"http","tags":[{"name":"env","value":"prod"},{"name":"solo","value":""},{"name":"monitor_id","value":"x"}]},"msg":"m"}`,
			func(t *testing.T, a escalation.Alert) {
				want := map[string]string{"monitor_id": "9", "monitor": "API", "monitor_type": "http", "env": "prod"}
				if !maps.Equal(a.Labels, want) {
					t.Errorf("labels %v, want %v", a.Labels, want)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.check(t, parseKumaAlert(t, tt.body))
		})
	}
}

func TestParseUptimeKumaInvalid(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{"empty body", ``, "malformed JSON at offset 0"},
		{"form-data body", `data={"heartbeat":null}`, "malformed JSON at offset 1"},
		{"not an object", `"down"`, "body must be a JSON object"},
		{"nothing at all", `{}`, "heartbeat: required"},
		{"heartbeat not an object", `{"heartbeat":"down","msg":"m"}`, "heartbeat: must be an object, not string"},
		{"no status", `{"heartbeat":{"monitorID":1},"msg":"m"}`, "heartbeat.status: required"},
		{"unknown status", `{"heartbeat":{"monitorID":1,"status":7},"msg":"m"}`, "heartbeat.status: 7 is not 0 (down), 1 (up), 2 (pending) or 3 (maintenance)"},
		{"status as text", `{"heartbeat":{"monitorID":1,"status":"down"},"msg":"m"}`, "heartbeat.status: must be an integer, not string"},
		{"no monitor id", `{"heartbeat":{"status":0},"monitor":{"name":"A"},"msg":"m"}`, "monitor.id: required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := ParseUptimeKuma([]byte(tt.body))
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

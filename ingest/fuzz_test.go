package ingest

import (
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"testing"

	"github.com/klaxonhq/klaxon/escalation"
)

func FuzzParseAlertmanager(f *testing.F) {
	for _, file := range fixtures(f, "alertmanager_*.json") {
		f.Add(readFile(f, file))
	}
	f.Add([]byte(amBody(`{"status":"firing","labels":{"alertname":"A"}}`)))
	f.Fuzz(func(t *testing.T, body []byte) {
		b, err := ParseAlertmanager(body)
		if err != nil {
			if code := escalation.ErrorCode(err); code != escalation.CodeInvalid {
				t.Fatalf("error code %s, want invalid: %v", code, err)
			}
			return
		}
		if len(b.Alerts) == 0 || b.Truncated < 0 {
			t.Fatalf("accepted %d alerts, truncated %d", len(b.Alerts), b.Truncated)
		}
		for i, a := range b.Alerts {
			if a.DedupKey == "" {
				t.Fatalf("alerts[%d] has no dedup key", i)
			}
			if a.State != escalation.AlertFiring && a.State != escalation.AlertResolved {
				t.Fatalf("alerts[%d] state %q", i, a.State)
			}
			if a.Summary == "" {
				t.Fatalf("alerts[%d] has no summary", i)
			}
		}
	})
}

func FuzzParsePagerDutyEvent(f *testing.F) {
	for _, file := range fixtures(f, "pagerduty_events_v2_*.json") {
		f.Add(readFile(f, file))
	}
	f.Add([]byte(`{"routing_key":"k","event_action":"trigger","payload":{"summary":"s","source":"x","severity":"info","custom_details":"t"}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, err := ParsePagerDutyEvent(body)
		if err != nil {
			var malformed *MalformedEventError
			var invalid *InvalidEventError
			if !errors.As(err, &malformed) && !errors.As(err, &invalid) {
				t.Fatalf("untyped error %T: %v", err, err)
			}
			if code := escalation.ErrorCode(err); code != escalation.CodeInvalid {
				t.Fatalf("error code %s, want invalid: %v", code, err)
			}
			return
		}
		a := ev.Alert
		if a.DedupKey == "" || ev.RoutingKey == "" {
			t.Fatalf("accepted event without dedup or routing key: %+v", ev)
		}
		switch a.State {
		case escalation.AlertFiring:
			if a.Summary == "" || a.Source == "" || a.Severity == "" {
				t.Fatalf("trigger without summary, source or severity: %+v", a)
			}
		case escalation.AlertAcknowledged, escalation.AlertResolved:
		default:
			t.Fatalf("state %q", a.State)
		}
	})
}

// checkFuzzBatch checks what every /hooks parser promises: errors are
// CodeInvalid; an accepted batch has alerts the engine takes (a dedup key,
// a known state, a summary) or, without alerts, a note saying why.
func checkFuzzBatch(t *testing.T, b Batch, err error) {
	t.Helper()
	if err != nil {
		if code := escalation.ErrorCode(err); code != escalation.CodeInvalid {
			t.Fatalf("error code %s, want invalid: %v", code, err)
		}
		if len(err.Error()) > 4000 {
			t.Fatalf("error is %d bytes long", len(err.Error()))
		}
		return
	}
	if b.Truncated < 0 {
		t.Fatalf("truncated %d", b.Truncated)
	}
	if len(b.Alerts) == 0 && b.Note == "" {
		t.Fatal("accepted a batch without alerts or a note")
	}
	for i, a := range b.Alerts {
		if a.DedupKey == "" {
			t.Fatalf("alerts[%d] has no dedup key", i)
		}
		if a.State != escalation.AlertFiring && a.State != escalation.AlertResolved {
			t.Fatalf("alerts[%d] state %q", i, a.State)
		}
		if a.Summary == "" {
			t.Fatalf("alerts[%d] has no summary", i)
		}
		for _, l := range a.Links {
			if _, ok := webLink(l.Href, l.Text); !ok {
				t.Fatalf("alerts[%d] links to %q", i, l.Href)
			}
		}
	}
}

func FuzzParseGrafana(f *testing.F) {
	for _, file := range fixtures(f, "grafana_*.json") {
		f.Add(readFile(f, file))
	}
	f.Add([]byte(grafanaBody(`{"status":"resolved","labels":{"alertname":"A"},"values":{"A":1}}`)))
	f.Fuzz(func(t *testing.T, body []byte) {
		b, err := ParseGrafana(body)
		checkFuzzBatch(t, b, err)
		if err == nil && len(b.Alerts) == 0 {
			t.Fatal("accepted a message without alerts")
		}
	})
}

func FuzzParseUptimeKuma(f *testing.F) {
	for _, file := range fixtures(f, "uptime_kuma_*.json") {
		f.Add(readFile(f, file))
	}
	f.Add([]byte(`{"heartbeat":{"monitorID":2,"status":2,"time":"2026-01-01 00:00:00"},"monitor":null,"msg":"m"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		b, err := ParseUptimeKuma(body)
		checkFuzzBatch(t, b, err)
		if err == nil && len(b.Alerts) > 1 {
			t.Fatalf("one heartbeat gave %d alerts", len(b.Alerts))
		}
	})
}

func FuzzParseDatadog(f *testing.F) {
	for _, file := range fixtures(f, "datadog_webhook_*.json") {
		body := readFile(f, file)
		f.Add(body)
		f.Add(renderDatadog(f, body, nil))
	}
	f.Add([]byte(`{"title":"[P2] [Recovered on {host:a]b}] x","date":1591216985}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		b, err := ParseDatadog(body)
		checkFuzzBatch(t, b, err)
		if err == nil && len(b.Alerts) != 1 {
			t.Fatalf("one event gave %d alerts", len(b.Alerts))
		}
	})
}

// checkOpsgenieFuzzError checks that an Opsgenie parse error is one the
// handler maps to 400 or 422.
func checkOpsgenieFuzzError(t *testing.T, err error) {
	t.Helper()
	if code := escalation.ErrorCode(err); code != escalation.CodeInvalid {
		t.Fatalf("error code %s, want invalid: %v", code, err)
	}
}

func FuzzParseOpsgenieCreate(f *testing.F) {
	for _, file := range fixtures(f, "opsgenie_*.json") {
		f.Add(readFile(f, file))
	}
	f.Add([]byte(`{"message":"m","priority":"P9","details":{"a":1},"tags":[1]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		b, err := ParseOpsgenieCreate(body)
		if err != nil {
			var malformed *MalformedEventError
			var invalid *InvalidEventError
			if !errors.As(err, &malformed) && !errors.As(err, &invalid) {
				t.Fatalf("untyped error %T: %v", err, err)
			}
			checkOpsgenieFuzzError(t, err)
			return
		}
		if len(b.Alerts) != 1 {
			t.Fatalf("got %d alerts", len(b.Alerts))
		}
		if a := b.Alerts[0]; a.DedupKey == "" || a.State != escalation.AlertFiring || a.Summary == "" {
			t.Fatalf("accepted %+v", a)
		}
	})
}

func FuzzParseOpsgenieAction(f *testing.F) {
	f.Add("close", "Life is too short for no alias", "alias", []byte(`{"user":"u","source":"s","note":"n"}`))
	f.Add("acknowledge", "a", "id", []byte(nil))
	f.Fuzz(func(t *testing.T, action, identifier, identifierType string, body []byte) {
		b, err := ParseOpsgenieAction(action, identifier, identifierType, body)
		if err != nil {
			checkOpsgenieFuzzError(t, err)
			return
		}
		if identifierType != "alias" || len(b.Alerts) != 1 || b.Alerts[0].DedupKey != identifier {
			t.Fatalf("accepted %q %q %q: %+v", action, identifier, identifierType, b)
		}
		if s := b.Alerts[0].State; s != escalation.AlertResolved && s != escalation.AlertAcknowledged {
			t.Fatalf("state %q", s)
		}
	})
}

// FuzzDecodeJSONIsEncodingJSON: the faster decoders decode every body as
// encoding/json does, down to the error's message, on the webhook shapes
// that take the most traffic.
func FuzzDecodeJSONIsEncodingJSON(f *testing.F) {
	for _, pattern := range []string{"alertmanager_*.json", "grafana_*.json", "uptime_kuma_*.json"} {
		for _, file := range fixtures(f, pattern) {
			f.Add(readFile(f, file))
		}
	}
	f.Add([]byte(`{"Version":"4","alerts":[{"labels":{"a":"b","a":"c"},"status":"firing\xff"}]}`))
	f.Add([]byte(`{"alerts":[{"labels":{"a":1}}]}`))
	// At the edges of the Alertmanager scanner's path.
	for _, body := range slices.Concat(offScannerPath, onScannerPath, []string{
		`{"version":"4","ALERTS":[{"status":"firing"}]}`,
		`{"version":"4","alerts":[{"\u212aey":"x","fingerprint":"f"}],"truncatedAlerts":1}`,
		`{"version":"4","alerts":[{"Fingerprint":"f","labels":null}]}`,
		`{"version":null,"alerts":[],"truncatedAlerts":1.0}`,
		`{"truncatedAlerts":-0}`, `{"v\u0065rsion":"4","alerts":[{"labels":{"a":"\ud800"}}]}`,
		`[]`, `{"alerts":[null,{}]}`, `{"alerts":{}}`,
		`{"groupLabels":{"x":[1,{"y":null}]},"alerts":[{"annotations":{},"labels":{"k":"v"}}]}`,
	}) {
		f.Add([]byte(body))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		same := func(name string, decode func([]byte, any) error, fast, std any) {
			t.Helper()
			errFast, errStd := decode(body, fast), json.Unmarshal(body, std)
			// A type error may name its field more exactly (the array
			// element, the map key), and says nothing else otherwise.
			var typFast, typStd *json.UnmarshalTypeError
			if errors.As(errFast, &typFast) && errors.As(errStd, &typStd) && samePath(typFast.Field, typStd.Field) {
				c := *typFast
				c.Field = typStd.Field
				errFast = &c
			}
			if (errFast == nil) != (errStd == nil) || errFast != nil && errFast.Error() != errStd.Error() {
				t.Fatalf("%s: %v; encoding/json: %v", name, errFast, errStd)
			}
			if errStd == nil && !reflect.DeepEqual(fast, std) {
				t.Fatalf("%s gave %+v; encoding/json %+v", name, fast, std)
			}
		}
		same("decodeJSON", decodeJSON, new(amMessage), new(amMessage))
		same("decodeJSON", decodeJSON, new(grafanaMessage), new(grafanaMessage))
		same("decodeJSON", decodeJSON, new(kumaMessage), new(kumaMessage))
		am := func(body []byte, v any) error { return decodeAlertmanager(body, v.(*amMessage)) }
		same("decodeAlertmanager", am, new(amMessage), new(amMessage))
	})
}

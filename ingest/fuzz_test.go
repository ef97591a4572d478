package ingest

import (
	"errors"
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

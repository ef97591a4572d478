package ingest

import (
	"slices"
	"strings"
	"testing"

	"github.com/klaxonhq/klaxon/escalation"
)

// A home-grown checker posts a batch of checks; the config maps its fields.
func TestGenericMapsAnyMonitorsFields(t *testing.T) {
	spec := GenericSpec{Alerts: "data.checks", DedupKey: "id", Summary: "title", Severity: "level", Status: "state",
		Labels: "tags", Details: "detail.text"}
	body := `{"data": {"checks": [
		{"id": 17, "title": "disk full on db-1", "level": "CRIT", "state": "failing", "tags": {"host": "db-1", "rack": 4, "x": {"y": 1}}, "detail": {"text": "97%"}},
		{"id": "cpu-db-2", "title": "cpu", "level": "warn", "state": "OK"}
	]}, "sent_at": "2026-03-02T01:00:00Z"}`
	b, err := ParseGeneric(spec, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Alerts) != 2 {
		t.Fatalf("%d alerts", len(b.Alerts))
	}
	a := b.Alerts[0]
	if a.DedupKey != "17" || a.Summary != "disk full on db-1" || a.Severity != "critical" || a.State != escalation.AlertFiring ||
		a.Details != "97%" || a.Labels["host"] != "db-1" || a.Labels["rack"] != "4" || len(a.Labels) != 2 {
		t.Fatalf("first alert %+v", a)
	}
	if b.Alerts[1].State != escalation.AlertResolved || b.Alerts[1].Severity != "warning" {
		t.Fatalf("second alert %+v", b.Alerts[1])
	}
}

func TestGenericRejectsWhatItCannotRead(t *testing.T) {
	for _, tc := range []struct {
		spec GenericSpec
		body string
		want string
	}{
		{GenericSpec{DedupKey: "id"}, `{"id": `, "malformed JSON"},
		{GenericSpec{DedupKey: "id"}, `{"id": 1} {"id": 2}`, "malformed JSON: unexpected data after the JSON value, which ends at offset 9"},
		{GenericSpec{DedupKey: "id", Alerts: "items"}, `{"items": {"id": 1}}`, "items: want an array"},
		{GenericSpec{DedupKey: "id"}, `{"title": "no id"}`, "alerts[0]: id: required"},
		{GenericSpec{DedupKey: "id.nested"}, `{"id": {"nested": {"deeper": 1}}}`, "alerts[0]: id.nested: required"},
	} {
		_, err := ParseGeneric(tc.spec, []byte(tc.body))
		if escalation.ErrorCode(err) != escalation.CodeInvalid || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.body, err, tc.want)
		}
	}
	for _, bad := range []GenericSpec{{}, {DedupKey: "a..b"}, {DedupKey: "id", Labels: "."}} {
		if bad.Validate() == nil {
			t.Errorf("%+v validated", bad)
		}
	}
}

func FuzzParseGeneric(f *testing.F) {
	f.Add(`{"data": {"checks": [{"id": 1, "state": "ok", "tags": {"a": "b"}}]}}`)
	f.Add(`[1, 2]`)
	f.Add(`{"data": {"checks": [null, 1, "x", {"id": true}]}}`)
	spec := GenericSpec{Alerts: "data.checks", DedupKey: "id", Status: "state", Labels: "tags", Summary: "0.x"}
	f.Fuzz(func(t *testing.T, body string) {
		b, err := ParseGeneric(spec, []byte(body))
		if err != nil {
			return
		}
		for _, a := range b.Alerts {
			if a.DedupKey == "" || (a.State != escalation.AlertFiring && a.State != escalation.AlertResolved) {
				t.Fatalf("bad alert %+v", a)
			}
		}
	})
}

// A config with several broken paths hears of all of them, in the
// config's order, not of one picked at random.
func TestGenericSpecProblemsNameEveryField(t *testing.T) {
	spec := GenericSpec{Alerts: "checks.", Summary: "a..b", Labels: ".tags", Status: "state"}
	want := []FieldProblem{
		{"alerts", `"checks." has an empty step (write a.b.c)`},
		{"dedup_key", "required: the path of the alert's identity"},
		{"summary", `"a..b" has an empty step (write a.b.c)`},
		{"labels", `".tags" has an empty step (write a.b.c)`},
	}
	if got := spec.Problems(); !slices.Equal(got, want) {
		t.Errorf("problems %q, want %q", got, want)
	}
	if err := spec.Validate(); err == nil || !strings.Contains(err.Error(), "labels: \".tags\"") {
		t.Errorf("Validate: %v", err)
	}
}

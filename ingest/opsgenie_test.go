package ingest

import (
	"errors"
	"maps"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/klaxonhq/klaxon/escalation"
)

func TestOpsgenieCreateFixture(t *testing.T) {
	b, err := ParseOpsgenieCreate(readFile(t, "testdata/opsgenie_create_alert.json"))
	if err != nil {
		t.Fatal(err)
	}
	a := b.Alerts[0]
	if a.DedupKey != "Life is too short for no alias" || a.State != escalation.AlertFiring ||
		a.Summary != "An example alert message" || a.Details != "Every alert needs a description" ||
		a.Severity != "critical" || a.Source != "An example entity" {
		t.Errorf("got %+v", a)
	}
	want := map[string]string{"key1": "value1", "key2": "value2", "tags": "OverwriteQuietHours,Critical"}
	if !maps.Equal(a.Labels, want) {
		t.Errorf("labels %v, want %v", a.Labels, want)
	}
}

func TestOpsgeniePriorityToSeverity(t *testing.T) {
	for priority, want := range map[string]string{
		"P1": "critical", "P2": "error", "P3": "warning", "P4": "info", "P5": "info", "": "",
	} {
		body := `{"message":"m","alias":"a"}`
		if priority != "" {
			body = `{"message":"m","alias":"a","priority":"` + priority + `"}`
		}
		b, err := ParseOpsgenieCreate([]byte(body))
		if err != nil {
			t.Fatalf("%s: %v", priority, err)
		}
		if got := b.Alerts[0].Severity; got != want {
			t.Errorf("priority %q: severity %q, want %q", priority, got, want)
		}
	}
}

func TestOpsgenieCreateWithoutAliasGetsItsOwnKey(t *testing.T) {
	a, err := ParseOpsgenieCreate([]byte(`{"message":"m"}`))
	if err != nil {
		t.Fatal(err)
	}
	b, err := ParseOpsgenieCreate([]byte(`{"message":"m","alias":"  "}`))
	if err != nil {
		t.Fatal(err)
	}
	hex32 := regexp.MustCompile(`^[0-9a-f]{32}$`)
	if k1, k2 := a.Alerts[0].DedupKey, b.Alerts[0].DedupKey; !hex32.MatchString(k1) || !hex32.MatchString(k2) || k1 == k2 {
		t.Errorf("generated keys %q, %q", k1, k2)
	}
}

func TestOpsgenieCreateSourceFallsBackToSource(t *testing.T) {
	b, err := ParseOpsgenieCreate([]byte(`{"message":"m","alias":"a","source":"cron@db-1","tags":["x"," x ",""],"details":{"tags":"mine","long":"` + strings.Repeat("v", 300) + `"}}`))
	if err != nil {
		t.Fatal(err)
	}
	a := b.Alerts[0]
	if a.Source != "cron@db-1" || !maps.Equal(a.Labels, map[string]string{"tags": "mine"}) {
		t.Errorf("source %q labels %v", a.Source, a.Labels)
	}
}

func TestParseOpsgenieCreateInvalid(t *testing.T) {
	tests := []struct {
		name, body string
		want       []string // nil: malformed
	}{
		{"empty body", ``, nil},
		{"syntax error", `{"message":`, nil},
		{"not an object", `["m"]`, nil},
		{"no message", `{"alias":"a"}`, []string{"message: required"}},
		{"blank message", `{"message":"  "}`, []string{"message: required"}},
		{"long message", `{"message":"` + strings.Repeat("é", 131) + `"}`, []string{"message: must be at most 130 characters"}},
		{"long alias", `{"message":"m","alias":"` + strings.Repeat("a", 513) + `"}`, []string{"alias: must be at most 512 characters"}},
		{"long description", `{"message":"m","description":"` + strings.Repeat("d", 15001) + `"}`, []string{"description: must be at most 15000 characters"}},
		{"bad priority", `{"message":"m","priority":"P0"}`, []string{`priority: "P0" is not one of P1, P2, P3, P4, P5`}},
		{"details not strings", `{"message":"m","details":{"n":1}}`, []string{"details.n: must be a string, not number (offset 31)"}},
		{"every problem", `{"priority":"high","alias":"` + strings.Repeat("a", 513) + `"}`,
			[]string{"message: required", "alias: must be at most 512 characters", `priority: "high" is not one of P1, P2, P3, P4, P5`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := ParseOpsgenieCreate([]byte(tt.body))
			checkOpsgenieError(t, b, err, tt.want)
		})
	}
}

func checkOpsgenieError(t *testing.T, b Batch, err error, want []string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error; got %+v", b)
	}
	if code := escalation.ErrorCode(err); code != escalation.CodeInvalid {
		t.Errorf("code %s, want invalid", code)
	}
	var malformed *MalformedEventError
	var invalid *InvalidEventError
	switch {
	case want == nil:
		if !errors.As(err, &malformed) {
			t.Errorf("got %T %v, want *MalformedEventError", err, err)
		}
	case !errors.As(err, &invalid):
		t.Errorf("got %T %v, want *InvalidEventError", err, err)
	case !slices.Equal(invalid.Problems, want):
		t.Errorf("problems %q, want %q", invalid.Problems, want)
	}
}

func TestParseOpsgenieAction(t *testing.T) {
	for action, want := range map[string]escalation.AlertState{
		OpsgenieClose: escalation.AlertResolved, OpsgenieAcknowledge: escalation.AlertAcknowledged,
	} {
		for _, body := range []string{``, `{}`, `{"user":"Monitoring Script","source":"AWS Lambda","note":"done"}`} {
			b, err := ParseOpsgenieAction(action, "db/replica lag", "alias", []byte(body))
			if err != nil {
				t.Fatalf("%s %q: %v", action, body, err)
			}
			if len(b.Alerts) != 1 || !reflect.DeepEqual(b.Alerts[0], escalation.Alert{DedupKey: "db/replica lag", State: want}) {
				t.Errorf("%s %q: got %+v", action, body, b.Alerts)
			}
		}
	}
}

func TestParseOpsgenieActionOnlyByAlias(t *testing.T) {
	for idType, want := range map[string]string{
		"":      "identifierType is required and must be alias",
		"id":    `identifierType "id" is not supported: Klaxon identifies alerts by alias only`,
		"tiny":  `identifierType "tiny" is not supported`,
		"Alias": `identifierType "Alias" is not supported`,
	} {
		_, err := ParseOpsgenieAction(OpsgenieClose, "a", idType, nil)
		var malformed *MalformedEventError
		var invalid *InvalidEventError
		if err == nil || escalation.ErrorCode(err) != escalation.CodeInvalid || errors.As(err, &malformed) || errors.As(err, &invalid) {
			t.Errorf("identifierType %q: %T %v, want a plain invalid error (400)", idType, err, err)
			continue
		}
		if !strings.Contains(err.Error(), want) {
			t.Errorf("identifierType %q: error %q does not mention %q", idType, err, want)
		}
	}
}

func TestParseOpsgenieActionInvalid(t *testing.T) {
	tests := []struct {
		name, identifier, body string
		want                   []string
	}{
		{"malformed body", "a", `{"note":`, nil},
		{"body not an object", "a", `"closing"`, nil},
		{"note not a string", "a", `{"note":5}`, []string{"note: must be a string, not number (offset 9)"}},
		{"blank identifier", " ", ``, []string{"identifier: required"}},
		{"long identifier", strings.Repeat("a", 513), ``, []string{"identifier: an alias is at most 512 characters"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := ParseOpsgenieAction(OpsgenieAcknowledge, tt.identifier, "alias", []byte(tt.body))
			checkOpsgenieError(t, b, err, tt.want)
		})
	}
}

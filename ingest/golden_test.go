package ingest

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.json from the parsers' output")

// fixtures lists the wire fixtures in testdata matching pattern, without
// the goldens and the response examples.
func fixtures(t testing.TB, pattern string) []string {
	t.Helper()
	all, err := filepath.Glob(filepath.Join("testdata", pattern))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range all {
		if !strings.HasSuffix(f, ".golden.json") && !strings.Contains(f, "_response_") {
			out = append(out, f)
		}
	}
	if len(out) == 0 {
		t.Fatalf("no fixtures match %s", pattern)
	}
	return out
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkGolden compares v, as indented JSON, with fixture's golden file.
func checkGolden(t *testing.T, fixture string, v any) {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // keep URLs readable
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	got := buf.Bytes()
	golden := strings.TrimSuffix(fixture, ".json") + ".golden.json"
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want := readFile(t, golden)
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from %s (run go test ./ingest -update and review the diff)\ngot:\n%s", fixture, golden, got)
	}
}

func TestAlertmanagerGolden(t *testing.T) {
	for _, f := range fixtures(t, "alertmanager_*.json") {
		t.Run(filepath.Base(f), func(t *testing.T) {
			b, err := ParseAlertmanager(readFile(t, f))
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, f, b)
		})
	}
}

func TestPagerDutyGolden(t *testing.T) {
	for _, f := range fixtures(t, "pagerduty_events_v2_*.json") {
		t.Run(filepath.Base(f), func(t *testing.T) {
			ev, err := ParsePagerDutyEvent(readFile(t, f))
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, f, ev)
		})
	}
}

// checkParserGolden runs parse on every fixture matching pattern, after
// prepare (nil: the bytes as they are), and compares with the goldens.
func checkParserGolden(t *testing.T, pattern string, prepare func(testing.TB, string, []byte) []byte, parse func([]byte) (Batch, error)) {
	t.Helper()
	for _, f := range fixtures(t, pattern) {
		t.Run(filepath.Base(f), func(t *testing.T) {
			body := readFile(t, f)
			if prepare != nil {
				body = prepare(t, f, body)
			}
			b, err := parse(body)
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, f, b)
		})
	}
}

func TestGrafanaGolden(t *testing.T) {
	checkParserGolden(t, "grafana_*.json", nil, ParseGrafana)
}

func TestUptimeKumaGolden(t *testing.T) {
	checkParserGolden(t, "uptime_kuma_*.json", nil, ParseUptimeKuma)
}

// The template fixtures are parsed as Datadog renders them, with the
// documented example values of datadogExamples.
func TestDatadogGolden(t *testing.T) {
	checkParserGolden(t, "datadog_webhook_*.json", func(t testing.TB, f string, b []byte) []byte {
		if strings.Contains(f, "_template.") {
			return renderDatadog(t, b, nil)
		}
		return b
	}, ParseDatadog)
}

func TestOpsgenieGolden(t *testing.T) {
	checkParserGolden(t, "opsgenie_*.json", nil, ParseOpsgenieCreate)
}

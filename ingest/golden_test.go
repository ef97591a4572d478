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

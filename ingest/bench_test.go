package ingest

import (
	"os"
	"testing"
)

// BenchmarkParseAlertmanager parses the real Alertmanager 0.34 webhook of
// the fixtures: the request path's share of an alert storm.
func BenchmarkParseAlertmanager(b *testing.B) {
	body, err := os.ReadFile("testdata/alertmanager_v0.34_firing.wire.json")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseAlertmanager(body); err != nil {
			b.Fatal(err)
		}
	}
}

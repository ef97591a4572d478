package main

import (
	"bytes"
	"strings"
	"testing"
)

// Klaxon's CPU per alert counts the backlog it applied after the load
// stopped; Alertmanager's is what it spent while answering.
func TestCPUPerAlertCountsKlaxonsDrain(t *testing.T) {
	results := `
{"scenario":"klaxon-1","round":1,"target":"klaxon","senders":16,"alerts_per_request":1,"requests":80000,"alerts":80000,"alerts_per_s":8000,"duration_s":10,"server_cpu_us_per_alert":100,"machine_idle":0.2,"steal":0.05}
{"drain":"klaxon-1","round":1,"backlog_alerts":2000,"drain_s":0.3,"drain_cpu_s":0.8,"flush_mean_us":480.4,"deliveries_per_flush":7.04}
{"scenario":"alertmanager-1","round":1,"target":"alertmanager","senders":16,"alerts_per_request":1,"requests":80000,"alerts":80000,"alerts_per_s":8000,"duration_s":10,"server_cpu_us_per_alert":150,"machine_idle":0.1,"steal":0.01}
`
	scs, err := read(strings.NewReader(results))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if !report(&out, scs) {
		t.Fatal("report: a run had errors")
	}
	// 0.8 s of draining over 80,000 alerts adds 10 µs; the journal's
	// flushes are reported beside the drain.
	for _, want := range []string{
		"| klaxon-1 | 110.0 | 20.0% | 5.0% |",
		"| klaxon-1 | 2000 | 0.30 | 7767 | 480 | 7.0 |",
		"| alertmanager-1 | 150.0 | 10.0% | 1.0% |",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
}

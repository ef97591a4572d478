package main

import (
	"bytes"
	"io"
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
	out := summary(t, results)
	// 0.8 s of draining over 80,000 alerts adds 10 µs; the journal's
	// flushes are reported beside the drain.
	mustShow(t, out,
		"| klaxon-1 | 110.0 | 20.0% | 5.0% |",
		"| klaxon-1 | 2000 | 0.30 | 7767 | 480 | 7.0 |",
		"| alertmanager-1 | 150.0 | 10.0% | 1.0% |")
}

// Two runs' rounds are pooled: round 1 of one run is paired with round 1
// of the same run, never of the other, and each run's ratio is told apart.
func TestRunsArePooledRoundByRound(t *testing.T) {
	morning := `
{"scenario":"klaxon-1","round":1,"target":"klaxon","alerts_per_request":1,"alerts_per_s":9000,"server_cpu_us_per_alert":100,"steal":0.02}
{"scenario":"alertmanager-1","round":1,"target":"alertmanager","alerts_per_request":1,"alerts_per_s":9000,"server_cpu_us_per_alert":100,"steal":0.01}
{"scenario":"klaxon-1","round":2,"target":"klaxon","alerts_per_request":1,"alerts_per_s":9900,"server_cpu_us_per_alert":100,"steal":0.03}
{"scenario":"alertmanager-1","round":2,"target":"alertmanager","alerts_per_request":1,"alerts_per_s":9000,"server_cpu_us_per_alert":100,"steal":0.01}
`
	// The host is busier in the afternoon, and busier still while the
	// durable server writes.
	afternoon := `
{"scenario":"klaxon-1","round":1,"target":"klaxon","alerts_per_request":1,"alerts_per_s":4000,"server_cpu_us_per_alert":100,"steal":0.30}
{"scenario":"alertmanager-1","round":1,"target":"alertmanager","alerts_per_request":1,"alerts_per_s":5000,"server_cpu_us_per_alert":100,"steal":0.10}
`
	// A round where the load generator could not read the machine's times
	// for one side has rates but no stolen time to compare.
	older := `
{"scenario":"klaxon-1","round":1,"target":"klaxon","alerts_per_request":1,"alerts_per_s":8000}
{"scenario":"alertmanager-1","round":1,"target":"alertmanager","alerts_per_request":1,"alerts_per_s":8000,"server_cpu_us_per_alert":100,"steal":0.01}
`
	mustShow(t, summary(t, morning, afternoon, older),
		"| klaxon-1 | alertmanager-1 | 1.000× | 4 | 1.000, 1.100, 0.800, 1.000 |",
		"- klaxon-1: by run 1.050, 0.800, 1.000; 3 rounds of 4 at or above 1.0×",
		"in 3 rounds of 3 (median 3.0% against 1.0%)",
		"- klaxon-1: rate 1.000× Alertmanager (target ≥ 1.0×): met")
}

// A broken line names its file when several are read.
func TestBadLineNamesItsRun(t *testing.T) {
	_, err := read(strings.NewReader(`{"scenario":"klaxon-1"}`), strings.NewReader("{\n"))
	if err == nil || !strings.Contains(err.Error(), "results 2: line 1") {
		t.Fatalf("err = %v, want it to name results 2, line 1", err)
	}
}

// summary is the report of the given runs' results; a run with errors
// fails the test.
func summary(t *testing.T, runs ...string) string {
	t.Helper()
	rs := make([]io.Reader, len(runs))
	for i, r := range runs {
		rs[i] = strings.NewReader(r)
	}
	scs, err := read(rs...)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if !report(&out, scs) {
		t.Fatal("report: a run had errors")
	}
	return out.String()
}

// mustShow fails the test for each line of want that out lacks.
func mustShow(t *testing.T, out string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("report lacks %q:\n%s", w, out)
		}
	}
}

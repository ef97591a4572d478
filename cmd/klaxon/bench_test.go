package main

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/klaxonhq/klaxon/config"
	"github.com/klaxonhq/klaxon/escalation"
)

// BenchmarkIngestHTTP is durable ingest through the wired app over loopback
// HTTP: every op is one webhook of N new alerts, answered after its fsync
// to the intake journal, and the time runs until all are applied.
// bench/run.sh compares the same path, as a separate process, with
// Alertmanager; this one is for profiling:
//
//	go test ./cmd/klaxon -run X -bench IngestHTTP -cpuprofile cpu.out
func BenchmarkIngestHTTP(b *testing.B) {
	for _, n := range []int{1, 100} {
		b.Run(fmt.Sprintf("alerts=%d", n), func(b *testing.B) {
			cfg, err := config.Load("../../config.example.yaml", noEnv)
			if err != nil {
				b.Fatal(err)
			}
			cfg.Database = filepath.Join(b.TempDir(), "klaxon.db")
			cfg.RateLimit = &config.RateLimit{} // the benchmark is the one sender allowed to flood
			a, err := newApp(cfg, escalation.SystemClock{}, slog.New(slog.DiscardHandler), nil)
			if err != nil {
				b.Fatal(err)
			}
			defer a.close()
			srv := httptest.NewServer(a.handler)
			defer srv.Close()
			client := srv.Client()
			client.Transport.(*http.Transport).MaxIdleConnsPerHost = 64
			var seq atomic.Int64
			b.SetParallelism(8) // 16 senders on 2 cores, as in bench/run.sh
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					body := webhook(n, seq.Add(int64(n)))
					req, _ := http.NewRequest(http.MethodPost, srv.URL+"/hooks/alertmanager-checkout", bytes.NewReader(body))
					req.Header.Set("Authorization", "Bearer demo-alertmanager-token")
					resp, err := client.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						b.Errorf("status %d", resp.StatusCode)
						return
					}
				}
			})
			// Accepted is not the end: the time includes applying every
			// alert to its incident.
			if err := a.intake.Wait(b.Context()); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "alerts/s")
			b.ReportMetric(float64(b.N)/float64(a.db.Commits()), "webhooks/commit")
		})
	}
}

// webhook is an Alertmanager v4 webhook of n new alerts in one group.
func webhook(n int, last int64) []byte {
	var buf bytes.Buffer
	buf.WriteString(`{"version":"4","groupKey":"{}:{alertname=\"Bench\"}","status":"firing","receiver":"klaxon","groupLabels":{"alertname":"Bench"},"commonLabels":{},"commonAnnotations":{},"externalURL":"http://am:9093","alerts":[`)
	for i := range n {
		if i > 0 {
			buf.WriteByte(',')
		}
		// Scrambled so fingerprints land all over the key space, like label hashes.
		fp := uint64(last-int64(i)) * 0x9E3779B97F4A7C15
		fmt.Fprintf(&buf, `{"status":"firing","labels":{"alertname":"Bench","instance":"host-%d:9100","job":"node","severity":"warning","id":"%d"},"annotations":{"summary":"bench alert %d","description":"a benchmark alert"},"startsAt":"2025-01-01T00:00:00Z","endsAt":"0001-01-01T00:00:00Z","generatorURL":"http://prometheus:9090/graph","fingerprint":"%016x"}`, i, last-int64(i), last-int64(i), fp)
	}
	buf.WriteString(`]}`)
	return buf.Bytes()
}

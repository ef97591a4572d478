package scale

import (
	"fmt"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/klaxonhq/klaxon/escalation"
	"github.com/klaxonhq/klaxon/store"
)

// BenchmarkMemory: the live Go heap that open alerts and incidents cost.
// N firing alerts go through Engine.Ingest (100 per call, 4 concurrent
// callers, fsynced as in production) into N incidents or into a few; the
// live heap after a forced GC is read before and after, with the store and
// engine open throughout. One run is one measurement: -benchtime 1x.
func BenchmarkMemory(b *testing.B) {
	for _, c := range []struct {
		alerts, incidents int
	}{
		{10_000, 10_000},
		{100_000, 100_000},
		{100_000, 10},
		{1_000_000, 100},
	} {
		b.Run(fmt.Sprintf("alerts=%d/incidents=%d", c.alerts, c.incidents), func(b *testing.B) {
			measureMemory(b, c.alerts, c.incidents)
		})
	}
}

func measureMemory(b *testing.B, alerts, incidents int) {
	ctx := b.Context()
	path := filepath.Join(b.TempDir(), "klaxon.db")
	db, err := store.Open(path, store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	rec := newRecorder(-1)
	eng, err := escalation.New(escalation.Options{Store: db, Catalog: catalog(firstStep), Clock: escalation.SystemClock{},
		Pagers: rec.pagers(), Logger: warnLogger()})
	if err != nil {
		b.Fatal(err)
	}
	integration := grouped
	if alerts == incidents {
		integration = solo
	}
	const batch = 100
	h0 := liveHeap()
	r0, err := rss()
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	err = ingestBatches(ctx, eng, integration, alerts/batch, 4, func(i int) []escalation.Alert {
		out := make([]escalation.Alert, batch)
		for j := range out {
			k := i*batch + j
			out[j] = alert(fmt.Sprintf("k%07d", k), k%incidents, 0)
		}
		return out
	})
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	h1 := liveHeap()
	r1, err := rss()
	if err != nil {
		b.Fatal(err)
	}
	size, err := fileSize(path)
	if err != nil {
		b.Fatal(err)
	}
	stats, err := eng.Stats(ctx)
	if err != nil {
		b.Fatal(err)
	}
	if open := openIncidents(stats); open != incidents {
		b.Fatalf("%d open incidents, want %d", open, incidents)
	}
	runtime.KeepAlive(eng)
	grew := float64(int64(h1) - int64(h0))
	b.Logf("live heap %.1f MiB → %.1f MiB (%+.0f B per alert, %+.0f B per incident); RSS %.0f → %.0f MiB; file %.0f MiB (%.0f B per alert)",
		mib(h0), mib(h1), grew/float64(alerts), grew/float64(incidents), mib(r0), mib(r1),
		mib(uint64(size)), float64(size)/float64(alerts))
	b.ReportMetric(grew/float64(alerts), "heap-B/alert")
	b.ReportMetric(grew/float64(incidents), "heap-B/incident")
	b.ReportMetric(mib(h1), "heap-MiB")
	b.ReportMetric(float64(int64(r1)-int64(r0))/float64(alerts), "rss-B/alert")
	b.ReportMetric(float64(size)/float64(alerts), "file-B/alert")
}

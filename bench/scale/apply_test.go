package scale

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/klaxonhq/klaxon/escalation"
	"github.com/klaxonhq/klaxon/store"
)

// BenchmarkApplyNewAlerts is what the intake applier pays per alert in a
// flood of new alerts, as in bench/run.sh's klaxon-1: transactions of
// single-alert deliveries, each alert a new random fingerprint joining one
// open incident, into a store already holding 50,000 alerts, fsynced as in
// production. Each op applies 20,000 alerts, in transactions of tx: 1,000
// and then 10,000 were the applier's bound, 20,000 is its bound now.
//
//	go test ./bench/scale -run '^$' -bench ApplyNewAlerts -benchtime 10x
func BenchmarkApplyNewAlerts(b *testing.B) {
	for _, perTx := range []int{1_000, 10_000, 20_000} {
		b.Run(fmt.Sprintf("tx=%d", perTx), func(b *testing.B) { measureApply(b, 50_000, perTx) })
	}
}

func measureApply(b *testing.B, stored, perTx int) {
	ctx := b.Context()
	db, err := store.Open(filepath.Join(b.TempDir(), "klaxon.db"), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	eng, err := escalation.New(escalation.Options{Store: db, Catalog: catalog(0), Clock: escalation.SystemClock{},
		Pagers: newRecorder(-1).pagers(), Logger: warnLogger()})
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var seq uint64
	deliveries := func(n int) []escalation.Queued {
		q := make([]escalation.Queued, n)
		for i := range q {
			seq++
			q[i] = escalation.Queued{Seq: seq, Integration: grouped, Received: eng.Now(),
				Alerts: []escalation.Alert{alert(fmt.Sprintf("%016x", rng.Uint64()), 0, 0)}}
		}
		return q
	}
	for range stored / 5_000 {
		if n, err := eng.ApplyQueued(ctx, deliveries(5_000)); err != nil || n != 5_000 {
			b.Fatalf("applied %d of 5,000: %v", n, err)
		}
	}
	const perOp = 20_000
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		var txs [][]escalation.Queued
		for range perOp / perTx {
			txs = append(txs, deliveries(perTx))
		}
		b.StartTimer()
		for _, q := range txs {
			if n, err := eng.ApplyQueued(ctx, q); err != nil || n != len(q) {
				b.Fatalf("applied %d of %d: %v", n, len(q), err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/1e3/float64(b.N*perOp), "µs/alert")
	// Every alert joined the one incident: nothing was skipped as known.
	inc, _, err := eng.Incident(ctx, 1)
	if err != nil {
		b.Fatal(err)
	}
	if want := stored + b.N*perOp; inc.Alerts != want {
		b.Fatalf("incident 1 has %d alerts; want %d", inc.Alerts, want)
	}
}

package escalation_test

import (
	"context"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/escalation"
	"github.com/klaxonhq/klaxon/store"
)

// bulkCounting counts the transactions a store is asked to commit alone.
type bulkCounting struct {
	*store.DB
	bulk atomic.Int64
}

func (s *bulkCounting) UpdateBulk(ctx context.Context, fn func(escalation.Tx) error) error {
	s.bulk.Add(1)
	return s.DB.UpdateBulk(ctx, fn)
}

// The intake's applies go to the store as bulk transactions, which a store
// commits on their own; a delivery taken directly and the escalation it
// starts are ordinary ones.
func TestAppliesAreBulkTransactions(t *testing.T) {
	db, err := store.Open(filepath.Join(t.TempDir(), "k.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	st := &bulkCounting{DB: db}
	clock := escalation.NewManualClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	eng, err := escalation.New(escalation.Options{Store: st, Catalog: catalog(), Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	alert := escalation.Alert{DedupKey: "disk-full", GroupKey: "db-7", State: escalation.AlertFiring, Summary: "disk full"}
	if err := eng.ApplyQueued(ctx, []escalation.Queued{{Seq: 1, Integration: "am", Received: clock.Now(),
		Alerts: []escalation.Alert{alert}}}); err != nil {
		t.Fatal(err)
	}
	if got := st.bulk.Load(); got != 1 {
		t.Fatalf("%d bulk transactions for one apply, want 1", got)
	}
	alert.DedupKey = "cpu-hot"
	if _, err := eng.Ingest(ctx, "am", []escalation.Alert{alert}); err != nil {
		t.Fatal(err)
	}
	if _, err := eng.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if got := st.bulk.Load(); got != 1 {
		t.Fatalf("%d bulk transactions after a direct delivery and a tick, want still 1", got)
	}
	if inc, _, err := eng.Incident(ctx, 1); err != nil || inc.Alerts != 2 {
		t.Fatalf("incident 1 = %+v, %v; want both alerts in it", inc, err)
	}
}

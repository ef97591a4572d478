package escalation_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/escalation"
	"github.com/klaxonhq/klaxon/store"
)

// bulkEngine is an engine on st (a store.DB with its UpdateBulk wrapped:
// the record fixture's wrapper hides it) and a manual clock.
func bulkEngine(t *testing.T, st escalation.Store) (*escalation.ManualClock, *escalation.Engine) {
	t.Helper()
	clock := escalation.NewManualClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	eng, err := escalation.New(escalation.Options{Store: st, Catalog: catalog(), Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	return clock, eng
}

// bulkCounting counts the transactions a store is asked to commit alone.
type bulkCounting struct {
	*store.DB
	bulk atomic.Int64
}

func (s *bulkCounting) UpdateBulk(ctx context.Context, fn func(escalation.Tx, func() bool) error) error {
	s.bulk.Add(1)
	return s.DB.UpdateBulk(ctx, fn)
}

// The intake's applies go to the store as bulk transactions, which a store
// commits on their own; a delivery taken directly and the escalation it
// starts are ordinary ones.
func TestAppliesAreBulkTransactions(t *testing.T) {
	st := &bulkCounting{DB: openDB(t)}
	clock, eng := bulkEngine(t, st)
	ctx := t.Context()
	alert := escalation.Alert{DedupKey: "disk-full", GroupKey: "db-7", State: escalation.AlertFiring, Summary: "disk full"}
	if n, err := eng.ApplyQueued(ctx, []escalation.Queued{{Seq: 1, Integration: "am", Received: clock.Now(),
		Alerts: []escalation.Alert{alert}}}); err != nil || n != 1 {
		t.Fatalf("applied %d of 1: %v", n, err)
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

// yielding is a store whose bulk transactions are told to yield from the
// first time they ask: a page's tick is always waiting.
type yielding struct {
	*store.DB
	asked atomic.Int64
}

func (s *yielding) UpdateBulk(ctx context.Context, fn func(escalation.Tx, func() bool) error) error {
	return s.DB.UpdateBulk(ctx, func(tx escalation.Tx, _ func() bool) error {
		return fn(tx, func() bool { s.asked.Add(1); return true })
	})
}

// An apply told to yield stops between deliveries: the first is applied
// and the intake mark moves to it, the rest are untouched and go with the
// next call, and nothing is applied twice.
func TestAnApplyToldToYieldCommitsTheDeliveriesBeforeIt(t *testing.T) {
	st := &yielding{DB: openDB(t)}
	clock, eng := bulkEngine(t, st)
	ctx := t.Context()
	var q []escalation.Queued
	for i, key := range []string{"disk-full", "cpu-hot", "oom"} {
		q = append(q, escalation.Queued{Seq: uint64(10 + i), Integration: "am", Received: clock.Now(),
			Alerts: []escalation.Alert{{DedupKey: key, GroupKey: "db-7", State: escalation.AlertFiring, Summary: key}}})
	}
	for want := 1; want <= 3; want++ {
		n, err := eng.ApplyQueued(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Fatalf("apply %d: applied %d deliveries, want the 1 before the yield", want, n)
		}
		q = q[n:]
		if mark, err := eng.IntakeApplied(ctx); err != nil || mark != uint64(9+want) {
			t.Fatalf("intake mark after apply %d = %d, %v; want %d", want, mark, err, 9+want)
		}
		if inc, _, err := eng.Incident(ctx, 1); err != nil || inc.Alerts != want {
			t.Fatalf("after apply %d incident 1 = %+v, %v; want %d alerts", want, inc, err, want)
		}
	}
	if got := st.asked.Load(); got != 2 {
		t.Errorf("yield asked %d times, want 2 (never before the first delivery)", got)
	}
}

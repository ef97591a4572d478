package escalation

import (
	"context"
	"fmt"
	"time"
)

// Queued is a delivery that an intake journal accepted durably before it
// was applied. Seq orders deliveries; Received is when it was accepted.
type Queued struct {
	Seq         uint64
	Integration string
	Received    time.Time
	Alerts      []Alert
}

// IntakeApplied is the Seq of the last queued delivery applied (0: none).
func (e *Engine) IntakeApplied(ctx context.Context) (uint64, error) {
	var seq uint64
	err := e.store.View(ctx, func(tx Tx) error {
		var err error
		seq, err = tx.IntakeApplied()
		return err
	})
	return seq, err
}

// StoreID is the database's own id (its copies keep it), so that an intake
// journal applies its deliveries only to the database it was written for.
func (e *Engine) StoreID(ctx context.Context) (string, error) {
	var id string
	err := e.store.View(ctx, func(tx Tx) error {
		var err error
		id, err = tx.StoreID()
		return err
	})
	return id, err
}

// ApplyQueued applies checked deliveries, in Seq order, in one transaction
// that also moves the intake mark to the last of them, and returns how
// many of q it applied: all of them, or fewer when the store asked the
// transaction to yield to other writers (BulkUpdater) — the rest wait for
// the next call. Deliveries at or below the mark were applied before (a
// replay after a crash) and are skipped. On error nothing of q is applied.
//
// The alerts take effect when they are applied, on the clock read inside
// the transaction, not when they were received: a page the runner queued
// while a resolve waited in the journal then stays before the resolve in
// the timeline, as it was, and escalation never starts in the past.
func (e *Engine) ApplyQueued(ctx context.Context, q []Queued) (int, error) {
	if len(q) == 0 {
		return 0, nil
	}
	results := make([]IngestResult, len(q))
	var n int
	err := e.updateBulk(ctx, func(tx Tx, yield func() bool) error {
		clear(results)
		n = 0
		mark, err := tx.IntakeApplied()
		if err != nil {
			return err
		}
		now := e.clock.Now()
		// One timeline entry per run of alerts of one kind, across the
		// deliveries of this transaction: a storm of single-alert
		// webhooks reads as one storm.
		itx := &ingestTx{Tx: tx}
		for i, d := range q {
			// Between deliveries, a page's tick waiting for the writer
			// goes first: what is applied so far commits now.
			if i > 0 && yield() {
				break
			}
			n = i + 1
			if d.Seq <= mark {
				continue
			}
			in, ok := e.cat.Integrations[d.Integration]
			if !ok {
				// Accepted under a config that had it; gone after a restart.
				return Errorf(CodeNotFound, "intake: delivery %d: unknown integration %q", d.Seq, d.Integration)
			}
			if err := e.applyDelivery(itx, in, e.cat.Services[in.Service], d.Alerts, now, &results[i]); err != nil {
				return fmt.Errorf("intake: delivery %d (%s): %w", d.Seq, d.Integration, err)
			}
			mark = d.Seq
		}
		if err := itx.flushAll(); err != nil {
			return err
		}
		return tx.SetIntakeApplied(mark)
	})
	if err != nil {
		return 0, err
	}
	for i, d := range q[:n] {
		e.countAlerts(d.Integration, results[i])
	}
	e.poke()
	return n, nil
}

// SkipQueued moves the intake mark past a delivery that failed when
// applied alone, so one bad delivery cannot hold up every later one. The
// caller logs it; it is counted as alerts in error.
func (e *Engine) SkipQueued(ctx context.Context, d Queued) error {
	err := e.store.Update(ctx, func(tx Tx) error {
		mark, err := tx.IntakeApplied()
		if err != nil || d.Seq <= mark {
			return err
		}
		return tx.SetIntakeApplied(d.Seq)
	})
	if err != nil {
		return err
	}
	e.metrics.Alerts(d.Integration, "error", len(d.Alerts))
	return nil
}

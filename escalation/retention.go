package escalation

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Deleted counts what a prune deleted.
type Deleted struct {
	Incidents, Events, Pages, Alerts, ChatPosts int
}

func (d *Deleted) add(o Deleted) {
	d.Incidents += o.Incidents
	d.Events += o.Events
	d.Pages += o.Pages
	d.Alerts += o.Alerts
	d.ChatPosts += o.ChatPosts
}

// pruneBatch bounds the incidents one prune transaction deletes: each
// walks the alert records and pages once, and pages and alerts wait for
// it (about 60 ms for 200 in a store of 10,000 incidents with 200,000
// alerts and 100,000 pages: BenchmarkDeleteIncidents in store).
const pruneBatch = 200

// Prune deletes the incidents settled for longer than keep, with all that
// is kept for them alone, and what else has aged past it (early resolves,
// notices). Settled: resolved, nothing of it firing, not shown as ongoing
// on the status page, and untouched (no note, no public update) since
// before the cutoff. An incident an alert still fires in is kept, however
// old: that alert's next notice must find it rather than page afresh.
//
// The cutoff is keep before now, or before the latest change to any
// incident if that is earlier: a clock run ahead (a bad clock at boot)
// must not make yesterday's incidents look a year old.
func (e *Engine) Prune(ctx context.Context, keep time.Duration) (Deleted, error) {
	var total Deleted
	if keep <= 0 {
		return total, fmt.Errorf("prune: keep %s is not a duration to keep anything for", keep)
	}
	now := e.clock.Now()
	type candidate struct {
		id   int64
		last time.Time
	}
	var candidates []candidate
	var newest time.Time
	err := e.store.View(ctx, func(tx Tx) error {
		candidates, newest = candidates[:0], time.Time{}
		return tx.EachIncident(func(inc *Incident) error {
			if inc.UpdatedAt.After(newest) {
				newest = inc.UpdatedAt
			}
			if settled(inc, now.Add(-keep)) {
				candidates = append(candidates, candidate{inc.ID, inc.UpdatedAt})
			}
			return ctx.Err()
		})
	})
	if err != nil {
		return total, fmt.Errorf("prune: %w", err)
	}
	before := now.Add(-keep)
	if !newest.IsZero() && newest.Before(now) {
		before = newest.Add(-keep)
	}
	var ids []int64
	for _, c := range candidates {
		if c.last.Before(before) {
			ids = append(ids, c.id)
		}
	}
	for first := true; first || len(ids) > 0; first = false {
		batch := ids[:min(pruneBatch, len(ids))]
		ids = ids[len(batch):]
		early := time.Time{}
		if len(ids) == 0 {
			early = before // once, with the last batch
		}
		err := e.store.Update(ctx, func(tx Tx) error {
			// Looked at again: an alert may have fired, or someone noted
			// something, since the list was read.
			var still []int64
			for _, id := range batch {
				inc, err := tx.Incident(id)
				if errors.Is(err, ErrNotFound) {
					continue
				}
				if err != nil {
					return err
				}
				if settled(inc, before) {
					still = append(still, id)
				}
			}
			d, err := tx.DeleteIncidents(still, early)
			if err == nil {
				total.add(d)
			}
			return err
		})
		if err != nil {
			return total, fmt.Errorf("prune: %w", err)
		}
	}
	if total != (Deleted{}) {
		e.log.InfoContext(ctx, "pruned what is older than the retention", "before", before.UTC().Format(time.RFC3339),
			"incidents", total.Incidents, "events", total.Events, "pages", total.Pages, "alerts", total.Alerts, "chat_posts", total.ChatPosts)
	}
	return total, nil
}

// settled reports whether inc is done with for good as of before.
func settled(inc *Incident, before time.Time) bool {
	return inc.Status == StatusResolved && inc.Firing == 0 && !inc.ResolvedAt.IsZero() &&
		inc.ResolvedAt.Before(before) && inc.UpdatedAt.Before(before) && inc.NextDue.IsZero() &&
		(inc.Public == nil || inc.Public.Status == PublicResolved)
}

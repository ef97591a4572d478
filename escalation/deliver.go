package escalation

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"time"
)

// claimLease is how long a page claimed for sending stays out of the due
// list. Within one process deliveries finish (or time out) well before it;
// after a crash RecoverOutbox makes claimed pages due again at once.
const claimLease = 5 * time.Minute

// tickBatch bounds how many due records one pass takes.
const tickBatch = 100

// Tick moves every incident whose escalation is due at the clock's now: it
// activates levels and queues pages into the outbox. The due incidents of
// a pass commit together in one transaction, so a busy store costs one
// commit per pass, not one per incident. If that transaction fails, each
// incident is retried in its own, so one that fails (or panics) cannot
// hold back the others; a failing incident is retried a minute later.
func (e *Engine) Tick(ctx context.Context) (int, error) {
	n, _, err := e.TickAndClaim(ctx, 0)
	return n, err
}

// TickAndClaim is Tick, then ClaimDue(claim) in the same transaction: a
// page that a step queues is claimed by the commit that queued it, so
// while the store is busy (an alert storm's applies) it waits behind
// other writers once on its way to the pager, not twice.
func (e *Engine) TickAndClaim(ctx context.Context, claim int) (int, []Page, error) {
	now := e.clock.Now()
	if err := e.tickTimers(ctx, now); err != nil {
		return 0, nil, fmt.Errorf("tick: %w", err)
	}
	var due []int64
	err := e.store.View(ctx, func(tx Tx) error {
		var err error
		due, err = tx.DueIncidents(now, tickBatch)
		return err
	})
	if err != nil {
		return 0, nil, fmt.Errorf("tick: %w", err)
	}
	if len(due) == 0 {
		pages, err := e.ClaimDue(ctx, claim)
		return 0, pages, err
	}
	n := 0
	var claimed []Page
	err = e.update(ctx, func(tx Tx) error {
		n, claimed = 0, nil
		for _, id := range due {
			moved, err := e.step(tx, id, now)
			if err != nil {
				return fmt.Errorf("incident %d: %w", id, err)
			}
			if moved {
				n++
			}
		}
		if claim <= 0 {
			return nil
		}
		var err error
		claimed, err = e.claimTx(tx, now, claim)
		return err
	})
	if err == nil {
		return n, claimed, nil
	}
	if ctx.Err() != nil {
		return 0, nil, ctx.Err()
	}
	n = 0
	for _, id := range due {
		if err := ctx.Err(); err != nil {
			return n, nil, err
		}
		moved := false
		err := e.update(ctx, func(tx Tx) error {
			var err error
			moved, err = e.step(tx, id, now)
			return err
		})
		if err != nil {
			e.metrics.Panic(PanicIncident)
			e.log.ErrorContext(ctx, "escalation step failed; retrying in a minute", "incident_id", id, "err", err)
			e.quarantine(ctx, id, now.Add(time.Minute))
			continue
		}
		if moved {
			n++
		}
	}
	pages, err := e.ClaimDue(ctx, claim)
	return n, pages, err
}

// step advances one due incident in tx; moved is false when a concurrent
// action already moved it.
func (e *Engine) step(tx Tx, id int64, now time.Time) (moved bool, err error) {
	inc, err := tx.Incident(id)
	if err != nil {
		return false, err
	}
	if inc.NextDue.IsZero() || inc.NextDue.After(now) {
		return false, nil
	}
	if err := e.advance(tx, inc, now); err != nil {
		return false, err
	}
	return true, tx.PutIncident(inc)
}

// quarantine pushes a failing incident's due time back so it cannot spin.
func (e *Engine) quarantine(ctx context.Context, id int64, until time.Time) {
	err := e.store.Update(ctx, func(tx Tx) error {
		inc, err := tx.Incident(id)
		if err != nil {
			return err
		}
		inc.NextDue = until
		return tx.PutIncident(inc)
	})
	if err != nil {
		e.log.ErrorContext(ctx, "cannot reschedule failing incident", "incident_id", id, "err", err)
	}
}

// RecoverOutbox makes pages that were being sent when the process stopped
// due again now. Delivery is at least once: a page the provider took just
// before a crash is sent again (one duplicate), never lost.
func (e *Engine) RecoverOutbox(ctx context.Context) (int, error) {
	now := e.clock.Now()
	n := 0
	err := e.store.Update(ctx, func(tx Tx) error {
		n = 0
		pages, err := tx.Outbox()
		if err != nil {
			return err
		}
		for _, p := range pages {
			if p.Status != PageSending {
				continue
			}
			p.Status, p.NotBefore = PageQueued, now
			if err := tx.PutPage(p); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("recover outbox: %w", err)
	}
	return n, nil
}

// ClaimDue takes up to limit due pages out of the due list for sending. A
// page whose incident no longer needs it is cancelled instead. A limit of
// zero or less claims nothing.
func (e *Engine) ClaimDue(ctx context.Context, limit int) ([]Page, error) {
	if limit <= 0 {
		return nil, nil
	}
	now := e.clock.Now()
	// Most passes find nothing due; a read costs no disk flush.
	due := false
	err := e.store.View(ctx, func(tx Tx) error {
		next, ok, err := tx.NextPageDue()
		due = ok && !next.After(now)
		return err
	})
	if err != nil || !due {
		return nil, err
	}
	var claimed []Page
	err = e.store.Update(ctx, func(tx Tx) error {
		var err error
		claimed, err = e.claimTx(tx, now, limit)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("claim pages: %w", err)
	}
	return claimed, nil
}

// claimTx marks up to limit pages due at now as sending and returns them,
// cancelling instead any whose incident is no longer triggered.
func (e *Engine) claimTx(tx Tx, now time.Time, limit int) ([]Page, error) {
	pages, err := tx.DuePages(now, limit)
	if err != nil {
		return nil, err
	}
	var claimed []Page
	for _, p := range pages {
		var inc *Incident
		if !p.Notice() {
			inc, err = tx.Incident(p.IncidentID)
			if err != nil && !errors.Is(err, ErrNotFound) {
				return nil, err
			}
		}
		if !p.Notice() && (inc == nil || inc.Status != StatusTriggered) {
			p.Status, p.NotBefore, p.Error = PageCancelled, time.Time{}, "incident no longer triggered"
			if err := tx.PutPage(p); err != nil {
				return nil, err
			}
			continue
		}
		e.metrics.Lag(now.Sub(p.NotBefore))
		p.Status = PageSending
		p.Attempts++
		p.NotBefore = now.Add(claimLease)
		if err := tx.PutPage(p); err != nil {
			return nil, err
		}
		claimed = append(claimed, *p)
	}
	return claimed, nil
}

// Deliver hands a claimed page to its channel's pager and records the
// outcome in a transaction of its own. A panicking pager is contained and
// counts as a failed attempt.
func (e *Engine) Deliver(ctx context.Context, p Page) error {
	return e.Record(ctx, []Outcome{e.Send(ctx, p)})
}

func (e *Engine) send(ctx context.Context, p Page) (d Delivery, err error) {
	pager, ok := e.pagers[p.Channel]
	if !ok {
		return Delivery{}, Permanent(fmt.Errorf("no provider configured for channel %s", p.Channel))
	}
	defer func() {
		if v := recover(); v != nil {
			e.log.Error("panic in pager", "page_id", p.ID, "incident_id", p.IncidentID, "channel", p.Channel,
				"panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			e.metrics.Panic(PanicPager)
			err = fmt.Errorf("pager panicked: %v", v)
		}
	}()
	ctx, cancel := context.WithTimeout(ctx, e.sendTimeout)
	defer cancel()
	return pager.Send(ctx, p)
}

// failedForGood puts a page's last failure (ev) on the timeline and makes
// the person's next contact step due now, unless their run has moved on
// already, or the page was the last rule of its round: the next round
// starts when repeat_every says. Otherwise a person every channel fails
// for (a wrong number, every provider down) would be tried again and again
// without pause, flooding the providers and the timeline; one try of each
// rule a round is enough to learn that it still fails.
func (e *Engine) failedForGood(tx Tx, p *Page, ev Event, now time.Time) error {
	inc, err := tx.Incident(p.IncidentID)
	if err != nil {
		return err
	}
	var run *ContactRun
	if i := inc.Escalation.run(p.Person); i >= 0 && inc.Status == StatusTriggered {
		run = &inc.Escalation.Runs[i]
	}
	person := e.cat.People[p.Person]
	switch {
	case run == nil || person == nil || len(person.Rules) == 0 || run.Step != p.Step+1 || run.NextAt.IsZero():
		run = nil // acknowledged, or paging has moved on
	case run.Step%len(person.Rules) == 0:
		ev.Message += "; the next round of contact rules starts at its time"
		run = nil
	default:
		ev.Message += "; trying the next contact rule"
	}
	if err := tx.AppendEvent(p.IncidentID, ev); err != nil || run == nil {
		return err
	}
	run.NextAt = now
	if err := e.advance(tx, inc, now); err != nil {
		return err
	}
	return tx.PutIncident(inc)
}

// NextDue is the earliest instant the engine has work: an incident's next
// escalation step, a notice timer, an outbox page or a chat post to sync.
func (e *Engine) NextDue(ctx context.Context) (time.Time, bool, error) {
	return e.nextDue(ctx, func(string) bool { return true })
}

// nextDue is NextDue, counting only the chat posts of chats that open
// says may take more now, and none when open is nil: the runner leaves
// out a chat whose share of the workers is busy, and every chat while
// all are (a finishing one pokes), so due chat work cannot make it spin.
func (e *Engine) nextDue(ctx context.Context, open func(chat string) bool) (time.Time, bool, error) {
	var at time.Time
	var ok bool
	err := e.store.View(ctx, func(tx Tx) error {
		a, okA, err := tx.NextIncidentDue()
		if err != nil {
			return err
		}
		b, okB, err := tx.NextPageDue()
		if err != nil {
			return err
		}
		timers, err := tx.Timers()
		if err != nil {
			return err
		}
		for _, t := range timers {
			if !okA || t.At.Before(a) {
				a, okA = t.At, true
			}
		}
		if open != nil && len(e.chats) > 0 {
			c, okC, err := tx.NextChatDue(open)
			if err != nil {
				return err
			}
			if okC && (!okA || c.Before(a)) {
				a, okA = c, true
			}
		}
		switch {
		case okA && okB:
			at, ok = a, true
			if b.Before(a) {
				at = b
			}
		case okA:
			at, ok = a, true
		case okB:
			at, ok = b, true
		}
		return nil
	})
	return at, ok, err
}

// RunDue does all work due at the clock's now, synchronously: escalation
// steps, then deliveries and chat syncs, until nothing due is left (a permanent failure can
// make the next contact rule due at once). Tests and tools drive the engine
// with it; the Runner does the same work with concurrent deliveries.
func (e *Engine) RunDue(ctx context.Context) error {
	for range 1000 {
		_, pages, err := e.TickAndClaim(ctx, tickBatch)
		if err != nil {
			return err
		}
		for _, p := range pages {
			if err := e.Deliver(ctx, p); err != nil {
				return err
			}
		}
		posts, err := e.ClaimChatPosts(ctx, tickBatch, nil)
		if err != nil {
			return err
		}
		for _, p := range posts {
			if err := e.SyncChatPost(ctx, p); err != nil {
				return err
			}
		}
		next, ok, err := e.NextDue(ctx)
		if err != nil {
			return err
		}
		if !ok || next.After(e.clock.Now()) {
			return nil
		}
	}
	return errors.New("run due: work still due after 1000 passes")
}

// RunUntil drives an engine whose clock is the manual clock given: it moves
// the clock from due time to due time up to end, doing the work due at each
// instant, and leaves it at end.
func (e *Engine) RunUntil(ctx context.Context, clock *ManualClock, end time.Time) error {
	for range 1_000_000 {
		if err := e.RunDue(ctx); err != nil {
			return err
		}
		next, ok, err := e.NextDue(ctx)
		if err != nil {
			return err
		}
		if !ok || next.After(end) {
			clock.Set(end)
			return e.RunDue(ctx)
		}
		clock.Set(next)
	}
	return errors.New("run until: work still due after a million steps")
}

// PageReport records what a provider reported later about a page it took
// (a delivery receipt): delivered, or failed after all (undelivered SMS,
// an unanswered or busy call). A failure moves the person to their next
// contact rule at once, as a failure at sending would have.
func (e *Engine) PageReport(ctx context.Context, pageID int64, delivered bool, detail string) error {
	now := e.clock.Now()
	err := e.update(ctx, func(tx Tx) error {
		p, err := tx.Page(pageID)
		if errors.Is(err, ErrNotFound) {
			return Errorf(CodeNotFound, "page %d does not exist", pageID)
		}
		if err != nil {
			return err
		}
		// A page still "sending" reached the provider, since it reports on
		// it: the report can overtake the send's own answer, which then
		// only adds what it knows (applyOutcome). Any other state was
		// reported already (a repeat, or a failure arriving after the
		// delivery) or failed.
		if p.Status != PageSent && p.Status != PageSending {
			return nil
		}
		p.NotBefore = time.Time{}
		if delivered {
			p.Status = PageDelivered
			if err := tx.PutPage(p); err != nil || p.Notice() {
				return err
			}
			return tx.AppendEvent(p.IncidentID, Event{At: now, Kind: EventPageDelivered, Person: p.Person,
				Channel: p.Channel, Provider: p.Provider, PageID: p.ID, Message: detail})
		}
		p.Status, p.Error = PageFailed, detail
		if err := tx.PutPage(p); err != nil || p.Notice() {
			return err
		}
		return e.failedForGood(tx, p, Event{At: now, Kind: EventPageFailed, Person: p.Person, Channel: p.Channel,
			Provider: p.Provider, PageID: p.ID, Message: detail}, now)
	})
	if err != nil {
		return fmt.Errorf("page %d report: %w", pageID, err)
	}
	e.poke()
	return nil
}

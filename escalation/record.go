package escalation

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"time"
)

// Outcome is what one delivery attempt of a claimed page came to: the
// provider took the page (Err nil) or it did not. Until Record commits it,
// the page stays claimed, and a crash sends it again.
type Outcome struct {
	Page     Page
	Delivery Delivery
	Err      error
}

// Send hands a claimed page to its channel's pager, outside any
// transaction and with the send timeout, and returns the outcome for
// Record. A panicking pager is contained and counts as a failed attempt.
func (e *Engine) Send(ctx context.Context, p Page) Outcome {
	d, err := e.send(ctx, p)
	return Outcome{Page: p, Delivery: d, Err: err}
}

// Record commits delivery outcomes in one write transaction, so a burst of
// deliveries costs one commit, not one each. Each is recorded as on its
// own: sent; failed and retried with backoff; or failed for good, and then
// the person's next contact rule is used at once. If the shared
// transaction fails, each outcome is retried in its own, so one that fails
// or panics cannot lose the others. A page whose outcome cannot be
// recorded stays claimed and goes out again when its lease ends; the error
// joins those of the outcomes not recorded.
func (e *Engine) Record(ctx context.Context, outs []Outcome) error {
	_, err := e.RecordAndClaim(ctx, outs, 0)
	return err
}

// RecordAndClaim is Record that also claims up to claim due pages in the
// same transaction, as ClaimDue would. A runner that bounds the pages
// claimed and not recorded claims as many as it records: while the store's
// writer is busy, the pages due meanwhile then go out with the commit that
// makes room for them, not a commit later. If the shared transaction
// fails, the outcomes are recorded one by one and nothing is claimed.
func (e *Engine) RecordAndClaim(ctx context.Context, outs []Outcome, claim int) ([]Page, error) {
	if len(outs) == 0 {
		return nil, nil
	}
	// The outcomes must be recorded even if the caller is shutting down.
	ctx = context.WithoutCancel(ctx)
	now := e.clock.Now()
	var claimed []Page
	err := e.update(ctx, func(tx Tx) error {
		claimed = nil
		for i := range outs {
			if err := e.applyOutcome(tx, &outs[i], now); err != nil {
				return err
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
		for i := range outs {
			e.reportOutcome(&outs[i])
		}
		e.poke()
		return claimed, nil
	}
	if len(outs) == 1 && claim <= 0 {
		return nil, e.unrecorded(&outs[0], err)
	}
	var errs []error
	for i := range outs {
		o := &outs[i]
		if err := e.update(ctx, func(tx Tx) error { return e.applyOutcome(tx, o, now) }); err != nil {
			errs = append(errs, e.unrecorded(o, err))
			continue
		}
		e.reportOutcome(o)
	}
	e.poke()
	return nil, errors.Join(errs...)
}

// unrecorded wraps the error of an outcome that could not be recorded,
// logging and counting it first if it was a panic.
func (e *Engine) unrecorded(o *Outcome, err error) error {
	if pe, ok := errors.AsType[*outcomePanic](err); ok {
		e.log.Error("panic recording a page's outcome", "page_id", o.Page.ID, "incident_id", o.Page.IncidentID,
			"panic", fmt.Sprint(pe.value), "stack", string(pe.stack))
		e.metrics.Panic(PanicPage)
	}
	return fmt.Errorf("record page %d: %w", o.Page.ID, err)
}

// outcomePanic is a panic recovered while recording one outcome, so that
// it fails only that outcome's transaction.
type outcomePanic struct {
	value any
	stack []byte
}

func (p *outcomePanic) Error() string { return fmt.Sprintf("recording panicked: %v", p.value) }

// applyOutcome writes one outcome in tx.
func (e *Engine) applyOutcome(tx Tx, o *Outcome, now time.Time) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &outcomePanic{value: v, stack: debug.Stack()}
		}
	}()
	d, sendErr := o.Delivery, o.Err
	p, err := tx.Page(o.Page.ID)
	if err != nil {
		return err
	}
	if p.Status != PageSending {
		// The provider's delivery report came first (PageReport): what it
		// said stands; the send adds only that it went out, and how.
		if sendErr != nil || !p.SentAt.IsZero() {
			return nil
		}
		p.SentAt, p.Provider, p.ProviderID, p.NotBefore = now, d.Provider, d.ProviderID, time.Time{}
		if err := tx.PutPage(p); err != nil || p.Notice() {
			return err
		}
		return tx.AppendEvent(p.IncidentID, Event{At: now, Kind: EventPageSent, Person: p.Person,
			Channel: p.Channel, Provider: d.Provider, PageID: p.ID})
	}
	if sendErr == nil {
		p.Status, p.SentAt, p.NotBefore, p.Error = PageSent, now, time.Time{}, ""
		p.Provider, p.ProviderID = d.Provider, d.ProviderID
		if err := tx.PutPage(p); err != nil || p.Notice() {
			return err
		}
		for _, f := range d.Failed {
			if err := tx.AppendEvent(p.IncidentID, Event{At: now, Kind: EventPageFailed, Person: p.Person,
				Channel: p.Channel, PageID: p.ID, Message: f + "; trying the next provider"}); err != nil {
				return err
			}
		}
		return tx.AppendEvent(p.IncidentID, Event{At: now, Kind: EventPageSent, Person: p.Person,
			Channel: p.Channel, Provider: d.Provider, PageID: p.ID})
	}
	p.Error = sendErr.Error()
	if !IsPermanent(sendErr) && p.Attempts < e.maxAttempts {
		// Acknowledged or resolved while this attempt was at the
		// provider: no retry, and the timeline says why it stops here.
		if !p.Notice() {
			inc, err := tx.Incident(p.IncidentID)
			if err != nil && !errors.Is(err, ErrNotFound) {
				return err
			}
			if inc == nil || inc.Status != StatusTriggered {
				return e.cancelFailed(tx, p, inc, d.Provider, sendErr, now)
			}
		}
		wait := e.retryBackoff << (p.Attempts - 1)
		p.Status, p.NotBefore = PageQueued, now.Add(wait)
		if err := tx.PutPage(p); err != nil || p.Notice() {
			return err
		}
		return tx.AppendEvent(p.IncidentID, Event{At: now, Kind: EventPageFailed, Person: p.Person,
			Channel: p.Channel, PageID: p.ID, Provider: d.Provider,
			Message: fmt.Sprintf("attempt %d failed: %v; retrying in %s", p.Attempts, sendErr, wait)})
	}
	p.Status, p.NotBefore = PageFailed, time.Time{}
	if err := tx.PutPage(p); err != nil || p.Notice() {
		return err
	}
	return e.failedForGood(tx, p, Event{At: now, Kind: EventPageFailed, Person: p.Person,
		Channel: p.Channel, PageID: p.ID, Provider: d.Provider,
		Message: fmt.Sprintf("attempt %d failed for good: %v", p.Attempts, sendErr)}, now)
}

// cancelFailed ends a page whose attempt failed after its incident
// stopped paging (inc nil: it is gone): cancelled, not retried.
func (e *Engine) cancelFailed(tx Tx, p *Page, inc *Incident, provider string, sendErr error, now time.Time) error {
	why := "incident no longer triggered"
	if inc != nil {
		why = "incident " + string(inc.Status)
	}
	p.Status, p.NotBefore = PageCancelled, time.Time{}
	if err := tx.PutPage(p); err != nil || inc == nil {
		return err
	}
	return tx.AppendEvent(p.IncidentID, Event{At: now, Kind: EventPageCancelled, Person: p.Person,
		Channel: p.Channel, PageID: p.ID, Provider: provider,
		Message: fmt.Sprintf("attempt %d failed: %v; not retried: %s", p.Attempts, sendErr, why)})
}

// reportOutcome logs and counts a committed outcome.
func (e *Engine) reportOutcome(o *Outcome) {
	sent, d := o.Page, o.Delivery
	log := e.log.With("page_id", sent.ID, "incident_id", sent.IncidentID, "person", sent.Person, "channel", sent.Channel)
	// A provider that failed before another delivered, or before all the
	// others failed too ("provider: reason").
	for _, f := range d.Failed {
		if o.Err == nil {
			log.Warn("page provider failed; the next one delivered", "failure", f)
		}
		e.metrics.Page(sent.Channel, strings.SplitN(f, ":", 2)[0], "failed")
	}
	if o.Err == nil {
		e.metrics.Page(sent.Channel, d.Provider, "sent")
		log.Info("page sent", "provider", d.Provider, "provider_id", d.ProviderID)
		return
	}
	outcome := "retry"
	if IsPermanent(o.Err) || sent.Attempts >= e.maxAttempts {
		outcome = "failed"
	}
	if len(d.Failed) == 0 {
		e.metrics.Page(sent.Channel, d.Provider, outcome) // one provider's own failure
	}
	log.Warn("page failed", "attempt", sent.Attempts, "permanent", IsPermanent(o.Err), "err", o.Err)
}

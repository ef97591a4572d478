package escalation

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Acknowledge stops paging for an incident. Nothing is paged for it once
// this returns: queued pages are cancelled in the same transaction.
func (e *Engine) Acknowledge(ctx context.Context, id int64, by Actor) (*Incident, error) {
	return e.act(ctx, id, func(tx Tx, inc *Incident, now time.Time) error {
		return e.acknowledge(tx, inc, now, by)
	})
}

// Resolve closes an incident and stops its paging.
func (e *Engine) Resolve(ctx context.Context, id int64, by Actor, note string) (*Incident, error) {
	return e.act(ctx, id, func(tx Tx, inc *Incident, now time.Time) error {
		return e.resolve(tx, inc, now, by, note)
	})
}

// act runs one human action on one incident in one transaction.
func (e *Engine) act(ctx context.Context, id int64, fn func(Tx, *Incident, time.Time) error) (*Incident, error) {
	if id <= 0 {
		return nil, Errorf(CodeInvalid, "incident ID must be a positive number")
	}
	now := e.clock.Now()
	var out *Incident
	err := e.update(ctx, func(tx Tx) error {
		inc, err := tx.Incident(id)
		if errors.Is(err, ErrNotFound) {
			return Errorf(CodeNotFound, "incident #%d does not exist", id)
		}
		if err != nil {
			return err
		}
		if err := fn(tx, inc, now); err != nil {
			return err
		}
		out = inc
		return tx.PutIncident(inc)
	})
	if err != nil {
		return nil, err
	}
	e.poke()
	return out, nil
}

func (e *Engine) acknowledge(tx Tx, inc *Incident, now time.Time, by Actor) error {
	switch {
	case inc.Status == StatusAcknowledged && !inc.SnoozedUntil.IsZero():
		// An ack during a snooze keeps it acknowledged for good.
		inc.SnoozedUntil, inc.AcknowledgedAt, inc.AcknowledgedBy, inc.UpdatedAt = time.Time{}, now, by.Name, now
		if err := tx.AppendEvent(inc.ID, Event{At: now, Kind: EventAcknowledged, Actor: by.Name, Via: by.Via,
			Message: "acknowledged; snooze cancelled"}); err != nil {
			return err
		}
		return e.stopPaging(tx, inc, now, "acknowledged by "+by.Name)
	case inc.Status == StatusAcknowledged:
		return Errorf(CodeConflict, "incident #%d is already acknowledged by %s", inc.ID, inc.AcknowledgedBy)
	case inc.Status == StatusResolved:
		return Errorf(CodeConflict, "incident #%d is already resolved", inc.ID)
	}
	inc.Status = StatusAcknowledged
	inc.AcknowledgedAt, inc.AcknowledgedBy, inc.UpdatedAt = now, by.Name, now
	if err := tx.AppendEvent(inc.ID, Event{At: now, Kind: EventAcknowledged, Actor: by.Name, Via: by.Via}); err != nil {
		return err
	}
	return e.stopPaging(tx, inc, now, "acknowledged by "+by.Name)
}

func (e *Engine) resolve(tx Tx, inc *Incident, now time.Time, by Actor, note string) error {
	if inc.Status == StatusResolved {
		return Errorf(CodeConflict, "incident #%d is already resolved", inc.ID)
	}
	// Resolved is resolved: a resolve the flap cooldown was holding back
	// is moot, and so is a hold on its pages.
	inc.Status, inc.SnoozedUntil, inc.ResolveAt, inc.HeldUntil, inc.HeldBy = StatusResolved, time.Time{}, time.Time{}, time.Time{}, 0
	// A person who resolves a root cause while its impact still fires has
	// decided: those alerts stay, and open incidents of their own only
	// when their monitors tell of them again (Alertmanager's repeat).
	inc.SplitAt = time.Time{}
	inc.ResolvedAt, inc.ResolvedBy, inc.UpdatedAt = now, by.Name, now
	if err := tx.AppendEvent(inc.ID, Event{At: now, Kind: EventResolved, Actor: by.Name, Via: by.Via, Message: note}); err != nil {
		return err
	}
	return e.stopPaging(tx, inc, now, "resolved by "+by.Name)
}

// stopPaging clears the escalation and cancels the incident's queued pages.
// A page already handed to a provider cannot be called back; its outcome is
// still recorded when the provider answers.
func (e *Engine) stopPaging(tx Tx, inc *Incident, now time.Time, why string) error {
	if err := e.advance(tx, inc, now); err != nil {
		return err
	}
	return e.cancelQueued(tx, inc, now, why)
}

// cancelQueued cancels the incident's pages still waiting in the outbox.
func (e *Engine) cancelQueued(tx Tx, inc *Incident, now time.Time, why string) error {
	pages, err := tx.Outbox()
	if err != nil {
		return err
	}
	for _, p := range pages {
		if p.IncidentID != inc.ID || p.Status != PageQueued {
			continue
		}
		p.Status, p.NotBefore, p.Error = PageCancelled, time.Time{}, why
		if err := tx.PutPage(p); err != nil {
			return err
		}
		if err := tx.AppendEvent(inc.ID, Event{At: now, Kind: EventPageCancelled, Person: p.Person,
			Channel: p.Channel, PageID: p.ID, Message: why}); err != nil {
			return err
		}
	}
	return nil
}

// Incident returns an incident and its timeline.
func (e *Engine) Incident(ctx context.Context, id int64) (*Incident, []Event, error) {
	var inc *Incident
	var events []Event
	err := e.store.View(ctx, func(tx Tx) error {
		var err error
		inc, err = tx.Incident(id)
		if errors.Is(err, ErrNotFound) {
			return Errorf(CodeNotFound, "incident #%d does not exist", id)
		}
		if err != nil {
			return err
		}
		events, err = tx.Events(id)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	return inc, events, nil
}

// IncidentAlerts lists the alerts an incident holds now (an alert that
// fired again in a later incident has moved there). It scans every stored
// alert: for drafts and reports, not for the paging path.
func (e *Engine) IncidentAlerts(ctx context.Context, id int64) ([]*AlertRecord, error) {
	var out []*AlertRecord
	err := e.store.View(ctx, func(tx Tx) error {
		if _, err := tx.Incident(id); errors.Is(err, ErrNotFound) {
			return Errorf(CodeNotFound, "incident #%d does not exist", id)
		} else if err != nil {
			return err
		}
		var err error
		out, err = tx.IncidentAlerts(id)
		return err
	})
	return out, err
}

// Incidents lists up to limit incidents newest first (limit <= 0: all),
// optionally by status.
func (e *Engine) Incidents(ctx context.Context, status Status, limit int) ([]*Incident, error) {
	var out []*Incident
	err := e.store.View(ctx, func(tx Tx) error {
		var err error
		out, err = tx.Incidents(status, limit)
		return err
	})
	return out, err
}

// Page returns one page record.
func (e *Engine) Page(ctx context.Context, id int64) (*Page, error) {
	var out *Page
	err := e.store.View(ctx, func(tx Tx) error {
		var err error
		out, err = tx.Page(id)
		if errors.Is(err, ErrNotFound) {
			return Errorf(CodeNotFound, "page %d does not exist", id)
		}
		return err
	})
	return out, err
}

// LatestPageTo is the newest page to a person, for replies that name no
// incident ("ack").
func (e *Engine) LatestPageTo(ctx context.Context, person string) (*Page, error) {
	var out *Page
	err := e.store.View(ctx, func(tx Tx) error {
		var err error
		out, err = tx.LatestPageTo(person, 1000)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("latest page to %s: %w", person, err)
	}
	return out, nil
}

// Open creates an incident by hand — from the API, a chat command or a
// what-if simulation — and starts its escalation at once.
func (e *Engine) Open(ctx context.Context, service, title string, p Priority, by Actor) (*Incident, error) {
	svc, ok := e.cat.Services[service]
	if !ok {
		return nil, Errorf(CodeNotFound, "unknown service %q", service)
	}
	if title == "" {
		return nil, Errorf(CodeInvalid, "an incident needs a title")
	}
	if p < P0 || p > P4 {
		return nil, Errorf(CodeInvalid, "priority %d: want P0 to P4", int(p))
	}
	now := e.clock.Now()
	var out *Incident
	err := e.update(ctx, func(tx Tx) error {
		id, err := tx.NextIncidentID()
		if err != nil {
			return err
		}
		inc := &Incident{
			ID: id, Service: svc.Name, GroupKey: fmt.Sprintf("manual/%d", id), Title: title,
			Status: StatusTriggered, Priority: p, Policy: svc.PolicyFor(p), CreatedAt: now, UpdatedAt: now,
		}
		if err := tx.AppendEvent(id, Event{At: now, Kind: EventTriggered, Actor: by.Name, Via: by.Via,
			Message: fmt.Sprintf("%s %s on %s, opened by hand", p, title, svc.Name)}); err != nil {
			return err
		}
		if err := e.startEscalation(tx, inc, now); err != nil {
			return err
		}
		out = inc
		return tx.PutIncident(inc)
	})
	if err != nil {
		return nil, err
	}
	e.poke()
	return out, nil
}

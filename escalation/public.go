package escalation

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// PublicStatus is where a public incident stands, as customers read it.
type PublicStatus string

// Public incident statuses, in the order incidents usually go through them.
const (
	PublicInvestigating PublicStatus = "investigating"
	PublicIdentified    PublicStatus = "identified"
	PublicMonitoring    PublicStatus = "monitoring"
	PublicResolved      PublicStatus = "resolved"
)

// ParsePublicStatus accepts the four public statuses.
func ParsePublicStatus(s string) (PublicStatus, error) {
	switch st := PublicStatus(strings.ToLower(s)); st {
	case PublicInvestigating, PublicIdentified, PublicMonitoring, PublicResolved:
		return st, nil
	}
	return "", fmt.Errorf("status %q: want investigating, identified, monitoring or resolved", s)
}

// Public is the public face of an incident: only what responders
// published, never alert labels or internal notes.
type Public struct {
	Title     string       `json:"title"`
	Status    PublicStatus `json:"status"`
	StartedAt time.Time    `json:"started_at"`
	UpdatedAt time.Time    `json:"updated_at"`
	// Priority and Services (the incident's own, then those it impacts)
	// are the incident's as of its last public update: the status page
	// shows those, so that a new priority or a correlated service reaches
	// the public only with a responder's next update. Incidents made
	// public before Klaxon kept them have no Services.
	Priority Priority `json:"priority"`
	Services []string `json:"services,omitempty"`
}

// PublicUpdate is one update a responder publishes.
type PublicUpdate struct {
	Status  PublicStatus
	Message string
	// Title is the public title; required with the first update, optional
	// later (it renames the public incident).
	Title string
}

// maxPublicText bounds public titles and messages: a status page is read
// on phones, and a runaway paste must not land there.
const maxPublicText = 2000

// PostUpdate publishes an update on an incident: the first makes it public.
// It lands on the timeline with who posted it.
func (e *Engine) PostUpdate(ctx context.Context, id int64, u PublicUpdate, by Actor) (*Incident, error) {
	if _, err := ParsePublicStatus(string(u.Status)); err != nil {
		return nil, Errorf(CodeInvalid, "%v", err)
	}
	u.Message, u.Title = strings.TrimSpace(u.Message), strings.TrimSpace(u.Title)
	switch {
	case u.Message == "":
		return nil, Errorf(CodeInvalid, "a public update needs a message for your customers")
	case len(u.Message) > maxPublicText || len(u.Title) > maxPublicText:
		return nil, Errorf(CodeInvalid, "a public update is at most %d characters", maxPublicText)
	}
	inc, err := e.act(ctx, id, func(tx Tx, inc *Incident, now time.Time) error {
		if err := e.mayPublish(tx, inc, by); err != nil {
			return err
		}
		if inc.Public == nil {
			if u.Title == "" {
				return Errorf(CodeInvalid, "incident #%d is not public yet: its first update needs a public title (never the alert text)", inc.ID)
			}
			inc.Public = &Public{StartedAt: now}
		}
		if u.Title != "" {
			inc.Public.Title = u.Title
		}
		inc.Public.Status, inc.Public.UpdatedAt, inc.UpdatedAt = u.Status, now, now
		inc.Public.Priority = inc.Priority
		inc.Public.Services = append([]string{inc.Service}, inc.Impacted...)
		return tx.AppendEvent(inc.ID, Event{At: now, Kind: EventPublicUpdate, Actor: by.Name, Via: by.Via,
			Status: u.Status, Message: u.Message})
	})
	if err == nil && e.onPublic != nil {
		e.onPublic()
	}
	return inc, err
}

// mayPublish checks the actor against the configured public updaters.
func (e *Engine) mayPublish(tx Tx, inc *Incident, by Actor) error {
	rule := e.cat.PublicUpdates
	if _, person := e.cat.People[by.Name]; !person && by.Via == ViaAPI {
		return nil // an API token: an operator
	}
	if !rule.Responders && len(rule.People) == 0 {
		return nil
	}
	if slices.Contains(rule.People, by.Name) {
		return nil
	}
	if rule.Responders {
		events, err := tx.Events(inc.ID)
		if err != nil {
			return err
		}
		// Responders were paged for it, had it handed to them, or took it
		// on; writing a note does not make one.
		for _, ev := range events {
			switch {
			case ev.Person == by.Name && (ev.Kind == EventPageSent || ev.Kind == EventReassigned),
				ev.Actor == by.Name && (ev.Kind == EventAcknowledged || ev.Kind == EventResolved || ev.Kind == EventEscalated):
				return nil
			}
		}
	}
	who := "the incident's responders"
	if len(rule.People) > 0 {
		who = strings.Join(rule.People, ", ")
		if rule.Responders {
			who += " and the incident's responders"
		}
	}
	return Errorf(CodeForbidden, "only %s may post public updates", who)
}

// PublicIncident is an incident as far as the public may see it, with the
// public updates from its timeline, oldest first.
type PublicIncident struct {
	ID int64
	// Priority and Services are as its last public update left them
	// (Public.Priority, Public.Services).
	Priority Priority
	Services []string
	Public   Public
	Updates  []Event
}

// PublicIncidents lists the incidents made public that are still open to
// the public (not yet resolved there) or were updated since since, newest
// first. It reads every incident: a status page renders per change or
// per request, not per alert.
func (e *Engine) PublicIncidents(ctx context.Context, since time.Time) ([]PublicIncident, error) {
	var out []PublicIncident
	err := e.store.View(ctx, func(tx Tx) error {
		out = out[:0]
		incs, err := tx.Incidents("", 0)
		if err != nil {
			return err
		}
		for _, inc := range incs {
			if inc.Public == nil || (inc.Public.Status == PublicResolved && inc.Public.UpdatedAt.Before(since)) {
				continue
			}
			events, err := tx.Events(inc.ID)
			if err != nil {
				return err
			}
			pi := PublicIncident{ID: inc.ID, Priority: inc.Public.Priority, Services: inc.Public.Services, Public: *inc.Public}
			if len(pi.Services) == 0 {
				// Made public before the update kept them: as it is now.
				pi.Priority, pi.Services = inc.Priority, append([]string{inc.Service}, inc.Impacted...)
			}
			for _, ev := range events {
				if ev.Kind == EventPublicUpdate {
					pi.Updates = append(pi.Updates, ev)
				}
			}
			out = append(out, pi)
		}
		return nil
	})
	return out, err
}

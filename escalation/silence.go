package escalation

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// Silence holds pages for alerts that match it: a maintenance window. Its
// alerts are still recorded and their incidents opened, with the timeline
// naming the silence; paging starts when the silence ends if the alert is
// still firing.
type Silence struct {
	ID int64 `json:"id"`
	// Service limits it to one service ("" for any); Matchers to alerts
	// whose labels have these values (none: every alert).
	Service  string            `json:"service,omitempty"`
	Matchers map[string]string `json:"matchers,omitempty"`
	StartsAt time.Time         `json:"starts_at"`
	EndsAt   time.Time         `json:"ends_at"`
	// Cron and Duration make a recurring window (config only): each time
	// of Cron, for Duration.
	Cron      Recurrence    `json:"-"`
	CronSpec  string        `json:"cron,omitempty"`
	Duration  time.Duration `json:"duration,omitempty"`
	Comment   string        `json:"comment,omitempty"`
	CreatedBy Actor         `json:"created_by"`
	CreatedAt time.Time     `json:"created_at"`
}

// Name says which silence it is, for the timeline.
func (s *Silence) Name() string {
	name := fmt.Sprintf("silence #%d", s.ID)
	if s.ID == 0 {
		name = "maintenance window"
	}
	if s.Comment != "" {
		name += " (" + s.Comment + ")"
	}
	return name
}

// Narrows reports whether the silence is about something in particular:
// a service, or a matcher that requires a label's value. Matchers that
// only require labels to be absent ("team": "") match nearly every alert.
func (s *Silence) Narrows() bool {
	if s.Service != "" {
		return true
	}
	for _, v := range s.Matchers {
		if v != "" {
			return true
		}
	}
	return false
}

// matches reports whether the silence covers an alert of a service.
func (s *Silence) matches(service string, a Alert) bool {
	if s.Service != "" && s.Service != service {
		return false
	}
	for k, v := range s.Matchers {
		if a.Labels[k] != v {
			return false
		}
	}
	return true
}

// activeUntil is when the silence's window covering now ends, zero when it
// is not active now.
func (s *Silence) activeUntil(now time.Time) time.Time {
	if s.Cron != nil {
		start := s.Cron.Next(now.Add(-s.Duration))
		if start.IsZero() || start.After(now) {
			return time.Time{}
		}
		return start.Add(s.Duration)
	}
	if now.Before(s.StartsAt) || !now.Before(s.EndsAt) {
		return time.Time{}
	}
	return s.EndsAt
}

// silenceFor finds the silence holding a firing alert now, with the end of
// its window: of the configured windows and the stored silences that
// cover it, the one that ends last, since the alert is silenced until
// every silence covering it has ended.
func (e *Engine) silenceFor(tx Tx, service string, a Alert, now time.Time) (*Silence, time.Time, error) {
	stored, err := tx.Silences()
	if err != nil {
		return nil, time.Time{}, err
	}
	var best *Silence
	var end time.Time
	for _, s := range slices.Concat(e.cat.Silences, stored) {
		if until := s.activeUntil(now); !until.IsZero() && s.matches(service, a) && until.After(end) {
			best, end = s, until
		}
	}
	return best, end, nil
}

// maxSilence bounds a silence made through the API: a longer one is a
// service someone forgot to switch back on.
const maxSilence = 14 * 24 * time.Hour

// AddSilence stores a silence; a zero StartsAt means now.
func (e *Engine) AddSilence(ctx context.Context, s Silence, by Actor) (*Silence, error) {
	now := e.clock.Now()
	if s.StartsAt.IsZero() {
		s.StartsAt = now
	}
	switch {
	case s.Service != "" && e.cat.Services[s.Service] == nil:
		return nil, Errorf(CodeNotFound, "unknown service %q", s.Service)
	case !s.Narrows():
		return nil, Errorf(CodeInvalid, "a silence needs a service or a matcher with a value: silencing everything would silence Klaxon")
	case !s.EndsAt.After(s.StartsAt):
		return nil, Errorf(CodeInvalid, "a silence must end after it starts")
	case !s.EndsAt.After(now):
		return nil, Errorf(CodeInvalid, "the silence lies in the past")
	case s.EndsAt.Sub(s.StartsAt) > maxSilence:
		return nil, Errorf(CodeInvalid, "a silence is at most %s; for a service retired for good, remove it from the config", maxSilence)
	}
	for k := range s.Matchers {
		if k == "" {
			return nil, Errorf(CodeInvalid, "a matcher needs a label name")
		}
	}
	s.Cron, s.CronSpec, s.Duration = nil, "", 0
	s.CreatedBy, s.CreatedAt = by, now
	var out Silence
	err := e.update(ctx, func(tx Tx) error {
		out = s
		var err error
		if out.ID, err = tx.NextSilenceID(); err != nil {
			return err
		}
		return tx.PutSilence(&out)
	})
	if err != nil {
		return nil, err
	}
	e.log.InfoContext(ctx, "silence added", "silence_id", out.ID, "service", out.Service, "matchers", out.Matchers,
		"ends_at", out.EndsAt, "by", by.Name)
	return &out, nil
}

// Silences lists the stored silences that have not ended.
func (e *Engine) Silences(ctx context.Context) ([]*Silence, error) {
	now := e.clock.Now()
	var out []*Silence
	err := e.store.View(ctx, func(tx Tx) error {
		all, err := tx.Silences()
		out = out[:0]
		for _, s := range all {
			if s.EndsAt.After(now) {
				out = append(out, s)
			}
		}
		return err
	})
	return out, err
}

// ExpireSilence ends a silence now. Incidents it was holding start paging
// at once if their alerts still fire.
func (e *Engine) ExpireSilence(ctx context.Context, id int64, by Actor) (*Silence, error) {
	now := e.clock.Now()
	var out *Silence
	err := e.update(ctx, func(tx Tx) error {
		all, err := tx.Silences()
		if err != nil {
			return err
		}
		out = nil
		for _, s := range all {
			if s.ID == id {
				out = s
			}
		}
		if out == nil {
			return Errorf(CodeNotFound, "silence #%d does not exist", id)
		}
		if !out.EndsAt.After(now) {
			return Errorf(CodeConflict, "silence #%d has ended already", id)
		}
		out.EndsAt = now
		if err := tx.PutSilence(out); err != nil {
			return err
		}
		incs, err := tx.Incidents(StatusTriggered, 0)
		if err != nil {
			return err
		}
		for _, inc := range incs {
			if inc.HeldBy != id || !inc.HeldUntil.After(now) {
				continue
			}
			// Another silence (a maintenance window, say) may still cover
			// the incident's alerts: the hold passes to it.
			next, until, err := e.stillSilenced(tx, inc, now)
			if err != nil {
				return err
			}
			msg := out.Name() + " expired early: paging now"
			if next != nil {
				inc.HeldUntil, inc.HeldBy, inc.NextDue = until, next.ID, until
				msg = fmt.Sprintf("%s expired early; still held by %s until %s UTC", out.Name(), next.Name(), until.UTC().Format("2006-01-02 15:04"))
			} else {
				inc.HeldUntil, inc.NextDue = now, now
			}
			if err := tx.AppendEvent(inc.ID, Event{At: now, Kind: EventSilenced, Actor: by.Name, Via: by.Via, Message: msg}); err != nil {
				return err
			}
			if err := tx.PutIncident(inc); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	e.poke()
	return out, nil
}

// stillSilenced is the active silence covering one of a held incident's
// firing alerts that ends last, nil when none does.
func (e *Engine) stillSilenced(tx Tx, inc *Incident, now time.Time) (*Silence, time.Time, error) {
	recs, err := tx.IncidentAlerts(inc.ID)
	if err != nil {
		return nil, time.Time{}, err
	}
	var best *Silence
	var end time.Time
	for _, rec := range recs {
		if rec.Alert.State != AlertFiring {
			continue
		}
		s, until, err := e.silenceFor(tx, rec.Service, rec.Alert, now)
		if err != nil {
			return nil, time.Time{}, err
		}
		if s != nil && until.After(end) {
			best, end = s, until
		}
	}
	return best, end, nil
}

// describeMatchers writes matchers as alertname=DiskFull,env=prod.
func describeMatchers(m map[string]string) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, k+"="+m[k])
	}
	return strings.Join(parts, ",")
}

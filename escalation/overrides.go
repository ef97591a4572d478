package escalation

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/klaxonhq/klaxon/escalation/oncall"
)

// Override is a stored schedule override, made through the API or chat:
// Person covers Schedule over [From, To). It wins over the schedule's layers
// and over overrides written in the config.
type Override struct {
	ID        int64     `json:"id"`
	Schedule  string    `json:"schedule"`
	Person    string    `json:"person"`
	From      time.Time `json:"from"`
	To        time.Time `json:"to"`
	Note      string    `json:"note,omitempty"`
	CreatedBy Actor     `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
}

// overrideSlack is how far in the past an override may start: "from now"
// typed a few seconds ago is still now.
const overrideSlack = time.Minute

// overrideHistory is how long ended overrides are kept before adding a new
// one prunes them; they stay visible in past timelines meanwhile.
const overrideHistory = 90 * 24 * time.Hour

// schedules caches the effective schedules (config plus stored overrides)
// for one version of the stored overrides. It is derived state: the store
// stays the only truth, and a version the cache has not seen rebuilds it.
type schedules struct {
	mu      sync.Mutex
	version uint64
	built   map[string]*oncall.Schedule
}

// schedule is the named schedule as it stands in tx: its config with the
// stored overrides on top. nil when no such schedule is configured.
func (e *Engine) schedule(tx Tx, name string) (*oncall.Schedule, error) {
	base := e.cat.Schedules[name]
	if base == nil {
		return nil, nil
	}
	version, err := tx.OverridesVersion()
	if err != nil {
		return nil, fmt.Errorf("overrides version: %w", err)
	}
	if version == 0 {
		return base, nil // no override was ever stored
	}
	c := &e.scheds
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.version != version || c.built == nil {
		ovs, err := tx.Overrides()
		if err != nil {
			return nil, fmt.Errorf("overrides: %w", err)
		}
		built, err := e.buildSchedules(ovs)
		if err != nil {
			return nil, err
		}
		c.version, c.built = version, built
	}
	return c.built[name], nil
}

// buildSchedules lays stored overrides over the configured schedules. Stored
// overrides are added after the config's, so they win where both cover.
func (e *Engine) buildSchedules(ovs []*Override) (map[string]*oncall.Schedule, error) {
	extra := map[string][]oncall.Override{}
	for _, o := range ovs {
		extra[o.Schedule] = append(extra[o.Schedule], oncall.Override{Person: o.Person, From: o.From, To: o.To})
	}
	out := make(map[string]*oncall.Schedule, len(e.cat.Schedules))
	for name, base := range e.cat.Schedules {
		if len(extra[name]) == 0 {
			out[name] = base
			continue
		}
		def := *base
		def.Overrides = append(slices.Clone(base.Overrides), extra[name]...)
		s, err := oncall.New(def)
		if err != nil {
			return nil, fmt.Errorf("schedule %s with stored overrides: %w", name, err)
		}
		out[name] = s
	}
	return out, nil
}

// Schedule is the named schedule as it stands now, stored overrides
// included.
func (e *Engine) Schedule(ctx context.Context, name string) (*oncall.Schedule, error) {
	if _, ok := e.cat.Schedules[name]; !ok {
		return nil, Errorf(CodeNotFound, "unknown schedule %q", name)
	}
	var s *oncall.Schedule
	err := e.store.View(ctx, func(tx Tx) error {
		var err error
		s, err = e.schedule(tx, name)
		return err
	})
	return s, err
}

// Overrides lists a schedule's stored overrides that have not ended, by
// start.
func (e *Engine) Overrides(ctx context.Context, schedule string) ([]*Override, error) {
	if _, ok := e.cat.Schedules[schedule]; !ok {
		return nil, Errorf(CodeNotFound, "unknown schedule %q", schedule)
	}
	now := e.clock.Now()
	var out []*Override
	err := e.store.View(ctx, func(tx Tx) error {
		all, err := tx.Overrides()
		if err != nil {
			return err
		}
		out = out[:0]
		for _, o := range all {
			if o.Schedule == schedule && o.To.After(now) {
				out = append(out, o)
			}
		}
		return nil
	})
	slices.SortFunc(out, func(a, b *Override) int { return a.From.Compare(b.From) })
	return out, err
}

// AddOverride puts a person on call for a schedule over [from, to); a zero
// from means now. Overrides in the past, or overlapping another override of
// the schedule, are refused with a message saying what to do instead.
// Incidents paging the schedule hand over when the override starts.
func (e *Engine) AddOverride(ctx context.Context, o Override, by Actor) (*Override, error) {
	now := e.clock.Now()
	base := e.cat.Schedules[o.Schedule]
	if base == nil {
		return nil, Errorf(CodeNotFound, "unknown schedule %q", o.Schedule)
	}
	if _, ok := e.cat.People[o.Person]; !ok {
		return nil, Errorf(CodeNotFound, "unknown person %q", o.Person)
	}
	if o.From.IsZero() {
		o.From = now
	}
	loc := base.Location
	switch {
	case !o.To.After(o.From):
		return nil, Errorf(CodeInvalid, "override ends (%s) before it starts (%s)", stamp(o.To, loc), stamp(o.From, loc))
	case !o.To.After(now):
		return nil, Errorf(CodeInvalid, "override lies in the past (it ended %s); overrides cover now or the future", stamp(o.To, loc))
	case o.From.Before(now.Add(-overrideSlack)):
		return nil, Errorf(CodeInvalid, "override starts in the past (%s); start it now (leave out the start) or later", stamp(o.From, loc))
	case o.To.Sub(o.From) > 366*24*time.Hour:
		return nil, Errorf(CodeInvalid, "override is longer than a year; change the schedule's layers instead")
	}
	for _, c := range base.Overrides {
		if c.From.Before(o.To) && o.From.Before(c.To) {
			return nil, Errorf(CodeConflict, "overlaps the config's override of %s (%s–%s); pick another time or change the config",
				c.Person, stamp(c.From, loc), stamp(c.To, loc))
		}
	}
	o.ID, o.CreatedBy, o.CreatedAt = 0, by, now
	var out Override
	err := e.update(ctx, func(tx Tx) error {
		all, err := tx.Overrides()
		if err != nil {
			return err
		}
		for _, c := range all {
			if c.Schedule == o.Schedule && c.From.Before(o.To) && o.From.Before(c.To) {
				return Errorf(CodeConflict, "overlaps override #%d (%s, %s–%s); delete it first or pick another time",
					c.ID, c.Person, stamp(c.From, loc), stamp(c.To, loc))
			}
			if c.To.Before(now.Add(-overrideHistory)) {
				if err := tx.DeleteOverride(c.ID); err != nil {
					return err
				}
			}
		}
		out = o
		if out.ID, err = tx.NextOverrideID(); err != nil {
			return err
		}
		if err := tx.PutOverride(&out); err != nil {
			return err
		}
		return e.scheduleChanged(tx, o.Schedule, out.From, now)
	})
	if err != nil {
		return nil, err
	}
	e.log.InfoContext(ctx, "override added", "schedule", out.Schedule, "override_id", out.ID, "person", out.Person,
		"from", out.From, "to", out.To, "by", by.Name, "via", by.Via)
	e.poke()
	return &out, nil
}

// DeleteOverride removes a stored override; whoever the layers put on call
// takes over at once.
func (e *Engine) DeleteOverride(ctx context.Context, schedule string, id int64, by Actor) (*Override, error) {
	if _, ok := e.cat.Schedules[schedule]; !ok {
		return nil, Errorf(CodeNotFound, "unknown schedule %q", schedule)
	}
	now := e.clock.Now()
	var out *Override
	err := e.update(ctx, func(tx Tx) error {
		all, err := tx.Overrides()
		if err != nil {
			return err
		}
		out = nil
		for _, o := range all {
			if o.ID == id && o.Schedule == schedule {
				out = o
			}
		}
		if out == nil {
			return Errorf(CodeNotFound, "schedule %s has no override #%d", schedule, id)
		}
		if err := tx.DeleteOverride(id); err != nil {
			return err
		}
		at := out.From
		if at.Before(now) {
			at = now
		}
		return e.scheduleChanged(tx, schedule, at, now)
	})
	if err != nil {
		return nil, err
	}
	e.log.InfoContext(ctx, "override deleted", "schedule", schedule, "override_id", id, "by", by.Name, "via", by.Via)
	e.poke()
	return out, nil
}

// scheduleChanged makes everything that follows a schedule look again at
// `at`, when its on-call may change: triggered incidents paging it (for the
// handoff) and its shift-notice timer.
func (e *Engine) scheduleChanged(tx Tx, schedule string, at, now time.Time) error {
	if at.Before(now) {
		at = now
	}
	incs, err := tx.Incidents(StatusTriggered, 0)
	if err != nil {
		return err
	}
	for _, inc := range incs {
		if !inc.NextDue.IsZero() && !inc.NextDue.After(at) {
			continue
		}
		inc.Escalation.watchLegacy()
		paging := slices.ContainsFunc(inc.Escalation.Watches, func(w Watch) bool { return w.Schedule == schedule })
		if !paging {
			continue
		}
		inc.NextDue = at
		if err := tx.PutIncident(inc); err != nil {
			return err
		}
	}
	t, err := tx.Timer(shiftTimer(schedule))
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if t.At.After(at) {
		t.At = at
		return tx.PutTimer(t)
	}
	return nil
}

func stamp(t time.Time, loc *time.Location) string {
	if loc == nil {
		loc = time.UTC
	}
	return t.In(loc).Format("Mon 2006-01-02 15:04 MST")
}

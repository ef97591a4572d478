package escalation

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// Notices say what people are told about a schedule's shifts, outside any
// incident.
type Notices struct {
	// ShiftStart tells the incoming person when their shift starts.
	ShiftStart bool
	// Digest, when set, sends everyone with shifts in the coming week a
	// list of them at each time it gives; DigestSpec is its source text.
	Digest     Recurrence
	DigestSpec string
}

// Recurrence is a calendar rule: Next is its first time strictly after t,
// zero when there is none. Adapters build it (from cron expressions).
type Recurrence interface {
	Next(t time.Time) time.Time
}

// Timer is a durable named timer the engine keeps in the store, so a restart
// neither forgets a notice that is due nor sends one twice.
type Timer struct {
	Name string    `json:"name"`
	At   time.Time `json:"at"`
	// Spec is the rule the timer was set from; a config change re-sets it.
	Spec string `json:"spec,omitempty"`
	// Person is who a shift notice last went to, so a re-check that finds
	// the same person on call stays quiet.
	Person string `json:"person,omitempty"`
}

const (
	shiftPrefix  = "shift/"
	digestPrefix = "digest/"
	// digestWeek is how far ahead a digest looks.
	digestWeek = 7 * 24 * time.Hour
	// digestStale: a digest that could not go out for this long (the
	// process was down) is skipped rather than sent late.
	digestStale = 12 * time.Hour
	// noHandoffRecheck is when a shift timer looks again at a schedule
	// whose on-call does not change within oncall.MaxLookahead.
	noHandoffRecheck = 24 * time.Hour
)

func shiftTimer(schedule string) string  { return shiftPrefix + schedule }
func digestTimer(schedule string) string { return digestPrefix + schedule }

// wantTimers is the set of timers the catalog asks for now, with their
// first fire times.
func (e *Engine) wantTimers(tx Tx, now time.Time) (map[string]*Timer, error) {
	want := map[string]*Timer{}
	for name, n := range e.cat.Notices {
		if n == nil {
			continue
		}
		if n.ShiftStart {
			s, err := e.schedule(tx, name)
			if err != nil || s == nil {
				return nil, err
			}
			who, _ := s.OnCall(now)
			t := &Timer{Name: shiftTimer(name), Spec: "shift", Person: who, At: now.Add(noHandoffRecheck)}
			if at, ok := s.NextHandoff(now); ok {
				t.At = at
			}
			want[t.Name] = t
		}
		if n.Digest != nil {
			if at := n.Digest.Next(now); !at.IsZero() {
				want[digestTimer(name)] = &Timer{Name: digestTimer(name), Spec: n.DigestSpec, At: at}
			}
		}
	}
	for name, hb := range e.cat.Heartbeats {
		want[heartbeatTimer(name)] = &Timer{Name: heartbeatTimer(name), Spec: hb.spec(), At: hb.firstDeadline(now)}
	}
	return want, nil
}

// syncTimers makes the stored timers match the catalog: new ones set (a
// shift already running gets no notice at startup), changed rules re-set,
// timers of removed notices dropped. It writes only when something differs.
func (e *Engine) syncTimers(ctx context.Context) error {
	now := e.clock.Now()
	stale := false
	err := e.store.View(ctx, func(tx Tx) error {
		var err error
		stale, err = e.timersStale(tx, now)
		return err
	})
	if err != nil || !stale {
		return err
	}
	return e.store.Update(ctx, func(tx Tx) error {
		want, err := e.wantTimers(tx, now)
		if err != nil {
			return err
		}
		have, err := tx.Timers()
		if err != nil {
			return err
		}
		for _, t := range have {
			w, ok := want[t.Name]
			switch {
			case !ok:
				if err := tx.DeleteTimer(t.Name); err != nil {
					return err
				}
			case w.Spec == t.Spec && handoffMoved(t, w, now):
				// Who was told last stays: only the time moves.
				t.At = w.At
				if err := tx.PutTimer(t); err != nil {
					return err
				}
				delete(want, t.Name)
			case w.Spec == t.Spec:
				delete(want, t.Name)
			}
		}
		for _, name := range slices.Sorted(maps.Keys(want)) {
			if err := tx.PutTimer(want[name]); err != nil {
				return err
			}
		}
		return nil
	})
}

func (e *Engine) timersStale(tx Tx, now time.Time) (bool, error) {
	want, err := e.wantTimers(tx, now)
	if err != nil {
		return false, err
	}
	have, err := tx.Timers()
	if err != nil {
		return false, err
	}
	if len(have) != len(want) {
		return true, nil
	}
	for _, t := range have {
		if w, ok := want[t.Name]; !ok || w.Spec != t.Spec || handoffMoved(t, w, now) {
			return true, nil
		}
	}
	return false, nil
}

// handoffMoved reports whether a shift timer waits for a handoff the
// schedule no longer has (its handoff time changed in the config): it
// moves to the schedule's next handoff. One already due fires as it is.
func handoffMoved(have, want *Timer, now time.Time) bool {
	return strings.HasPrefix(have.Name, shiftPrefix) && have.At.After(now) && !have.At.Equal(want.At)
}

// tickTimers fires the timers due at now, each in its own transaction.
func (e *Engine) tickTimers(ctx context.Context, now time.Time) error {
	if !e.timersSynced.Load() {
		if err := e.syncTimers(ctx); err != nil {
			return fmt.Errorf("sync timers: %w", err)
		}
		e.timersSynced.Store(true)
	}
	var due []string
	err := e.store.View(ctx, func(tx Tx) error {
		ts, err := tx.Timers()
		for _, t := range ts {
			if !t.At.After(now) {
				due = append(due, t.Name)
			}
		}
		return err
	})
	if err != nil {
		return err
	}
	for _, name := range due {
		err := e.update(ctx, func(tx Tx) error {
			t, err := tx.Timer(name)
			if errors.Is(err, ErrNotFound) {
				return nil
			}
			if err != nil || t.At.After(now) {
				return err
			}
			return e.fire(tx, t, now)
		})
		if err != nil {
			// One broken notice must not stop paging: log and look again later.
			e.log.ErrorContext(ctx, "notice timer failed; retrying in a minute", "timer", name, "err", err)
			_ = e.store.Update(ctx, func(tx Tx) error {
				t, err := tx.Timer(name)
				if err != nil {
					return err
				}
				t.At = now.Add(time.Minute)
				return tx.PutTimer(t)
			})
		}
	}
	return nil
}

func (e *Engine) fire(tx Tx, t *Timer, now time.Time) error {
	switch {
	case strings.HasPrefix(t.Name, shiftPrefix):
		return e.fireShift(tx, t, strings.TrimPrefix(t.Name, shiftPrefix), now)
	case strings.HasPrefix(t.Name, digestPrefix):
		return e.fireDigest(tx, t, strings.TrimPrefix(t.Name, digestPrefix), now)
	case strings.HasPrefix(t.Name, heartbeatPrefix):
		return e.fireHeartbeat(tx, t, strings.TrimPrefix(t.Name, heartbeatPrefix), now)
	}
	return tx.DeleteTimer(t.Name)
}

// fireShift tells whoever is on call now that their shift started, unless
// they were told already, and sets the timer to the next handoff.
func (e *Engine) fireShift(tx Tx, t *Timer, name string, now time.Time) error {
	s, err := e.schedule(tx, name)
	if err != nil {
		return err
	}
	if s == nil {
		return tx.DeleteTimer(t.Name)
	}
	who, onCall := s.OnCall(now)
	until, ends := s.NextHandoff(now)
	if onCall && who != t.Person {
		text := fmt.Sprintf("Klaxon: you are on call for %s", name)
		if ends {
			text += " until " + e.localTimes(until, s.Location, who)
		}
		text += "."
		if err := e.queueNotice(tx, who, text, now); err != nil {
			return err
		}
	}
	t.Person = who
	t.At = now.Add(noHandoffRecheck)
	if ends {
		t.At = until
	}
	return tx.PutTimer(t)
}

// fireDigest sends each person their shifts of the coming week.
func (e *Engine) fireDigest(tx Tx, t *Timer, name string, now time.Time) error {
	n := e.cat.Notices[name]
	s, err := e.schedule(tx, name)
	if err != nil {
		return err
	}
	if s == nil || n == nil || n.Digest == nil {
		return tx.DeleteTimer(t.Name)
	}
	if now.Sub(t.At) <= digestStale {
		shifts := map[string][]string{}
		for _, sp := range s.Timeline(now, now.Add(digestWeek)) {
			if sp.Person == "" {
				continue
			}
			shifts[sp.Person] = append(shifts[sp.Person], fmt.Sprintf("%s – %s",
				sp.From.In(s.Location).Format("Mon Jan 2 15:04"), sp.To.In(s.Location).Format("Mon Jan 2 15:04")))
		}
		for _, who := range slices.Sorted(maps.Keys(shifts)) {
			text := fmt.Sprintf("Klaxon: your on-call for %s in the next 7 days (%s): %s.",
				name, s.Location, strings.Join(shifts[who], "; "))
			if err := e.queueNotice(tx, who, text, now); err != nil {
				return err
			}
		}
	} else {
		e.log.Warn("skipping a stale on-call digest", "schedule", name, "was_due", t.At)
	}
	next := n.Digest.Next(now)
	if next.IsZero() {
		return tx.DeleteTimer(t.Name)
	}
	t.At = next
	return tx.PutTimer(t)
}

// localTimes writes an instant in the schedule's timezone and, when it
// differs, the person's own: "Mon 09:00 CET (Mon 19:00 AEDT your time)".
func (e *Engine) localTimes(at time.Time, loc *time.Location, person string) string {
	out := at.In(loc).Format("Mon 15:04 MST")
	if p := e.cat.People[person]; p != nil && p.Location().String() != loc.String() {
		out += " (" + at.In(p.Location()).Format("Mon 15:04 MST") + " your time)"
	}
	return out
}

// queueNotice puts a notice to a person into the outbox: a page without an
// incident, sent as a chat direct message when the person has a chat Klaxon
// can write to, else by SMS. A person with neither is skipped, with a log
// line, since a notice is a courtesy and never blocks anything.
func (e *Engine) queueNotice(tx Tx, person, text string, now time.Time) error {
	p := e.cat.People[person]
	if p == nil {
		return nil
	}
	ch := ChannelSMS
	for _, c := range []Channel{ChannelSlack, ChannelDiscord} {
		if _, ok := e.pagers[c]; ok && p.Address(c) != "" {
			ch = c
			break
		}
	}
	if p.Address(ch) == "" {
		e.log.Warn("no way to send a notice", "person", person)
		return nil
	}
	id, err := tx.NextPageID()
	if err != nil {
		return err
	}
	return tx.PutPage(&Page{ID: id, Person: person, Channel: ch, Address: p.Address(ch), Text: text,
		Status: PageQueued, NotBefore: now, CreatedAt: now})
}

package escalation

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// maxSnooze bounds a snooze: longer than a day is not a snooze but a
// forgotten incident.
const maxSnooze = 24 * time.Hour

// SetPriority changes an incident's priority. Raising it re-plans a
// triggered incident at once with the louder policy; lowering it keeps the
// escalation that is running (people being paged are still paged until
// someone acknowledges) and applies to later reopenings.
func (e *Engine) SetPriority(ctx context.Context, id int64, p Priority, by Actor) (*Incident, error) {
	if p < P0 || p > P4 {
		return nil, Errorf(CodeInvalid, "priority %d: want P0 to P4", int(p))
	}
	return e.act(ctx, id, func(tx Tx, inc *Incident, now time.Time) error {
		switch {
		case inc.Status == StatusResolved:
			return Errorf(CodeConflict, "incident #%d is resolved; reopen it first", inc.ID)
		case p == inc.Priority:
			return Errorf(CodeConflict, "incident #%d is already %s", inc.ID, p)
		case p < inc.Priority:
			inc.UpdatedAt = now
			return e.raisePriority(tx, inc, p, now, by, true)
		}
		old := inc.Priority
		inc.Priority, inc.UpdatedAt = p, now
		return tx.AppendEvent(inc.ID, Event{At: now, Kind: EventPriorityChanged, Actor: by.Name, Via: by.Via,
			Message: fmt.Sprintf("priority %s → %s; paging continues on policy %s until someone acknowledges", old, p, inc.Policy)})
	})
}

// Escalate pages the next level of the incident's policy now, or the given
// level (1-based; 0 means the next). An acknowledged incident is triggered
// again: escalating says the person who acked needs help.
func (e *Engine) Escalate(ctx context.Context, id int64, level int, by Actor) (*Incident, error) {
	if level < 0 {
		return nil, Errorf(CodeInvalid, "level %d: levels count from 1", level)
	}
	return e.act(ctx, id, func(tx Tx, inc *Incident, now time.Time) error {
		if inc.Status == StatusResolved {
			return Errorf(CodeConflict, "incident #%d is resolved", inc.ID)
		}
		pol, err := e.policyOf(tx, inc, now)
		if err != nil {
			return err
		}
		if len(pol.Levels) == 0 {
			return Errorf(CodeConflict, "incident #%d pages people directly and has no levels to escalate to; use reassign", inc.ID)
		}
		lvl := inc.Escalation.Level + 1
		if inc.Status == StatusAcknowledged {
			lvl = inc.Escalation.Level // runs were cleared at the ack; page its level again at least
			if level == 0 {
				lvl++
			}
		}
		if level > 0 {
			lvl = level - 1
		}
		if lvl >= len(pol.Levels) {
			return Errorf(CodeInvalid, "policy %s has %d level(s); incident #%d is at level %d (name a level from 1 to %d)",
				pol.Name, len(pol.Levels), inc.ID, inc.Escalation.Level+1, len(pol.Levels))
		}
		if inc.Status == StatusAcknowledged {
			inc.Status = StatusTriggered
			inc.Escalation.Runs, inc.Escalation.Watches = nil, nil
		}
		inc.SnoozedUntil, inc.UpdatedAt = time.Time{}, now
		liftHold(inc)
		if err := tx.AppendEvent(inc.ID, Event{At: now, Kind: EventEscalated, Actor: by.Name, Via: by.Via, Level: lvl + 1,
			Message: fmt.Sprintf("escalated by hand to level %d", lvl+1)}); err != nil {
			return err
		}
		if err := e.activateLevel(tx, inc, pol, lvl, inc.Escalation.Round, now); err != nil {
			return err
		}
		return e.advance(tx, inc, now)
	})
}

// liftHold ends a silence's or a flap's hold on an incident's pages: a
// person who escalates it or hands it to someone wants them paged now.
func liftHold(inc *Incident) { inc.HeldUntil, inc.HeldBy = time.Time{}, 0 }

// Snooze acknowledges an incident for d: paging stops now and starts over
// from the first level when d is up, unless it was resolved meanwhile.
func (e *Engine) Snooze(ctx context.Context, id int64, d time.Duration, by Actor) (*Incident, error) {
	if d <= 0 || d > maxSnooze {
		return nil, Errorf(CodeInvalid, "snooze %s: want a duration from 1m to %s, like 30m or 2h", d, maxSnooze)
	}
	return e.act(ctx, id, func(tx Tx, inc *Incident, now time.Time) error {
		if inc.Status == StatusResolved {
			return Errorf(CodeConflict, "incident #%d is resolved", inc.ID)
		}
		if inc.Status == StatusTriggered {
			inc.Status = StatusAcknowledged
			inc.AcknowledgedAt, inc.AcknowledgedBy = now, by.Name
		}
		until := now.Add(d)
		inc.SnoozedUntil, inc.UpdatedAt = until, now
		if err := tx.AppendEvent(inc.ID, Event{At: now, Kind: EventSnoozed, Actor: by.Name, Via: by.Via,
			Message: fmt.Sprintf("snoozed for %s: paging starts over at %s UTC unless resolved", d, until.UTC().Format("15:04"))}); err != nil {
			return err
		}
		return e.stopPaging(tx, inc, now, "snoozed by "+by.Name)
	})
}

// wakeFromSnooze triggers a snoozed incident again when its time is up.
func (e *Engine) wakeFromSnooze(tx Tx, inc *Incident, now time.Time) error {
	inc.SnoozedUntil = time.Time{}
	inc.Status, inc.UpdatedAt = StatusTriggered, now
	if err := tx.AppendEvent(inc.ID, Event{At: now, Kind: EventSnoozed, Message: "snooze over: paging again"}); err != nil {
		return err
	}
	inc.Escalation.Runs, inc.Escalation.Watches = nil, nil
	return e.startEscalation(tx, inc, now)
}

// Reassign hands the incident to one person: everyone else stops being
// paged and the person is paged now (an acknowledged incident is triggered
// again for them). The policy's next level still follows after the current
// level's delay if they do not acknowledge, so a reassignment to someone
// asleep cannot end the escalation.
func (e *Engine) Reassign(ctx context.Context, id int64, person string, by Actor) (*Incident, error) {
	p, ok := e.cat.People[person]
	if !ok {
		return nil, Errorf(CodeNotFound, "unknown person %q", person)
	}
	return e.act(ctx, id, func(tx Tx, inc *Incident, now time.Time) error {
		if inc.Status == StatusResolved {
			return Errorf(CodeConflict, "incident #%d is resolved", inc.ID)
		}
		pol, err := e.policyOf(tx, inc, now)
		if err != nil {
			return err
		}
		if err := e.cancelQueued(tx, inc, now, "reassigned to "+p.Name); err != nil {
			return err
		}
		inc.Status, inc.SnoozedUntil, inc.UpdatedAt = StatusTriggered, time.Time{}, now
		inc.Escalation.Runs, inc.Escalation.Watches = nil, nil
		liftHold(inc)
		if lv := inc.Escalation.Level; lv < len(pol.Levels) {
			inc.Escalation.NextLevelAt = now.Add(pol.Levels[lv].Delay)
		}
		e.startRun(&inc.Escalation, p.Name, "", inc.Escalation.Level, now)
		if err := tx.AppendEvent(inc.ID, Event{At: now, Kind: EventReassigned, Actor: by.Name, Via: by.Via, Person: p.Name,
			Message: "reassigned to " + p.Name}); err != nil {
			return err
		}
		return e.advance(tx, inc, now)
	})
}

// CheckNote reports what is wrong with a note's text, before any action
// it goes with is taken.
func CheckNote(text string) error {
	if text = strings.TrimSpace(text); text == "" || len(text) > maxPublicText {
		return Errorf(CodeInvalid, "a note is 1 to %d characters", maxPublicText)
	}
	return nil
}

// AddNote puts a responder's note on the timeline. Notes are internal:
// they never reach the status page.
func (e *Engine) AddNote(ctx context.Context, id int64, text string, by Actor) (*Incident, error) {
	text = strings.TrimSpace(text)
	if err := CheckNote(text); err != nil {
		return nil, err
	}
	return e.act(ctx, id, func(tx Tx, inc *Incident, now time.Time) error {
		inc.UpdatedAt = now
		return tx.AppendEvent(inc.ID, Event{At: now, Kind: EventNote, Actor: by.Name, Via: by.Via, Message: text})
	})
}

// Merge moves the source incident's alerts (and so its dedup and group
// keys) into the destination, resolves the source and stops its pages. The
// destination takes the higher priority and re-plans if that is louder.
func (e *Engine) Merge(ctx context.Context, src, dst int64, by Actor) (*Incident, error) {
	if src == dst {
		return nil, Errorf(CodeInvalid, "cannot merge incident #%d into itself", src)
	}
	if src <= 0 {
		return nil, Errorf(CodeInvalid, "incident ID must be a positive number")
	}
	return e.act(ctx, dst, func(tx Tx, to *Incident, now time.Time) error {
		from, err := tx.Incident(src)
		if errors.Is(err, ErrNotFound) {
			return Errorf(CodeNotFound, "incident #%d does not exist", src)
		}
		if err != nil {
			return err
		}
		switch {
		case to.Status == StatusResolved:
			return Errorf(CodeConflict, "incident #%d is resolved; merge into an open incident", to.ID)
		case from.MergedInto != 0:
			// Named where its alerts are now, at the end of a merge chain.
			end, err := mergedEnd(tx, from)
			if err != nil {
				return err
			}
			if end.ID == from.ID {
				return Errorf(CodeConflict, "incident #%d was already merged into #%d, since deleted by the retention", from.ID, from.MergedInto)
			}
			return Errorf(CodeConflict, "incident #%d was already merged into #%d", from.ID, end.ID)
		}
		recs, err := tx.IncidentAlerts(from.ID)
		if err != nil {
			return err
		}
		// What depended on the source depends on the destination now, and
		// so does the source's own service if it depends on the
		// destination's: its alerts are then impact, to split off if they
		// outlive the root cause.
		impacted := from.Impacted
		if svc := e.cat.Services[from.Service]; svc != nil && slices.Contains(svc.DependsOn, to.Service) {
			impacted = append(slices.Clone(impacted), from.Service)
		}
		for _, s := range impacted {
			if !slices.Contains(to.Impacted, s) && s != to.Service {
				to.Impacted = append(to.Impacted, s)
			}
		}
		causeFiring := false
		for _, rec := range recs {
			rec.IncidentID = to.ID
			if err := tx.PutAlert(rec); err != nil {
				return err
			}
			if rec.Alert.State == AlertFiring {
				if to.impacts(rec.Service) {
					to.ImpactFiring++
				} else {
					causeFiring = true
				}
			}
		}
		if err := tx.SetGroupIncident(from.Service, from.GroupKey, to.ID); err != nil {
			return err
		}
		to.Firing += from.Firing
		to.Alerts += from.Alerts
		if causeFiring {
			if err := e.keepImpact(tx, to, Alert{}, now); err != nil {
				return err
			}
		} else if err := e.splitLater(tx, to, now); err != nil {
			return err
		}
		to.UpdatedAt = now
		if err := tx.AppendEvent(to.ID, Event{At: now, Kind: EventMerged, Actor: by.Name, Via: by.Via, Count: len(recs),
			Message: fmt.Sprintf("merged #%d %s (%d alert(s)) into this incident", from.ID, from.Title, len(recs))}); err != nil {
			return err
		}
		if from.Status != StatusResolved {
			from.Status, from.ResolvedAt, from.ResolvedBy = StatusResolved, now, by.Name
		}
		from.MergedInto, from.Firing, from.ImpactFiring, from.UpdatedAt, from.SnoozedUntil, from.SplitAt = to.ID, 0, 0, now, time.Time{}, time.Time{}
		if err := tx.AppendEvent(from.ID, Event{At: now, Kind: EventMerged, Actor: by.Name, Via: by.Via, Count: len(recs),
			Message: fmt.Sprintf("merged into #%d %s", to.ID, to.Title)}); err != nil {
			return err
		}
		if err := e.stopPaging(tx, from, now, fmt.Sprintf("merged into #%d", to.ID)); err != nil {
			return err
		}
		if err := tx.PutIncident(from); err != nil {
			return err
		}
		return e.raisePriority(tx, to, from.Priority, now, by, true)
	})
}

// PageDirectly opens an incident that pages one person, or whoever is on
// call for a schedule, with a message — "page @alice the db is on fire".
// It has no policy levels: the person's contact rules repeat until someone
// acknowledges.
func (e *Engine) PageDirectly(ctx context.Context, target Target, message string, by Actor) (*Incident, error) {
	message = strings.TrimSpace(message)
	if message == "" || len(message) > maxPublicText {
		return nil, Errorf(CodeInvalid, "a page needs a message of 1 to %d characters", maxPublicText)
	}
	switch target.Kind {
	case TargetPerson:
		if _, ok := e.cat.People[target.Name]; !ok {
			return nil, Errorf(CodeNotFound, "unknown person %q", target.Name)
		}
	case TargetSchedule:
		if _, ok := e.cat.Schedules[target.Name]; !ok {
			return nil, Errorf(CodeNotFound, "unknown schedule %q", target.Name)
		}
	case TargetTeam:
		if _, ok := e.cat.Teams[target.Name]; !ok {
			return nil, Errorf(CodeNotFound, "unknown team %q", target.Name)
		}
	default:
		return nil, Errorf(CodeInvalid, "page a person, a schedule or a team")
	}
	now := e.clock.Now()
	var out *Incident
	err := e.update(ctx, func(tx Tx) error {
		members := []Target{target}
		if target.Kind == TargetTeam {
			members = e.cat.Teams[target.Name]
		}
		// Who is paged: each person, and whoever is on call now for each
		// schedule (nobody, for one in a gap), once each.
		type paged struct{ person, schedule string }
		var who []paged
		for _, m := range members {
			p := paged{person: m.Name}
			if m.Kind == TargetSchedule {
				s, err := e.schedule(tx, m.Name)
				if err != nil {
					return err
				}
				on, ok := s.OnCall(now)
				if !ok {
					continue
				}
				p = paged{person: on, schedule: m.Name}
			}
			if !slices.ContainsFunc(who, func(q paged) bool { return q.person == p.person }) {
				who = append(who, p)
			}
		}
		if len(who) == 0 {
			return Errorf(CodeConflict, "nobody is on call for %s now; page a person instead", target.Name)
		}
		id, err := tx.NextIncidentID()
		if err != nil {
			return err
		}
		inc := &Incident{ID: id, GroupKey: fmt.Sprintf("page/%d", id), Title: message, Status: StatusTriggered,
			Priority: P2, CreatedAt: now, UpdatedAt: now}
		names := make([]string, len(who))
		for i, p := range who {
			names[i] = p.person
		}
		whom := strings.Join(names, ", ")
		if target.Kind == TargetTeam {
			whom = fmt.Sprintf("team %s (%s)", target.Name, whom)
		}
		if err := tx.AppendEvent(id, Event{At: now, Kind: EventTriggered, Actor: by.Name, Via: by.Via, Person: names[0],
			Message: fmt.Sprintf("%s paged %s: %s", by.Name, whom, message)}); err != nil {
			return err
		}
		for _, p := range who {
			e.startRun(&inc.Escalation, p.person, p.schedule, 0, now)
		}
		if err := e.advance(tx, inc, now); err != nil {
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

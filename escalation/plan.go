package escalation

import (
	"fmt"
	"strings"
	"time"
)

// This file holds the escalation planning: how an incident's escalation
// state moves forward in time. It reads the catalog and the Tx only to queue
// pages and timeline entries; every decision takes now as an argument.

// startEscalation (re)starts the incident's policy from its first level at
// now and queues whatever is due at once.
func (e *Engine) startEscalation(tx Tx, inc *Incident, now time.Time) error {
	pol, err := e.policyOf(tx, inc, now)
	if err != nil {
		return err
	}
	// People already being paged keep their place in their contact rules
	// (a louder policy must not fall back from calls to a first SMS).
	inc.Escalation = Escalation{Runs: inc.Escalation.Runs}
	e.activateLevel(inc, pol, 0, 0, now)
	if err := tx.AppendEvent(inc.ID, Event{At: now, Kind: EventEscalated, Level: 1,
		Message: levelMessage(pol, 0, 0)}); err != nil {
		return err
	}
	return e.advance(tx, inc, now)
}

// activateLevel makes level lvl of round the active one from at: its people
// start their contact rules unless they are already being paged.
func (e *Engine) activateLevel(inc *Incident, pol *Policy, lvl, round int, at time.Time) {
	esc := &inc.Escalation
	esc.Level, esc.Round = lvl, round
	esc.NextLevelAt = at.Add(pol.Levels[lvl].Delay)
	for _, t := range pol.Levels[lvl].Targets {
		p := e.cat.People[t.Name]
		if p == nil {
			continue
		}
		i := esc.run(t.Name)
		if i >= 0 && !esc.Runs[i].NextAt.IsZero() {
			// Still being paged: restarting would fall back from calls to
			// a quiet SMS.
			continue
		}
		first, _, _ := p.stepAt(at, 0)
		run := ContactRun{Person: t.Name, Level: lvl, Since: at, NextAt: first}
		if i >= 0 {
			esc.Runs[i] = run
		} else {
			esc.Runs = append(esc.Runs, run)
		}
	}
}

// policyOf is the incident's policy. An incident may outlive its policy in
// the config (renamed or removed before a restart); it then continues on its
// service's current policy for its priority rather than stop paging.
func (e *Engine) policyOf(tx Tx, inc *Incident, now time.Time) (*Policy, error) {
	if pol, ok := e.cat.Policies[inc.Policy]; ok {
		return pol, nil
	}
	svc, ok := e.cat.Services[inc.Service]
	if !ok {
		return nil, fmt.Errorf("incident %d: policy %q and service %q are no longer configured", inc.ID, inc.Policy, inc.Service)
	}
	pol, ok := e.cat.Policies[svc.PolicyFor(inc.Priority)]
	if !ok {
		return nil, fmt.Errorf("incident %d: service %s has no policy %q", inc.ID, svc.Name, svc.PolicyFor(inc.Priority))
	}
	if err := tx.AppendEvent(inc.ID, Event{At: now, Kind: EventPolicyChanged,
		Message: fmt.Sprintf("policy %s is no longer configured; continuing on %s", inc.Policy, pol.Name)}); err != nil {
		return nil, err
	}
	inc.Policy = pol.Name
	return pol, nil
}

func (esc *Escalation) run(person string) int {
	for i := range esc.Runs {
		if esc.Runs[i].Person == person {
			return i
		}
	}
	return -1
}

// advance moves a triggered incident's escalation up to now: levels whose
// time has come are activated, contact-rule steps that are due queue pages,
// and NextDue is set to the next instant the incident needs the engine. An
// incident that is not triggered has nothing scheduled.
func (e *Engine) advance(tx Tx, inc *Incident, now time.Time) error {
	esc := &inc.Escalation
	if inc.Status != StatusTriggered {
		esc.Runs = nil
		esc.NextLevelAt = time.Time{}
		inc.NextDue = time.Time{}
		return nil
	}
	pol, err := e.policyOf(tx, inc, now)
	if err != nil {
		return err
	}
	for !esc.NextLevelAt.IsZero() && !esc.NextLevelAt.After(now) {
		at := esc.NextLevelAt
		lvl, round := esc.Level+1, esc.Round
		if lvl >= len(pol.Levels) {
			lvl, round = 0, round+1
		}
		if round > pol.Repeat {
			esc.NextLevelAt = time.Time{}
			if err := tx.AppendEvent(inc.ID, Event{At: at, Kind: EventPolicyExhausted,
				Message: fmt.Sprintf("policy %s ran %d time(s); paging continues by contact rules until someone acknowledges", pol.Name, pol.Repeat+1)}); err != nil {
				return err
			}
			break
		}
		e.activateLevel(inc, pol, lvl, round, at)
		if err := tx.AppendEvent(inc.ID, Event{At: at, Kind: EventEscalated, Level: lvl + 1,
			Message: levelMessage(pol, lvl, round)}); err != nil {
			return err
		}
	}
	for i := range esc.Runs {
		run := &esc.Runs[i]
		if run.NextAt.IsZero() || run.NextAt.After(now) {
			continue
		}
		p := e.cat.People[run.Person]
		if p == nil {
			run.NextAt = time.Time{}
			continue
		}
		// After downtime several steps may be overdue: send the latest one
		// only, rather than a burst of stale pages.
		k := run.Step
		for {
			next, _, ok := p.stepAt(run.Since, k+1)
			if !ok || next.After(now) {
				break
			}
			k++
		}
		_, rule, _ := p.stepAt(run.Since, k)
		if err := e.queuePage(tx, inc, p, rule.Channel, k, run.Level, now); err != nil {
			return err
		}
		run.Step = k + 1
		run.NextAt, _, _ = p.stepAt(run.Since, run.Step)
	}
	inc.NextDue = esc.NextLevelAt
	for _, run := range esc.Runs {
		if !run.NextAt.IsZero() && (inc.NextDue.IsZero() || run.NextAt.Before(inc.NextDue)) {
			inc.NextDue = run.NextAt
		}
	}
	return nil
}

func levelMessage(pol *Policy, lvl, round int) string {
	names := make([]string, 0, len(pol.Levels[lvl].Targets))
	for _, t := range pol.Levels[lvl].Targets {
		names = append(names, t.Name)
	}
	msg := fmt.Sprintf("policy %s level %d: paging %s", pol.Name, lvl+1, strings.Join(names, ", "))
	if round > 0 {
		msg += fmt.Sprintf(" (repeat %d of %d)", round, pol.Repeat)
	}
	return msg
}

// queuePage puts a page in the outbox, in the caller's transaction.
func (e *Engine) queuePage(tx Tx, inc *Incident, p *Person, ch Channel, step, level int, now time.Time) error {
	id, err := tx.NextPageID()
	if err != nil {
		return err
	}
	pg := &Page{
		ID: id, IncidentID: inc.ID, Person: p.Name, Channel: ch, Address: p.Phone,
		Text: pageText(inc, ch), Status: PageQueued, Step: step, NotBefore: now, CreatedAt: now,
	}
	if err := tx.PutPage(pg); err != nil {
		return err
	}
	return tx.AppendEvent(inc.ID, Event{At: now, Kind: EventPageQueued, Person: p.Name,
		Channel: ch, PageID: id, Level: level + 1})
}

// pageText is what the person reads or hears. SMS carries the reply codes
// the SMS webhook understands ("A42" acknowledges incident 42).
func pageText(inc *Incident, ch Channel) string {
	title := inc.Title
	if len(title) > 200 {
		title = title[:200] + "…"
	}
	if inc.Firing > 1 {
		title += fmt.Sprintf(" (+%d more alerts)", inc.Firing-1)
	}
	if ch == ChannelVoice {
		return fmt.Sprintf("Klaxon alert. Incident %d, priority %d, service %s. %s.", inc.ID, inc.Priority, inc.Service, title)
	}
	return fmt.Sprintf("KLAXON #%d %s %s: %s. Reply A%d to ack, R%d to resolve.", inc.ID, inc.Priority, inc.Service, title, inc.ID, inc.ID)
}

package escalation

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// This file holds the escalation planning: how an incident's escalation
// state moves forward in time. It reads the catalog and the Tx only to queue
// pages and timeline entries; every decision takes now as an argument.

// startEscalation (re)starts the incident's policy from its first level at
// now and queues whatever is due at once.
func (e *Engine) startEscalation(tx Tx, inc *Incident, now time.Time) error {
	if inc.HeldUntil.After(now) {
		return e.advance(tx, inc, now) // a flapping reopen or a silence: pages wait
	}
	pol, err := e.policyOf(tx, inc, now)
	if err != nil {
		return err
	}
	// People already being paged keep their place in their contact rules
	// (a louder policy must not fall back from calls to a first SMS), and
	// the schedules they are paged for are still followed.
	inc.Escalation = Escalation{Runs: inc.Escalation.Runs, Watches: inc.Escalation.Watches}
	if err := e.activateLevel(tx, inc, pol, 0, 0, now); err != nil {
		return err
	}
	return e.advance(tx, inc, now)
}

// activateLevel makes level lvl of round the active one from at: its people,
// and whoever is on call then for its schedules, start their contact rules
// unless they are already being paged. A level that prefers the awake pages
// the people inside their working hours first and wakes the others later.
func (e *Engine) activateLevel(tx Tx, inc *Incident, pol *Policy, lvl, round int, at time.Time) error {
	esc := &inc.Escalation
	lv := pol.Levels[lvl]
	esc.Level, esc.Round = lvl, round
	esc.NextLevelAt = at.Add(lv.Delay)
	type target struct{ person, schedule string }
	var targets []target
	var nobody []string
	for _, t := range lv.Targets {
		switch t.Kind {
		case TargetPerson:
			targets = append(targets, target{person: t.Name})
		case TargetSchedule:
			who, ok := "", false
			s, err := e.schedule(tx, t.Name)
			if err != nil {
				return err
			}
			if s != nil {
				who, ok = s.OnCall(at)
			}
			// Followed from now on, gap or not: whoever comes on is paged.
			esc.watch(t.Name, lvl, who)
			if !ok {
				nobody = append(nobody, t.Name)
				continue
			}
			targets = append(targets, target{person: who, schedule: t.Name})
		}
	}
	// Wake sleepers later only when someone awake is asked first and the
	// incident is not urgent enough to wake everyone.
	asleep := map[string]bool{}
	if preferAwake(lv, inc.Priority) {
		people := map[string]bool{} // a person may be a target twice
		for _, t := range targets {
			people[t.person] = true
			if p := e.cat.People[t.person]; p != nil && !p.Awake(at) {
				asleep[t.person] = true
			}
		}
		if len(asleep) == len(people) {
			clear(asleep)
		}
	}
	var paging, sleeping []string
	for _, t := range targets {
		shown := t.person
		if t.schedule != "" {
			shown = fmt.Sprintf("%s (on call for %s)", t.person, t.schedule)
		}
		since := at
		if asleep[t.person] {
			since = at.Add(lv.WakeAfter)
		}
		if !e.startRun(esc, t.person, t.schedule, lvl, since) {
			continue
		}
		if asleep[t.person] {
			esc.Runs[esc.run(t.person)].Asleep = true
			local := at.In(e.cat.People[t.person].Location()).Format("15:04 MST")
			sleeping = append(sleeping, fmt.Sprintf("%s (asleep, %s)", shown, local))
			continue
		}
		paging = append(paging, shown)
	}
	msg := fmt.Sprintf("policy %s level %d: paging %s", pol.Name, lvl+1, strings.Join(paging, ", "))
	if len(paging) == 0 {
		msg = fmt.Sprintf("policy %s level %d: nobody new to page now", pol.Name, lvl+1)
	}
	if round > 0 {
		msg += fmt.Sprintf(" (repeat %d of %d)", round, pol.Repeat)
	}
	if len(sleeping) > 0 {
		msg += fmt.Sprintf("; skipped %s: woken %s later unless someone acknowledges", strings.Join(sleeping, ", "), lv.WakeAfter)
	}
	if len(nobody) > 0 {
		msg += fmt.Sprintf("; nobody is on call for %s", strings.Join(nobody, ", "))
	}
	return tx.AppendEvent(inc.ID, Event{At: at, Kind: EventEscalated, Level: lvl + 1, Message: msg})
}

// startRun starts paging a person from at, unless they are being paged
// already; it reports whether it started. A person paged directly stays
// paged across schedule handoffs.
func (e *Engine) startRun(esc *Escalation, person, schedule string, lvl int, at time.Time) bool {
	p := e.cat.People[person]
	if p == nil {
		return false
	}
	i := esc.run(person)
	if i >= 0 && !esc.Runs[i].NextAt.IsZero() {
		// Still being paged: restarting would fall back from calls to a
		// quiet SMS.
		if schedule == "" {
			esc.Runs[i].Schedule = ""
		}
		return false
	}
	first, _, _ := p.stepAt(at, 0)
	run := ContactRun{Person: person, Schedule: schedule, Level: lvl, Since: at, NextAt: first}
	if i >= 0 {
		esc.Runs[i] = run
	} else {
		esc.Runs = append(esc.Runs, run)
	}
	return true
}

// preferAwake reports whether a level at this priority pages the people
// outside their working hours only after the others (wake_after).
func preferAwake(lv Level, p Priority) bool {
	return lv.PreferAwake && (lv.WakeAtOnce == nil || p > *lv.WakeAtOnce)
}

// wakeIfUrgent starts now the paging of the people a level left asleep,
// once the incident's priority is one that level wakes everyone for
// (wake_at_once): a raise to P0 must not wait out wake_after.
func (e *Engine) wakeIfUrgent(tx Tx, inc *Incident, now time.Time) error {
	pol, err := e.policyOf(tx, inc, now)
	if err != nil {
		return err
	}
	woke := false
	for i := range inc.Escalation.Runs {
		r := &inc.Escalation.Runs[i]
		p := e.cat.People[r.Person]
		if !r.Asleep || !r.Since.After(now) || p == nil || r.Level >= len(pol.Levels) || preferAwake(pol.Levels[r.Level], inc.Priority) {
			continue
		}
		r.Asleep, r.Since, r.Step = false, now, 0
		r.NextAt, _, _ = p.stepAt(now, 0)
		woke = true
		if err := tx.AppendEvent(inc.ID, Event{At: now, Kind: EventWoken, Person: p.Name, Level: r.Level + 1,
			Message: fmt.Sprintf("waking %s at %s their time: %s wakes everyone at once", p.Name, now.In(p.Location()).Format("15:04 MST"), inc.Priority)}); err != nil {
			return err
		}
	}
	if !woke {
		return nil
	}
	return e.advance(tx, inc, now)
}

// watch starts following a schedule for a level, unless the incident
// follows it already; person is whom it pages now ("" for nobody).
func (esc *Escalation) watch(schedule string, lvl int, person string) {
	for _, w := range esc.Watches {
		if w.Schedule == schedule {
			return
		}
	}
	esc.Watches = append(esc.Watches, Watch{Schedule: schedule, Level: lvl, Person: person})
}

// watchLegacy gives an incident stored before schedules were watched
// apart from runs its watches: the schedules its runs still page for.
func (esc *Escalation) watchLegacy() {
	if len(esc.Watches) > 0 {
		return
	}
	for _, r := range esc.Runs {
		if r.Schedule != "" && !r.NextAt.IsZero() {
			esc.watch(r.Schedule, r.Level, r.Person)
		}
	}
}

// handoffs passes the paging for each watched schedule to whoever is on
// call now: the person going off shift stops being paged for it, the one
// coming on starts, whether the one before was still being paged, had
// used up their contact rules, or nobody was on call.
func (e *Engine) handoffs(tx Tx, inc *Incident, now time.Time) error {
	esc := &inc.Escalation
	esc.watchLegacy()
	for i := range esc.Watches {
		w := &esc.Watches[i]
		s, err := e.schedule(tx, w.Schedule)
		if err != nil {
			return err
		}
		if s == nil {
			continue
		}
		who, _ := s.OnCall(now)
		if who == w.Person {
			continue
		}
		// Paged directly or for another schedule, they stay paged (for
		// the other schedule, if another watch still names them).
		if j := esc.run(w.Person); w.Person != "" && j >= 0 && esc.Runs[j].Schedule == w.Schedule {
			if k := slices.IndexFunc(esc.Watches, func(o Watch) bool { return o.Schedule != w.Schedule && o.Person == w.Person }); k >= 0 {
				esc.Runs[j].Schedule = esc.Watches[k].Schedule
			} else {
				esc.Runs[j].NextAt = time.Time{}
			}
		}
		var msg string
		switch {
		case who == "":
			msg = fmt.Sprintf("%s handed off by %s; nobody is on call", w.Schedule, w.Person)
		case w.Person == "":
			msg = fmt.Sprintf("%s: %s comes on call", w.Schedule, who)
		default:
			msg = fmt.Sprintf("%s handed off by %s to %s", w.Schedule, w.Person, who)
		}
		if who != "" {
			msg += e.startHandedOff(tx, inc, who, w, now)
		}
		w.Person = who
		if err := tx.AppendEvent(inc.ID, Event{At: now, Kind: EventHandoff, Person: who, Level: w.Level + 1, Message: msg}); err != nil {
			return err
		}
	}
	return nil
}

// startHandedOff starts paging the person coming on call for a watched
// schedule, and says how, for the handoff's entry. On a level that pages
// the awake first, someone coming on outside their working hours while
// another responder is being paged is woken wake_after later, as the
// level would have done.
func (e *Engine) startHandedOff(tx Tx, inc *Incident, who string, w *Watch, now time.Time) string {
	esc := &inc.Escalation
	since, note := now, ""
	// A policy that cannot be read leaves them paged at once: too early
	// beats not at all.
	pol, err := e.policyOf(tx, inc, now)
	if p := e.cat.People[who]; err == nil && p != nil && w.Level < len(pol.Levels) {
		lv := pol.Levels[w.Level]
		awake := slices.ContainsFunc(esc.Runs, func(r ContactRun) bool {
			return r.Person != who && !r.NextAt.IsZero() && !r.Asleep
		})
		if preferAwake(lv, inc.Priority) && !p.Awake(now) && awake {
			since = now.Add(lv.WakeAfter)
			note = fmt.Sprintf(" (asleep, %s: woken %s later unless someone acknowledges)",
				now.In(p.Location()).Format("15:04 MST"), lv.WakeAfter)
		}
	}
	if e.startRun(esc, who, w.Schedule, w.Level, since) && since.After(now) {
		esc.Runs[esc.run(who)].Asleep = true
		return note
	}
	return ""
}

// nextHandoff is the earliest handoff of a schedule the incident watches,
// so the engine wakes for it.
func (e *Engine) nextHandoff(tx Tx, esc *Escalation, now time.Time) (time.Time, error) {
	esc.watchLegacy()
	var next time.Time
	for _, w := range esc.Watches {
		s, err := e.schedule(tx, w.Schedule)
		if err != nil {
			return time.Time{}, err
		}
		if s != nil {
			if at, ok := s.NextHandoff(now); ok && (next.IsZero() || at.Before(next)) {
				next = at
			}
		}
	}
	return next, nil
}

// policyOf is the incident's policy. An incident may outlive its policy in
// the config (renamed or removed before a restart); it then continues on its
// service's current policy for its priority rather than stop paging.
func (e *Engine) policyOf(tx Tx, inc *Incident, now time.Time) (*Policy, error) {
	if pol, ok := e.cat.Policies[inc.Policy]; ok {
		return pol, nil
	}
	if inc.Policy == "" && inc.Service == "" {
		// Paged by hand: no levels, only the person's contact rules.
		return &Policy{Name: "direct"}, nil
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
	if !inc.SplitAt.IsZero() && !inc.SplitAt.After(now) {
		if err := e.split(tx, inc, now); err != nil {
			return err
		}
	}
	if !inc.ResolveAt.IsZero() && !inc.ResolveAt.After(now) {
		inc.ResolveAt = time.Time{}
		if inc.Status.Open() && inc.Firing == 0 {
			inc.Flapping, inc.Flaps, inc.HeldUntil = false, nil, time.Time{}
			return e.resolve(tx, inc, now, Actor{Name: "klaxon", Via: ViaMonitor}, "stayed resolved through the flap cooldown")
		}
	}
	if err := e.plan(tx, inc, now); err != nil {
		return err
	}
	for _, at := range [...]time.Time{inc.ResolveAt, inc.SplitAt} {
		if !at.IsZero() && inc.Status.Open() && (inc.NextDue.IsZero() || at.Before(inc.NextDue)) {
			inc.NextDue = at
		}
	}
	return nil
}

// plan is advance's escalation part.
func (e *Engine) plan(tx Tx, inc *Incident, now time.Time) error {
	esc := &inc.Escalation
	if inc.Status == StatusAcknowledged && !inc.SnoozedUntil.IsZero() {
		if !inc.SnoozedUntil.After(now) {
			return e.wakeFromSnooze(tx, inc, now)
		}
		esc.Runs, esc.Watches, esc.NextLevelAt, inc.NextDue = nil, nil, time.Time{}, inc.SnoozedUntil
		return nil
	}
	if inc.Status != StatusTriggered {
		esc.Runs, esc.Watches = nil, nil
		esc.NextLevelAt = time.Time{}
		inc.NextDue = time.Time{}
		return nil
	}
	if !inc.HeldUntil.IsZero() {
		if inc.HeldUntil.After(now) {
			esc.Runs, esc.NextLevelAt, inc.NextDue = nil, time.Time{}, inc.HeldUntil
			return nil
		}
		inc.HeldUntil, inc.HeldBy = time.Time{}, 0
		if inc.Firing == 0 {
			// The flap (or what the silence held) is over already: nothing
			// to page about.
			esc.Runs, esc.NextLevelAt, inc.NextDue = nil, time.Time{}, time.Time{}
			return nil
		}
		return e.startEscalation(tx, inc, now)
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
		if err := e.activateLevel(tx, inc, pol, lvl, round, at); err != nil {
			return err
		}
	}
	if err := e.handoffs(tx, inc, now); err != nil {
		return err
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
		if run.Asleep {
			run.Asleep = false
			if err := tx.AppendEvent(inc.ID, Event{At: now, Kind: EventWoken, Person: p.Name, Level: run.Level + 1,
				Message: fmt.Sprintf("waking %s at %s their time: nobody acknowledged", p.Name, now.In(p.Location()).Format("15:04 MST"))}); err != nil {
				return err
			}
		}
		if err := e.queueLimited(tx, inc, p, rule.Channel, k, run.Level, now); err != nil {
			return err
		}
		run.Step = k + 1
		run.NextAt, _, _ = p.stepAt(run.Since, run.Step)
	}
	inc.NextDue = esc.NextLevelAt
	h, err := e.nextHandoff(tx, esc, now)
	if err != nil {
		return err
	}
	if !h.IsZero() && (inc.NextDue.IsZero() || h.Before(inc.NextDue)) {
		inc.NextDue = h
	}
	for _, run := range esc.Runs {
		if !run.NextAt.IsZero() && (inc.NextDue.IsZero() || run.NextAt.Before(inc.NextDue)) {
			inc.NextDue = run.NextAt
		}
	}
	return nil
}

// queueLimited queues a page unless it is a call over the person's call
// limit. Calls over it are bundled: the first in a window becomes one SMS
// saying calls are paused and why; later ones only go on the timeline. A
// storm of incidents cannot ring one phone without end.
func (e *Engine) queueLimited(tx Tx, inc *Incident, p *Person, ch Channel, step, level int, now time.Time) error {
	lim := p.CallLimit
	if ch != ChannelVoice || lim.Max <= 0 {
		return e.queuePage(tx, inc, p, ch, step, level, now)
	}
	recent, err := tx.PagesTo(p.Name, now.Add(-lim.Window))
	if err != nil {
		return err
	}
	calls, bundled := 0, false
	for _, pg := range recent {
		switch {
		case pg.Channel == ChannelVoice && pg.Status != PageCancelled:
			calls++
		case pg.Bundle:
			bundled = true
		}
	}
	if calls < lim.Max {
		return e.queuePage(tx, inc, p, ch, step, level, now)
	}
	msg := fmt.Sprintf("call to %s bundled: %d calls in the last %s reached the limit", p.Name, calls, lim.Window)
	if !bundled && p.Phone != "" {
		id, err := tx.NextPageID()
		if err != nil {
			return err
		}
		text := fmt.Sprintf("KLAXON: %d calls to you in %s; calls pause, pages go on. Latest: #%d %s %s. Reply A%d to ack.",
			calls, lim.Window, inc.ID, inc.Priority, inc.Title, inc.ID)
		if err := tx.PutPage(&Page{ID: id, IncidentID: inc.ID, Person: p.Name, Channel: ChannelSMS, Address: p.Phone,
			Text: text, Status: PageQueued, Step: step, NotBefore: now, CreatedAt: now, Bundle: true}); err != nil {
			return err
		}
		msg += "; one SMS says so instead"
	}
	return tx.AppendEvent(inc.ID, Event{At: now, Kind: EventPageBundled, Person: p.Name, Channel: ch, Level: level + 1, Message: msg})
}

// queuePage puts a page in the outbox, in the caller's transaction.
func (e *Engine) queuePage(tx Tx, inc *Incident, p *Person, ch Channel, step, level int, now time.Time) error {
	id, err := tx.NextPageID()
	if err != nil {
		return err
	}
	pg := &Page{
		ID: id, IncidentID: inc.ID, Person: p.Name, Channel: ch, Address: p.Address(ch),
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
	switch ch {
	case ChannelVoice:
		return fmt.Sprintf("Klaxon alert. Incident %d, priority %d, service %s. %s.", inc.ID, inc.Priority, inc.Service, title)
	case ChannelSlack, ChannelDiscord:
		return fmt.Sprintf("KLAXON #%d %s %s: %s. Acknowledge with /klaxon ack %d.", inc.ID, inc.Priority, inc.Service, title, inc.ID)
	}
	return fmt.Sprintf("KLAXON #%d %s %s: %s. Reply A%d to ack, R%d to resolve.", inc.ID, inc.Priority, inc.Service, title, inc.ID, inc.ID)
}

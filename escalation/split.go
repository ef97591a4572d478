package escalation

import (
	"fmt"
	"maps"
	"slices"
	"time"
)

// DefaultSplitAfter is how long a dependent service's alerts may go on
// firing after the root cause's own alerts resolved before they are its
// own failure. Alertmanager tells of a resolve only at the group's next
// flush (group_interval, 5m by default) after the rule has stopped firing,
// so a dependent that recovered with its dependency can look alive for
// that long: splitting sooner would page its team for nothing.
const DefaultSplitAfter = 10 * time.Minute

func (s *Service) splitAfter() time.Duration {
	if s.SplitAfter > 0 {
		return s.SplitAfter
	}
	return DefaultSplitAfter
}

// impacts reports whether an alert of service is impact in inc: of a
// service that depends on inc's, attached for that. Any other alert in it
// (its own service's, or one a person merged in) is of the root cause.
func (inc *Incident) impacts(service string) bool {
	return service != inc.Service && slices.Contains(inc.Impacted, service)
}

// countFiring moves inc's firing counts by d for an alert of service.
func (inc *Incident) countFiring(service string, d int) {
	inc.Firing = max(inc.Firing+d, 0)
	if inc.impacts(service) {
		inc.ImpactFiring = max(inc.ImpactFiring+d, 0)
	}
}

// causeFiring reports whether any alert of inc's root cause still fires.
func (inc *Incident) causeFiring() bool { return inc.Firing > inc.ImpactFiring }

// splitLater starts the wait after which the alerts of dependent services
// still firing in inc leave it, once the root cause's alerts have all
// resolved: the root cause is over, and whatever still fails is failing
// on its own. An incident its service resolves by hand keeps them: a
// person decides.
func (e *Engine) splitLater(tx Tx, inc *Incident, now time.Time) error {
	own := e.cat.Services[inc.Service]
	if own == nil || own.ManualResolve || !inc.Status.Open() || inc.ImpactFiring == 0 || inc.causeFiring() || !inc.SplitAt.IsZero() {
		return nil
	}
	inc.SplitAt = now.Add(own.splitAfter())
	if inc.NextDue.IsZero() || inc.SplitAt.Before(inc.NextDue) {
		inc.NextDue = inc.SplitAt
	}
	by := inc.SplitAt.UTC().Format("15:04")
	if y, m, d := now.UTC().Date(); !sameDay(inc.SplitAt.UTC(), y, m, d) {
		by = inc.SplitAt.UTC().Format("2006-01-02 15:04")
	}
	return tx.AppendEvent(inc.ID, Event{At: now, Kind: EventSplit, Message: fmt.Sprintf(
		"%s's own alerts resolved; %d alert(s) of services that depend on it still fire: unless they resolve by %s UTC, they leave this incident for their own services' incidents",
		inc.Service, inc.ImpactFiring, by)})
}

func sameDay(t time.Time, y int, m time.Month, d int) bool {
	ty, tm, td := t.Date()
	return ty == y && tm == m && td == d
}

// keepImpact calls a pending split off: the root cause fires again, so
// what depends on it is its impact after all.
func (e *Engine) keepImpact(tx Tx, inc *Incident, a Alert, now time.Time) error {
	if inc.SplitAt.IsZero() {
		return nil
	}
	inc.SplitAt = time.Time{}
	return tx.AppendEvent(inc.ID, Event{At: now, Kind: EventSplit, DedupKey: a.DedupKey,
		Message: fmt.Sprintf("%s fires again: the impacted services' alerts stay here", inc.Service)})
}

// splitGroup is one group of a dependent service's alerts leaving a root
// incident together.
type splitGroup struct {
	svc  *Service
	key  string
	recs []*AlertRecord
}

// split moves the alerts of dependent services still firing in inc to
// incidents of their own: the oldest open incident of another service
// they depend on (as its impact), or a new incident of their service that
// pages its team. inc then resolves if nothing else fires in it.
func (e *Engine) split(tx Tx, inc *Incident, now time.Time) error {
	inc.SplitAt = time.Time{}
	if !inc.Status.Open() || inc.causeFiring() || inc.ImpactFiring == 0 {
		return nil
	}
	recs, err := tx.IncidentAlerts(inc.ID)
	if err != nil {
		return err
	}
	var groups []*splitGroup
	gone := map[string]int{}
	for _, rec := range recs {
		if rec.Alert.State != AlertFiring || !inc.impacts(rec.Service) {
			continue // resolved, or of the root cause
		}
		svc := e.cat.Services[rec.Service]
		if svc == nil {
			// Its service left the config: nobody would be paged for it,
			// and it must not hold the root open. It stays, uncounted.
			gone[rec.Service]++
			inc.countFiring(rec.Service, -1)
			continue
		}
		key := svc.groupKey(rec.Alert)
		i := slices.IndexFunc(groups, func(g *splitGroup) bool { return g.svc == svc && g.key == key })
		if i < 0 {
			i = len(groups)
			groups = append(groups, &splitGroup{svc: svc, key: key})
		}
		groups[i].recs = append(groups[i].recs, rec)
	}
	for _, name := range slices.Sorted(maps.Keys(gone)) {
		if err := tx.AppendEvent(inc.ID, Event{At: now, Kind: EventSplit, Message: fmt.Sprintf(
			"%d alert(s) of %s still fire, but %s is no longer configured: no longer counted", gone[name], name, name)}); err != nil {
			return err
		}
	}
	touched := map[int64]*Incident{}
	var opened []*Incident
	for _, g := range groups {
		to, created, err := e.splitTarget(tx, inc, g, now, touched)
		if err != nil {
			return err
		}
		if created {
			opened = append(opened, to)
		}
		for _, rec := range g.recs {
			rec.IncidentID = to.ID
			if err := tx.PutAlert(rec); err != nil {
				return err
			}
			inc.countFiring(rec.Service, -1)
			to.countFiring(rec.Service, +1)
			to.Alerts++
			if err := tx.AppendEvent(to.ID, Event{At: now, Kind: EventAlertAttached, Actor: rec.Integration, Via: ViaMonitor,
				DedupKey: rec.Alert.DedupKey, Message: rec.Alert.Summary}); err != nil {
				return err
			}
		}
		if err := tx.SetGroupIncident(g.svc.Name, g.key, to.ID); err != nil {
			return err
		}
		to.UpdatedAt = now
		if err := tx.AppendEvent(inc.ID, Event{At: now, Kind: EventSplit, Message: fmt.Sprintf(
			"%d alert(s) of %s still fire after %s's own resolved: moved to #%d (%s)", len(g.recs), g.svc.Name, inc.Service, to.ID, to.Service)}); err != nil {
			return err
		}
	}
	for _, to := range opened {
		if err := e.startEscalation(tx, to, now); err != nil {
			return err
		}
	}
	for _, id := range slices.Sorted(maps.Keys(touched)) {
		if err := tx.PutIncident(touched[id]); err != nil {
			return err
		}
	}
	inc.UpdatedAt = now
	if inc.Firing == 0 && inc.ResolveAt.IsZero() {
		return e.allResolved(tx, inc, now, Actor{Name: "klaxon", Via: ViaMonitor})
	}
	return nil
}

// splitTarget is where a group leaving root goes: the incident of another
// dependency still down, or a new incident of the group's own service.
func (e *Engine) splitTarget(tx Tx, root *Incident, g *splitGroup, now time.Time, touched map[int64]*Incident) (*Incident, bool, error) {
	first := g.recs[0].Alert
	// Only a dependency still down takes them: one whose own alerts fire
	// and that is not about to let its impact go too.
	dep, err := e.dependencyIncident(tx, g.svc, func(inc *Incident) bool {
		return inc.ID != root.ID && inc.causeFiring() && inc.SplitAt.IsZero()
	})
	if err != nil {
		return nil, false, err
	}
	if dep != nil {
		if seen, ok := touched[dep.ID]; ok {
			dep = seen
		}
		touched[dep.ID] = dep
		return dep, false, e.impact(tx, dep, g.svc, g.key, first, now)
	}
	pr := g.svc.DefaultPriority
	for i, rec := range g.recs {
		if p := g.svc.PriorityFor(rec.Alert.Severity); i == 0 || p < pr {
			pr = p
		}
	}
	why := fmt.Sprintf("split from #%d: still firing after %s's own alerts resolved", root.ID, root.Service)
	to, err := e.newIncident(tx, g.recs[0].Integration, g.svc, g.key, first, pr, now, why)
	if err != nil {
		return nil, false, err
	}
	touched[to.ID] = to
	// Held only while a silence covers every alert it takes: a silence is
	// made for the alerts it matches.
	for i, rec := range g.recs {
		if i == 0 {
			if err := e.holdIfSilenced(tx, to, g.svc, rec.Alert, now); err != nil {
				return nil, false, err
			}
			continue
		}
		if s, _, err := e.silenceFor(tx, g.svc.Name, rec.Alert, now); err != nil {
			return nil, false, err
		} else if s == nil && to.HeldUntil.After(now) {
			to.HeldUntil, to.HeldBy = time.Time{}, 0
			if err := tx.AppendEvent(to.ID, Event{At: now, Kind: EventSilenced, DedupKey: rec.Alert.DedupKey,
				Message: "an alert no silence covers is among them: paging now"}); err != nil {
				return nil, false, err
			}
		}
	}
	return to, true, nil
}

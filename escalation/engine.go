package escalation

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync/atomic"
	"time"
)

// Options configure an Engine.
type Options struct {
	Store   Store
	Catalog *Catalog
	Clock   Clock
	Logger  *slog.Logger
	// Pagers deliver pages per channel. A channel without one fails its
	// pages permanently, so the person's next contact rule is tried.
	Pagers map[Channel]Pager
	// MaxAttempts bounds delivery attempts of one page (default 4);
	// RetryBackoff is the first retry delay, doubled each time (default 20s).
	MaxAttempts  int
	RetryBackoff time.Duration
	// SendTimeout bounds one provider call (default 30s), and one chat
	// sync.
	SendTimeout time.Duration
	// Chats mirror incidents into chat platforms, by name.
	Chats map[string]Chat
	// Metrics is told what happens (default: nothing).
	Metrics Metrics
	// OnPublicChange, when set, is called after a public update commits,
	// so a static status page can be re-rendered.
	OnPublicChange func()
}

// Engine applies alerts and human actions to incidents and drives
// escalation. All state lives in the Store; the engine holds none between
// calls, so a restart resumes exactly where the last commit left off.
type Engine struct {
	store        Store
	cat          *Catalog
	clock        Clock
	log          *slog.Logger
	pagers       map[Channel]Pager
	maxAttempts  int
	retryBackoff time.Duration
	sendTimeout  time.Duration
	chats        map[string]Chat
	chatNames    []string
	metrics      Metrics
	onPublic     func()
	// wake pokes the runner when a commit may have moved the next due time
	// earlier.
	wake chan struct{}
	// scheds caches schedules with their stored overrides (derived state).
	scheds schedules
	// timersSynced: the stored notice timers were matched to the catalog.
	timersSynced atomic.Bool
}

// New builds an engine. The catalog must be valid.
func New(o Options) (*Engine, error) {
	if o.Store == nil || o.Catalog == nil || o.Clock == nil {
		return nil, errors.New("escalation: Store, Catalog and Clock are required")
	}
	if err := o.Catalog.Validate(); err != nil {
		return nil, fmt.Errorf("escalation: %w", err)
	}
	e := &Engine{
		store: o.Store, cat: o.Catalog, clock: o.Clock, log: o.Logger, pagers: o.Pagers,
		maxAttempts: o.MaxAttempts, retryBackoff: o.RetryBackoff, sendTimeout: o.SendTimeout,
		wake: make(chan struct{}, 1), chats: o.Chats, metrics: o.Metrics, onPublic: o.OnPublicChange,
	}
	if e.metrics == nil {
		e.metrics = noMetrics{}
	}
	e.chatNames = slices.Sorted(maps.Keys(o.Chats))
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	if e.maxAttempts <= 0 {
		e.maxAttempts = 4
	}
	if e.retryBackoff <= 0 {
		e.retryBackoff = 20 * time.Second
	}
	if e.sendTimeout <= 0 {
		e.sendTimeout = 30 * time.Second
	}
	return e, nil
}

// Catalog is the engine's configured world.
func (e *Engine) Catalog() *Catalog { return e.cat }

// Now is the engine's clock reading, so callers compute "in 4h" on the same
// clock the engine acts on.
func (e *Engine) Now() time.Time { return e.clock.Now() }

// Wake is signalled when the next due time may have moved earlier.
func (e *Engine) Wake() <-chan struct{} { return e.wake }

func (e *Engine) poke() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// Ingest applies alerts from one integration and returns after they are
// durably committed. A delivery whose alerts are all unchanged repeats is
// answered from a read transaction and costs no disk flush.
func (e *Engine) Ingest(ctx context.Context, integration string, alerts []Alert) (IngestResult, error) {
	if err := e.CheckDelivery(integration, alerts); err != nil {
		return IngestResult{}, err
	}
	res, unchanged, err := e.Repeat(ctx, integration, alerts)
	if err != nil || unchanged {
		return res, err
	}
	in := e.cat.Integrations[integration]
	svc := e.cat.Services[in.Service]
	now := e.clock.Now()
	err = e.update(ctx, func(tx Tx) error {
		res = IngestResult{}
		return e.applyAlerts(tx, in, svc, alerts, now, &res)
	})
	if err != nil {
		e.metrics.Alerts(integration, "error", len(alerts))
		return IngestResult{}, fmt.Errorf("ingest %s: %w", integration, err)
	}
	e.countAlerts(integration, res)
	// New incidents, reopens and louder policies queue pages: wake the
	// runner (a no-op when it is awake already).
	e.poke()
	return res, nil
}

// MaxKeyBytes bounds an alert's dedup key and the group key it is filed
// under: both are keys of the store's indexes, which take at most 32 KiB,
// and no monitor sends anything near this (PagerDuty allows 255, Opsgenie
// 512). A longer one is refused before the delivery is accepted, rather
// than accepted and then impossible to store.
const MaxKeyBytes = 4096

// CheckDelivery reports what is wrong with a delivery before anything of
// it is stored: an unknown integration, an alert without a dedup key, with
// a dedup or group key over MaxKeyBytes, or with an unknown state.
func (e *Engine) CheckDelivery(integration string, alerts []Alert) error {
	in, ok := e.cat.Integrations[integration]
	if !ok {
		return Errorf(CodeNotFound, "unknown integration %q", integration)
	}
	svc := e.cat.Services[in.Service]
	for i, a := range alerts {
		if a.DedupKey == "" {
			return Errorf(CodeInvalid, "alerts[%d]: dedup key is required", i)
		}
		if len(a.DedupKey) > MaxKeyBytes {
			return Errorf(CodeInvalid, "alerts[%d]: dedup key is %d bytes, at most %d", i, len(a.DedupKey), MaxKeyBytes)
		}
		if n := svc.groupKeyOver(a); n > 0 {
			return Errorf(CodeInvalid, "alerts[%d]: group key is %d bytes, at most %d", i, n, MaxKeyBytes)
		}
		switch a.State {
		case AlertFiring, AlertResolved, AlertAcknowledged:
		default:
			return Errorf(CodeInvalid, "alerts[%d]: unknown state %q", i, a.State)
		}
	}
	return nil
}

// Repeat answers a checked delivery from a read transaction when applying
// it would change nothing (every alert an unchanged repeat, or a resolve
// of an unknown alert that does not say when it ended); unchanged is
// false otherwise, and then res is empty.
func (e *Engine) Repeat(ctx context.Context, integration string, alerts []Alert) (res IngestResult, unchanged bool, err error) {
	in := e.cat.Integrations[integration]
	svc := e.cat.Services[in.Service]
	err = e.store.View(ctx, func(tx Tx) error {
		res = IngestResult{}
		unchanged = true
		for _, a := range alerts {
			id, same, err := e.repeat(tx, svc, a)
			if err != nil {
				return err
			}
			if !same {
				unchanged = false
				return nil
			}
			res.Incidents = append(res.Incidents, id)
			if id == 0 {
				res.Ignored++
			} else {
				res.Unchanged++
			}
		}
		return nil
	})
	if err != nil {
		e.metrics.Alerts(integration, "error", len(alerts))
		return IngestResult{}, false, fmt.Errorf("ingest %s: %w", integration, err)
	}
	if !unchanged {
		return IngestResult{}, false, nil
	}
	e.countAlerts(integration, res)
	return res, true, nil
}

func (e *Engine) countAlerts(integration string, res IngestResult) {
	for outcome, n := range map[string]int{"created": res.Created, "reopened": res.Reopened,
		"updated": res.Updated, "unchanged": res.Unchanged, "ignored": res.Ignored} {
		if n > 0 {
			e.metrics.Alerts(integration, outcome, n)
		}
	}
}

// applyAlerts applies one delivery's alerts in tx.
func (e *Engine) applyAlerts(tx Tx, in *Integration, svc *Service, alerts []Alert, now time.Time, res *IngestResult) error {
	itx := &ingestTx{Tx: tx}
	if err := e.applyDelivery(itx, in, svc, alerts, now, res); err != nil {
		return err
	}
	return itx.flushAll()
}

// applyDelivery applies one delivery's alerts in itx, which may carry
// more deliveries: their alert entries merge until itx is flushed.
func (e *Engine) applyDelivery(itx *ingestTx, in *Integration, svc *Service, alerts []Alert, now time.Time, res *IngestResult) error {
	itx.starting = itx.starting[:0]
	for _, a := range alerts {
		id, err := e.applyAlert(itx, in, svc, a, now, res)
		if err != nil {
			return err
		}
		res.Incidents = append(res.Incidents, id)
	}
	// Escalation starts once per new or reopened incident, after all of
	// the delivery's alerts are in: on the priority they add up to.
	for _, id := range itx.starting {
		inc, err := itx.Incident(id)
		if err != nil {
			return err
		}
		if err := e.startEscalation(itx, inc, now); err != nil {
			return err
		}
		if err := itx.PutIncident(inc); err != nil {
			return err
		}
	}
	return nil
}

// repeat reports whether applying the alert would change nothing, and the
// incident it belongs to (0 when it would be ignored).
func (e *Engine) repeat(tx Tx, svc *Service, a Alert) (int64, bool, error) {
	rec, err := tx.Alert(svc.Name, a.DedupKey)
	if errors.Is(err, ErrNotFound) {
		// Nothing to resolve or acknowledge: ignored, and without a write
		// unless it is an early resolve to remember.
		return 0, a.State != AlertFiring && !earlyResolve(a), nil
	}
	if err != nil {
		return 0, false, err
	}
	if rec.IncidentID == 0 {
		return 0, !rec.laterResolve(a) && (a.State != AlertFiring || rec.staleFiring(a)), nil
	}
	inc, err := tx.Incident(rec.IncidentID)
	if err != nil {
		return 0, false, err
	}
	switch a.State {
	case AlertFiring:
		if rec.staleFiring(a) {
			return inc.ID, true, nil
		}
		return inc.ID, inc.Status.Open() && rec.Alert.State == AlertFiring && rec.Alert.sameContent(a), nil
	case AlertResolved:
		return inc.ID, rec.Alert.State == AlertResolved && !rec.laterResolve(a), nil
	default:
		return inc.ID, inc.Status != StatusTriggered, nil
	}
}

// laterResolve reports whether a resolves a later occurrence than the
// resolved one the record holds: its resolve came before its firing.
func (rec *AlertRecord) laterResolve(a Alert) bool {
	return a.State == AlertResolved && rec.Alert.State == AlertResolved && a.EndsAt.After(rec.Alert.EndsAt)
}

// staleFiring reports whether a is a firing the record already saw end: a
// late or repeated delivery (a retry, an HA peer's copy) of an occurrence
// whose resolve came first. It would reopen an incident no resolve will
// close again; a new occurrence starts after the last one ended. Senders
// without start and end times (PagerDuty) are never stale.
func (rec *AlertRecord) staleFiring(a Alert) bool {
	return a.State == AlertFiring && rec.Alert.State == AlertResolved &&
		!a.StartsAt.IsZero() && !rec.Alert.EndsAt.IsZero() && !a.StartsAt.After(rec.Alert.EndsAt)
}

// earlyResolve reports whether a, a resolve of an alert never seen firing,
// is worth remembering: it says when its occurrence ended, so a firing of
// that occurrence arriving after it (a retry that lost the race, an HA
// peer's late copy) can be known as stale rather than open an incident
// no resolve will close.
func earlyResolve(a Alert) bool {
	return a.State == AlertResolved && !a.EndsAt.IsZero()
}

// applyAlert applies one alert inside the ingest transaction and returns
// the incident it landed in (0 when it was ignored).
func (e *Engine) applyAlert(tx *ingestTx, in *Integration, svc *Service, a Alert, now time.Time, res *IngestResult) (int64, error) {
	rec, err := tx.Alert(svc.Name, a.DedupKey)
	if errors.Is(err, ErrNotFound) {
		rec, err = nil, nil
	}
	if err != nil {
		return 0, err
	}
	if rec == nil && a.State != AlertFiring {
		// Nothing to resolve or acknowledge (PagerDuty drops these too);
		// an early resolve is kept, in no incident, to judge its firing.
		res.Ignored++
		if !earlyResolve(a) {
			return 0, nil
		}
		return 0, tx.PutAlert(&AlertRecord{Service: svc.Name, Integration: in.Name, Alert: a, FirstSeen: now, LastSeen: now})
	}
	if rec != nil && rec.IncidentID == 0 {
		// Only early resolves were seen: a later one's end is kept, its
		// own occurrence's firing is ignored, a later occurrence's fires
		// as new.
		switch {
		case rec.laterResolve(a):
			res.Ignored++
			rec.Alert, rec.LastSeen = a, now
			return 0, tx.PutAlert(rec)
		case a.State != AlertFiring || rec.staleFiring(a):
			res.Ignored++
			return 0, nil
		}
		return e.attachFiring(tx, in, svc, rec, a, now, res)
	}
	var inc *Incident
	if rec != nil {
		if inc, err = tx.Incident(rec.IncidentID); err != nil {
			return 0, err
		}
	}
	monitor := Actor{Name: in.Name, Via: ViaMonitor}
	switch {
	case rec != nil && rec.staleFiring(a):
		res.Unchanged++
		return inc.ID, nil
	case a.State == AlertResolved:
		if rec.Alert.State == AlertResolved {
			// A resolve of a later occurrence that came before its
			// firing: its end is kept to know that firing when it comes.
			res.Unchanged++
			if rec.laterResolve(a) {
				rec.Alert, rec.LastSeen = mergeResolved(rec.Alert, a), now
				return inc.ID, tx.PutAlert(rec)
			}
			return inc.ID, nil
		}
		rec.Alert, rec.LastSeen = mergeResolved(rec.Alert, a), now
		if err := tx.PutAlert(rec); err != nil {
			return 0, err
		}
		inc.countFiring(rec.Service, -1)
		inc.UpdatedAt = now
		if err := tx.AppendEvent(inc.ID, Event{At: now, Kind: EventAlertResolved, Actor: in.Name,
			Via: ViaMonitor, DedupKey: a.DedupKey, Message: rec.Alert.Summary}); err != nil {
			return 0, err
		}
		// The incident's own service decides (an impacted service's alert
		// may be the last to resolve).
		switch own := e.cat.Services[inc.Service]; {
		case inc.Firing == 0 && inc.Status.Open() && (own == nil || !own.ManualResolve):
			if err := e.allResolved(tx, inc, now, monitor); err != nil {
				return 0, err
			}
		case !inc.impacts(rec.Service):
			if err := e.splitLater(tx, inc, now); err != nil {
				return 0, err
			}
		}
		res.Updated++
		return inc.ID, tx.PutIncident(inc)

	case a.State == AlertAcknowledged:
		if inc.Status != StatusTriggered {
			res.Unchanged++
			return inc.ID, nil
		}
		if err := e.acknowledge(tx, inc, now, monitor); err != nil {
			return 0, err
		}
		res.Updated++
		return inc.ID, tx.PutIncident(inc)

	case inc != nil && inc.Status.Open():
		// A known alert of an open incident: a repeat, an update, or a
		// re-fire after it resolved.
		if rec.Alert.State == AlertFiring && rec.Alert.sameContent(a) {
			res.Unchanged++
			return inc.ID, nil
		}
		kind := EventAlertUpdated
		if rec.Alert.State != AlertFiring {
			kind = EventAlertRefired
			inc.countFiring(rec.Service, +1)
			if err := e.refired(tx, inc, rec.Service, a, now); err != nil {
				return 0, err
			}
		}
		rec.Alert, rec.LastSeen = a, now
		if err := tx.PutAlert(rec); err != nil {
			return 0, err
		}
		inc.UpdatedAt = now
		if err := tx.AppendEvent(inc.ID, Event{At: now, Kind: kind, Actor: in.Name, Via: ViaMonitor,
			DedupKey: a.DedupKey, Message: a.Summary}); err != nil {
			return 0, err
		}
		if err := e.raisePriority(tx, inc, svc.PriorityFor(a.Severity), now, monitor, !tx.startsLater(inc.ID)); err != nil {
			return 0, err
		}
		res.Updated++
		return inc.ID, tx.PutIncident(inc)
	}
	// A new alert, or one whose incident is resolved: it goes where its
	// group leads (the open incident, a reopen within the window, or a new
	// incident).
	return e.attachFiring(tx, in, svc, rec, a, now, res)
}

// attachFiring attaches a firing alert to its group's incident.
func (e *Engine) attachFiring(tx *ingestTx, in *Integration, svc *Service, rec *AlertRecord, a Alert, now time.Time, res *IngestResult) (int64, error) {
	inc, created, reopened, err := e.incidentFor(tx, in, svc, a, now)
	if err != nil {
		return 0, err
	}
	if rec == nil {
		rec = &AlertRecord{Service: svc.Name, FirstSeen: now}
	}
	// An alert still firing in a resolved incident (a human resolved it
	// early) is counted there; move the count rather than add to it.
	switch {
	case rec.IncidentID == inc.ID:
		if rec.Alert.State != AlertFiring {
			inc.countFiring(svc.Name, +1)
		}
	default:
		if rec.IncidentID != 0 && rec.Alert.State == AlertFiring {
			old, err := tx.Incident(rec.IncidentID)
			if err != nil {
				return 0, err
			}
			old.countFiring(svc.Name, -1)
			if err := tx.PutIncident(old); err != nil {
				return 0, err
			}
		}
		inc.countFiring(svc.Name, +1)
		inc.Alerts++
	}
	rec.Integration, rec.IncidentID, rec.Alert, rec.LastSeen = in.Name, inc.ID, a, now
	if err := tx.PutAlert(rec); err != nil {
		return 0, err
	}
	inc.UpdatedAt = now
	if err := tx.AppendEvent(inc.ID, Event{At: now, Kind: EventAlertAttached, Actor: in.Name, Via: ViaMonitor,
		DedupKey: a.DedupKey, Message: a.Summary}); err != nil {
		return 0, err
	}
	if created || reopened {
		if err := e.holdIfSilenced(tx, inc, svc, a, now); err != nil {
			return 0, err
		}
	}
	switch {
	case created:
		res.Created++
		tx.starting = append(tx.starting, inc.ID)
	case reopened:
		res.Reopened++
		// The refire may be louder than the incident was: it raises it
		// before its escalation starts, on the policy that priority picks.
		monitor := Actor{Name: in.Name, Via: ViaMonitor}
		if err := e.raisePriority(tx, inc, svc.PriorityFor(a.Severity), now, monitor, false); err != nil {
			return 0, err
		}
		tx.starting = append(tx.starting, inc.ID)
	default:
		res.Updated++
		// A dependent service's alert tells of impact, not of a worse
		// root cause: it does not raise the incident's priority.
		if inc.Service == svc.Name {
			monitor := Actor{Name: in.Name, Via: ViaMonitor}
			if err := e.raisePriority(tx, inc, svc.PriorityFor(a.Severity), now, monitor, !tx.startsLater(inc.ID)); err != nil {
				return 0, err
			}
			if err := e.releaseIfUnsilenced(tx, inc, svc, a, now); err != nil {
				return 0, err
			}
		}
	}
	if !created {
		if err := e.refired(tx, inc, svc.Name, a, now); err != nil {
			return 0, err
		}
	}
	return inc.ID, tx.PutIncident(inc)
}

// refired follows an alert of service firing (again) in inc. One of the
// root cause keeps the impact attached and a flapping incident open; one
// of the impact, once the root cause's alerts have all resolved, starts
// the wait after which it leaves (it may have come in the meantime).
func (e *Engine) refired(tx Tx, inc *Incident, service string, a Alert, now time.Time) error {
	if inc.impacts(service) {
		return e.splitLater(tx, inc, now)
	}
	if err := e.keepImpact(tx, inc, a, now); err != nil {
		return err
	}
	if inc.ResolveAt.IsZero() {
		return nil
	}
	return e.cancelPendingResolve(tx, inc, now)
}

// incidentFor finds the incident a firing alert joins: its group's open
// incident, its group's resolved incident reopened within the service's
// window, or a new one.
func (e *Engine) incidentFor(tx Tx, in *Integration, svc *Service, a Alert, now time.Time) (inc *Incident, created, reopened bool, err error) {
	gk := svc.groupKey(a)
	gid, err := tx.GroupIncident(svc.Name, gk)
	if err != nil {
		return nil, false, false, err
	}
	var g *Incident
	if gid != 0 {
		// A group whose incident was pruned starts afresh.
		if g, err = tx.Incident(gid); errors.Is(err, ErrNotFound) {
			g, err = nil, nil
		}
		if err != nil {
			return nil, false, false, err
		}
	}
	if g != nil {
		// Merged away, maybe more than once (A into B, B into C): the
		// group's alerts go where its incident's went, while that is open.
		if g, err = mergedEnd(tx, g); err != nil {
			return nil, false, false, err
		}
		if g.Status.Open() {
			if g.ID != gid {
				if err := tx.SetGroupIncident(svc.Name, gk, g.ID); err != nil {
					return nil, false, false, err
				}
			}
			return g, false, false, nil
		}
		// Another service's incident the group was attached to as impact
		// is not reopened by it: that root cause is over, and the group's
		// failure is its own now.
		if svc.ReopenWindow > 0 && now.Sub(g.ResolvedAt) <= svc.ReopenWindow && g.MergedInto == 0 && g.Service == svc.Name {
			return e.reopen(tx, in, svc, g, a, now)
		}
	}
	if dep, err := e.dependencyIncident(tx, svc, nil); err != nil || dep != nil {
		if dep != nil {
			if err := e.impact(tx, dep, svc, gk, a, now); err != nil {
				return nil, false, false, err
			}
		}
		return dep, false, false, err
	}
	inc, err = e.newIncident(tx, in.Name, svc, gk, a, svc.PriorityFor(a.Severity), now, "")
	return inc, err == nil, false, err
}

// newIncident opens an incident of svc's group gk for alert a, sent by
// the integration named by; why, if set, follows the opening entry.
func (e *Engine) newIncident(tx Tx, by string, svc *Service, gk string, a Alert, pr Priority, now time.Time, why string) (*Incident, error) {
	id, err := tx.NextIncidentID()
	if err != nil {
		return nil, err
	}
	title := a.Summary
	if title == "" {
		title = a.DedupKey
	}
	inc := &Incident{
		ID: id, Service: svc.Name, GroupKey: gk, Title: title, Status: StatusTriggered,
		Priority: pr, Policy: svc.PolicyFor(pr), CreatedAt: now, UpdatedAt: now,
	}
	if err := tx.SetGroupIncident(svc.Name, gk, id); err != nil {
		return nil, err
	}
	msg := fmt.Sprintf("%s %s on %s", pr, title, svc.Name)
	if why != "" {
		msg += " — " + why
	}
	if err := tx.AppendEvent(id, Event{At: now, Kind: EventTriggered, Actor: by, Via: ViaMonitor, Message: msg}); err != nil {
		return nil, err
	}
	return inc, nil
}

// allResolved closes an incident whose alerts all resolved; a flapping one
// only after it stays resolved for its cooldown.
func (e *Engine) allResolved(tx Tx, inc *Incident, now time.Time, monitor Actor) error {
	inc.SplitAt = time.Time{} // nothing fires: nothing to split off
	own := e.cat.Services[inc.Service]
	if !inc.Flapping || own == nil || own.Flap.Cooldown <= 0 {
		return e.resolve(tx, inc, now, monitor, "all alerts resolved")
	}
	inc.ResolveAt = now.Add(own.Flap.Cooldown)
	if inc.NextDue.IsZero() || inc.ResolveAt.Before(inc.NextDue) {
		inc.NextDue = inc.ResolveAt
	}
	return tx.AppendEvent(inc.ID, Event{At: now, Kind: EventFlapping, Message: fmt.Sprintf(
		"all alerts resolved; flapping, so it resolves at %s UTC if it stays resolved", inc.ResolveAt.UTC().Format("15:04"))})
}

// cancelPendingResolve keeps a flapping incident open: it fired again
// within its cooldown.
func (e *Engine) cancelPendingResolve(tx Tx, inc *Incident, now time.Time) error {
	inc.ResolveAt = time.Time{}
	return tx.AppendEvent(inc.ID, Event{At: now, Kind: EventFlapping, Message: "fired again within the cooldown: stays open"})
}

// holdIfSilenced holds a new or reopened incident's pages while a silence
// covers its alert: it is recorded, and pages only if it still fires when
// the silence ends.
func (e *Engine) holdIfSilenced(tx Tx, inc *Incident, svc *Service, a Alert, now time.Time) error {
	s, until, err := e.silenceFor(tx, svc.Name, a, now)
	if err != nil || s == nil || !until.After(inc.HeldUntil) {
		return err
	}
	inc.HeldUntil, inc.HeldBy = until, s.ID
	msg := fmt.Sprintf("held by %s until %s UTC: recorded, not paged", s.Name(), until.UTC().Format("2006-01-02 15:04"))
	if len(s.Matchers) > 0 {
		msg += "; it matches " + describeMatchers(s.Matchers)
	}
	return tx.AppendEvent(inc.ID, Event{At: now, Kind: EventSilenced, DedupKey: a.DedupKey, Message: msg})
}

// releaseIfUnsilenced ends a silence's hold on an incident when an alert
// no silence covers joins it: a silence is made for the alerts it matches,
// not for whatever shares their group, so the incident pages now.
func (e *Engine) releaseIfUnsilenced(tx *ingestTx, inc *Incident, svc *Service, a Alert, now time.Time) error {
	if !inc.HeldUntil.After(now) || inc.HeldBy == 0 && inc.Flapping {
		return nil // not held, or held for flapping (a configured window holds with HeldBy 0 too)
	}
	s, _, err := e.silenceFor(tx, svc.Name, a, now)
	if err != nil || s != nil {
		return err
	}
	inc.HeldUntil, inc.HeldBy = time.Time{}, 0
	if err := tx.AppendEvent(inc.ID, Event{At: now, Kind: EventSilenced, DedupKey: a.DedupKey,
		Message: "an alert no silence covers joined: paging now"}); err != nil {
		return err
	}
	if !tx.startsLater(inc.ID) {
		tx.starting = append(tx.starting, inc.ID)
	}
	return nil
}

// reopen brings a resolved incident back. A flapping one that someone had
// acknowledged stays acknowledged, so its responder is not paged for every
// flap; one nobody acknowledged holds its pages for the cooldown.
func (e *Engine) reopen(tx Tx, in *Integration, svc *Service, g *Incident, a Alert, now time.Time) (*Incident, bool, bool, error) {
	flapped := now.Sub(g.ResolvedAt).Round(time.Second)
	ackedBy, ackedAt := g.AcknowledgedBy, g.AcknowledgedAt
	g.Status = StatusTriggered
	g.Reopened++
	g.AcknowledgedAt, g.AcknowledgedBy, g.ResolvedAt, g.ResolvedBy = time.Time{}, "", time.Time{}, ""
	if err := tx.AppendEvent(g.ID, Event{At: now, Kind: EventReopened, Actor: in.Name, Via: ViaMonitor,
		DedupKey: a.DedupKey, Message: fmt.Sprintf("fired again %s after it resolved (reopen window %s)", flapped, svc.ReopenWindow)}); err != nil {
		return nil, false, false, err
	}
	f := svc.Flap
	if f.Count <= 0 {
		return g, false, true, nil
	}
	kept := g.Flaps[:0]
	for _, t := range g.Flaps {
		if now.Sub(t) <= f.Window {
			kept = append(kept, t)
		}
	}
	g.Flaps = append(kept, now)
	// An episode is over once its reopens have left the window, however
	// it was resolved: a failure hours later is news, and pages.
	wasFlapping := g.Flapping
	g.Flapping = len(g.Flaps) >= f.Count
	if !wasFlapping && g.Flapping {
		if err := tx.AppendEvent(g.ID, Event{At: now, Kind: EventFlapping, Message: fmt.Sprintf(
			"flapping: reopened %d times within %s; no repeat pages for what was acknowledged, new pages held %s, resolves after %s resolved",
			len(g.Flaps), f.Window, f.Cooldown, f.Cooldown)}); err != nil {
			return nil, false, false, err
		}
	}
	if !g.Flapping {
		return g, false, true, nil
	}
	if ackedBy != "" {
		g.Status, g.AcknowledgedBy, g.AcknowledgedAt = StatusAcknowledged, ackedBy, ackedAt
		if err := tx.AppendEvent(g.ID, Event{At: now, Kind: EventFlapping,
			Message: fmt.Sprintf("still acknowledged by %s: flapping, so not paging again", ackedBy)}); err != nil {
			return nil, false, false, err
		}
		return g, false, false, nil
	}
	g.HeldUntil = now.Add(f.Cooldown)
	if err := tx.AppendEvent(g.ID, Event{At: now, Kind: EventFlapping,
		Message: fmt.Sprintf("flapping: pages held until %s UTC unless it stays down", g.HeldUntil.UTC().Format("15:04"))}); err != nil {
		return nil, false, false, err
	}
	return g, false, true, nil
}

// maxMergeHops bounds the merges followed from an incident to where its
// alerts went: a chain longer than this is not a real one.
const maxMergeHops = 64

// mergedEnd is the incident inc's alerts are in now: inc, or the end of
// the chain of merges it went through (A into B, B into C: C).
func mergedEnd(tx Tx, inc *Incident) (*Incident, error) {
	for hops := 0; inc.MergedInto != 0 && hops < maxMergeHops; hops++ {
		next, err := tx.Incident(inc.MergedInto)
		if errors.Is(err, ErrNotFound) {
			return inc, nil // pruned: the chain ends at what is left
		}
		if err != nil {
			return nil, err
		}
		inc = next
	}
	return inc, nil
}

// dependencyIncident is the oldest open incident of a service svc depends
// on that ok takes (nil: any), nil when there is none (or svc opted out).
func (e *Engine) dependencyIncident(tx Tx, svc *Service, ok func(*Incident) bool) (*Incident, error) {
	if svc.NoCorrelation || len(svc.DependsOn) == 0 {
		return nil, nil
	}
	var best *Incident
	for _, d := range svc.DependsOn {
		ids, err := tx.OpenIncidents(d)
		if err != nil {
			return nil, err
		}
		for _, id := range ids {
			inc, err := tx.Incident(id)
			if err != nil {
				return nil, err
			}
			if inc.Status.Open() && inc.MergedInto == 0 && (ok == nil || ok(inc)) && (best == nil || inc.CreatedAt.Before(best.CreatedAt)) {
				best = inc
			}
		}
	}
	return best, nil
}

// impact attaches a dependent service's new alert group to the dependency's
// incident: no incident of its own, no pages to its team.
func (e *Engine) impact(tx Tx, dep *Incident, svc *Service, groupKey string, a Alert, now time.Time) error {
	if err := tx.SetGroupIncident(svc.Name, groupKey, dep.ID); err != nil {
		return err
	}
	if slices.Contains(dep.Impacted, svc.Name) {
		return nil
	}
	dep.Impacted = append(dep.Impacted, svc.Name)
	return tx.AppendEvent(dep.ID, Event{At: now, Kind: EventImpacted, DedupKey: a.DedupKey,
		Message: fmt.Sprintf("%s impacted — attached to #%d %s", svc.Name, dep.ID, dep.Service)})
}

// raisePriority lifts the incident to p if p is higher. A triggered incident
// whose service pages louder at the new priority restarts escalation on the
// louder policy at once, unless restart is false (its escalation starts
// later in the same transaction).
func (e *Engine) raisePriority(tx Tx, inc *Incident, p Priority, now time.Time, by Actor, restart bool) error {
	if p >= inc.Priority {
		return nil
	}
	old := inc.Priority
	inc.Priority = p
	if err := tx.AppendEvent(inc.ID, Event{At: now, Kind: EventPriorityChanged, Actor: by.Name, Via: by.Via,
		Message: fmt.Sprintf("priority %s → %s", old, p)}); err != nil {
		return err
	}
	svc := e.cat.Services[inc.Service]
	if svc == nil {
		return nil
	}
	pol := svc.PolicyFor(p)
	if pol == inc.Policy {
		if inc.Status != StatusTriggered || !restart {
			return nil
		}
		return e.wakeIfUrgent(tx, inc, now)
	}
	inc.Policy = pol
	if inc.Status != StatusTriggered || !restart {
		return nil
	}
	if err := e.startEscalation(tx, inc, now); err != nil {
		return err
	}
	return e.wakeIfUrgent(tx, inc, now)
}

func mergeResolved(old, a Alert) Alert {
	// A resolve notice often carries less than the firing one (PagerDuty's
	// resolve has no summary); keep what we knew.
	if a.Summary == "" {
		a.Summary = old.Summary
	}
	if a.Severity == "" {
		a.Severity = old.Severity
	}
	if len(a.Labels) == 0 {
		a.Labels = old.Labels
	}
	if len(a.Links) == 0 {
		a.Links = old.Links
	}
	if a.Details == "" {
		a.Details = old.Details
	}
	if a.Source == "" {
		a.Source = old.Source
	}
	return a
}

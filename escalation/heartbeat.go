package escalation

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Heartbeat is a dead man's switch: a job that pings Klaxon every Every
// (or at each time of Cron), plus Grace. A missed ping opens an incident on
// Service; the next ping resolves it.
type Heartbeat struct {
	Name    string
	Service string
	// Token authenticates pings. Never logged.
	Token string
	Every time.Duration
	// Cron, when set, expects a ping within Grace of each of its times
	// (CronSpec is its text); Every is then unused.
	Cron     Recurrence
	CronSpec string
	Grace    time.Duration
}

// PingKind is what a heartbeat ping says.
type PingKind string

// Pings: the job ran (ok), failed, or started (it must finish within the
// grace time).
const (
	PingOK    PingKind = "ok"
	PingFail  PingKind = "fail"
	PingStart PingKind = "start"
)

const heartbeatPrefix = "heartbeat/"

func heartbeatTimer(name string) string { return heartbeatPrefix + name }

// spec identifies the heartbeat's rule, so a config change re-arms it.
func (h *Heartbeat) spec() string {
	if h.Cron != nil {
		return fmt.Sprintf("cron %s grace %s", h.CronSpec, h.Grace)
	}
	return fmt.Sprintf("every %s grace %s", h.Every, h.Grace)
}

// firstDeadline is when a heartbeat never pinged since now is late.
func (h *Heartbeat) firstDeadline(now time.Time) time.Time {
	if h.Cron != nil {
		return cronDeadline(h.Cron.Next(now), h.Grace)
	}
	return now.Add(h.Every + h.Grace)
}

// nextDeadline is when the next ping is due after one at now: for a cron
// heartbeat, an early ping (within grace before its time) counts for that
// time.
func (h *Heartbeat) nextDeadline(now time.Time) time.Time {
	if h.Cron != nil {
		return cronDeadline(h.Cron.Next(now.Add(h.Grace)), h.Grace)
	}
	return now.Add(h.Every + h.Grace)
}

// cronDeadline is a cron heartbeat's deadline for its next time; a rule
// that no longer fires (none in five years) sets none, rather than a
// deadline at the zero time that is always past.
func cronDeadline(next time.Time, grace time.Duration) time.Time {
	if next.IsZero() {
		return never()
	}
	return next.Add(grace)
}

func (h *Heartbeat) alert(state AlertState, summary string, now time.Time) Alert {
	return Alert{DedupKey: heartbeatPrefix + h.Name, State: state, Severity: "critical", Summary: summary,
		Source: "klaxon heartbeat", Labels: map[string]string{"heartbeat": h.Name}, StartsAt: now}
}

func (h *Heartbeat) integration() *Integration {
	return &Integration{Name: heartbeatPrefix + h.Name, Service: h.Service}
}

// Ping records a heartbeat ping and returns after it is committed. ok
// resolves an open missed-heartbeat incident and sets the next deadline;
// fail opens one at once; start gives the job Grace to finish.
func (e *Engine) Ping(ctx context.Context, name string, kind PingKind) error {
	hb, ok := e.cat.Heartbeats[name]
	if !ok {
		return Errorf(CodeNotFound, "unknown heartbeat %q", name)
	}
	svc := e.cat.Services[hb.Service]
	now := e.clock.Now()
	var at time.Time
	var a *Alert
	switch kind {
	case PingOK:
		at = hb.nextDeadline(now)
		resolved := hb.alert(AlertResolved, fmt.Sprintf("heartbeat %s pinged", hb.Name), now)
		a = &resolved
	case PingStart:
		at = now.Add(max(hb.Grace, time.Minute))
	case PingFail:
		at = hb.nextDeadline(now)
		failed := hb.alert(AlertFiring, fmt.Sprintf("heartbeat %s: the job reported failure", hb.Name), now)
		a = &failed
	default:
		return Errorf(CodeInvalid, "ping %q: want ok, fail or start", kind)
	}
	err := e.update(ctx, func(tx Tx) error {
		t, err := tx.Timer(heartbeatTimer(name))
		if errors.Is(err, ErrNotFound) {
			t, err = &Timer{Name: heartbeatTimer(name), Spec: hb.spec()}, nil
		}
		if err != nil {
			return err
		}
		t.At, t.Person = at, ""
		if err := tx.PutTimer(t); err != nil {
			return err
		}
		if a == nil {
			return nil
		}
		var res IngestResult
		return e.applyAlerts(tx, hb.integration(), svc, []Alert{*a}, now, &res)
	})
	if err != nil {
		return fmt.Errorf("heartbeat %s: %w", name, err)
	}
	e.poke()
	return nil
}

// fireHeartbeat opens the missed-heartbeat incident. The timer stays away
// until the next ping re-arms it: one incident per silence.
func (e *Engine) fireHeartbeat(tx Tx, t *Timer, name string, now time.Time) error {
	hb, ok := e.cat.Heartbeats[name]
	if !ok {
		return tx.DeleteTimer(t.Name)
	}
	var res IngestResult
	summary := fmt.Sprintf("heartbeat %s missed: no ping by %s UTC", hb.Name, t.At.UTC().Format("2006-01-02 15:04"))
	if err := e.applyAlerts(tx, hb.integration(), e.cat.Services[hb.Service], []Alert{hb.alert(AlertFiring, summary, now)}, now, &res); err != nil {
		return err
	}
	t.At = now.Add(100 * 365 * 24 * time.Hour) // parked until the next ping
	return tx.PutTimer(t)
}

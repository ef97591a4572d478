package escalation

import (
	"context"
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
)

// Runner is the one loop that drives escalation in a running process: it
// sleeps until the next due time (or a poke), ticks the engine, and hands
// due pages to the pagers concurrently. Everything it acts on is in the
// store, so it holds no state a crash could lose.
type Runner struct {
	e *Engine
	// MaxIdle caps a sleep, so a clock jump or a missed poke costs at most
	// this long (default 30s).
	MaxIdle time.Duration
	// Concurrency bounds pages in flight (default 16).
	Concurrency int
	// ChatConcurrency bounds chat syncs in flight (default 4). Chats have
	// their own workers, so a chat that hangs never holds up a page.
	ChatConcurrency int

	lastPass atomic.Int64 // unix nanos of the last completed pass
	inflight sync.WaitGroup
	chatSem  chan struct{}
}

// NewRunner returns a runner for the engine.
func NewRunner(e *Engine) *Runner { return &Runner{e: e} }

// LastPass is when the loop last completed a pass (zero before the first);
// readiness checks use it.
func (r *Runner) LastPass() time.Time {
	n := r.lastPass.Load()
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// Run loops until ctx is done, then waits for pages in flight.
func (r *Runner) Run(ctx context.Context) error {
	maxIdle := r.MaxIdle
	if maxIdle <= 0 {
		maxIdle = 30 * time.Second
	}
	conc := r.Concurrency
	if conc <= 0 {
		conc = 16
	}
	sem := make(chan struct{}, conc)
	chatConc := r.ChatConcurrency
	if chatConc <= 0 {
		chatConc = 4
	}
	r.chatSem = make(chan struct{}, chatConc)
	defer r.inflight.Wait()

	if n, err := r.e.RecoverOutbox(ctx); err != nil {
		r.e.log.ErrorContext(ctx, "runner: recovering outbox", "err", err)
	} else if n > 0 {
		r.e.log.InfoContext(ctx, "runner: re-sending pages interrupted by the last stop", "pages", n)
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		case <-r.e.Wake():
		}
		wait := r.pass(ctx, sem, maxIdle)
		timer.Reset(wait)
	}
}

// claimPages hands as many due pages as there are free workers to them.
func (r *Runner) claimPages(ctx context.Context, sem chan struct{}) error {
	free := cap(sem) - len(sem)
	if free <= 0 {
		return nil
	}
	pages, err := r.e.ClaimDue(ctx, free)
	if err != nil {
		return err
	}
	for _, p := range pages {
		sem <- struct{}{}
		r.inflight.Add(1)
		go func() {
			defer r.inflight.Done()
			defer func() { <-sem; r.e.poke() }()
			if err := r.e.Deliver(context.WithoutCancel(ctx), p); err != nil {
				r.e.log.Error("runner: recording delivery", "page_id", p.ID, "incident_id", p.IncidentID, "err", err)
			}
		}()
	}
	return nil
}

// pass does the work due now and returns how long to sleep. A panic is
// contained: the loop logs it and carries on after a short pause.
func (r *Runner) pass(ctx context.Context, sem chan struct{}, maxIdle time.Duration) (wait time.Duration) {
	defer func() {
		if v := recover(); v != nil {
			r.e.log.ErrorContext(ctx, "runner: panic in pass", "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			r.e.metrics.Panic("runner")
			wait = time.Second
		}
	}()
	// Pages already due go to the workers before the tick: a long tick
	// (a restart's backlog, a busy store) must not hold them back.
	if err := r.claimPages(ctx, sem); err != nil && ctx.Err() == nil {
		r.e.log.ErrorContext(ctx, "runner: claim pages", "err", err)
		return time.Second
	}
	if _, err := r.e.Tick(ctx); err != nil && ctx.Err() == nil {
		r.e.log.ErrorContext(ctx, "runner: tick", "err", err)
		return time.Second
	}
	if err := r.claimPages(ctx, sem); err != nil && ctx.Err() == nil {
		r.e.log.ErrorContext(ctx, "runner: claim pages", "err", err)
		return time.Second
	}
	if free := cap(r.chatSem) - len(r.chatSem); free > 0 {
		posts, err := r.e.ClaimChatPosts(ctx, free)
		if err != nil && ctx.Err() == nil {
			r.e.log.ErrorContext(ctx, "runner: claim chat posts", "err", err)
		}
		for _, p := range posts {
			r.chatSem <- struct{}{}
			r.inflight.Add(1)
			go func() {
				defer r.inflight.Done()
				defer func() { <-r.chatSem; r.e.poke() }()
				if err := r.e.SyncChatPost(context.WithoutCancel(ctx), p); err != nil {
					r.e.log.Error("runner: chat sync", "chat", p.Chat, "incident_id", p.IncidentID, "err", err)
				}
			}()
		}
	}
	r.lastPass.Store(r.e.clock.Now().UnixNano())
	next, ok, err := r.e.nextDue(ctx, len(r.chatSem) < cap(r.chatSem))
	if err != nil {
		if ctx.Err() == nil {
			r.e.log.ErrorContext(ctx, "runner: next due", "err", err)
		}
		return time.Second
	}
	if !ok {
		return maxIdle
	}
	wait = next.Sub(r.e.clock.Now())
	switch {
	case wait < 0:
		// Work is due but every worker is busy: a finishing delivery pokes.
		wait = maxIdle
		if len(sem) < cap(sem) {
			wait = 0
		}
	case wait > maxIdle:
		wait = maxIdle
	}
	return wait
}

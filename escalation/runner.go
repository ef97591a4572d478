package escalation

import (
	"context"
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
)

// A Runner's default bounds on page delivery. A crash can catch at most
// their sum of pages claimed and not yet recorded, which the next start
// sends again (RecoverOutbox).
const (
	DefaultConcurrency   = 64
	DefaultMaxUnrecorded = 64
	DefaultPace          = 10 * time.Millisecond
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
	// Concurrency bounds pager calls in flight (default
	// DefaultConcurrency).
	Concurrency int
	// MaxUnrecorded is how many pages beyond Concurrency may be claimed
	// and not yet recorded (default DefaultMaxUnrecorded). Workers pass
	// outcomes to one recorder, which commits all it holds in one
	// transaction, so a worker takes its next page without waiting for the
	// disk, while a crash sends again at most Concurrency+MaxUnrecorded
	// pages. The bound is on pages, not on outcomes: while the store's
	// writer is busy (an alert storm) each turn the recorder gets records
	// every outcome waiting and claims as many due pages in the same
	// commit.
	MaxUnrecorded int
	// ChatConcurrency bounds chat syncs in flight (default 4). Chats have
	// their own workers, so a chat that hangs never holds up a page; one
	// chat takes at most half of them (at least one), and the last free
	// one only if it has none, so chats that hang never hold up the
	// others' messages either.
	ChatConcurrency int
	// Pace is the least time from one pass's start to the next's (default
	// DefaultPace). While pages fall due every millisecond, a pass for
	// each would make a commit or two for each, and those commits alone
	// would keep the store's one writer busy, so that any other write (an
	// alert storm's applies) makes every page queue behind it. A pass
	// after a quiet spell starts at once.
	Pace time.Duration

	lastPass atomic.Int64 // unix nanos of the last completed pass
	inflight sync.WaitGroup
	chatSem  chan struct{}
	// chatBusy counts each chat's syncs in flight, up to chatShare.
	chatMu    sync.Mutex
	chatBusy  map[string]int
	chatShare int
	// claimed holds a slot per page claimed and not yet recorded; sendSem
	// one per page at a pager.
	claimed  chan struct{}
	sendSem  chan struct{}
	outcomes chan Outcome
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

// Run loops until ctx is done, then waits for pages in flight and records
// their outcomes.
func (r *Runner) Run(ctx context.Context) error {
	maxIdle := r.MaxIdle
	if maxIdle <= 0 {
		maxIdle = 30 * time.Second
	}
	conc := r.Concurrency
	if conc <= 0 {
		conc = DefaultConcurrency
	}
	r.sendSem = make(chan struct{}, conc)
	unrec := r.MaxUnrecorded
	if unrec <= 0 {
		unrec = DefaultMaxUnrecorded
	}
	r.claimed = make(chan struct{}, conc+unrec)
	r.outcomes = make(chan Outcome, conc+unrec)
	chatConc := r.ChatConcurrency
	if chatConc <= 0 {
		chatConc = 4
	}
	r.chatSem = make(chan struct{}, chatConc)
	r.chatBusy, r.chatShare = map[string]int{}, max(1, chatConc/2)
	recorded := make(chan struct{})
	go func() {
		defer close(recorded)
		r.recordOutcomes(ctx)
	}()
	defer func() {
		r.inflight.Wait()
		close(r.outcomes)
		<-recorded
	}()

	if n, err := r.e.RecoverOutbox(ctx); err != nil {
		r.e.log.ErrorContext(ctx, "runner: recovering outbox", "err", err)
	} else if n > 0 {
		r.e.log.InfoContext(ctx, "runner: re-sending pages interrupted by the last stop", "pages", n)
	}
	pace := r.Pace
	if pace <= 0 {
		pace = DefaultPace
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	// paced fires a pace after a pass starts; the next pass waits for it.
	// Pokes arriving meanwhile are kept by Wake for the pass after.
	paced := time.NewTimer(0)
	defer paced.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		case <-r.e.Wake():
		}
		select {
		case <-ctx.Done():
			return nil
		case <-paced.C:
		}
		paced.Reset(pace)
		timer.Reset(r.pass(ctx, maxIdle))
	}
}

// free is how many pages a pass may claim: the bound on pages claimed and
// not yet recorded, less those that are.
func (r *Runner) free() int { return cap(r.claimed) - len(r.claimed) }

// startSending takes a claim slot for each page a pass claimed and hands
// it to a worker.
func (r *Runner) startSending(ctx context.Context, pages []Page) {
	for _, p := range pages {
		r.claimed <- struct{}{} // never blocks: a pass claims no more than free
		r.inflight.Add(1)
		go r.work(ctx, p)
	}
}

// work is one page's worker: it waits for a pager slot, sends the page and
// hands the outcome to the recorder, which frees the page's claim (or
// passes it to a page it claims) once the outcome is committed. inflight
// counts the page until then, so that Run's stop waits for its record.
func (r *Runner) work(ctx context.Context, p Page) {
	r.sendSem <- struct{}{}
	o := r.e.Send(context.WithoutCancel(ctx), p)
	<-r.sendSem
	r.outcomes <- o // never blocks: it holds as many as there are claims
}

// recordOutcomes is the recorder: it commits every outcome handed over so
// far in one transaction, while the next ones queue, until Run closes
// outcomes.
func (r *Runner) recordOutcomes(ctx context.Context) {
	batch := make([]Outcome, 0, cap(r.outcomes))
	for o := range r.outcomes {
		batch = append(batch[:0], o)
	more:
		for len(batch) < cap(batch) {
			select {
			case o, ok := <-r.outcomes:
				if !ok {
					break more
				}
				batch = append(batch, o)
			default:
				break more
			}
		}
		r.record(ctx, batch)
		clear(batch) // drop references to recorded pages
	}
}

// record commits one batch and claims as many due pages in the same
// transaction, which take over the batch's claim slots; the slots left are
// freed, whatever happens: a page not recorded stays claimed and goes out
// again when its lease ends. Once Run is stopping it claims nothing.
func (r *Runner) record(ctx context.Context, batch []Outcome) {
	var next []Page
	defer func() {
		if v := recover(); v != nil {
			r.e.log.ErrorContext(ctx, "runner: panic recording deliveries", "pages", len(batch),
				"panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			r.e.metrics.Panic(PanicRunner)
		}
		for range len(batch) - len(next) {
			<-r.claimed
		}
		// The next pages are counted before the batch's are let go, so
		// that Run's wait never sees none while these are about to start.
		r.inflight.Add(len(next))
		for _, p := range next {
			go r.work(ctx, p)
		}
		r.inflight.Add(-len(batch))
		r.e.poke() // the next pass may claim what this freed
	}()
	claim := len(batch)
	if ctx.Err() != nil {
		claim = 0
	}
	pages, err := r.e.RecordAndClaim(ctx, batch, claim)
	if err != nil {
		r.e.log.ErrorContext(ctx, "runner: recording deliveries", "pages", len(batch), "err", err)
	}
	next = pages
}

// pass does the work due now and returns how long to sleep. A panic is
// contained: the loop logs it and carries on after a short pause.
func (r *Runner) pass(ctx context.Context, maxIdle time.Duration) (wait time.Duration) {
	defer func() {
		if v := recover(); v != nil {
			r.e.log.ErrorContext(ctx, "runner: panic in pass", "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			r.e.metrics.Panic(PanicRunner)
			wait = time.Second
		}
	}()
	// Pages already due go to the workers before the tick: a long tick
	// (a restart's backlog, a busy store) must not hold them back.
	pages, err := r.e.ClaimDue(ctx, r.free())
	if err != nil && ctx.Err() == nil {
		r.e.log.ErrorContext(ctx, "runner: claim pages", "err", err)
		return time.Second
	}
	r.startSending(ctx, pages)
	_, pages, err = r.e.TickAndClaim(ctx, r.free())
	if err != nil && ctx.Err() == nil {
		r.e.log.ErrorContext(ctx, "runner: tick", "err", err)
		return time.Second
	}
	r.startSending(ctx, pages)
	if free := cap(r.chatSem) - len(r.chatSem); free > 0 {
		posts, err := r.e.ClaimChatPosts(ctx, free, r.chatMay)
		if err != nil && ctx.Err() == nil {
			r.e.log.ErrorContext(ctx, "runner: claim chat posts", "err", err)
		}
		for _, p := range posts {
			r.chatSem <- struct{}{}
			r.chatMoved(p.Chat, +1)
			r.inflight.Add(1)
			go func() {
				defer r.inflight.Done()
				defer func() { r.chatMoved(p.Chat, -1); <-r.chatSem; r.e.poke() }()
				defer func() {
					// Past the adapter, which SyncChatPost guards itself:
					// a corrupt record, say. The post is tried again when
					// its lease ends; the process goes on.
					if v := recover(); v != nil {
						r.e.log.Error("runner: panic syncing a chat post", "chat", p.Chat, "incident_id", p.IncidentID,
							"panic", fmt.Sprint(v), "stack", string(debug.Stack()))
						r.e.metrics.Panic(PanicChat)
					}
				}()
				if err := r.e.SyncChatPost(context.WithoutCancel(ctx), p); err != nil {
					r.e.log.Error("runner: chat sync", "chat", p.Chat, "incident_id", p.IncidentID, "err", err)
				}
			}()
		}
	}
	r.lastPass.Store(r.e.clock.Now().UnixNano())
	var open func(chat string) bool
	if len(r.chatSem) < cap(r.chatSem) {
		open = func(chat string) bool { return r.chatMay(chat, 0, 0) }
	}
	next, ok, err := r.e.nextDue(ctx, open)
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
	case wait <= 0:
		// Work is due but as many pages as may be are claimed and not
		// recorded: the recorder pokes when it frees some.
		wait = maxIdle
		if r.free() > 0 {
			wait = 0
		}
	case wait > maxIdle:
		wait = maxIdle
	}
	return wait
}

// chatMay reports whether one more sync of chat may start now, besides
// taken of it and takenAll in all claimed with it: one by a chat with
// none in flight while any worker is free, another while it holds less
// than its share and a worker stays free for a chat with none.
func (r *Runner) chatMay(chat string, taken, takenAll int) bool {
	r.chatMu.Lock()
	defer r.chatMu.Unlock()
	busy := r.chatBusy[chat] + taken
	free := cap(r.chatSem) - len(r.chatSem) - takenAll
	switch {
	case free <= 0:
		return false
	case busy == 0:
		return true
	default:
		return busy < r.chatShare && free > 1
	}
}

// chatMoved counts a sync of chat starting (+1) or ending (-1).
func (r *Runner) chatMoved(chat string, d int) {
	r.chatMu.Lock()
	defer r.chatMu.Unlock()
	if r.chatBusy[chat] += d; r.chatBusy[chat] <= 0 {
		delete(r.chatBusy, chat)
	}
}

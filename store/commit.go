package store

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/klaxonhq/klaxon/escalation"
)

// maxRound caps the fns of one group commit, bounding the work a failed
// round has to redo and the latency of its first caller.
const maxRound = 256

// request states: the caller may abandon a request only while it is still
// pending; once the writer has started its fn, the caller waits for the
// outcome, which is then the truth about what was committed.
const (
	statePending int32 = iota
	stateStarted
	stateAbandoned
)

type request struct {
	ctx  context.Context
	fn   func(escalation.Tx) error
	bulk bool // commits alone (UpdateBulk)
	// worked is when a bulk fn last returned; set and read by the writer.
	worked time.Time
	state  atomic.Int32
	done   chan error // buffered: the writer never blocks on a caller
	// answered is owned by the writer.
	answered bool
}

// start claims the request for running; false means its caller has gone.
func (r *request) start() bool {
	return r.state.Load() == stateStarted || r.state.CompareAndSwap(statePending, stateStarted)
}

func (r *request) answer(err error) {
	r.answered = true
	r.done <- err
}

// PanicError is what Update and View return when fn panics; the store
// recovers so that one bad request cannot kill the process.
type PanicError struct {
	Value any
	Stack []byte
}

func (e *PanicError) Error() string { return fmt.Sprintf("store: transaction panicked: %v", e.Value) }

// call runs fn, turning a panic into a *PanicError.
func call(fn func(escalation.Tx) error, t *tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = &PanicError{Value: p, Stack: debug.Stack()}
		}
	}()
	return fn(t)
}

// Update runs fn in a read-write transaction and returns once it is durably
// committed. Concurrent calls share one commit. fn may run more than once
// (alone, after a shared round failed), so it must only touch the Tx and its
// own locals; it must not call Update on the same DB, which would deadlock.
//
// If ctx ends before fn has started, Update returns ctx.Err() and fn never
// runs. Once fn has run and committed, Update returns nil whatever ctx does.
func (db *DB) Update(ctx context.Context, fn func(escalation.Tx) error) error {
	return db.update(&request{ctx: ctx, fn: fn, done: make(chan error, 1)})
}

var _ escalation.BulkUpdater = (*DB)(nil)

// UpdateBulk is Update for a large transaction (escalation.BulkUpdater): it
// commits alone, after the callers that were waiting with it. Shared with
// an intake apply of thousands of alerts, a page's tick would commit only
// when the apply's work is done. yield reports that other callers wait for
// the writer once fn has run for Options.BulkYield, or for as long as bulk
// transactions have lately taken to commit if that is longer: on a slow
// disk, applies cut after a few milliseconds would be mostly commits, each
// rewriting the pages the next one rewrites again, and the disk would
// fall further behind (at a 30 MB/s write limit, with commits of 12–13 ms
// on average, the pages' p99 in a storm rose from 0.2 s to 1.6–2.2 s).
func (db *DB) UpdateBulk(ctx context.Context, fn func(tx escalation.Tx, yield func() bool) error) error {
	r := &request{ctx: ctx, bulk: true, done: make(chan error, 1)}
	r.fn = func(tx escalation.Tx) error {
		began := time.Now()
		least := max(db.bulkYield, time.Duration(db.bulkCommit.Load()))
		err := fn(tx, func() bool { return db.waiting.Load() > 0 && time.Since(began) >= least })
		r.worked = time.Now()
		return err
	}
	return db.update(r)
}

func (db *DB) update(r *request) error {
	ctx := r.ctx
	if err := ctx.Err(); err != nil {
		return err
	}
	if !r.bulk {
		db.waiting.Add(1) // until unparked
	}
	select {
	case db.reqs <- r:
	case <-db.quit:
		db.unparked(r)
		return ErrClosed
	case <-ctx.Done():
		db.unparked(r)
		return ctx.Err()
	}
	select {
	case err := <-r.done:
		return err
	case <-ctx.Done():
		if r.state.CompareAndSwap(statePending, stateAbandoned) {
			return ctx.Err()
		}
		// fn is running or ran; only the writer knows whether it committed.
		return <-r.done
	}
}

// writer is the only goroutine that writes. Each round takes every caller
// parked on reqs (no timer: a lone caller commits at once) and commits them
// together; callers arriving meanwhile park for the next round. A bulk
// request taken with others commits alone after them.
func (db *DB) writer() {
	defer close(db.writerDone)
	round := make([]*request, 0, maxRound)
	var bulk []*request // taken, not yet committed
	for {
		// Prefer quitting: after Close, parked callers get ErrClosed.
		select {
		case <-db.quit:
			answerRest(bulk, ErrClosed)
			return
		default:
		}
		round = round[:0]
		if len(bulk) == 0 {
			select {
			case r := <-db.reqs:
				db.unparked(r)
				round = append(round, r)
			case <-db.quit:
				return
			}
		}
	drain:
		for len(round) < maxRound {
			select {
			case r := <-db.reqs:
				db.unparked(r)
				round = append(round, r)
			default:
				break drain
			}
		}
		small := round[:0]
		for _, r := range round {
			if r.bulk {
				bulk = append(bulk, r)
			} else {
				small = append(small, r)
			}
		}
		if len(small) > 0 {
			db.commit(small)
		}
		if len(bulk) > 0 {
			db.commit(bulk[:1])
			bulk[0] = nil
			bulk = bulk[1:]
		}
		clear(round) // drop references to finished requests
	}
}

// unparked counts r out of the small requests parked for the writer,
// which a bulk transaction yields to: taken by the writer, or given up.
func (db *DB) unparked(r *request) {
	if !r.bulk {
		db.waiting.Add(-1)
	}
}

// errRoundFailed rolls back a shared round after one of its fns failed.
var errRoundFailed = errors.New("store: round failed")

// commit runs reqs in one transaction. When a fn fails after other fns ran
// in the same transaction, its error may be an artefact of their writes (or
// theirs of its), so it is set aside to be re-run alone, and the rest are
// retried together without it. A fn that fails first in its transaction saw
// only committed state, so its error stands. Every request is answered.
func (db *DB) commit(reqs []*request) {
	var solo []*request
	for len(reqs) > 0 {
		bad, ran := -1, 0
		var badErr, flushErr error
		began := time.Now()
		err := db.bolt.Update(func(btx *bolt.Tx) error {
			t := newTx(btx)
			for i, r := range reqs {
				if !r.start() {
					r.answered = true // the caller returned ctx.Err() itself
					continue
				}
				if err := r.ctx.Err(); err != nil {
					r.answer(err) // not run, so not part of this commit
					continue
				}
				if err := call(r.fn, t); err != nil {
					bad, badErr = i, err
					return errRoundFailed
				}
				ran++
			}
			flushErr = t.flush()
			return flushErr
		})
		if bad < 0 {
			if err != nil {
				err = commitError(err, flushErr)
			} else {
				db.commits.Add(1)
				db.observe(time.Since(began), ran)
				if r := reqs[0]; len(reqs) == 1 && r.bulk && !r.worked.IsZero() {
					// A moving average: one quick commit between slow
					// ones must not shrink the next apply to its minimum.
					prev := db.bulkCommit.Load()
					db.bulkCommit.Store(prev + (int64(time.Since(r.worked))-prev)/4)
				}
			}
			answerRest(reqs, err)
			break
		}
		if ran == 0 {
			reqs[bad].answer(badErr)
		} else {
			solo = append(solo, reqs[bad])
		}
		// Retry the unanswered rest; those before bad ran once already and
		// will run again, which the Store contract allows.
		rest := make([]*request, 0, len(reqs)-1)
		for i, r := range reqs {
			if i != bad && !r.answered {
				rest = append(rest, r)
			}
		}
		reqs = rest
	}
	for _, r := range solo {
		if err := r.ctx.Err(); err != nil {
			r.answer(err)
			continue
		}
		var fnErr, flushErr error
		began := time.Now()
		err := db.bolt.Update(func(btx *bolt.Tx) error {
			t := newTx(btx)
			if fnErr = call(r.fn, t); fnErr != nil {
				return fnErr
			}
			flushErr = t.flush()
			return flushErr
		})
		switch {
		case err == nil:
			db.commits.Add(1)
			db.observe(time.Since(began), 1)
		case fnErr == nil:
			err = commitError(err, flushErr)
		}
		r.answer(err)
	}
}

// commitError wraps a transaction's failure after its functions ran: the
// encoding of what they changed (flushErr), or else bbolt's commit itself,
// which writes and fsyncs the file and is the store failing
// (escalation.ErrStorage: a full disk, an I/O error).
func commitError(err, flushErr error) error {
	if flushErr != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	return fmt.Errorf("store: commit: %w: %w", escalation.ErrStorage, err)
}

func (db *DB) observe(d time.Duration, callers int) {
	if db.onCommit != nil {
		db.onCommit(d, callers)
	}
}

func answerRest(reqs []*request, err error) {
	for _, r := range reqs {
		if !r.answered {
			r.answer(err)
		}
	}
}

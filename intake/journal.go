// Package intake accepts alert deliveries into a durable journal and applies
// them to the store right after.
//
// A webhook is answered once its delivery is in the journal and on the
// disk: one durable append (a direct synchronous write, or a write and its
// fdatasync), shared by every delivery that arrived during the previous
// one. Applying deliveries to incidents (a bbolt commit with
// two fsyncs) runs behind it, many deliveries per transaction, and records
// the last applied sequence number in that same transaction. After a crash,
// Open hands the journal's unapplied deliveries back to the applier, so an
// alert that got a 2xx is applied exactly once.
package intake

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/klaxonhq/klaxon/escalation"
	"github.com/klaxonhq/klaxon/internal/fsx"
)

// Engine is what the journal needs of the escalation engine.
type Engine interface {
	Now() time.Time
	CheckDelivery(integration string, alerts []escalation.Alert) error
	Repeat(ctx context.Context, integration string, alerts []escalation.Alert) (escalation.IngestResult, bool, error)
	IntakeApplied(ctx context.Context) (uint64, error)
	StoreID(ctx context.Context) (string, error)
	ApplyQueued(ctx context.Context, q []escalation.Queued) (int, error)
	SkipQueued(ctx context.Context, d escalation.Queued) error
	NextDue(ctx context.Context) (time.Time, bool, error)
}

// Options configure a Journal.
type Options struct {
	// Dir holds the segment files; it is created if missing.
	Dir string
	// SegmentBytes starts a new segment file once one reaches it (default
	// 16 MiB); an applied segment is kept as the spare or deleted.
	SegmentBytes int64
	// MaxBacklog bounds the alerts accepted but not yet applied (default
	// 100,000); beyond it, deliveries wait for the applier.
	MaxBacklog int
	// MaxApply bounds the alerts applied in one transaction (default
	// 20,000, about a third of a second of work in a flood): the runner's
	// transactions wait while one applies.
	MaxApply int
	// Budget is how long an apply transaction should take while
	// escalation work falls due within the next second (default 40 ms):
	// it then takes only the alerts that fit, at the rate the last large
	// one was applied (but at least 2,000), so that a page due meanwhile
	// waits for no more than that. A few more transactions cost a little
	// more in all. An apply that runs over anyway stops early when the
	// store asks it to yield to a waiting transaction
	// (escalation.BulkUpdater); the budget keeps it from starting long.
	Budget time.Duration
	// Prefill zero-fills segments before appends reach them, so that an
	// append never allocates blocks: the first at Open when there is no
	// applied one to reuse (one segment's worth of writes at the first
	// start), and later ones in the background whenever the open segment
	// is half full and no applied segment is waiting to be reused.
	Prefill bool
	// ApplyEvery spaces apply transactions while deliveries keep coming
	// (default 500 ms), so that each carries many; a full one (MaxApply)
	// goes at once, and so does a lone alert after a quiet spell or
	// whatever a reader is waiting for (Wait).
	ApplyEvery time.Duration
	// RetryBackoff is the pause before applying again after a failure
	// (default 1 s).
	RetryBackoff time.Duration
	// Gather bounds how long the journal's writer waits for more
	// deliveries before it flushes (default 1 ms; negative: never). It
	// waits only while it holds fewer than the last flush carried, and
	// no longer than that flush took: many senders then share fewer
	// fsyncs, and a lone delivery after a quiet spell goes at once.
	Gather time.Duration
	// ObserveFlush, when set, is told how long each durable append took
	// and how many deliveries shared it: the wait every sender's 2xx
	// includes.
	ObserveFlush func(d time.Duration, deliveries int)
	Logger       *slog.Logger
}

// minTimed is the fewest alerts a budgeted apply takes (Options.Budget),
// and the fewest of an apply whose time per alert sizes the next ones. A
// transaction's own cost (two fsyncs, the incidents a storm touches, the
// wait for the writer) weighs on a small one: in a storm of 20,000 alerts
// a second, applies of 500 took 21 ms and of 3,000 about 45, so sizing by
// the small ones' rate shrank every apply to a delivery or two, forty
// commits a second that kept busy the writer the pages wait for.
const minTimed = 2_000

// maxGroup bounds the deliveries written by one fsync.
const maxGroup = 1024

// errClosed answers deliveries after Close.
var errClosed = &escalation.Error{Code: escalation.CodeUnavailable,
	Message: "klaxon is shutting down; send again shortly", RetryAfter: 5 * time.Second}

// appendReq is a delivery on its way to the writer: the entry it becomes
// once written (the writer numbers it), and where to answer.
type appendReq struct {
	entry
	done chan error // buffered: the writer never blocks on a caller
}

// Journal is the intake journal. Ingest accepts deliveries; Run applies
// them; Wait lets a reader see every delivery accepted before it.
type Journal struct {
	eng   Engine
	log   *slog.Logger
	o     Options
	reqs  chan *appendReq
	wake  chan struct{} // the applier has work
	hurry chan struct{} // a reader waits: apply without spacing
	quit  chan struct{} // closed by Close: the writer stops
	once  sync.Once
	done  chan struct{} // closed when the writer has stopped

	// Owned by the writer goroutine.
	disk   disk
	f      *os.File
	tail   []byte // with disk.direct: f's bytes from the last aligned offset
	abuf   []byte // with disk.direct: the aligned buffer of the last append
	first  uint64 // sequence number of f's first record
	size   int64
	writes int64  // appends to f
	next   uint64 // sequence number of the next record
	broken error  // a failed write could not be undone: refuse appends
	buf    []byte

	mu       sync.Mutex
	queue    []entry       // accepted and not yet applied, in order
	backlog  int           // alerts in queue
	accepted uint64        // last sequence number accepted
	applied  uint64        // last sequence number applied
	progress chan struct{} // closed and replaced when either moves
	closed   []span        // segments no longer written to, oldest first

	// perAlert is how long the last large apply took per alert (owned by
	// the applier).
	perAlert time.Duration

	// fileMu orders the renames of the spare segment.
	fileMu sync.Mutex
	spare  bool // spareName exists

	// preparing is set while a goroutine zero-fills a spare (Prefill);
	// prepared is done when it has stopped; failedFor is the first
	// sequence number of the segment during which one failed, so that a
	// full disk costs one attempt a segment, not one a flush.
	preparing atomic.Bool
	prepared  sync.WaitGroup
	failedFor atomic.Uint64
}

// entry is an accepted delivery waiting for the applier. It is kept
// encoded, as written: a backlog of a hundred thousand alerts is then a
// few tens of megabytes the garbage collector need not walk, not millions
// of maps and strings.
type entry struct {
	seq      uint64
	received time.Time
	alerts   int
	body     []byte // the record's payload (encodeDelivery)
}

// span is a closed segment's sequence numbers: first..last (last < first
// when it holds none).
type span struct{ first, last uint64 }

// Open reads the journal in o.Dir, queues every delivery the store has not
// applied yet, and starts a new segment for appends.
func Open(ctx context.Context, eng Engine, o Options) (*Journal, error) {
	return open(ctx, eng, o, systemDisk())
}

// open is Open with the disk given: tests stand in a flush that takes a
// known time, or a direct write that fails.
func open(ctx context.Context, eng Engine, o Options, dk disk) (*Journal, error) {
	if o.Dir == "" {
		return nil, errors.New("intake: Dir is required")
	}
	if o.SegmentBytes <= 0 {
		o.SegmentBytes = 16 << 20
	}
	if o.MaxBacklog <= 0 {
		o.MaxBacklog = 100_000
	}
	// A new alert dirties about one random leaf of the store's alert
	// index, so a transaction costs little more than the leaves it
	// touches: the more alerts share one, the fewer leaves, page writes
	// and fsyncs per alert (BENCHMARKS.md: the applier's rate under a
	// flood).
	if o.MaxApply <= 0 {
		o.MaxApply = 20_000
	}
	if o.ApplyEvery <= 0 {
		o.ApplyEvery = 500 * time.Millisecond
	}
	if o.Budget <= 0 {
		o.Budget = 40 * time.Millisecond
	}
	if o.RetryBackoff <= 0 {
		o.RetryBackoff = time.Second
	}
	if o.Gather == 0 {
		o.Gather = time.Millisecond
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if err := claim(ctx, eng, o); err != nil {
		return nil, err
	}
	mark, err := eng.IntakeApplied(ctx)
	if err != nil {
		return nil, fmt.Errorf("intake: read the applied mark: %w", err)
	}
	firsts, err := listSegments(o.Dir)
	if err != nil {
		return nil, err
	}
	j := &Journal{eng: eng, log: o.Logger, o: o, disk: dk, reqs: make(chan *appendReq), wake: make(chan struct{}, 1),
		hurry: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{}), progress: make(chan struct{})}
	top := mark
	for _, first := range firsts {
		recs, last, _, err := readSegment(filepath.Join(o.Dir, segmentName(first)), first, mark)
		if err != nil {
			return nil, err
		}
		if n := len(j.queue); n > 0 && len(recs) > 0 && recs[0].seq != j.queue[n-1].seq+1 {
			return nil, fmt.Errorf("intake: records %d to %d are missing from %s; to start without the journal, move that directory aside (the alerts still in it are then not applied)",
				j.queue[n-1].seq+1, recs[0].seq-1, o.Dir)
		}
		for _, r := range recs {
			j.queue = append(j.queue, r)
			j.backlog += r.alerts
		}
		top = max(top, last)
		j.closed = append(j.closed, span{first, last})
	}
	if len(j.queue) > 0 && j.queue[0].seq != mark+1 {
		// Segments are deleted only once applied, so the store is older
		// than the journal: restored from a backup.
		j.log.Warn("intake: the store is older than the journal (restored from a backup?); applying what the journal holds",
			"applied", mark, "journal_from", j.queue[0].seq)
	}
	j.next, j.accepted, j.applied = top+1, top, mark
	// A segment named after the next record holds no valid record (or
	// next would be past it): it is reused.
	j.closed = slices.DeleteFunc(j.closed, func(s span) bool { return s.first == j.next })
	_, err = os.Stat(filepath.Join(o.Dir, spareName))
	j.spare = err == nil
	// A spare whose zero-fill a crash cut short.
	if err := os.Remove(filepath.Join(o.Dir, preparingName)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("intake: %w", err)
	}
	// An applied segment of the last run becomes the spare, and the new
	// segment is written over it.
	j.removeApplied()
	if err := j.openSegment(true); err != nil {
		return nil, err
	}
	if len(j.queue) > 0 {
		j.log.Info("intake: replaying accepted alerts", "deliveries", len(j.queue), "alerts", j.backlog)
		j.wake <- struct{}{}
	}
	go j.writer()
	return j, nil
}

// ownerName holds the id of the database a journal directory belongs to.
const ownerName = "store-id"

// claim makes o.Dir the journal of eng's database. A journal written for
// another database (the file was deleted or replaced by an unrelated one)
// must not be applied to this one: it is moved aside, kept for whoever
// wants to look, and a new journal starts. A restored backup is a copy of
// the same database and keeps its journal.
func claim(ctx context.Context, eng Engine, o Options) error {
	id, err := eng.StoreID(ctx)
	if err != nil {
		return fmt.Errorf("intake: read the store id: %w", err)
	}
	owner := filepath.Join(o.Dir, ownerName)
	got, err := os.ReadFile(owner)
	switch {
	case err == nil && strings.TrimSpace(string(got)) == id:
		return nil
	case err == nil:
		aside := fmt.Sprintf("%s.other-%d", o.Dir, time.Now().UnixNano())
		if err := os.Rename(o.Dir, aside); err != nil {
			return fmt.Errorf("intake: set aside another database's journal: %w", err)
		}
		o.Logger.Warn("intake: the journal belongs to another database; set aside, not applied", "dir", aside)
	case !errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("intake: %w", err)
	}
	if err := os.MkdirAll(o.Dir, 0o700); err != nil {
		return fmt.Errorf("intake: %w", err)
	}
	err = fsx.WriteAtomic(owner, func(w io.Writer) error {
		_, err := io.WriteString(w, id+"\n")
		return err
	})
	if err != nil {
		return fmt.Errorf("intake: write %s: %w", owner, err)
	}
	return fsx.SyncDir(o.Dir)
}

// spareName is an applied segment kept for reuse: appends into a file's
// existing blocks make an fdatasync write the data alone, with no size or
// block allocation to journal, which costs the disk about a third less.
const spareName = "spare.seg"

// preparingName is a spare being zero-filled (Options.Prefill).
const preparingName = "spare.seg.tmp"

// openSegment starts the segment whose first record is j.next, in the
// spare when there is one. Without one it starts an empty file, zero-filled
// first when prefill is set (at Open: later, the writer must not stall).
func (j *Journal) openSegment(prefill bool) error {
	path := filepath.Join(j.o.Dir, segmentName(j.next))
	j.fileMu.Lock()
	recycled := j.spare && os.Rename(filepath.Join(j.o.Dir, spareName), path) == nil
	if recycled {
		j.spare = false
	}
	j.fileMu.Unlock()
	flags := os.O_CREATE | os.O_WRONLY
	if !recycled {
		flags |= os.O_TRUNC
	}
	f, err := os.OpenFile(path, flags, 0o600)
	if err != nil {
		return fmt.Errorf("intake: %w", err)
	}
	if !recycled && prefill && j.o.Prefill {
		err = zeroFill(f, j.o.SegmentBytes, nil)
	}
	if err == nil {
		err = fsx.SyncDir(j.o.Dir)
	}
	if err != nil {
		f.Close()
		return err
	}
	j.f, j.first, j.size, j.writes = j.openDirect(f, path), j.next, 0, 0
	return nil
}

// zeroFill writes n zero bytes to f and fsyncs them; it gives up when
// stop is closed.
func zeroFill(f *os.File, n int64, stop <-chan struct{}) error {
	zeros := make([]byte, 1<<20)
	for off := int64(0); off < n; off += int64(len(zeros)) {
		select {
		case <-stop:
			return errClosed
		default:
		}
		if _, err := f.WriteAt(zeros[:min(int64(len(zeros)), n-off)], off); err != nil {
			return fmt.Errorf("intake: zero-fill segment: %w", err)
		}
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("intake: zero-fill segment: %w", err)
	}
	return nil
}

// Ingest accepts a delivery: it returns once the delivery is fsynced to
// the journal. A delivery that would change nothing is answered from the
// store without a write, when the store is current.
func (j *Journal) Ingest(ctx context.Context, integration string, alerts []escalation.Alert) (escalation.IngestResult, error) {
	if err := j.eng.CheckDelivery(integration, alerts); err != nil {
		return escalation.IngestResult{}, err
	}
	// With deliveries still to apply, the store may not yet show an
	// earlier change to these alerts, so only a current store can tell a
	// repeat.
	if j.current() {
		res, unchanged, err := j.eng.Repeat(ctx, integration, alerts)
		if err != nil || unchanged {
			return res, err
		}
	}
	if err := j.room(ctx, len(alerts)); err != nil {
		return escalation.IngestResult{}, err
	}
	received := j.eng.Now()
	body := encodeDelivery(integration, received, alerts)
	r := &appendReq{entry: entry{received: received, alerts: len(alerts), body: body}, done: make(chan error, 1)}
	select {
	case j.reqs <- r:
	case <-j.quit:
		return escalation.IngestResult{}, errClosed
	case <-ctx.Done():
		return escalation.IngestResult{}, ctx.Err()
	}
	select {
	case err := <-r.done:
		if err != nil {
			return escalation.IngestResult{}, err
		}
	case <-ctx.Done():
		// Written or about to be: it will be applied. The sender sees an
		// error and may send again, which dedup absorbs.
		return escalation.IngestResult{}, ctx.Err()
	}
	return escalation.IngestResult{Incidents: []int64{}, Queued: len(alerts)}, nil
}

// current reports whether every accepted delivery is applied.
func (j *Journal) current() bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.applied >= j.accepted
}

// room waits until n more alerts fit in the backlog. A delivery larger
// than the whole backlog waits for an empty one.
func (j *Journal) room(ctx context.Context, n int) error {
	for {
		j.mu.Lock()
		ok := j.backlog == 0 || j.backlog+n <= j.o.MaxBacklog
		ch := j.progress
		j.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-j.quit:
			return errClosed
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Wait returns once every delivery accepted before the call is applied, so
// that a reader sees what was acknowledged to senders.
func (j *Journal) Wait(ctx context.Context) error {
	j.mu.Lock()
	target := j.accepted
	j.mu.Unlock()
	for {
		j.mu.Lock()
		ok, ch := j.applied >= target, j.progress
		j.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case j.hurry <- struct{}{}:
		default:
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Backlog is the number of alerts accepted and not yet applied, and when
// the oldest of them was received (zero when none).
func (j *Journal) Backlog() (alerts int, oldest time.Time) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if len(j.queue) > 0 {
		oldest = j.queue[0].received
	}
	return j.backlog, oldest
}

// Close stops accepting deliveries and closes the segment file. Run goes on
// applying what was accepted until its context ends; what it leaves is
// applied at the next Open.
func (j *Journal) Close() error {
	j.once.Do(func() { close(j.quit) })
	<-j.done
	j.prepared.Wait()
	return nil
}

// notifyLocked wakes everyone waiting on progress; j.mu is held.
func (j *Journal) notifyLocked() {
	close(j.progress)
	j.progress = make(chan struct{})
}

// writer appends deliveries: each round writes every delivery waiting and
// fsyncs once, so deliveries arriving during one fsync share the next.
func (j *Journal) writer() {
	defer close(j.done)
	defer j.f.Close()
	batch := make([]*appendReq, 0, maxGroup)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	// The last flush: how many deliveries it carried, how long it took.
	lastN, lastTook := 0, time.Duration(0)
	for {
		select {
		case r := <-j.reqs:
			batch = append(batch[:0], r)
		case <-j.quit:
			return
		}
		batch = j.gather(batch, lastN, min(lastTook, j.o.Gather), timer)
		began := time.Now()
		err := j.write(batch)
		lastN, lastTook = len(batch), time.Since(began)
		if j.o.ObserveFlush != nil && err == nil {
			j.o.ObserveFlush(lastTook, lastN)
		}
		for _, r := range batch {
			r.done <- err
		}
		clear(batch)
	}
}

// gather adds to batch the deliveries waiting, then, while it holds fewer
// than want, those that arrive within wait. Each fsync costs CPU besides
// its latency (BENCHMARKS.md: about 70 µs on a virtual machine), so when
// many senders keep deliveries coming, a flush that waits a moment for as
// many as the last one carried spends less in all than two half-full
// ones; the wait is at most what a flush takes, so a sender's answer is
// delayed by no more than one more flush.
func (j *Journal) gather(batch []*appendReq, want int, wait time.Duration, timer *time.Timer) []*appendReq {
	want = min(want, maxGroup)
	batch = j.drain(batch)
	if len(batch) >= want || wait <= 0 {
		return batch
	}
	timer.Reset(wait)
	defer timer.Stop()
	for len(batch) < want {
		select {
		case r := <-j.reqs:
			batch = j.drain(append(batch, r))
		case <-timer.C:
			return batch
		case <-j.quit:
			return batch
		}
	}
	return batch
}

// drain adds to batch the deliveries waiting, up to maxGroup.
func (j *Journal) drain(batch []*appendReq) []*appendReq {
	for len(batch) < maxGroup {
		select {
		case r := <-j.reqs:
			batch = append(batch, r)
		default:
			return batch
		}
	}
	return batch
}

// write appends batch as records and fsyncs them, then queues them for the
// applier. On failure nothing of batch is accepted.
func (j *Journal) write(batch []*appendReq) error {
	if j.broken != nil {
		return j.broken
	}
	buf := j.buf[:0]
	for i, r := range batch {
		buf = appendRecord(buf, j.next+uint64(i), r.body)
	}
	if cap(buf) <= keepBuf {
		j.buf = buf
	}
	if err := j.appendAt(buf); err != nil {
		// Later records must not follow a torn one: cut it off, or stop
		// accepting if that fails too.
		if terr := j.f.Truncate(j.size); terr != nil {
			j.broken = &escalation.Error{Code: escalation.CodeUnavailable, RetryAfter: 30 * time.Second,
				Message: "klaxon cannot write its intake journal; send again later"}
			j.log.Error("intake: journal unwritable; refusing alerts", "err", err, "truncate_err", terr)
		}
		return fmt.Errorf("intake: write journal: %w", err)
	}
	j.size += int64(len(buf))
	j.writes++
	j.mu.Lock()
	for i, r := range batch {
		e := r.entry
		e.seq = j.next + uint64(i)
		j.queue = append(j.queue, e)
		j.backlog += e.alerts
	}
	j.next += uint64(len(batch))
	j.accepted = j.next - 1
	j.notifyLocked()
	j.mu.Unlock()
	select {
	case j.wake <- struct{}{}:
	default:
	}
	if j.size >= j.o.SegmentBytes {
		j.rotate()
	} else if j.size >= j.o.SegmentBytes/2 && j.size < smallAppend*j.writes {
		j.prepareSpare()
	}
	return nil
}

// smallAppend is the mean append below which a zero-filled spare surely
// pays for its writes. Zero-filling 16 MiB costs the disk about 15 ms; an
// fdatasync of a growing file, about 100 µs more than of a filled one
// (BENCHMARKS.md). Below 8 KiB an append a segment takes over 2,000 of
// them (single-alert webhooks, at 2.5 KB: some 6,700), and the zero-fill
// repays itself more than tenfold. A flood's 100-alert appends (75 KB)
// take some 220, about even, on a disk already busy with the applier.
const smallAppend = 8 << 10

// prepareSpare zero-fills a spare in the background, unless one is
// waiting or on its way. Without one, the next segment would be a new
// file that each append grows, and an fdatasync that must also journal
// the file's size and new blocks takes the disk longer. The open segment
// is half full by then: the applier has had that long to free an applied
// segment instead, which costs no writes.
func (j *Journal) prepareSpare() {
	if !j.o.Prefill || j.preparing.Load() || j.failedFor.Load() == j.first {
		return
	}
	j.fileMu.Lock()
	spare := j.spare
	j.fileMu.Unlock()
	if spare {
		return
	}
	j.preparing.Store(true)
	j.prepared.Add(1)
	first := j.first
	go func() {
		defer j.prepared.Done()
		defer j.preparing.Store(false)
		if err := j.zeroFillSpare(); err != nil && !errors.Is(err, errClosed) {
			j.failedFor.Store(first)
			j.log.Warn("intake: cannot prepare the next journal segment; appends will grow a new file", "err", err)
		}
	}()
}

// zeroFillSpare writes a zero-filled segment and makes it the spare, unless
// an applied segment became the spare meanwhile.
func (j *Journal) zeroFillSpare() error {
	tmp := filepath.Join(j.o.Dir, preparingName)
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("intake: %w", err)
	}
	err = zeroFill(f, j.o.SegmentBytes, j.quit)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("intake: %w", cerr)
	}
	j.fileMu.Lock()
	defer j.fileMu.Unlock()
	if err == nil && !j.spare {
		if err = os.Rename(tmp, filepath.Join(j.o.Dir, spareName)); err == nil {
			j.spare = true
			return fsx.SyncDir(j.o.Dir)
		}
		err = fmt.Errorf("intake: %w", err)
	}
	if rerr := os.Remove(tmp); err == nil && rerr != nil {
		err = fmt.Errorf("intake: %w", rerr)
	}
	return err
}

// keepBuf bounds the write buffers the writer keeps for its next append:
// a flood's rare huge one is left to the collector.
const keepBuf = 4 << 20

// closeSegment closes a segment file the writer is done with; its
// records are already durable, so a failure is only logged.
func (j *Journal) closeSegment(f *os.File) {
	if err := f.Close(); err != nil {
		j.log.Warn("intake: close journal segment", "err", err)
	}
}

// rotate closes the full segment and starts the next. If the next cannot be
// created, appends go on in the full one.
func (j *Journal) rotate() {
	old, first, size := j.f, j.first, j.size
	if err := j.openSegment(false); err != nil {
		j.f, j.first, j.size = old, first, size
		j.log.Warn("intake: cannot start a new journal segment", "err", err)
		return
	}
	j.closeSegment(old)
	j.mu.Lock()
	j.closed = append(j.closed, span{first, j.next - 1})
	j.mu.Unlock()
	j.removeApplied()
}

// removeApplied deletes the closed segments whose records are all applied.
func (j *Journal) removeApplied() {
	j.mu.Lock()
	var gone []span
	j.closed = slices.DeleteFunc(j.closed, func(s span) bool {
		if s.last <= j.applied {
			gone = append(gone, s)
			return true
		}
		return false
	})
	j.mu.Unlock()
	j.fileMu.Lock()
	defer j.fileMu.Unlock()
	for _, s := range gone {
		path := filepath.Join(j.o.Dir, segmentName(s.first))
		if !j.spare && os.Rename(path, filepath.Join(j.o.Dir, spareName)) == nil {
			j.spare = true
			continue
		}
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			j.log.Warn("intake: remove applied segment", "err", err)
		}
	}
}

// Start runs Run in the background; stop ends it and returns once it has.
func (j *Journal) Start() (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		j.Run(ctx)
	}()
	return func() { cancel(); <-done }
}

// Run applies accepted deliveries until ctx ends, many per transaction;
// failures are logged and retried, never returned.
func (j *Journal) Run(ctx context.Context) {
	var last time.Time
	hurried := false
	var pre []escalation.Queued          // deliveries decoded before their turn
	var ahead <-chan []escalation.Queued // the next deliveries, being decoded
	for {
		if ahead != nil {
			pre, ahead = append(pre, <-ahead...), nil
		}
		batch, spare, full, rest := j.head(pre, j.limit(ctx))
		pre = nil
		if len(batch) == 0 {
			select {
			case <-j.wake:
				continue
			case <-ctx.Done():
				return
			}
		}
		// Under load, let deliveries gather: one commit of many alerts
		// costs the disk and the CPU far less than many small ones, and
		// every small bbolt commit's two fsyncs would queue up behind
		// (and ahead of) the journal's own. A lone alert after a quiet
		// spell goes at once, and so does a reader's wait.
		if wait := j.o.ApplyEvery - time.Since(last); !full && !hurried && wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-j.hurry:
				hurried = true
				t.Stop()
			case <-ctx.Done():
				t.Stop()
				return
			}
			pre = append(batch, spare...)
			continue
		}
		last, hurried = time.Now(), false
		if len(rest) > 0 {
			// Decode the next transaction's deliveries on another core
			// while this one applies: in a flood the applier is the
			// bottleneck, and decoding was a tenth of its work.
			ch := make(chan []escalation.Queued, 1)
			go func() { ch <- j.decode(rest) }()
			ahead = ch
		}
		left, err := j.apply(ctx, batch)
		// What the apply left and what was decoded past it are still
		// decoded, in order; what is decoding ahead follows them.
		pre = append(left, spare...)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			j.log.Error("intake: applying accepted alerts failed; will retry", "err", err)
			if !j.pause(ctx) {
				return
			}
		}
	}
}

// limit is how many alerts the next apply transaction takes: MaxApply,
// or what fits the budget while escalation work is due within a second.
func (j *Journal) limit(ctx context.Context) int {
	j.mu.Lock()
	backlog := j.backlog
	j.mu.Unlock()
	// A backlog under minTimed fits any budgeted limit: a trickle of
	// alerts costs no read of the store here.
	if j.perAlert <= 0 || backlog < minTimed {
		return j.o.MaxApply
	}
	next, ok, err := j.eng.NextDue(ctx)
	if err != nil || !ok || next.Sub(j.eng.Now()) > time.Second {
		return j.o.MaxApply
	}
	// Never below minTimed, so that each apply measures the rate again:
	// one slow apply must not leave every later one tiny.
	return min(j.o.MaxApply, max(minTimed, int(j.o.Budget/j.perAlert)))
}

// head returns the oldest deliveries, up to limit alerts (at least one
// delivery), decoded: from pre (deliveries decoded earlier, from the head
// of the queue on) where it holds them, decoding the rest. spare is what
// pre holds past them; full reports that more are waiting, or limit is
// reached; rest is the rest of the next limit alerts' worth after head,
// for decoding ahead.
func (j *Journal) head(pre []escalation.Queued, limit int) (batch, spare []escalation.Queued, full bool, rest []entry) {
	j.mu.Lock()
	n, alerts := window(j.queue, limit)
	full = n < len(j.queue) || alerts >= limit
	m, _ := window(j.queue[n:], limit)
	// pre was decoded from the queue as it was; use what still lines up.
	k := 0
	for k < len(pre) && k < n+m && pre[k].Seq == j.queue[k].seq {
		k++
	}
	todo := slices.Clone(j.queue[min(k, n):n])
	rest = slices.Clone(j.queue[max(k, n) : n+m])
	j.mu.Unlock()
	if k > n {
		spare = pre[n:k]
	}
	return append(pre[:min(k, n):min(k, n)], j.decode(todo)...), spare, full, rest
}

// window is how many deliveries from the start of q make up to limit
// alerts (at least one), and their alerts.
func window(q []entry, limit int) (n, alerts int) {
	for n < len(q) && (n == 0 || alerts+q[n].alerts <= limit) {
		alerts += q[n].alerts
		n++
	}
	return n, alerts
}

// decode reads queued deliveries back from their records.
func (j *Journal) decode(es []entry) []escalation.Queued {
	out := make([]escalation.Queued, len(es))
	for i, e := range es {
		p, err := decodeDelivery(e.body)
		if err != nil {
			// Encoded by this process or checked by Open: memory gone
			// bad. Applied with no alerts, so that intake goes on.
			j.log.Error("intake: a queued delivery no longer decodes; skipped", "seq", e.seq, "err", err)
		}
		out[i] = escalation.Queued{Seq: e.seq, Integration: p.Integration, Received: e.received, Alerts: p.Alerts}
	}
	return out
}

func (j *Journal) pause(ctx context.Context) bool {
	t := time.NewTimer(j.o.RetryBackoff)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// apply applies batch in one transaction, or the part of it before the
// store asked the transaction to yield, and returns the rest. If that
// fails, each delivery is applied alone, so one that cannot be applied
// holds up no other.
func (j *Journal) apply(ctx context.Context, batch []escalation.Queued) (rest []escalation.Queued, _ error) {
	began := j.eng.Now()
	n, err := j.applyQueued(ctx, batch)
	if err == nil {
		j.advance(batch[:n])
		alerts := 0
		for _, d := range batch[:n] {
			alerts += len(d.Alerts)
		}
		// A small transaction's rate is mostly its commit's.
		if alerts >= minTimed {
			j.perAlert = j.eng.Now().Sub(began) / time.Duration(alerts)
		}
		return batch[n:], nil
	}
	if ctx.Err() != nil {
		return nil, err
	}
	if len(batch) == 1 {
		return nil, j.applyAlone(ctx, batch[0], err)
	}
	for _, d := range batch {
		if err := j.applyAlone(ctx, d, nil); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

// applyAlone applies one delivery, trying three times in all. A delivery
// that still fails while the store takes the skip is skipped and logged
// with its dedup keys, so one poisonous delivery cannot stop intake; one
// that fails because the store cannot write (escalation.ErrStorage) is
// never skipped, and waits for the store.
func (j *Journal) applyAlone(ctx context.Context, d escalation.Queued, err error) error {
	one := []escalation.Queued{d}
	if err == nil {
		_, err = j.applyQueued(ctx, one)
	}
	for attempt := 1; err != nil && attempt < 3; attempt++ {
		if !j.pause(ctx) {
			return ctx.Err()
		}
		_, err = j.applyQueued(ctx, one)
	}
	if err == nil {
		j.advance(one)
		return nil
	}
	if errors.Is(err, escalation.ErrStorage) {
		// The disk, not the delivery: it stays in the journal, and the
		// applier tries again until the store takes writes (a full disk
		// freed). Skipping it would drop alerts already answered 2xx.
		return fmt.Errorf("intake: delivery %d: %w", d.Seq, err)
	}
	if serr := j.eng.SkipQueued(ctx, d); serr != nil {
		return fmt.Errorf("intake: delivery %d: %w", d.Seq, err)
	}
	// The first ten, each cut short: enough to find them at their source.
	keys := make([]string, 0, min(len(d.Alerts), 10))
	for _, a := range d.Alerts[:cap(keys)] {
		k := a.DedupKey
		if len(k) > 100 {
			k = strings.ToValidUTF8(k[:100], "") + "…"
		}
		keys = append(keys, k)
	}
	j.log.Error("intake: delivery could not be applied and was skipped", "seq", d.Seq, "integration", d.Integration,
		"received", d.Received, "alerts", len(d.Alerts), "dedup_keys", keys, "err", err)
	j.advance(one)
	return nil
}

// applyQueued is ApplyQueued with a panic turned into an error.
func (j *Journal) applyQueued(ctx context.Context, q []escalation.Queued) (n int, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("intake: apply panicked: %v\n%s", p, debug.Stack())
		}
	}()
	return j.eng.ApplyQueued(ctx, q)
}

// advance drops the applied head of the queue.
func (j *Journal) advance(done []escalation.Queued) {
	j.mu.Lock()
	n := len(done)
	for _, e := range j.queue[:n] {
		j.backlog -= e.alerts
	}
	clear(j.queue[:n])
	j.queue = j.queue[n:]
	if len(j.queue) == 0 {
		j.queue = nil
	}
	j.applied = done[n-1].Seq
	j.mu.Unlock()
	// Segments go before waiters learn of it, so that once Wait returns
	// the journal holds nothing applied but its open segment.
	j.removeApplied()
	j.mu.Lock()
	j.notifyLocked()
	j.mu.Unlock()
}

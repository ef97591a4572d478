package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/klaxonhq/klaxon/escalation"
)

var errBoom = errors.New("boom")

func putAlert(key string) func(escalation.Tx) error {
	return func(tx escalation.Tx) error {
		return tx.PutAlert(&escalation.AlertRecord{Service: "api", Alert: escalation.Alert{DedupKey: key}})
	}
}

// bulkFn is fn as a bulk transaction that never yields.
func bulkFn(fn func(escalation.Tx) error) func(escalation.Tx, func() bool) error {
	return func(tx escalation.Tx, _ func() bool) error { return fn(tx) }
}

func hasAlert(t *testing.T, db *DB, key string) bool {
	t.Helper()
	var found bool
	view(t, db, func(tx escalation.Tx) error {
		_, err := tx.Alert("api", key)
		found = err == nil
		if err != nil && !errors.Is(err, escalation.ErrNotFound) {
			return err
		}
		return nil
	})
	return found
}

// concurrently runs n Updates at once, the i-th with fn(i).
func concurrently(db *DB, n int, fn func(i int) func(escalation.Tx) error) []error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { errs[i] = db.Update(context.Background(), fn(i)) })
	}
	wg.Wait()
	return errs
}

func TestUpdateConcurrent(t *testing.T) {
	db := openTemp(t)
	const n = 64
	errs := concurrently(db, n, func(i int) func(escalation.Tx) error {
		return func(tx escalation.Tx) error {
			id, err := tx.NextIncidentID()
			if err != nil {
				return err
			}
			if err := tx.PutIncident(&escalation.Incident{ID: id, Title: fmt.Sprint(i)}); err != nil {
				return err
			}
			return putAlert(fmt.Sprint(i))(tx)
		}
	})
	for i, err := range errs {
		if err != nil {
			t.Errorf("update %d: %v", i, err)
		}
	}
	for i := range n {
		if !hasAlert(t, db, fmt.Sprint(i)) {
			t.Errorf("alert %d missing", i)
		}
	}
	view(t, db, func(tx escalation.Tx) error {
		incs, err := tx.Incidents("", 0)
		if err != nil || len(incs) != n || incs[0].ID != n {
			t.Errorf("Incidents = %d (newest %v), %v; want %d with ids 1..%[4]d", len(incs), incs[0].ID, err, n)
		}
		return nil
	})
	t.Logf("%d updates in %d commits", n, db.commits.Load())
}

func TestUpdateErrorIsolated(t *testing.T) {
	db := openTemp(t)
	const n, bad = 64, 17
	errs := concurrently(db, n, func(i int) func(escalation.Tx) error {
		if i == bad {
			return func(tx escalation.Tx) error {
				if err := putAlert(fmt.Sprint(i))(tx); err != nil {
					return err
				}
				return errBoom
			}
		}
		return putAlert(fmt.Sprint(i))
	})
	for i, err := range errs {
		if i == bad && !errors.Is(err, errBoom) || i != bad && err != nil {
			t.Errorf("update %d: %v", i, err)
		}
		if got := hasAlert(t, db, fmt.Sprint(i)); got != (i != bad) {
			t.Errorf("alert %d present = %v", i, got)
		}
	}
}

func TestUpdatePanicIsolated(t *testing.T) {
	db := openTemp(t)
	const n, bad = 64, 40
	errs := concurrently(db, n, func(i int) func(escalation.Tx) error {
		if i == bad {
			return func(tx escalation.Tx) error {
				_ = putAlert(fmt.Sprint(i))(tx)
				panic("kaboom")
			}
		}
		return putAlert(fmt.Sprint(i))
	})
	for i, err := range errs {
		if i != bad && err != nil {
			t.Errorf("update %d: %v", i, err)
		}
		if got := hasAlert(t, db, fmt.Sprint(i)); got != (i != bad) {
			t.Errorf("alert %d present = %v", i, got)
		}
	}
	var pe *PanicError
	if !errors.As(errs[bad], &pe) || pe.Value != "kaboom" || len(pe.Stack) == 0 ||
		!strings.Contains(errs[bad].Error(), "kaboom") {
		t.Errorf("panicking update: %v", errs[bad])
	}
	// The writer survived.
	update(t, db, putAlert("after"))
}

func TestViewPanic(t *testing.T) {
	db := openTemp(t)
	err := db.View(t.Context(), func(escalation.Tx) error { panic("kaboom") })
	var pe *PanicError
	if !errors.As(err, &pe) || pe.Value != "kaboom" {
		t.Errorf("View panic: %v", err)
	}
	update(t, db, putAlert("after"))
}

func TestUpdateCancelledBeforeStart(t *testing.T) {
	db := openTemp(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ran := false
	err := db.Update(ctx, func(tx escalation.Tx) error { ran = true; return putAlert("x")(tx) })
	if !errors.Is(err, context.Canceled) || ran || hasAlert(t, db, "x") {
		t.Errorf("Update with a done ctx = %v, ran = %v", err, ran)
	}
	if err := db.View(ctx, func(escalation.Tx) error { ran = true; return nil }); !errors.Is(err, context.Canceled) || ran {
		t.Errorf("View with a done ctx = %v, ran = %v", err, ran)
	}
}

// blockWriter starts an Update whose fn holds the writer until release is
// closed; it returns once the fn is running, and the Update's result.
func blockWriter(t *testing.T, db *DB, key string) (release chan struct{}, result chan error) {
	started := make(chan struct{})
	release, result = make(chan struct{}), make(chan error, 1)
	go func() {
		result <- db.Update(context.Background(), func(tx escalation.Tx) error {
			close(started)
			<-release
			return putAlert(key)(tx)
		})
	}()
	<-started
	return release, result
}

// giveUpWhileQueued calls Update with fn while the writer is busy with
// another, cancels it once it is queued, checks that its caller got
// ctx.Err() without waiting for the writer, and lets the writer go on.
// It runs in a synctest bubble.
func giveUpWhileQueued(t *testing.T, db *DB, fn func(escalation.Tx) error) {
	t.Helper()
	release, first := blockWriter(t, db, "first")
	ctx, cancel := context.WithCancel(t.Context())
	queued := make(chan error, 1)
	go func() { queued <- db.Update(ctx, fn) }()
	synctest.Wait()
	cancel()
	if err := <-queued; !errors.Is(err, context.Canceled) {
		t.Errorf("queued Update = %v, want context.Canceled", err)
	}
	close(release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
}

func TestUpdateCancelledWhileQueued(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db := openTemp(t)
		var ran atomic.Bool
		// The writer is busy with the first fn, so the queued one cannot
		// have started.
		giveUpWhileQueued(t, db, func(tx escalation.Tx) error { ran.Store(true); return putAlert("queued")(tx) })
		update(t, db, putAlert("after")) // the abandoned request was skipped
		if ran.Load() || hasAlert(t, db, "queued") {
			t.Error("cancelled fn ran")
		}
	})
}

func TestCloseWithPendingUpdates(t *testing.T) {
	path := filepath.Join(t.TempDir(), "klaxon.db")
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	release, first := blockWriter(t, db, "first")
	const n = 16
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { errs[i] = db.Update(context.Background(), putAlert(fmt.Sprint(i))) })
	}
	closed := make(chan error, 1)
	go func() { closed <- db.Close() }()
	close(release)
	wg.Wait()
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	if err := <-first; err != nil {
		t.Fatalf("in-flight Update: %v", err)
	}

	db = openAt(t, path)
	if !hasAlert(t, db, "first") {
		t.Error("the commit in flight at Close was lost")
	}
	for i, err := range errs {
		// Each queued call either made it in before Close or was refused;
		// either way its answer tells the truth.
		if err != nil && !errors.Is(err, ErrClosed) {
			t.Errorf("update %d: %v", i, err)
		}
		if got := hasAlert(t, db, fmt.Sprint(i)); got != (err == nil) {
			t.Errorf("update %d returned %v but alert present = %v", i, err, got)
		}
	}
}

// The tests below drive one round directly, so its composition is exact.

type counted struct {
	runs atomic.Int32
	fn   func(escalation.Tx) error
}

func (c *counted) run(tx escalation.Tx) error { c.runs.Add(1); return c.fn(tx) }

func newRequest(ctx context.Context, fn func(escalation.Tx) error) *request {
	return &request{ctx: ctx, fn: fn, done: make(chan error, 1)}
}

func runRound(db *DB, fns ...func(escalation.Tx) error) []error {
	reqs := make([]*request, len(fns))
	for i, fn := range fns {
		reqs[i] = newRequest(context.Background(), fn)
	}
	db.commit(reqs)
	errs := make([]error, len(fns))
	for i, r := range reqs {
		errs[i] = <-r.done
	}
	return errs
}

func TestRoundFailureRerunsAlone(t *testing.T) {
	db := openTemp(t)
	a := &counted{fn: putAlert("a")}
	b := &counted{fn: func(tx escalation.Tx) error { _ = putAlert("b")(tx); return errBoom }}
	c := &counted{fn: putAlert("c")}
	before := db.commits.Load()
	errs := runRound(db, a.run, b.run, c.run)
	if errs[0] != nil || !errors.Is(errs[1], errBoom) || errs[2] != nil {
		t.Fatalf("round = %v", errs)
	}
	// a ran before b failed and again with c; b ran in the round and alone;
	// c only in the retry. One commit: b's solo run rolled back.
	if a.runs.Load() != 2 || b.runs.Load() != 2 || c.runs.Load() != 1 {
		t.Errorf("runs a=%d b=%d c=%d, want 2 2 1", a.runs.Load(), b.runs.Load(), c.runs.Load())
	}
	if got := db.commits.Load() - before; got != 1 {
		t.Errorf("%d commits, want 1", got)
	}
	if !hasAlert(t, db, "a") || hasAlert(t, db, "b") || !hasAlert(t, db, "c") {
		t.Error("wrong alerts committed")
	}
}

func TestRoundFirstFailureStands(t *testing.T) {
	db := openTemp(t)
	b := &counted{fn: func(escalation.Tx) error { return errBoom }}
	a := &counted{fn: putAlert("a")}
	errs := runRound(db, b.run, a.run)
	if !errors.Is(errs[0], errBoom) || errs[1] != nil {
		t.Fatalf("round = %v", errs)
	}
	// b failed on committed state alone, so it is not run again.
	if b.runs.Load() != 1 || a.runs.Load() != 1 {
		t.Errorf("runs b=%d a=%d, want 1 1", b.runs.Load(), a.runs.Load())
	}
}

func TestRoundFailureSeesEarlierWrites(t *testing.T) {
	db := openTemp(t)
	// b fails only when a's write is visible; re-run alone after a
	// committed, it still fails, consistent with a serial order a, b.
	b := func(tx escalation.Tx) error {
		if _, err := tx.Alert("api", "a"); err == nil {
			return errBoom
		}
		return putAlert("b")(tx)
	}
	errs := runRound(db, putAlert("a"), b, putAlert("c"))
	if errs[0] != nil || !errors.Is(errs[1], errBoom) || errs[2] != nil {
		t.Fatalf("round = %v", errs)
	}
}

func TestRoundSkipsDoneAndAbandoned(t *testing.T) {
	db := openTemp(t)
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	ran := &counted{fn: putAlert("cancelled")}
	gone := &counted{fn: putAlert("abandoned")}
	fail := &counted{fn: func(escalation.Tx) error { return errBoom }}
	reqs := []*request{
		newRequest(context.Background(), putAlert("a")),
		newRequest(cancelled, ran.run),
		newRequest(context.Background(), gone.run),
		newRequest(context.Background(), fail.run),
		newRequest(context.Background(), putAlert("b")),
	}
	reqs[2].state.Store(stateAbandoned)
	db.commit(reqs)
	if err := <-reqs[0].done; err != nil {
		t.Error(err)
	}
	if err := <-reqs[1].done; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled request: %v", err)
	}
	if len(reqs[2].done) != 0 {
		t.Error("abandoned request was answered")
	}
	if err := <-reqs[3].done; !errors.Is(err, errBoom) {
		t.Errorf("failing request: %v", err)
	}
	if err := <-reqs[4].done; err != nil {
		t.Error(err)
	}
	if ran.runs.Load() != 0 || gone.runs.Load() != 0 {
		t.Error("a request whose caller is done ran")
	}
	if !hasAlert(t, db, "a") || !hasAlert(t, db, "b") {
		t.Error("live requests were not committed")
	}
}

func benchAlert(i int64) func(escalation.Tx) error {
	key := fmt.Sprint(i)
	return func(tx escalation.Tx) error {
		return tx.PutAlert(&escalation.AlertRecord{Service: "api", IncidentID: i,
			Alert: escalation.Alert{DedupKey: key, State: escalation.AlertFiring, Summary: "disk full"}})
	}
}

// BenchmarkUpdateSerial is one caller at a time: one fsync per Update.
func BenchmarkUpdateSerial(b *testing.B) {
	db := openTemp(b)
	ctx := context.Background()
	var i int64
	for b.Loop() {
		i++
		if err := db.Update(ctx, benchAlert(i)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(i)/float64(db.commits.Load()), "fns/commit")
}

// BenchmarkUpdateParallel is many webhook handlers at once; group commit
// should make ns/op fall as goroutines rise.
func BenchmarkUpdateParallel(b *testing.B) {
	for _, goroutines := range []int{4, 16, 64} {
		b.Run(fmt.Sprintf("goroutines=%d", goroutines), func(b *testing.B) {
			db := openTemp(b)
			ctx := context.Background()
			var next atomic.Int64
			b.SetParallelism(max(1, goroutines/runtime.GOMAXPROCS(0)))
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := db.Update(ctx, benchAlert(next.Add(1))); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(next.Load())/float64(db.commits.Load()), "fns/commit")
		})
	}
}

// An intake apply (UpdateBulk) parked with a page's tick (Update) commits
// alone, after the tick's round: the tick waits for the commit running when
// it came, not for the apply's work as well.
func TestBulkUpdateCommitsAloneAfterTheSmallOnesWaitingWithIt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var rounds []int // callers per commit
		var order []string
		db := openWith(t, filepath.Join(t.TempDir(), "klaxon.db"), Options{ObserveCommit: func(_ time.Duration, callers int) {
			mu.Lock()
			defer mu.Unlock()
			rounds = append(rounds, callers)
		}})
		ran := func(name string) func(escalation.Tx) error {
			return func(tx escalation.Tx) error {
				mu.Lock()
				order = append(order, name)
				mu.Unlock()
				return putAlert(name)(tx)
			}
		}
		release, first := blockWriter(t, db, "first")
		var wg sync.WaitGroup
		wg.Go(func() {
			if err := db.UpdateBulk(t.Context(), bulkFn(ran("apply"))); err != nil {
				t.Error(err)
			}
		})
		synctest.Wait() // the apply parks first
		for _, name := range []string{"tick", "record"} {
			wg.Go(func() {
				if err := db.Update(t.Context(), ran(name)); err != nil {
					t.Error(err)
				}
			})
			synctest.Wait()
		}
		close(release)
		if err := <-first; err != nil {
			t.Fatal(err)
		}
		wg.Wait()
		if want := []string{"tick", "record", "apply"}; !slices.Equal(order, want) {
			t.Errorf("fns ran in the order %v, want %v", order, want)
		}
		if want := []int{1, 2, 1}; !slices.Equal(rounds, want) {
			t.Errorf("commits carried %v callers, want %v", rounds, want)
		}
		for _, key := range []string{"first", "apply", "tick", "record"} {
			if !hasAlert(t, db, key) {
				t.Errorf("%s was not committed", key)
			}
		}
	})
}

// Close while the writer holds a bulk update it took with a small one: the
// bulk update's caller is answered, and the answer tells the truth.
func TestCloseAnswersAHeldBulkUpdate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "klaxon.db")
		db, err := Open(path, Options{})
		if err != nil {
			t.Fatal(err)
		}
		release, first := blockWriter(t, db, "first")
		bulk, small := make(chan error, 1), make(chan error, 1)
		go func() { bulk <- db.UpdateBulk(t.Context(), bulkFn(putAlert("apply"))) }()
		synctest.Wait()
		smallRuns, smallGoes := make(chan struct{}), make(chan struct{})
		go func() {
			small <- db.Update(t.Context(), func(tx escalation.Tx) error {
				close(smallRuns)
				<-smallGoes
				return putAlert("tick")(tx)
			})
		}()
		synctest.Wait()
		close(release) // the writer takes both: the tick runs, the apply is held
		<-smallRuns
		closed := make(chan error, 1)
		go func() { closed <- db.Close() }()
		synctest.Wait()
		close(smallGoes)
		for _, ch := range []chan error{first, small, closed} {
			if err := <-ch; err != nil {
				t.Fatal(err)
			}
		}
		bulkErr := <-bulk
		if bulkErr != nil && !errors.Is(bulkErr, ErrClosed) {
			t.Fatalf("held bulk update at Close = %v, want nil or ErrClosed", bulkErr)
		}
		db = openAt(t, path)
		if !hasAlert(t, db, "tick") {
			t.Error("the tick was not committed")
		}
		if got := hasAlert(t, db, "apply"); got != (bulkErr == nil) {
			t.Errorf("bulk update returned %v but its alert present = %v", bulkErr, got)
		}
	})
}

// An intake apply working through its deliveries asks, between them,
// whether to yield. It is told to only once a page's tick waits for the
// writer and the apply has worked for BulkYield; it stops there, commits
// what it did, and the tick commits next.
func TestBulkUpdateYieldsToAWaitingTickAfterItsMinimumWork(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db := openWith(t, filepath.Join(t.TempDir(), "klaxon.db"), Options{BulkYield: 10 * time.Millisecond})
		var mu sync.Mutex
		var order []string
		note := func(s string) {
			mu.Lock()
			defer mu.Unlock()
			order = append(order, s)
		}
		tick := make(chan error, 1)
		var asked []bool // yield's answer after each millisecond of work
		err := db.UpdateBulk(t.Context(), func(tx escalation.Tx, yield func() bool) error {
			for ms := 1; ms <= 30; ms++ {
				time.Sleep(time.Millisecond) // a delivery's work
				if err := putAlert(fmt.Sprintf("apply-%02d", ms))(tx); err != nil {
					return err
				}
				if ms == 4 { // a page falls due: its tick parks for the writer
					go func() {
						tick <- db.Update(t.Context(), func(tx escalation.Tx) error {
							note("tick")
							return putAlert("tick")(tx)
						})
					}()
					synctest.Wait()
				}
				y := yield()
				asked = append(asked, y)
				if y {
					break
				}
			}
			note("apply")
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := <-tick; err != nil {
			t.Fatal(err)
		}
		// Nobody waiting for 3 ms, then the tick waiting but only 4..9 ms
		// of work done: no. At 10 ms: yes.
		want := make([]bool, 10)
		want[9] = true
		if !slices.Equal(asked, want) {
			t.Errorf("yield answered %v, want %v", asked, want)
		}
		if want := []string{"apply", "tick"}; !slices.Equal(order, want) {
			t.Errorf("committed in the order %v, want %v", order, want)
		}
		for _, key := range []string{"apply-01", "apply-10", "tick"} {
			if !hasAlert(t, db, key) {
				t.Errorf("%s was not committed", key)
			}
		}
		if hasAlert(t, db, "apply-11") {
			t.Error("the apply went on past its yield")
		}
	})
}

// With nobody waiting, a bulk update is never asked to yield, however
// long it works: a drain of the journal goes in its largest transactions.
func TestBulkUpdateAloneIsNeverAskedToYield(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db := openWith(t, filepath.Join(t.TempDir(), "klaxon.db"), Options{BulkYield: time.Millisecond})
		// A caller that gave up while parked is not waiting any more.
		giveUpWhileQueued(t, db, putAlert("gave-up"))
		err := db.UpdateBulk(t.Context(), func(tx escalation.Tx, yield func() bool) error {
			for range 100 {
				time.Sleep(time.Millisecond)
				if yield() {
					return errors.New("asked to yield with nobody waiting")
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

// On a slow disk an apply works at least as long as applies lately took
// to commit before it yields: cut after BulkYield, it would be mostly
// commit.
func TestBulkUpdateWorksAsLongAsBulkCommitsTakeBeforeItYields(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db := openWith(t, filepath.Join(t.TempDir(), "klaxon.db"), Options{BulkYield: 5 * time.Millisecond})
		db.bulkCommit.Store(int64(30 * time.Millisecond)) // as if applies' commits lately took that
		tick := make(chan error, 1)
		var worked time.Duration
		err := db.UpdateBulk(t.Context(), func(tx escalation.Tx, yield func() bool) error {
			go func() { tick <- db.Update(t.Context(), putAlert("tick")) }()
			synctest.Wait() // a page's tick waits for the writer from the start
			for !yield() {
				time.Sleep(time.Millisecond)
				worked += time.Millisecond
			}
			return putAlert("apply")(tx)
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := <-tick; err != nil {
			t.Fatal(err)
		}
		if worked != 30*time.Millisecond {
			t.Errorf("the apply yielded after %s of work, want 30ms (what bulk commits lately took)", worked)
		}
	})
}

// A bulk transaction's commit time is measured and averaged in, a quarter
// weight, for the next ones to go by: one quick commit after slow ones
// does not bring applies down to their minimum at once.
func TestABulkCommitsTimeIsKept(t *testing.T) {
	db := openTemp(t)
	const slow = int64(time.Hour) // far more than any commit here
	db.bulkCommit.Store(slow)
	if err := db.UpdateBulk(t.Context(), bulkFn(putAlert("apply"))); err != nil {
		t.Fatal(err)
	}
	if got := db.bulkCommit.Load(); got <= slow*3/4 || got >= slow {
		t.Fatalf("after slow commits of 1h and a quick one, the average is %s, want just over 45m",
			time.Duration(got))
	}
	db.bulkCommit.Store(0)
	if err := db.UpdateBulk(t.Context(), bulkFn(putAlert("apply-2"))); err != nil {
		t.Fatal(err)
	}
	if got := time.Duration(db.bulkCommit.Load()); got <= 0 {
		t.Fatalf("a bulk commit's time = %s, want it measured", got)
	}
	// A small transaction's commit is not a bulk one's.
	db.bulkCommit.Store(0)
	if err := db.Update(t.Context(), putAlert("tick")); err != nil {
		t.Fatal(err)
	}
	if got := db.bulkCommit.Load(); got != 0 {
		t.Fatalf("an Update set the bulk commit time to %s", time.Duration(got))
	}
}

// BenchmarkIncidentAlerts is a merge's read of the source incident's
// alerts among 100,000 stored ones (a scan of every record: merges are
// rare).
//
//	go test ./store -run '^$' -bench IncidentAlerts
func BenchmarkIncidentAlerts(b *testing.B) {
	db := openTemp(b)
	update(b, db, func(tx escalation.Tx) error {
		for i := range 100_000 {
			if err := tx.PutAlert(&escalation.AlertRecord{Service: "api", IncidentID: int64(i%5_000 + 1),
				Alert: escalation.Alert{DedupKey: fmt.Sprint(i), State: escalation.AlertFiring, Summary: "disk full",
					Labels: map[string]string{"alertname": "DiskFull", "instance": fmt.Sprintf("db-%d:9100", i)}}}); err != nil {
				return err
			}
		}
		return nil
	})
	for b.Loop() {
		view(b, db, func(tx escalation.Tx) error {
			recs, err := tx.IncidentAlerts(42)
			if err == nil && len(recs) == 0 {
				b.Fatal("no alerts of incident 42")
			}
			return err
		})
	}
}

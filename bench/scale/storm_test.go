package scale

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/escalation"
	"github.com/klaxonhq/klaxon/store"
)

const (
	stormAlerts  = 1_000_000
	stormKeys    = 10_000
	stormGroups  = 100
	stormSenders = 16
	stormPerCall = 10
)

// keyState is what a sender last told Klaxon about one dedup key. Each key
// belongs to one sender, so its messages arrive in order and the expected
// end state is exact.
type keyState struct {
	sent   bool
	firing bool
	rev    int
}

// stormKey: key k is in group k % stormGroups and belongs to sender
// k % stormSenders. Keys below stormGroups (one per group) never resolve,
// so no incident ever closes and the storm ends with exactly stormGroups
// incidents.
func stormKey(k int) string { return fmt.Sprintf("k%05d", k) }

// BenchmarkStorm: 1,000,000 alerts over 10,000 dedup keys in 100 alert
// groups, from 16 concurrent senders calling Engine.Ingest with 10 alerts a
// call, fsynced as in production, with the Runner paging. First every key
// fires once, then each alert is of a random key of the sender's: an
// unchanged repeat (60%), an update of its summary (25%, re-firing it if it
// was resolved) or a flip between firing and resolved (15%). Live heap is sampled every 50 ms.
// Afterwards every incident and alert is checked against what was sent.
// One run is one measurement: -benchtime 1x.
func BenchmarkStorm(b *testing.B) {
	ctx := b.Context()
	path := filepath.Join(b.TempDir(), "klaxon.db")
	var commits commitStats
	db, err := store.Open(path, store.Options{ObserveCommit: commits.observe})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	rec := newRecorder(stormGroups)
	eng, err := escalation.New(escalation.Options{Store: db, Catalog: catalog(0), Clock: escalation.SystemClock{},
		Pagers: rec.pagers(), Logger: warnLogger()})
	if err != nil {
		b.Fatal(err)
	}
	_, stop := startRunner(ctx, eng)
	defer stop()

	base := liveHeap()
	var maxLive, maxObjects, maxRSS atomic.Uint64
	sampling := make(chan struct{})
	var sampler sync.WaitGroup
	sampler.Go(func() {
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-sampling:
				return
			case <-t.C:
			}
			raise(&maxLive, heapLive())
			raise(&maxObjects, heapObjects())
			if r, err := rss(); err == nil {
				raise(&maxRSS, r)
			}
		}
	})

	states := make([][]keyState, stormSenders) // by sender, then key / stormSenders
	lat := make([][]time.Duration, stormSenders)
	var sentAlerts, created, updated, unchanged, reopened, ignored atomic.Int64
	errs := make(chan error, stormSenders)
	// Every key fires once before any resolves, so each group's anchor key
	// holds its incident open from the start.
	var fired sync.WaitGroup
	fired.Add(stormSenders)
	b.ResetTimer()
	began := time.Now()
	var senders sync.WaitGroup
	for s := range stormSenders {
		states[s] = make([]keyState, stormKeys/stormSenders)
		senders.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(s), 42))
			mine := states[s]
			calls := stormAlerts / stormPerCall / stormSenders
			lat[s] = make([]time.Duration, 0, calls)
			batch := make([]escalation.Alert, stormPerCall)
			initial := (len(mine) + stormPerCall - 1) / stormPerCall
			passed := false
			defer func() {
				if !passed {
					fired.Done() // failed early: do not hold the others at the barrier
				}
			}()
			for c := range calls {
				if c == initial {
					passed = true
					fired.Done()
					fired.Wait()
				}
				n := stormPerCall
				if c < initial {
					n = min(n, len(mine)-c*stormPerCall)
				}
				for j := range n {
					i := rng.IntN(len(mine))
					if c < initial {
						i = c*stormPerCall + j
					}
					k := i*stormSenders + s
					batch[j] = next(&mine[i], k, rng.IntN(100))
				}
				sentAlerts.Add(int64(n))
				t0 := time.Now()
				res, err := eng.Ingest(ctx, grouped, batch[:n])
				lat[s] = append(lat[s], time.Since(t0))
				if err != nil {
					errs <- err
					return
				}
				created.Add(int64(res.Created))
				updated.Add(int64(res.Updated))
				unchanged.Add(int64(res.Unchanged))
				reopened.Add(int64(res.Reopened))
				ignored.Add(int64(res.Ignored))
			}
		})
	}
	senders.Wait()
	elapsed := time.Since(began)
	b.StopTimer()
	close(sampling)
	sampler.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	// The runner pages each new incident once: wait for those pages, so
	// the check sees a settled store.
	select {
	case <-rec.done:
	case <-time.After(10 * time.Second):
		b.Errorf("%d pages sent, want %d", len(rec.all()), stormGroups)
	}
	if err := stop(); err != nil {
		b.Fatal(err)
	}
	after := liveHeap()

	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	slices.Sort(all)
	checkStorm(b, db, states)

	total := sentAlerts.Load()
	rate := float64(total) / elapsed.Seconds()
	b.Logf("%d alerts in %s: %.0f alerts/s, %.0f calls/s; call latency p50 %.2f ms, p99 %.2f ms, max %.1f ms",
		total, elapsed.Round(time.Millisecond), rate, float64(len(all))/elapsed.Seconds(),
		ms(quantile(all, .5)), ms(quantile(all, .99)), ms(quantile(all, 1)))
	b.Logf("outcomes: created %d, updated %d, unchanged %d, reopened %d, ignored %d; %d commits, %.1f callers each",
		created.Load(), updated.Load(), unchanged.Load(), reopened.Load(), ignored.Load(),
		commits.commits.Load(), float64(commits.callers.Load())/float64(max(commits.commits.Load(), 1)))
	b.Logf("live heap: %.1f MiB before, max %.1f MiB during (heap objects incl. garbage max %.1f MiB), %.1f MiB after; RSS max %.0f MiB",
		mib(base), mib(maxLive.Load()), mib(maxObjects.Load()), mib(after), mib(maxRSS.Load()))
	b.ReportMetric(rate, "alerts/s")
	b.ReportMetric(ms(quantile(all, .99)), "p99-call-ms")
	b.ReportMetric(mib(maxLive.Load()), "max-live-heap-MiB")
	b.ReportMetric(mib(maxObjects.Load()), "max-heap-objects-MiB")
	b.ReportMetric(mib(maxRSS.Load()), "max-rss-MiB")
}

// next picks key k's next alert and records it as sent; roll is 0..99.
func next(st *keyState, k, roll int) escalation.Alert {
	switch {
	case !st.sent:
		st.sent, st.firing = true, true
	case roll < 60: // an unchanged repeat
	case roll < 85: // an update: new content, firing
		st.rev++
		st.firing = true
	case st.firing && k >= stormGroups:
		st.firing = false
	default:
		st.firing = true
	}
	a := alert(stormKey(k), k%stormGroups, st.rev)
	if !st.firing {
		a.State = escalation.AlertResolved
	}
	return a
}

func raise(v *atomic.Uint64, x uint64) {
	for {
		old := v.Load()
		if x <= old || v.CompareAndSwap(old, x) {
			return
		}
	}
}

// checkStorm compares the store with what the senders last sent: one
// incident per group, each with every key of its group attached once and
// firing as last sent, and every alert record as last sent.
func checkStorm(b *testing.B, db *store.DB, states [][]keyState) {
	b.Helper()
	wantAlerts := make([]int, stormGroups)
	wantFiring := make([]int, stormGroups)
	for s, keys := range states {
		for i, st := range keys {
			g := (i*stormSenders + s) % stormGroups
			if st.sent {
				wantAlerts[g]++
			}
			if st.firing {
				wantFiring[g]++
			}
		}
	}
	bad := 0
	fail := func(format string, args ...any) {
		if bad++; bad <= 10 {
			b.Errorf(format, args...)
		}
	}
	err := db.View(b.Context(), func(tx escalation.Tx) error {
		incs, err := tx.Incidents("", 0)
		if err != nil {
			return err
		}
		if len(incs) != stormGroups {
			fail("%d incidents, want %d", len(incs), stormGroups)
		}
		byGroup := map[string]*escalation.Incident{}
		for _, inc := range incs {
			if byGroup[inc.GroupKey] != nil {
				fail("two incidents for %s", inc.GroupKey)
			}
			byGroup[inc.GroupKey] = inc
		}
		for g := range stormGroups {
			inc := byGroup[groupKey(g)]
			switch {
			case inc == nil:
				fail("no incident for group %d", g)
				continue
			case inc.Status != escalation.StatusTriggered:
				fail("incident #%d of group %d is %s", inc.ID, g, inc.Status)
			case inc.Alerts != wantAlerts[g] || inc.Firing != wantFiring[g]:
				fail("incident #%d of group %d: %d alerts, %d firing; want %d, %d",
					inc.ID, g, inc.Alerts, inc.Firing, wantAlerts[g], wantFiring[g])
			}
		}
		for s, keys := range states {
			for i, st := range keys {
				k := i*stormSenders + s
				rec, err := tx.Alert(grouped, stormKey(k))
				if err != nil {
					fail("alert %s: %v", stormKey(k), err)
					continue
				}
				want := alert(stormKey(k), k%stormGroups, st.rev)
				state := escalation.AlertFiring
				if !st.firing {
					state = escalation.AlertResolved
				}
				inc := byGroup[groupKey(k%stormGroups)]
				if rec.Alert.State != state || rec.Alert.Summary != want.Summary || inc == nil || rec.IncidentID != inc.ID {
					fail("alert %s: %s %q in #%d; want %s %q", stormKey(k), rec.Alert.State, rec.Alert.Summary,
						rec.IncidentID, state, want.Summary)
				}
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	if bad > 0 {
		b.Errorf("%d mismatches in all", bad)
	}
}

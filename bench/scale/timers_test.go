package scale

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/escalation"
	"github.com/klaxonhq/klaxon/intake"
	"github.com/klaxonhq/klaxon/store"
)

const (
	timerIncidents = 100_000
	// timerWindow spreads the due times: 100,000 over 60 s is 1,667 pages
	// falling due every second.
	timerWindow = 60 * time.Second
	// timerLead is how long after setup the first incident falls due; the
	// store is reopened and the runner started within it.
	timerLead = 10 * time.Second
	// maxDrain bounds how long a lag run waits after the last due time.
	maxDrain = 2 * time.Minute
)

// buildTimers ingests n alerts, each its own incident, into a new store at
// path opened without fsync (setup only; the measurement reopens it with
// fsync). Every incident then waits on its first contact step, due five
// minutes after the build clock's start.
func buildTimers(ctx context.Context, path string, n int) (*store.DB, error) {
	db, err := store.Open(path, store.Options{NoSync: true})
	if err != nil {
		return nil, err
	}
	eng, err := escalation.New(escalation.Options{Store: db, Catalog: catalog(firstStep),
		Clock: escalation.NewManualClock(time.Now().Round(0))})
	if err != nil {
		db.Close()
		return nil, err
	}
	const batch = 100
	err = ingestBatches(ctx, eng, solo, n/batch, 2, func(i int) []escalation.Alert {
		out := make([]escalation.Alert, batch)
		for j := range out {
			out[j] = alert(fmt.Sprintf("k%07d", i*batch+j), 0, 0)
		}
		return out
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("build: %w", err)
	}
	return db, nil
}

// retime moves every incident's escalation in time, as if its alert had
// arrived later, so that incident id i (1..n) falls due at first +
// (i-1)·window/n. It returns the due times by incident id.
func retime(ctx context.Context, db *store.DB, n int, first time.Time, window time.Duration) ([]time.Time, error) {
	due := make([]time.Time, n+1)
	const chunk = 5000
	for lo := 1; lo <= n; lo += chunk {
		hi := min(lo+chunk-1, n)
		err := db.Update(ctx, func(tx escalation.Tx) error {
			for id := lo; id <= hi; id++ {
				inc, err := tx.Incident(int64(id))
				if err != nil {
					return err
				}
				if inc.NextDue.IsZero() {
					return fmt.Errorf("incident %d has nothing scheduled", id)
				}
				at := first.Add(time.Duration(id-1) * window / time.Duration(n))
				shift(inc, at.Sub(inc.NextDue))
				due[id] = inc.NextDue
				if err := tx.PutIncident(inc); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("retime: %w", err)
		}
	}
	return due, nil
}

// shift moves the incident's times that escalation reads by d.
func shift(inc *escalation.Incident, d time.Duration) {
	move := func(t *time.Time) {
		if !t.IsZero() {
			*t = t.Add(d)
		}
	}
	move(&inc.CreatedAt)
	move(&inc.UpdatedAt)
	move(&inc.Escalation.NextLevelAt)
	move(&inc.NextDue)
	for i := range inc.Escalation.Runs {
		move(&inc.Escalation.Runs[i].Since)
		move(&inc.Escalation.Runs[i].NextAt)
	}
}

func warnLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// BenchmarkPageLag: 100,000 open incidents whose first contact step falls
// due spread over 60 s, driven by the real Runner on the system clock with
// an fsynced bbolt file. The lag of a page is from its incident's due time
// to the pager's Send. One run is one measurement: -benchtime 1x.
func BenchmarkPageLag(b *testing.B) { measureLag(b, timerWindow, 0) }

// BenchmarkPageDrain is BenchmarkPageLag with all 100,000 steps due at
// the same instant: how fast the runner works off a backlog.
func BenchmarkPageDrain(b *testing.B) { measureLag(b, 0, 0) }

// BenchmarkPageLagInAStorm is BenchmarkPageLag while an alert storm goes
// through the intake journal: 200-alert deliveries of new alerts every
// 10 ms (20,000 alerts/s) for the whole due window, into 100 incidents of
// another service that page only after it. The journal applies them in
// its large transactions, which the runner's transactions wait behind.
func BenchmarkPageLagInAStorm(b *testing.B) { measureLag(b, timerWindow, 200) }

// stormEvery is how often a storm delivery goes.
const stormEvery = 10 * time.Millisecond

// storm sends perTick new alerts of the grouped service through j every
// stormEvery until ctx ends, and returns the alerts accepted. A delivery
// that waits (backpressure) skips the ticks it missed.
func storm(ctx context.Context, j *intake.Journal, perTick int) (accepted int, err error) {
	t := time.NewTicker(stormEvery)
	defer t.Stop()
	for n := 0; ; n++ {
		select {
		case <-ctx.Done():
			return accepted, nil
		case <-t.C:
		}
		alerts := make([]escalation.Alert, perTick)
		for i := range alerts {
			k := n*perTick + i
			alerts[i] = alert(fmt.Sprintf("s%08d", k), k%100, 0)
		}
		if _, err := j.Ingest(ctx, grouped, alerts); err != nil {
			if ctx.Err() != nil {
				return accepted, nil
			}
			return accepted, err
		}
		accepted += perTick
	}
}

func measureLag(b *testing.B, window time.Duration, stormPerTick int) {
	ctx := b.Context()
	path := filepath.Join(b.TempDir(), "klaxon.db")
	began := time.Now()
	db, err := buildTimers(ctx, path, timerIncidents)
	if err != nil {
		b.Fatal(err)
	}
	built := time.Since(began)
	first := time.Now().Add(timerLead).Round(0)
	due, err := retime(ctx, db, timerIncidents, first, window)
	if err != nil {
		b.Fatal(err)
	}
	if err := db.Close(); err != nil {
		b.Fatal(err)
	}
	var commits commitStats
	db, err = store.Open(path, store.Options{ObserveCommit: commits.observe})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	rec := newRecorder(timerIncidents)
	m := &lagMetrics{}
	eng, err := escalation.New(escalation.Options{Store: db, Catalog: catalog(firstStep), Clock: escalation.SystemClock{},
		Pagers: rec.pagers(), Metrics: m, Logger: warnLogger()})
	if err != nil {
		b.Fatal(err)
	}
	if time.Now().After(first) {
		b.Fatalf("setup ran past the first due time by %s; raise timerLead", time.Since(first))
	}
	b.Logf("setup: %d incidents ingested (NoSync) in %s, retimed and reopened with fsync; first due in %s",
		timerIncidents, built.Round(time.Millisecond), time.Until(first).Round(time.Millisecond))

	_, stop := startRunner(ctx, eng)
	defer stop()
	var stormed chan int
	stormFrom := time.Now()
	if stormPerTick > 0 {
		j, err := intake.Open(ctx, eng, intake.Options{Dir: path + ".intake"})
		if err != nil {
			b.Fatal(err)
		}
		defer j.Close()
		defer j.Start()()
		stormCtx, cancel := context.WithDeadline(ctx, first.Add(window))
		defer cancel()
		stormed = make(chan int, 1)
		go func() {
			n, err := storm(stormCtx, j, stormPerTick)
			if err != nil {
				b.Error(err)
			}
			stormed <- n
		}()
	}
	cpu0, err := cpuTime()
	if err != nil {
		b.Fatal(err)
	}
	c0 := commits.commits.Load()
	b.ResetTimer()
	deadline := first.Add(window + maxDrain)
	select {
	case <-rec.done:
	case <-time.After(time.Until(deadline)):
	}
	end := time.Now()
	b.StopTimer()
	cpu1, err := cpuTime()
	if err != nil {
		b.Fatal(err)
	}
	if err := stop(); err != nil {
		b.Fatal(err)
	}

	pages := rec.all()
	seen := make(map[int64]bool, len(pages))
	lags := make([]time.Duration, 0, timerIncidents)
	tickLags := make([]time.Duration, 0, len(pages))
	for _, s := range pages {
		if s.page.IncidentID < 1 || s.page.IncidentID > timerIncidents || seen[s.page.IncidentID] {
			b.Fatalf("unexpected page %d for incident %d", s.page.ID, s.page.IncidentID)
		}
		seen[s.page.IncidentID] = true
		d := due[s.page.IncidentID]
		lags = append(lags, s.at.Sub(d))
		tickLags = append(tickLags, s.page.CreatedAt.Sub(d))
	}
	// A page never sent counts with the lag it had when the run gave up:
	// its true lag is at least that.
	unsent := 0
	for id := 1; id <= timerIncidents; id++ {
		if !seen[int64(id)] {
			unsent++
			lags = append(lags, end.Sub(due[id]))
		}
	}
	slices.Sort(lags)
	slices.Sort(tickLags)
	slices.SortFunc(pages, func(a, b sent) int { return a.at.Compare(b.at) })
	m.mu.Lock()
	claimLags := slices.Clone(m.lags)
	m.mu.Unlock()
	slices.Sort(claimLags)

	var rate float64
	if len(pages) > 1 {
		rate = float64(len(pages)-1) / pages[len(pages)-1].at.Sub(pages[0].at).Seconds()
	}
	wall := end.Sub(first)
	nCommits := commits.commits.Load() - c0
	b.Logf("pages sent %d of %d (unsent %d), due over %s; %.0f pages/s", len(pages), timerIncidents, unsent,
		window, rate)
	b.Logf("lag due→Send: p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms", ms(quantile(lags, .5)),
		ms(quantile(lags, .9)), ms(quantile(lags, .99)), ms(quantile(lags, 1)))
	b.Logf("lag due→queued by Tick: p50 %.1f ms, p99 %.1f ms; queued→claimed: p50 %.1f ms, p99 %.1f ms",
		ms(quantile(tickLags, .5)), ms(quantile(tickLags, .99)), ms(quantile(claimLags, .5)), ms(quantile(claimLags, .99)))
	b.Logf("runner: %d commits (%.0f/s, %.2f callers each, %.2f ms each); CPU %.2f cores over %s; panics %d",
		nCommits, float64(nCommits)/wall.Seconds(), float64(commits.callers.Load())/float64(max(commits.commits.Load(), 1)),
		ms(time.Duration(commits.nanos.Load()/max(commits.commits.Load(), 1))),
		(cpu1-cpu0).Seconds()/wall.Seconds(), wall.Round(time.Millisecond), m.panics.Load())
	b.Logf("transactions of %s or more: %d, %.1f s in all (%.0f%% of the wall time), longest %.0f ms", longCommit,
		commits.long.Load(), time.Duration(commits.longNanos.Load()).Seconds(),
		100*time.Duration(commits.longNanos.Load()).Seconds()/wall.Seconds(), ms(time.Duration(commits.maxNanos.Load())))
	if window > 0 {
		logLagByDue(b, pages, due)
	}
	if stormed != nil {
		n := <-stormed
		d := first.Add(window).Sub(stormFrom)
		b.Logf("storm: %d alerts accepted through the journal over %s (%.0f/s)", n, d.Round(time.Millisecond), float64(n)/d.Seconds())
	}

	b.ReportMetric(ms(quantile(lags, .5)), "p50-lag-ms")
	b.ReportMetric(ms(quantile(lags, .99)), "p99-lag-ms")
	b.ReportMetric(ms(quantile(lags, 1)), "max-lag-ms")
	b.ReportMetric(rate, "pages/s")
	b.ReportMetric(float64(unsent), "unsent")
}

// logLagByDue prints the lag per tenth of the due window, which shows
// whether the runner keeps up or falls further behind.
func logLagByDue(b *testing.B, pages []sent, due []time.Time) {
	first, last := due[1], due[len(due)-1]
	span := last.Sub(first) + 1
	var buckets [10][]time.Duration
	for _, s := range pages {
		d := due[s.page.IncidentID]
		i := int(int64(d.Sub(first)) * 10 / int64(span))
		buckets[i] = append(buckets[i], s.at.Sub(d))
	}
	line := "p99 lag by due time (tenths of the window):"
	for _, bk := range buckets {
		slices.Sort(bk)
		line += fmt.Sprintf(" %.0f", ms(quantile(bk, .99)))
	}
	b.Log(line + " ms")
}

// BenchmarkIdleCPU: 100,000 open incidents whose next steps are hours away,
// the real Runner on the system clock; the process's CPU time over 60 s,
// two of the runner's 30 s idle wake-ups. It also times Engine.Stats,
// which every Prometheus scrape of /metrics calls.
func BenchmarkIdleCPU(b *testing.B) {
	const window = 60 * time.Second
	ctx := b.Context()
	path := filepath.Join(b.TempDir(), "klaxon.db")
	db, err := buildTimers(ctx, path, timerIncidents)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := retime(ctx, db, timerIncidents, time.Now().Add(2*time.Hour).Round(0), timerWindow); err != nil {
		b.Fatal(err)
	}
	if err := db.Close(); err != nil {
		b.Fatal(err)
	}
	db, err = store.Open(path, store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	st := &countingStore{Store: db}
	rec := newRecorder(-1)
	eng, err := escalation.New(escalation.Options{Store: st, Catalog: catalog(firstStep), Clock: escalation.SystemClock{},
		Pagers: rec.pagers(), Logger: warnLogger()})
	if err != nil {
		b.Fatal(err)
	}
	runner, stop := startRunner(ctx, eng)
	defer stop()
	for runner.LastPass().IsZero() {
		time.Sleep(time.Millisecond)
	}
	liveHeap() // the build's garbage is not the idle runner's work
	time.Sleep(time.Second)

	views0, updates0 := st.views.Load(), st.updates.Load()
	cpu0, err := cpuTime()
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	time.Sleep(window)
	b.StopTimer()
	cpu1, err := cpuTime()
	if err != nil {
		b.Fatal(err)
	}
	views, updates := st.views.Load()-views0, st.updates.Load()-updates0
	idle := cpu1 - cpu0

	// What one /metrics scrape costs with these incidents open.
	t0 := time.Now()
	c0, _ := cpuTime()
	stats, err := eng.Stats(ctx)
	statsWall := time.Since(t0)
	c1, _ := cpuTime()
	if err != nil {
		b.Fatal(err)
	}
	if err := stop(); err != nil {
		b.Fatal(err)
	}
	open := openIncidents(stats)
	if open != timerIncidents || len(rec.all()) != 0 {
		b.Fatalf("open incidents %d, pages sent %d; want %d and 0", open, len(rec.all()), timerIncidents)
	}
	b.Logf("idle %s: CPU %s (%.3f%% of one core); %d read and %d write transactions", window, idle.Round(time.Microsecond),
		100*idle.Seconds()/window.Seconds(), views, updates)
	b.Logf("Engine.Stats with %d open incidents: %s wall, %s CPU", open, statsWall.Round(time.Millisecond), (c1 - c0).Round(time.Millisecond))
	b.ReportMetric(float64(idle)/float64(time.Millisecond), "cpu-ms")
	b.ReportMetric(100*idle.Seconds()/window.Seconds(), "cpu-%")
	b.ReportMetric(float64(views+updates), "txs")
	b.ReportMetric(ms(statsWall), "stats-ms")
}

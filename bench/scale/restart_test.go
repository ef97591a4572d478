package scale

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/klaxonhq/klaxon/escalation"
	"github.com/klaxonhq/klaxon/store"
)

const (
	restartAlerts    = 1_000_000
	restartIncidents = 10_000
	restartOpen      = 1_000 // the rest are resolved
)

// BenchmarkRestart: restart to ready with 1,000,000 stored alerts. The
// database is built once per run: 1,000,000 alerts in webhooks of 100, one
// alert group each, over 10,000 incidents that each paged by SMS; 9,000 of
// them are then resolved, 1,000 stay triggered with their call hours away.
// Each iteration then does what `klaxon serve` does before /readyz says
// ready: store.Open, escalation.New, and Runner.Run (which recovers the
// outbox first) until Runner.LastPass is set. "warm" restarts with the file
// in the page cache, "cold" after dropping it (posix_fadvise DONTNEED),
// "overdue" on a copy of the file as if Klaxon had been down for four
// hours, so that the first pass has the 1,000 open incidents' calls to
// make. Run with -benchtime 5x: each sub-benchmark's first call is a
// warm-up and the reported medians are over its five iterations.
func BenchmarkRestart(b *testing.B) {
	ctx := b.Context()
	path := filepath.Join(b.TempDir(), "klaxon.db")
	began := time.Now()
	if err := buildRestart(ctx, path); err != nil {
		b.Fatal(err)
	}
	// The build skipped fsync: flush it now, or the first restart's commit
	// would pay for writing the whole file.
	if err := syncFile(path); err != nil {
		b.Fatal(err)
	}
	size, err := fileSize(path)
	if err != nil {
		b.Fatal(err)
	}
	// A parent benchmark's log is not printed; each sub-benchmark repeats it.
	built := fmt.Sprintf("database: %d alerts over %d incidents (%d open), built in %s (NoSync); file %.0f MiB",
		restartAlerts, restartIncidents, restartOpen, time.Since(began).Round(time.Second), mib(uint64(size)))
	for _, v := range []struct {
		name     string
		cold     bool
		downtime time.Duration
	}{
		{name: "warm"},
		{name: "cold", cold: true},
		// Klaxon was down for four hours: the open incidents' calls are
		// overdue, so the first pass has escalation work to do.
		{name: "overdue", downtime: 4 * time.Hour},
	} {
		b.Run(v.name, func(b *testing.B) {
			b.Log(built)
			var ready, open []time.Duration
			pages := 0
			for range b.N {
				b.StopTimer()
				at := path
				if v.downtime > 0 {
					// The first pass changes the file: each restart gets a copy.
					at = filepath.Join(filepath.Dir(path), "copy.db")
					if err := copyFile(path, at); err != nil {
						b.Fatal(err)
					}
				}
				if v.cold {
					if err := evict(at); err != nil {
						b.Fatal(err)
					}
				}
				var clock escalation.Clock = escalation.SystemClock{}
				if v.downtime > 0 {
					clock = shiftedClock{v.downtime}
				}
				b.StartTimer()
				r, o, n, err := restart(ctx, at, clock)
				if err != nil {
					b.Fatal(err)
				}
				pages = n
				ready, open = append(ready, r), append(open, o)
			}
			slices.Sort(ready)
			slices.Sort(open)
			b.Logf("ready in %v (open %v); the last restart's runner sent %d pages", ready, open, pages)
			b.ReportMetric(ms(quantile(ready, .5)), "ready-ms")
			b.ReportMetric(ms(quantile(ready, 1)), "max-ready-ms")
			b.ReportMetric(ms(quantile(open, .5)), "open-ms")
			b.ReportMetric(mib(uint64(size)), "file-MiB")
		})
	}
}

// shiftedClock is the system clock moved by a fixed offset: a restart after
// that much downtime.
type shiftedClock struct{ by time.Duration }

func (c shiftedClock) Now() time.Time { return time.Now().Add(c.by) }

func copyFile(from, to string) error {
	src, err := os.Open(from)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := os.Create(to)
	if err != nil {
		return err
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return fmt.Errorf("copy %s: %w", from, err)
	}
	if err := dst.Sync(); err != nil {
		dst.Close()
		return fmt.Errorf("copy %s: %w", from, err)
	}
	return dst.Close()
}

// buildRestart writes the restart database at path, without fsync.
func buildRestart(ctx context.Context, path string) error {
	db, err := store.Open(path, store.Options{NoSync: true})
	if err != nil {
		return err
	}
	defer db.Close()
	clock := escalation.NewManualClock(time.Now().Add(-10 * time.Minute).Round(0))
	rec := newRecorder(restartIncidents)
	eng, err := escalation.New(escalation.Options{Store: db, Catalog: catalog(0), Clock: clock, Pagers: rec.pagers()})
	if err != nil {
		return err
	}
	perGroup := restartAlerts / restartIncidents
	err = ingestBatches(ctx, eng, grouped, restartIncidents, 2, func(g int) []escalation.Alert {
		out := make([]escalation.Alert, perGroup)
		for j := range out {
			out[j] = alert(fmt.Sprintf("k%07d", g*perGroup+j), g, 0)
		}
		return out
	})
	if err != nil {
		return fmt.Errorf("build: %w", err)
	}
	clock.Advance(time.Second)
	if err := eng.RunDue(ctx); err != nil {
		return fmt.Errorf("build: send pages: %w", err)
	}
	if n := len(rec.all()); n != restartIncidents {
		return fmt.Errorf("build: %d pages sent, want %d", n, restartIncidents)
	}
	for id := int64(1); id <= restartIncidents-restartOpen; id++ {
		if _, err := eng.Resolve(ctx, id, escalation.Actor{Name: person, Via: escalation.ViaAPI}, "fixed"); err != nil {
			return fmt.Errorf("build: resolve #%d: %w", id, err)
		}
	}
	return db.Close()
}

// restart opens the database as `klaxon serve` does and returns the time
// until the runner's first pass completed, the part of it store.Open took,
// and how many pages the runner sent before it stopped.
func restart(ctx context.Context, path string, clock escalation.Clock) (ready, open time.Duration, pages int, err error) {
	t0 := time.Now()
	db, err := store.Open(path, store.Options{})
	if err != nil {
		return 0, 0, 0, err
	}
	defer db.Close()
	open = time.Since(t0)
	rec := newRecorder(-1)
	eng, err := escalation.New(escalation.Options{Store: db, Catalog: catalog(0), Clock: clock,
		Pagers: rec.pagers(), Logger: warnLogger()})
	if err != nil {
		return 0, 0, 0, err
	}
	runner, stop := startRunner(ctx, eng)
	defer stop()
	for runner.LastPass().IsZero() {
		time.Sleep(100 * time.Microsecond)
	}
	ready = time.Since(t0)
	if err := stop(); err != nil {
		return 0, 0, 0, err
	}
	return ready, open, len(rec.all()), db.Close()
}

func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", path, err)
	}
	return nil
}

// evict drops the file's pages from the page cache, so the next open reads
// it from the disk.
func evict(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED); err != nil {
		return fmt.Errorf("fadvise %s: %w", path, err)
	}
	return nil
}

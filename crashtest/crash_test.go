//go:build unix

package crashtest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const (
	kills = 5
	// Kills come at random moments this far apart, counted from the
	// previous restart's readiness, so all of them land in the storm.
	minKillGap = 500 * time.Millisecond
	maxKillGap = 2 * time.Second
	// settle is how long the last run escalates alone after the storm: more
	// than a contact step, so every incident still triggered is paged by it.
	settle = 8 * time.Second
)

// An alert storm hits checkout: 600 shards fire, most resolve a few
// seconds later, and Klaxon is killed with SIGKILL five times while the
// webhooks arrive and the pages go out. Each time it is restarted on the
// same database. Afterwards nothing Klaxon answered 2xx for is lost, every
// contact step that fell due was paged, and the provider got duplicates
// only of pages a kill caught in flight.
func TestKillNineLosesNoAckedAlertAndNoDuePage(t *testing.T) {
	began := time.Now()
	seed := uint64(began.UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, seed>>32))
	script := stormScript(rng)
	var gaps []time.Duration
	for range kills {
		gaps = append(gaps, minKillGap+time.Duration(rng.Int64N(int64(maxKillGap-minKillGap))))
	}

	bin := buildKlaxon(t)
	built := time.Since(began)
	gateway := &provider{}
	srv := httptest.NewServer(gateway)
	t.Cleanup(srv.Close)

	dir := t.TempDir()
	addr := freeAddr(t, rng)
	config, err := writeConfig(dir, addr, srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	checkConfig(t, bin, config)

	ctx, cancel := context.WithTimeout(t.Context(), 120*time.Second)
	defer cancel()
	k := newKlaxon(t, bin, config, addr)
	if err := k.start(ctx); err != nil {
		t.Fatal(err)
	}

	storm := startStorm(ctx, k.base, script)
	var killed []kill
	var slowest time.Duration // from a kill to the next run's readiness
	for _, gap := range gaps {
		timer := time.NewTimer(gap)
		select {
		case <-timer.C:
		case <-k.exited:
			t.Fatalf("klaxon run %d exited on its own: %v", k.runs, k.waitErr)
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		}
		kl := kill{at: time.Now(), inStorm: !isDone(storm.done)}
		if err := k.kill(); err != nil {
			t.Fatal(err)
		}
		if err := k.start(ctx); err != nil {
			t.Fatal(err)
		}
		kl.ready = time.Now()
		killed = append(killed, kl)
		slowest = max(slowest, kl.ready.Sub(kl.at))
	}

	select {
	case <-storm.done:
	case <-ctx.Done():
		t.Fatalf("the storm did not finish: %v", ctx.Err())
	}
	if storm.err != nil {
		t.Fatal(storm.err)
	}
	timer := time.NewTimer(settle)
	select {
	case <-timer.C:
	case <-k.exited:
		t.Fatalf("klaxon run %d exited on its own: %v", k.runs, k.waitErr)
	}
	end := time.Now()
	if err := k.stop(); err != nil {
		t.Fatal(err)
	}

	snap, err := readStore(ctx, filepath.Join(dir, "klaxon.db"))
	if err != nil {
		t.Fatal(err)
	}
	log, torn := gateway.log()
	a := &audit{alerts: storm.alerts, snap: snap, log: log, torn: torn, kills: killed, end: end}
	a.fig.posted, a.fig.postsAcked, a.fig.postsFailed = storm.posted.Load(), storm.acked.Load(), storm.failed.Load()
	a.run()

	var at []string
	for _, kl := range killed {
		at = append(at, fmt.Sprintf("+%.1fs", kl.at.Sub(storm.start).Seconds()))
		if !kl.inStorm {
			t.Errorf("the kill at +%s came after the storm: the storm is too short to be killed in", kl.at.Sub(storm.start).Round(time.Millisecond))
		}
	}
	fg := a.fig
	t.Logf(`crash test, seed %d, %.1fs wall (%.1fs of it building klaxon)
  kills:     %d × SIGKILL at %s of the storm, each restarted on the same database (ready within %s)
  webhooks:  %d posted, %d answered 2xx, %d failed and re-sent
  alerts:    %d fired, %d answered 2xx, %d found in the store
  incidents: %d (%d resolved by their monitor, %d still triggered)
  steps:     %d contact steps due, %d paged, %d skipped for a later step (%d across a kill, %d catching up), %d resolved first, %d missed
  pages:     %d queued, %d delivered, %d provider requests, %d duplicates (a page at most %d times), %d torn by a kill
  after the last restart: %d pages delivered
  due → provider: p50 %s, p99 %s, max %s`,
		seed, time.Since(began).Seconds(), built.Seconds(),
		len(killed), strings.Join(at, " "), slowest.Round(time.Millisecond),
		fg.posted, fg.postsAcked, fg.postsFailed,
		fg.alertsFired, fg.alertsAcked, fg.found,
		fg.incidents, fg.resolved, fg.triggered,
		fg.stepsDue, fg.stepsPaged, fg.skippedKill+fg.skippedBusy, fg.skippedKill, fg.skippedBusy, fg.cutByResolve, fg.stepsMissed,
		fg.pages, fg.delivered, fg.requests, fg.dups, fg.maxDeliveries, fg.torn,
		fg.afterLastRestart,
		fg.lagP50.Round(time.Millisecond), fg.lagP99.Round(time.Millisecond), fg.lagMax.Round(time.Millisecond))
	a.f.report(t)
}

func isDone(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

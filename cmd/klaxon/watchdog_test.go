package main

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/escalation/escalationtest"
)

type lastPass struct{ at time.Time }

func (l lastPass) LastPass() time.Time { return l.at }

// firstPass is a runner whose first pass is still under way the first
// time it is asked, and done at at from then on.
type firstPass struct {
	asked atomic.Bool
	at    time.Time
}

func (f *firstPass) LastPass() time.Time {
	if !f.asked.Swap(true) {
		return time.Time{}
	}
	return f.at
}

// newPingServer is a dead man's switch: it hands on the path of each ping.
func newPingServer(t *testing.T) (*httptest.Server, <-chan string) {
	pings := make(chan string, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pings <- r.URL.Path
	}))
	t.Cleanup(srv.Close)
	return srv, pings
}

// At start the runner's first pass takes a moment (recovering the
// outbox): the watchdog neither reports that as a stuck runner nor waits
// a whole interval to ping once it is done.
func TestWatchdogPingsOnceTheFirstPassIsDone(t *testing.T) {
	srv, pings := newPingServer(t)
	now := time.Date(2026, 3, 2, 1, 0, 0, 0, time.UTC)
	var logs syncBuffer
	runner := &firstPass{at: now}
	wd := &watchdog{url: srv.URL + "/ping/abc", every: time.Hour, runner: runner, clock: escalationtest.NewClock(now),
		client: srv.Client(), log: slog.New(slog.NewTextHandler(&logs, nil))}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { wd.run(ctx); close(done) }()
	select {
	case <-pings:
	case <-time.After(10 * time.Second):
		t.Fatal("no ping within seconds of the first pass; the interval is an hour")
	}
	cancel()
	<-done
	if strings.Contains(logs.String(), "not ticking") {
		t.Fatalf("the start was reported as a stuck runner:\n%s", logs.String())
	}
}

// Klaxon tells the outside world it is alive while its runner ticks, and
// falls silent when the runner is stuck — so the outside switch fires.
func TestWatchdogPingsOnlyWhileTheRunnerTicks(t *testing.T) {
	srv, pings := newPingServer(t)
	now := time.Date(2026, 3, 2, 1, 0, 0, 0, time.UTC)
	clock := escalationtest.NewClock(now)

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	wd := &watchdog{url: srv.URL + "/ping/abc", every: 5 * time.Millisecond, runner: lastPass{now}, clock: clock,
		client: srv.Client(), log: slog.New(slog.DiscardHandler)}
	go func() { wd.run(ctx); close(done) }()
	for range 2 {
		select {
		case p := <-pings:
			if p != "/ping/abc" {
				t.Fatalf("pinged %s", p)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no ping")
		}
	}
	cancel()
	<-done

	// Stuck: the last pass was an hour ago.
	stuck := &watchdog{url: srv.URL + "/ping/abc", every: 5 * time.Millisecond, runner: lastPass{now.Add(-time.Hour)}, clock: clock,
		client: srv.Client(), log: slog.New(slog.DiscardHandler)}
	for len(pings) > 0 {
		<-pings
	}
	ctx, cancel = context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	stuck.run(ctx)
	if len(pings) != 0 {
		t.Fatalf("a stuck Klaxon pinged %d times", len(pings))
	}
}

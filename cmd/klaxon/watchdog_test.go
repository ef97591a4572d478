package main

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/escalation/escalationtest"
)

type lastPass struct{ at time.Time }

func (l lastPass) LastPass() time.Time { return l.at }

// Klaxon tells the outside world it is alive while its runner ticks, and
// falls silent when the runner is stuck — so the outside switch fires.
func TestWatchdogPingsOnlyWhileTheRunnerTicks(t *testing.T) {
	pings := make(chan string, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pings <- r.URL.Path
	}))
	defer srv.Close()
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

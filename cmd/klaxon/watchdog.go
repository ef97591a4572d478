package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/klaxonhq/klaxon/escalation"
)

// watchdog pings an external dead man's switch (healthchecks.io, Cronitor,
// another Klaxon's /heartbeat) every interval while the runner is ticking,
// so someone hears about it when Klaxon itself dies or hangs.
type watchdog struct {
	url    string
	every  time.Duration
	runner interface{ LastPass() time.Time }
	clock  escalation.Clock
	client *http.Client
	log    *slog.Logger
}

// run pings until ctx ends. A ping is sent only when the runner completed
// a pass within two intervals: a process that is up but stuck stays silent.
func (w *watchdog) run(ctx context.Context) {
	start := w.clock.Now()
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		next := w.every
		switch last := w.runner.LastPass(); {
		case last.IsZero() && w.clock.Now().Sub(start) < w.every:
			// Starting: the runner's first pass is under way. The first
			// ping goes as soon as it is done, not an interval later,
			// and the start is not reported as a stuck runner.
			next = min(w.every, time.Second)
		case !last.IsZero() && w.clock.Now().Sub(last) <= 2*w.every+time.Minute:
			if err := w.ping(ctx); err != nil && ctx.Err() == nil {
				w.log.Warn("watchdog ping failed", "err", err)
			}
		default:
			w.log.Warn("watchdog: runner not ticking; not pinging", "last_pass", last)
		}
		t.Reset(next)
	}
}

func (w *watchdog) ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, w.url, nil)
	if err != nil {
		return err
	}
	resp, err := w.client.Do(req)
	if err != nil {
		// The URL may carry a secret (healthchecks.io's uuid): say why the
		// request failed without it.
		var ue *url.Error
		if errors.As(err, &ue) {
			return fmt.Errorf("watchdog request: %w", ue.Err)
		}
		return errors.New("watchdog request failed")
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("watchdog answered %s", resp.Status)
	}
	return nil
}

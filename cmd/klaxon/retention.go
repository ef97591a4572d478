package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/klaxonhq/klaxon/escalation"
)

// pruner is what the retention loop needs of the engine.
type pruner interface {
	Prune(ctx context.Context, keep time.Duration) (escalation.Deleted, error)
}

// pruneEvery is how often the retention runs, and pruneFirst how soon
// after start: late enough not to slow the start, or to act on a clock
// not yet set right at boot.
const (
	pruneEvery = time.Hour
	pruneFirst = 15 * time.Minute
)

// runRetention deletes what is older than keep, hourly, until ctx ends.
func runRetention(ctx context.Context, eng pruner, keep time.Duration, log *slog.Logger) {
	if keep <= 0 {
		return
	}
	timer := time.NewTimer(pruneFirst)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		if err := pruneOnce(ctx, eng, keep); err != nil && ctx.Err() == nil {
			log.Error("retention: prune failed; it runs again within the hour", "err", err)
		}
		timer.Reset(pruneEvery)
	}
}

// pruneOnce runs one prune; a panic in it is an error, not a crash.
func pruneOnce(ctx context.Context, eng pruner, keep time.Duration) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("panic: %v", v)
		}
	}()
	_, err = eng.Prune(ctx, keep)
	return err
}

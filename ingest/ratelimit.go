package ingest

import (
	"context"
	"fmt"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/klaxonhq/klaxon/escalation"
)

// RateLimit bounds one integration's requests: PerSecond on average, Burst
// at once. A sender over it is answered 429 with Retry-After and nothing is
// stored; a monitor in a loop cannot crowd out the others.
type RateLimit struct {
	PerSecond float64
	Burst     int
}

// limitedIngester applies each integration's limit before the engine sees
// the request. Only authenticated requests reach it, so a stranger cannot
// use up a monitor's budget.
type limitedIngester struct {
	Ingester
	limit RateLimit
	now   func() time.Time

	mu       sync.Mutex
	limiters map[string]*rate.Limiter
}

func (l *limitedIngester) Ingest(ctx context.Context, integration string, alerts []escalation.Alert) (escalation.IngestResult, error) {
	l.mu.Lock()
	lim, ok := l.limiters[integration]
	if !ok {
		lim = rate.NewLimiter(rate.Limit(l.limit.PerSecond), l.limit.Burst)
		l.limiters[integration] = lim
	}
	now := l.now()
	r := lim.ReserveN(now, 1)
	delay := r.DelayFrom(now)
	if delay > 0 {
		r.CancelAt(now)
	}
	l.mu.Unlock()
	if delay > 0 {
		return escalation.IngestResult{}, &escalation.Error{Code: escalation.CodeRateLimited, RetryAfter: delay,
			Message: fmt.Sprintf("integration %s sends more than %g requests a second (burst %d); retry after %s",
				integration, l.limit.PerSecond, l.limit.Burst, delay.Round(time.Millisecond))}
	}
	return l.Ingester.Ingest(ctx, integration, alerts)
}

// WithRateLimit limits every integration's requests; now is the clock the
// limits run on.
func (h *Handler) WithRateLimit(limit RateLimit, now func() time.Time) *Handler {
	if limit.PerSecond > 0 && limit.Burst > 0 {
		h.ing = &limitedIngester{Ingester: h.ing, limit: limit, now: now, limiters: map[string]*rate.Limiter{}}
	}
	return h
}

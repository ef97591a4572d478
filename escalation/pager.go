package escalation

import "context"

// Pager delivers a page over one channel. It returns a Permanent error when
// retrying cannot help; any other error is retried with backoff.
type Pager interface {
	Send(ctx context.Context, p Page) (Delivery, error)
}

// Delivery is what a provider says about a page it accepted.
type Delivery struct {
	Provider   string
	ProviderID string
	// Failed lists providers tried before this one that failed, with why,
	// so the timeline shows every failure, not only the final outcome.
	Failed []string
}

// PagerFunc adapts a function to Pager.
type PagerFunc func(ctx context.Context, p Page) (Delivery, error)

// Send calls f.
func (f PagerFunc) Send(ctx context.Context, p Page) (Delivery, error) { return f(ctx, p) }

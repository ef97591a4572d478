package bot

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/klaxonhq/klaxon/escalation"
)

// Provider is a named pager: Twilio, an SMS gateway.
type Provider struct {
	Name  string
	Pager escalation.Pager
}

// Failover tries a channel's providers in order until one takes the page,
// so paging has no single dependency. Failures before the one that
// delivered travel on the Delivery to the timeline. When every provider
// fails, the page fails for good: the person's next contact rule is used
// at once rather than waiting on a channel that is down everywhere.
type Failover struct {
	Providers []Provider
}

// Send implements escalation.Pager.
func (f Failover) Send(ctx context.Context, p escalation.Page) (escalation.Delivery, error) {
	var failed []string
	var errs []error
	for _, pr := range f.Providers {
		if err := ctx.Err(); err != nil {
			errs = append(errs, err)
			break
		}
		d, err := pr.Pager.Send(ctx, p)
		if err == nil {
			if d.Provider == "" {
				d.Provider = pr.Name
			}
			d.Failed = append(failed, d.Failed...)
			return d, nil
		}
		failed = append(failed, fmt.Sprintf("%s: %v", pr.Name, err))
		errs = append(errs, err)
	}
	if len(f.Providers) == 1 {
		// One provider: its own retry rules apply.
		return escalation.Delivery{Provider: f.Providers[0].Name}, errs[0]
	}
	// Each provider's failure travels on, so that each is counted against
	// its provider, not against none.
	return escalation.Delivery{Failed: failed}, escalation.Permanent(fmt.Errorf("every provider failed: %s: %w",
		strings.Join(failed, "; "), errors.Join(errs...)))
}

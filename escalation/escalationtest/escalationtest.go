// Package escalationtest has the test doubles the core's tests and the
// scenario harness share: a fake clock and a pager that records every page.
package escalationtest

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/klaxonhq/klaxon/escalation"
)

// Clock is the engine's manual clock, under the name tests know it by.
type Clock = escalation.ManualClock

// NewClock starts a clock at t.
func NewClock(t time.Time) *Clock { return escalation.NewManualClock(t) }

// Sent is one page a Pager accepted (or refused), with the clock's time.
type Sent struct {
	At   time.Time
	Page escalation.Page
	Err  error
}

func (s Sent) String() string {
	return fmt.Sprintf("%s %s %s #%d", s.At.Format("15:04:05"), s.Page.Person, s.Page.Channel, s.Page.IncidentID)
}

// Pager records pages. Fail, when set, decides an error for a page.
type Pager struct {
	Clock    escalation.Clock
	Provider string
	Fail     func(p escalation.Page) error

	mu   sync.Mutex
	sent []Sent
}

// Send records the page.
func (r *Pager) Send(_ context.Context, p escalation.Page) (escalation.Delivery, error) {
	var err error
	if r.Fail != nil {
		err = r.Fail(p)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sent = append(r.sent, Sent{At: r.Clock.Now(), Page: p, Err: err})
	if err != nil {
		return escalation.Delivery{Provider: r.provider()}, err
	}
	return escalation.Delivery{Provider: r.provider(), ProviderID: fmt.Sprintf("%s-%d", r.provider(), p.ID)}, nil
}

func (r *Pager) provider() string {
	if r.Provider == "" {
		return "recorder"
	}
	return r.Provider
}

// Sent returns every attempt so far, in order.
func (r *Pager) Sent() []Sent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Sent(nil), r.sent...)
}

// Delivered returns the attempts that succeeded.
func (r *Pager) Delivered() []Sent {
	var out []Sent
	for _, s := range r.Sent() {
		if s.Err == nil {
			out = append(out, s)
		}
	}
	return out
}

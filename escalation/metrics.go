package escalation

import (
	"context"
	"time"
)

// Metrics is told what the engine does, for an exporter to count. Calls
// are cheap and never fail; the engine makes them outside transactions.
type Metrics interface {
	// Alerts counts one delivery's alerts by outcome: created, updated,
	// reopened, unchanged, ignored, error.
	Alerts(integration, outcome string, n int)
	// Page counts a delivery attempt's outcome: sent, retry, failed.
	Page(ch Channel, provider, outcome string)
	// Lag is how late a page was handed to its provider after it fell due.
	Lag(d time.Duration)
	// Panic counts a recovered panic by where it happened (one of
	// PanicPlaces).
	Panic(where string)
}

// Where the engine recovers panics, as Metrics.Panic names them.
const (
	PanicRunner   = "runner"
	PanicPager    = "pager"
	PanicPage     = "page" // recording an outcome
	PanicChat     = "chat"
	PanicIncident = "incident"
)

// PanicPlaces lists them, so that an exporter can show each at zero before
// the first: an alert on the counter's increase then sees the first panic.
func PanicPlaces() []string {
	return []string{PanicRunner, PanicPager, PanicPage, PanicChat, PanicIncident}
}

type noMetrics struct{}

func (noMetrics) Alerts(string, string, int)   {}
func (noMetrics) Page(Channel, string, string) {}
func (noMetrics) Lag(time.Duration)            {}
func (noMetrics) Panic(string)                 {}

// Stats is the engine's state for gauges: open incidents by status and
// priority, and what waits in the outboxes.
type Stats struct {
	Open        map[Status]map[Priority]int
	Outbox      int
	ChatBacklog int
}

// Stats reads the gauges' state: the open incidents (the store lists them
// from its open index, so resolved history costs nothing) and the outboxes.
func (e *Engine) Stats(ctx context.Context) (Stats, error) {
	st := Stats{Open: map[Status]map[Priority]int{}}
	err := e.store.View(ctx, func(tx Tx) error {
		for _, s := range []Status{StatusTriggered, StatusAcknowledged} {
			st.Open[s] = map[Priority]int{}
			incs, err := tx.Incidents(s, 0)
			if err != nil {
				return err
			}
			for _, inc := range incs {
				st.Open[s][inc.Priority]++
			}
		}
		pages, err := tx.Outbox()
		if err != nil {
			return err
		}
		st.Outbox = len(pages)
		posts, err := tx.DueChatPosts(never(), 0, nil)
		st.ChatBacklog = len(posts)
		return err
	})
	return st, err
}

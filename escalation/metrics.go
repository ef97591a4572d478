package escalation

import (
	"context"
	"maps"
	"slices"
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
	// Panic counts a recovered panic by where it happened: runner, pager,
	// chat, incident.
	Panic(where string)
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

// Stats reads the gauges' state: the open incidents through the store's
// open index (resolved history costs nothing), and the outboxes.
func (e *Engine) Stats(ctx context.Context) (Stats, error) {
	st := Stats{Open: map[Status]map[Priority]int{StatusTriggered: {}, StatusAcknowledged: {}}}
	err := e.store.View(ctx, func(tx Tx) error {
		services := append(slices.Collect(maps.Keys(e.cat.Services)), "") // "": paged by hand
		for _, svc := range services {
			ids, err := tx.OpenIncidents(svc)
			if err != nil {
				return err
			}
			for _, id := range ids {
				inc, err := tx.Incident(id)
				if err != nil {
					return err
				}
				if inc.Status.Open() {
					st.Open[inc.Status][inc.Priority]++
				}
			}
		}
		pages, err := tx.Outbox()
		if err != nil {
			return err
		}
		st.Outbox = len(pages)
		posts, err := tx.DueChatPosts(time.Unix(1<<62, 0), 0)
		st.ChatBacklog = len(posts)
		return err
	})
	return st, err
}

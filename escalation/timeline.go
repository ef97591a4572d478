package escalation

import (
	"fmt"
	"slices"
	"strings"
)

// ingestTx is the transaction of one delivery of alerts. It merges runs of
// alert events of one kind for one incident into a single timeline entry,
// so a storm of a hundred alerts in one webhook reads "100 alerts attached",
// not a hundred lines, and costs one write. Other entries pass through in
// order: pending alert entries of an incident are written before anything
// else is appended to it. It also lists the incidents whose escalation
// starts once all the delivery's alerts are in.
type ingestTx struct {
	Tx
	pending  []pendingEvent
	starting []int64
}

func (c *ingestTx) startsLater(id int64) bool { return slices.Contains(c.starting, id) }

type pendingEvent struct {
	incidentID int64
	ev         Event
	summaries  []string
}

// maxListed bounds the summaries quoted in a merged entry.
const maxListed = 3

func alertKind(k EventKind) bool {
	switch k {
	case EventAlertAttached, EventAlertUpdated, EventAlertResolved, EventAlertRefired:
		return true
	}
	return false
}

func (c *ingestTx) AppendEvent(incidentID int64, ev Event) error {
	i := c.find(incidentID)
	// Merged only when the same monitor sent them: the entry names it.
	if i >= 0 && alertKind(ev.Kind) && c.pending[i].ev.Kind == ev.Kind && c.pending[i].ev.Actor == ev.Actor {
		p := &c.pending[i]
		p.ev.Count++
		if len(p.summaries) <= maxListed {
			p.summaries = append(p.summaries, ev.Message)
		}
		return nil
	}
	if i >= 0 {
		if err := c.flush(i); err != nil {
			return err
		}
	}
	if alertKind(ev.Kind) {
		ev.Count = 1
		c.pending = append(c.pending, pendingEvent{incidentID: incidentID, ev: ev, summaries: []string{ev.Message}})
		return nil
	}
	return c.Tx.AppendEvent(incidentID, ev)
}

// Events must see what is pending.
func (c *ingestTx) Events(incidentID int64) ([]Event, error) {
	if i := c.find(incidentID); i >= 0 {
		if err := c.flush(i); err != nil {
			return nil, err
		}
	}
	return c.Tx.Events(incidentID)
}

func (c *ingestTx) find(incidentID int64) int {
	for i := range c.pending {
		if c.pending[i].incidentID == incidentID {
			return i
		}
	}
	return -1
}

func (c *ingestTx) flush(i int) error {
	p := c.pending[i]
	c.pending = append(c.pending[:i], c.pending[i+1:]...)
	ev := p.ev
	if ev.Count > 1 {
		verb := strings.TrimPrefix(string(ev.Kind), "alert_")
		list := strings.Join(p.summaries[:min(len(p.summaries), maxListed)], "; ")
		if ev.Count > maxListed {
			list += fmt.Sprintf("; and %d more", ev.Count-maxListed)
		}
		ev.DedupKey = ""
		ev.Message = fmt.Sprintf("%d alerts %s: %s", ev.Count, verb, list)
	} else {
		ev.Count = 0
	}
	return c.Tx.AppendEvent(p.incidentID, ev)
}

func (c *ingestTx) flushAll() error {
	for len(c.pending) > 0 {
		if err := c.flush(0); err != nil {
			return err
		}
	}
	return nil
}

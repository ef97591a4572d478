package crashtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// gatewayBody is what the config's sms_gateways entry posts for each page;
// id is the page's idempotency key, stable across re-sends.
const gatewayBody = `{"id": {{.ID | json}}, "person": {{.Person | json}}, "channel": {{.Channel | json}}, "to": {{.To | json}}, "text": {{.Text | json}}}`

// provider is the SMS and voice gateway Klaxon pages through. It takes
// every page, answers 200 with a message id, and remembers when each
// arrived by its own (wall) clock: what it logged was delivered, whatever
// Klaxon managed to record before it died.
type provider struct {
	mu         sync.Mutex
	deliveries []delivery
	// torn counts requests cut off by a kill before their body was whole;
	// no phone would have rung for them.
	torn int
}

// delivery is one request the provider took.
type delivery struct {
	page    int64 // from the idempotency key klaxon-page-N
	person  string
	channel string
	at      time.Time
}

func (p *provider) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body struct {
		ID, Person, Channel, To, Text string
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		p.mu.Lock()
		p.torn++
		p.mu.Unlock()
		http.Error(w, "unreadable request", http.StatusBadRequest)
		return
	}
	d := delivery{person: body.Person, channel: body.Channel, at: time.Now()}
	id, ok := strings.CutPrefix(body.ID, "klaxon-page-")
	n, err := strconv.ParseInt(id, 10, 64)
	if !ok || err != nil || n <= 0 {
		// Not a page Klaxon could have sent: fail the test through an
		// unknown page id rather than drop it.
		n = -1
	}
	d.page = n
	p.mu.Lock()
	p.deliveries = append(p.deliveries, d)
	sid := len(p.deliveries)
	p.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"sid": "SM%08d", "status": "queued"}`, sid)
}

// log is every delivery so far, in arrival order.
func (p *provider) log() ([]delivery, int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := slices.Clone(p.deliveries)
	slices.SortStableFunc(out, func(a, b delivery) int { return a.at.Compare(b.at) })
	return out, p.torn
}

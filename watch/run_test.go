package watch_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/klaxonhq/klaxon/escalation"
	"github.com/klaxonhq/klaxon/watch"
)

// ingester records what Run hands it, one delivery per receive on
// rounds; refuse makes the next delivery fail.
type ingester struct {
	mu     sync.Mutex
	refuse error
	rounds chan delivery
}

type delivery struct {
	at          time.Time
	integration string
	alerts      []escalation.Alert
}

func (i *ingester) Ingest(ctx context.Context, integration string, alerts []escalation.Alert) (escalation.IngestResult, error) {
	i.mu.Lock()
	err := i.refuse
	i.refuse = nil
	i.mu.Unlock()
	i.rounds <- delivery{at: time.Now(), integration: integration, alerts: alerts}
	if err != nil {
		return escalation.IngestResult{}, err
	}
	return escalation.IngestResult{Incidents: make([]int64, len(alerts))}, nil
}

// rdapFunc answers RDAP queries in memory.
type rdapFunc func(*http.Request) (*http.Response, error)

func (f rdapFunc) Do(r *http.Request) (*http.Response, error) { return f(r) }

func rdapAnswering(status int, body string) rdapFunc {
	return func(r *http.Request) (*http.Response, error) {
		return &http.Response{
			StatusCode: status,
			Status:     fmt.Sprintf("%d %s", status, http.StatusText(status)),
			Header:     http.Header{"Content-Type": {"application/rdap+json"}},
			Body:       io.NopCloser(strings.NewReader(body)),
			Request:    r,
		}, nil
	}
}

// unreachable refuses every connection, without a network.
type unreachable struct{}

func (unreachable) DialContext(_ context.Context, network, address string) (net.Conn, error) {
	return nil, &net.OpError{Op: "dial", Net: network, Err: errors.New("connect: connection refused")}
}

func TestRunFeedsTheIngesterEveryIntervalUntilStopped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ing := &ingester{rounds: make(chan delivery)}
		c, err := watch.NewChecker(watch.Options{
			Targets:    []watch.Target{{Domain: "example.com"}},
			HTTPClient: rdapAnswering(http.StatusServiceUnavailable, ""),
		})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		began := time.Now()
		go func() {
			defer close(done)
			c.Run(ctx, ing, "expiry-watch", 6*time.Hour)
		}()

		first := <-ing.rounds
		if !first.at.Equal(began) || first.integration != "expiry-watch" {
			t.Errorf("first round at +%v to %q, want at start to expiry-watch", first.at.Sub(began), first.integration)
		}
		want(t, first.alerts, "expiry/check/domain/example.com", escalation.AlertFiring, "warning", "503")

		second := <-ing.rounds
		if got := second.at.Sub(first.at); got != 6*time.Hour {
			t.Errorf("second round %v after the first, want 6h", got)
		}

		cancel()
		<-done
	})
}

func TestRoundTheIngesterRefusedIsSentAgain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ing := &ingester{rounds: make(chan delivery)}
		dns := newZone()
		dns.set("ip4", host, "192.0.2.10")
		c, err := watch.NewChecker(watch.Options{
			Targets:  []watch.Target{{Host: host}},
			Resolver: dns,
			Dialer:   unreachable{},
		})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() {
			defer close(done)
			c.Run(ctx, ing, "expiry-watch", time.Hour)
		}()
		key := "expiry/check/tls/www.example.com/ipv4/192.0.2.10"
		want(t, (<-ing.rounds).alerts, key, escalation.AlertFiring, "warning", "refused")

		// The address leaves DNS, and the store is down for that round.
		dns.set("ip4", host)
		ing.mu.Lock()
		ing.refuse = errors.New("store: disk full")
		ing.mu.Unlock()
		want(t, (<-ing.rounds).alerts, key, escalation.AlertResolved, "", "No longer in DNS")

		want(t, (<-ing.rounds).alerts, key, escalation.AlertResolved, "", "No longer in DNS")
		if again := (<-ing.rounds).alerts; byKey(t, again)[key].DedupKey != "" {
			t.Errorf("the resolve is sent once more after it was delivered:%s", describe(again))
		}

		cancel()
		<-done
	})
}

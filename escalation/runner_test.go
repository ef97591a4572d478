package escalation_test

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/klaxonhq/klaxon/escalation"
	"github.com/klaxonhq/klaxon/escalation/escalationtest"
	"github.com/klaxonhq/klaxon/store"
)

// catalog: one service, one person who gets an SMS, then a call 2m later.
func catalog() *escalation.Catalog {
	return &escalation.Catalog{
		People: map[string]*escalation.Person{"ana": {
			Name: "ana", Timezone: time.UTC, Phone: "+46700000001",
			Rules: []escalation.ContactRule{{Channel: escalation.ChannelSMS}, {Channel: escalation.ChannelVoice, After: 2 * time.Minute}},
		}},
		Policies: map[string]*escalation.Policy{"p": {Name: "p", Levels: []escalation.Level{
			{Targets: []escalation.Target{{Kind: escalation.TargetPerson, Name: "ana"}}, Delay: time.Hour},
		}}},
		Services:     map[string]*escalation.Service{"web": {Name: "web", Policy: "p", DefaultPriority: escalation.P2}},
		Integrations: map[string]*escalation.Integration{"am": {Name: "am", Service: "web", Format: "alertmanager", Token: "t"}},
	}
}

// waitVirtual lets the bubble's fake clock run for d with every goroutine
// idle, then waits until they are all blocked again.
func waitVirtual(d time.Duration) {
	<-time.After(d)
	synctest.Wait()
}

type runnerFixture struct {
	eng   *escalation.Engine
	pager *escalationtest.Pager
	db    *store.DB
}

func startRunner(t *testing.T, ctx context.Context, pager escalation.Pager, rec *escalationtest.Pager) (*runnerFixture, *sync.WaitGroup) {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "k.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	eng, err := escalation.New(escalation.Options{
		Store: db, Catalog: catalog(), Clock: escalation.SystemClock{},
		Pagers: map[escalation.Channel]escalation.Pager{escalation.ChannelSMS: pager, escalation.ChannelVoice: pager},
	})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := escalation.NewRunner(eng).Run(ctx); err != nil {
			t.Errorf("runner: %v", err)
		}
	})
	return &runnerFixture{eng: eng, pager: rec, db: db}, &wg
}

func TestRunnerPagesOnTimeAndStopsOnAck(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		rec := &escalationtest.Pager{Clock: escalation.SystemClock{}}
		f, wg := startRunner(t, ctx, rec, rec)
		start := time.Now()

		if _, err := f.eng.Ingest(ctx, "am", []escalation.Alert{{DedupKey: "x", State: escalation.AlertFiring, Summary: "down"}}); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		waitVirtual(2*time.Minute + time.Second)
		sent := rec.Sent()
		if len(sent) != 2 || sent[0].Page.Channel != escalation.ChannelSMS || sent[1].Page.Channel != escalation.ChannelVoice {
			t.Fatalf("sent %v, want an SMS then a call", sent)
		}
		if d := sent[0].At.Sub(start); d != 0 {
			t.Fatalf("SMS went out %s after the alert, want at once", d)
		}
		if d := sent[1].At.Sub(start); d != 2*time.Minute {
			t.Fatalf("call went out %s after the alert, want 2m", d)
		}
		if _, err := f.eng.Acknowledge(ctx, 1, escalation.Actor{Name: "ana", Via: escalation.ViaAPI}); err != nil {
			t.Fatal(err)
		}
		waitVirtual(3 * time.Hour)
		if n := len(rec.Sent()); n != 2 {
			t.Fatalf("%d pages after the ack, want none", n-2)
		}
		cancel()
		wg.Wait()
		f.db.Close()
	})
}

// A pager that panics must not stop the loop: the attempt counts as failed,
// is retried, and the page still goes out.
func TestRunnerSurvivesPanickingPager(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		rec := &escalationtest.Pager{Clock: escalation.SystemClock{}}
		calls := 0
		pager := escalation.PagerFunc(func(ctx context.Context, p escalation.Page) (escalation.Delivery, error) {
			calls++
			if calls == 1 {
				panic("provider SDK bug")
			}
			return rec.Send(ctx, p)
		})
		f, wg := startRunner(t, ctx, pager, rec)
		start := time.Now()
		if _, err := f.eng.Ingest(ctx, "am", []escalation.Alert{{DedupKey: "x", State: escalation.AlertFiring, Summary: "down"}}); err != nil {
			t.Fatal(err)
		}
		waitVirtual(time.Minute)
		sent := rec.Sent()
		if len(sent) != 1 || sent[0].At.Sub(start) != 20*time.Second {
			t.Fatalf("sent %v, want the SMS retried 20s after the panic", sent)
		}
		_, events, err := f.eng.Incident(ctx, 1)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, ev := range events {
			if ev.Kind == escalation.EventPageFailed && strings.Contains(ev.Message, "panicked") {
				found = true
			}
		}
		if !found {
			t.Fatalf("the panic is not on the timeline: %+v", events)
		}
		cancel()
		wg.Wait()
		f.db.Close()
	})
}

package escalation_test

import (
	"context"
	"fmt"
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

// openDB opens a store on a temp file, closed when the test ends.
func openDB(t *testing.T) *store.DB {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "k.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// settle lets the runner make the passes it has work for, paced
// (Runner.Pace), and the recorder commit: a second of the bubble's time,
// then every goroutine blocked again.
func settle() { waitVirtual(time.Second) }

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
	// The runner's first pass is past and a quiet spell has begun: what
	// the test does next is not held back by the pace.
	settle()
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

// New incidents arriving every millisecond, as in an alert storm, are
// paged in passes a pace apart: each page within a pace of its alert, in
// a handful of passes (and commits) rather than one for each page.
func TestRunnerPacesItsPasses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		rec := &escalationtest.Pager{Clock: escalation.SystemClock{}}
		f, wg := startRunner(t, ctx, rec, rec)
		defer func() { cancel(); wg.Wait(); f.db.Close() }()
		const n = 50
		arrived := make([]time.Time, n+1) // by incident id: each alert opens the next
		for id := 1; id <= n; id++ {
			arrived[id] = time.Now()
			alert := escalation.Alert{DedupKey: fmt.Sprint("disk-", id), State: escalation.AlertFiring, Summary: "disk full"}
			if _, err := f.eng.Ingest(ctx, "am", []escalation.Alert{alert}); err != nil {
				t.Fatal(err)
			}
			waitVirtual(time.Millisecond)
		}
		settle()
		sent := rec.Sent()
		if len(sent) != n {
			t.Fatalf("%d pages sent, want %d", len(sent), n)
		}
		passes := map[time.Time]bool{}
		for _, s := range sent {
			passes[s.At] = true
			if lag := s.At.Sub(arrived[s.Page.IncidentID]); lag < 0 || lag > escalation.DefaultPace {
				t.Fatalf("incident %d was paged %s after its alert, want within %s", s.Page.IncidentID, lag, escalation.DefaultPace)
			}
		}
		if want := n*int(time.Millisecond)/int(escalation.DefaultPace) + 1; len(passes) > want {
			t.Fatalf("pages went out at %d instants, want at most %d", len(passes), want)
		}
	})
}

// runBatching starts a runner with small delivery bounds on f's engine.
func runBatching(ctx context.Context, t *testing.T, f *recordFixture, conc, unrecorded int) *sync.WaitGroup {
	r := escalation.NewRunner(f.eng)
	r.Concurrency, r.MaxUnrecorded = conc, unrecorded
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := r.Run(ctx); err != nil {
			t.Errorf("runner: %v", err)
		}
	})
	return &wg
}

// stalled is a batching runner (runBatching) over a fresh fixture whose
// outcome recorder stalls after its first commit until release.
type stalled struct {
	f       *recordFixture
	rec     *escalationtest.Pager
	m       *countMetrics
	stop    context.CancelFunc // ends the runner's context
	release func()             // lets the recorder go on; idempotent
	wg      *sync.WaitGroup    // the runner
}

// startStalled opens incidents 1..n, then starts the runner; the test's
// end stops it, releasing the recorder.
func startStalled(t *testing.T, conc, unrecorded, n int) *stalled {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	m := &countMetrics{stall: make(chan struct{})}
	rec := &escalationtest.Pager{}
	f := newRecordFixture(t, m, rec)
	rec.Clock = f.clock
	if n > 0 {
		f.incidents(t, n)
	}
	s := &stalled{f: f, rec: rec, m: m, stop: cancel, release: sync.OnceFunc(func() { close(m.stall) })}
	s.wg = runBatching(ctx, t, f, conc, unrecorded)
	t.Cleanup(func() { cancel(); s.release(); s.wg.Wait() })
	return s
}

// checkSentOnce checks that the pager got each of incidents 1..n's first
// page once and that each is recorded as sent, with one timeline entry.
func checkSentOnce(t *testing.T, f *recordFixture, rec *escalationtest.Pager, n int) {
	t.Helper()
	seen := map[int64]int{}
	for _, s := range rec.Sent() {
		seen[s.Page.ID]++
	}
	if len(seen) != n {
		t.Fatalf("pager got %d distinct pages, want %d", len(seen), n)
	}
	for id := int64(1); id <= int64(n); id++ {
		queued := f.events(t, id, escalation.EventPageQueued)
		sentEvs := f.events(t, id, escalation.EventPageSent)
		if len(queued) != 1 || len(sentEvs) != 1 || sentEvs[0].PageID != queued[0].PageID {
			t.Fatalf("incident %d: queued %+v, sent %+v; want its page sent once", id, queued, sentEvs)
		}
		if p := f.page(t, queued[0].PageID); p.Status != escalation.PageSent || seen[p.ID] != 1 {
			t.Fatalf("incident %d: page %d is %s, sent %d times; want recorded as sent once", id, p.ID, p.Status, seen[p.ID])
		}
	}
}

// A worker hands its outcome to the recorder and takes the next page
// without waiting for the commit, but no more than Concurrency pages are at
// the pagers and Concurrency+MaxUnrecorded are claimed and not recorded: a
// stalled recorder stops sending after that many pages, and no more are
// claimed (the stalled commit claimed as many as it recorded). Released,
// it records every outcome, batched.
func TestRunnerBoundsUnrecordedOutcomes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const conc, unrecorded, n = 2, 5, 30
		s := startStalled(t, conc, unrecorded, n)
		f, rec, release := s.f, s.rec, s.release

		settle()
		if got := len(rec.Sent()); got != conc+unrecorded {
			t.Fatalf("%d pages sent while the recorder was stalled, want %d", got, conc+unrecorded)
		}
		claimed := 0
		for id := int64(1); id <= n; id++ {
			if p := f.page(t, f.events(t, id, escalation.EventPageQueued)[0].PageID); p.Status == escalation.PageSending {
				claimed++
			}
		}
		if claimed != conc+unrecorded {
			t.Fatalf("%d pages claimed and not recorded, want %d", claimed, conc+unrecorded)
		}

		release()
		settle()
		checkSentOnce(t, f, rec, n)
		if got := f.st.recordTxs.Load(); got >= n {
			t.Fatalf("%d outcomes recorded in %d transactions, want some sharing one", n, got)
		}
	})
}

// A recorder held up by a slow commit (the store's one writer busy with an
// alert storm's applies) then commits every outcome that piled up behind
// it in one transaction: the bound is on pages claimed and not recorded,
// so the pile is every page the workers sent meanwhile, not MaxUnrecorded.
// Each turn the recorder gets at the writer frees that many claims.
func TestRunnerRecordsEveryPiledUpOutcomeInOneCommit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const conc, unrecorded, n = 2, 5, 30
		s := startStalled(t, conc, unrecorded, 0)
		// Incident 1's outcome is the stalled commit; then the rest fall due.
		s.f.incidents(t, 1)
		settle()
		s.f.incidents(t, n-1)
		settle()
		if got := len(s.rec.Sent()); got != conc+unrecorded {
			t.Fatalf("%d pages sent while the recorder was stalled, want %d", got, conc+unrecorded)
		}
		s.release()
		settle()
		checkSentOnce(t, s.f, s.rec, n)
		// (A page claimed as the stalled commit frees its slot may join.)
		if got, want := s.f.st.maxRecorded.Load(), int64(conc+unrecorded-1); got < want {
			t.Fatalf("largest commit recorded %d outcomes, want at least the %d that piled up behind the stalled one", got, want)
		}
	})
}

// Stopping the runner sends every page claimed before the stop and records
// every outcome before Run returns, so a clean stop leaves nothing claimed
// for the next start to send again; it claims nothing after the stop.
func TestRunnerRecordsOutcomesBeforeStopping(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const conc, unrecorded, n = 2, 5, 30
		s := startStalled(t, conc, unrecorded, 0)
		f, rec := s.f, s.rec
		// Incident 1's outcome is the stalled commit, which finds no other
		// page to claim; then the rest fall due.
		f.incidents(t, 1)
		settle()
		f.incidents(t, n-1)
		settle()

		s.stop()
		s.release()
		s.wg.Wait()
		sent := rec.Sent()
		if len(sent) != conc+unrecorded {
			t.Fatalf("%d pages sent, want %d", len(sent), conc+unrecorded)
		}
		for _, s := range sent {
			if p := f.page(t, s.Page.ID); p.Status != escalation.PageSent {
				t.Fatalf("page %d is %s after the stop, want its outcome recorded", p.ID, p.Status)
			}
		}
		for id := int64(1); id <= n; id++ {
			if p := f.page(t, f.events(t, id, escalation.EventPageQueued)[0].PageID); p.Status == escalation.PageSending {
				t.Fatalf("page %d is still claimed after a clean stop", p.ID)
			}
		}
	})
}

// A page whose recording panics costs only its own outcome: the others of
// its batch are recorded, and the runner carries on.
func TestRunnerRecordPanicLosesNoOtherOutcome(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const conc, unrecorded = 4, 8
		s := startStalled(t, conc, unrecorded, 0)
		f, rec, m, release := s.f, s.rec, s.m, s.release

		// Incident 1's outcome holds the recorder, so those of incidents 2
		// to 12 queue: the first unrecorded-1 of them, among them incident
		// 3's, are the next batch.
		f.incidents(t, 1)
		settle()
		const n = 1 + unrecorded - 1 + conc
		f.incidents(t, n-1)
		bad := f.events(t, 3, escalation.EventPageQueued)[0].PageID
		f.st.panicOn.Store(bad)
		settle()
		if got := len(rec.Sent()); got != n {
			t.Fatalf("pager got %d pages, want %d", got, n)
		}
		release()
		settle()

		for id := int64(1); id <= n; id++ {
			p := f.page(t, f.events(t, id, escalation.EventPageQueued)[0].PageID)
			want := escalation.PageSent
			if p.ID == bad {
				want = escalation.PageSending // goes out again when its lease ends
			}
			if p.Status != want {
				t.Fatalf("incident %d: page %d is %s, want %s", id, p.ID, p.Status, want)
			}
		}
		if _, panics := m.counts(); fmt.Sprint(panics) != "map[page:1]" {
			t.Fatalf("panics %v, want the one page's", panics)
		}

		// The runner still pages.
		f.incidents(t, 1)
		settle()
		if sent := rec.Sent(); len(sent) != n+1 || sent[n].Page.IncidentID != n+1 {
			t.Fatalf("after the panic the pager got %v, want incident %d's page", sent[n:], n+1)
		}
		if evs := f.events(t, n+1, escalation.EventPageSent); len(evs) != 1 {
			t.Fatalf("later page not recorded: %+v", evs)
		}
	})
}

// hungChat never answers: each sync waits until it gives up.
type hungChat struct{ quietChat }

func (hungChat) Post(ctx context.Context, _ *escalation.Incident) (string, error) {
	<-ctx.Done()
	return "", ctx.Err()
}

// postsChat records the incidents it was asked to post.
type postsChat struct {
	quietChat
	mu     sync.Mutex
	posted []int64
}

func (c *postsChat) Post(_ context.Context, inc *escalation.Incident) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.posted = append(c.posted, inc.ID)
	return fmt.Sprint("msg-", inc.ID), nil
}

func (c *postsChat) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.posted)
}

// Six incidents open at once. The Slack workspace hangs (every call waits
// until the sync gives up, 30 s later) and its posts come first in the
// queue; Discord answers at once. Discord still has all six within a
// second: the hung chat holds at most half the chat workers. So it is
// when Slack hangs under two names, the incident channel and the public
// one: they leave Discord a worker.
func TestAHungChatDoesNotHoldUpTheOthers(t *testing.T) {
	t.Run("one hung", func(t *testing.T) { hungChats(t, "a-slack") })
	t.Run("two hung", func(t *testing.T) { hungChats(t, "a-slack", "a-slack-public") })
}

func hungChats(t *testing.T, hung ...string) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		fast := &postsChat{}
		chats := map[string]escalation.Chat{"b-discord": fast}
		for _, name := range hung {
			chats[name] = hungChat{}
		}
		eng, err := escalation.New(escalation.Options{
			Store: openDB(t), Catalog: catalog(), Clock: escalation.SystemClock{},
			Pagers: map[escalation.Channel]escalation.Pager{escalation.ChannelSMS: &escalationtest.Pager{Clock: escalation.SystemClock{}},
				escalation.ChannelVoice: &escalationtest.Pager{Clock: escalation.SystemClock{}}},
			Chats: chats,
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
		settle()
		var alerts []escalation.Alert
		for i := range 6 {
			alerts = append(alerts, escalation.Alert{DedupKey: fmt.Sprint("host-", i), State: escalation.AlertFiring, Summary: "down"})
		}
		if _, err := eng.Ingest(ctx, "am", alerts); err != nil {
			t.Fatal(err)
		}
		settle()
		if n := fast.count(); n != 6 {
			t.Fatalf("discord has %d of 6 incidents a second later, behind the hung chat", n)
		}
		cancel()
		wg.Wait()
	})
}

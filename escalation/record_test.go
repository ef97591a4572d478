package escalation_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/escalation"
)

// faultyStore counts write transactions, and those that recorded pages
// as sent (and the most pages one of them recorded), and makes recording
// one page as sent panic inside the transaction.
type faultyStore struct {
	escalation.Store
	updates, recordTxs, maxRecorded atomic.Int64
	panicOn                         atomic.Int64 // page id; 0: none
}

func (s *faultyStore) Update(ctx context.Context, fn func(escalation.Tx) error) error {
	s.updates.Add(1)
	var recorded int64
	err := s.Store.Update(ctx, func(tx escalation.Tx) error {
		recorded = 0
		return fn(faultyTx{Tx: tx, s: s, recorded: &recorded})
	})
	if err == nil && recorded > 0 {
		s.recordTxs.Add(1)
		for m := s.maxRecorded.Load(); recorded > m && !s.maxRecorded.CompareAndSwap(m, recorded); m = s.maxRecorded.Load() {
		}
	}
	return err
}

type faultyTx struct {
	escalation.Tx
	s        *faultyStore
	recorded *int64
}

func (t faultyTx) PutPage(p *escalation.Page) error {
	if p.Status == escalation.PageSent {
		if p.ID == t.s.panicOn.Load() {
			panic("corrupt page record")
		}
		*t.recorded++
	}
	return t.Tx.PutPage(p)
}

// countMetrics counts page outcomes and panics. While stall is set, Page
// waits for it to be closed.
type countMetrics struct {
	mu     sync.Mutex
	pages  map[string]int // channel/provider/outcome
	panics map[string]int
	stall  chan struct{}
}

func (m *countMetrics) Alerts(string, string, int) {}
func (m *countMetrics) Lag(time.Duration)          {}
func (m *countMetrics) Page(ch escalation.Channel, provider, outcome string) {
	if m.stall != nil {
		<-m.stall
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.pages == nil {
		m.pages = map[string]int{}
	}
	m.pages[fmt.Sprintf("%s/%s/%s", ch, provider, outcome)]++
}

func (m *countMetrics) Panic(where string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.panics == nil {
		m.panics = map[string]int{}
	}
	m.panics[where]++
}

func (m *countMetrics) counts() (pages, panics map[string]int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return maps.Clone(m.pages), maps.Clone(m.panics)
}

type recordFixture struct {
	eng     *escalation.Engine
	st      *faultyStore
	metrics *countMetrics
	clock   *escalation.ManualClock
	alerts  int // alerts fired so far, for fresh dedup keys
}

// newRecordFixture opens an engine on a manual clock whose SMS and voice
// pager is pager; without one, tests make the outcomes themselves.
func newRecordFixture(t *testing.T, m *countMetrics, pager escalation.Pager) *recordFixture {
	t.Helper()
	st := &faultyStore{Store: openDB(t)}
	clock := escalation.NewManualClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	var pagers map[escalation.Channel]escalation.Pager
	if pager != nil {
		pagers = map[escalation.Channel]escalation.Pager{escalation.ChannelSMS: pager, escalation.ChannelVoice: pager}
	}
	eng, err := escalation.New(escalation.Options{Store: st, Catalog: catalog(), Clock: clock, Metrics: m, Pagers: pagers})
	if err != nil {
		t.Fatal(err)
	}
	return &recordFixture{eng: eng, st: st, metrics: m, clock: clock}
}

// incidents opens n more incidents, each paging ana by SMS at once.
func (f *recordFixture) incidents(t *testing.T, n int) {
	t.Helper()
	alerts := make([]escalation.Alert, n)
	for i := range alerts {
		f.alerts++
		alerts[i] = escalation.Alert{DedupKey: fmt.Sprintf("x%d", f.alerts), State: escalation.AlertFiring, Summary: "down"}
	}
	if _, err := f.eng.Ingest(t.Context(), "am", alerts); err != nil {
		t.Fatal(err)
	}
}

// claim claims the due pages, one per incident, in incident order.
func (f *recordFixture) claim(t *testing.T, want int) []escalation.Page {
	t.Helper()
	pages, err := f.eng.ClaimDue(t.Context(), 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(pages) != want {
		t.Fatalf("claimed %d pages, want %d", len(pages), want)
	}
	slices.SortFunc(pages, func(a, b escalation.Page) int { return int(a.IncidentID - b.IncidentID) })
	return pages
}

func (f *recordFixture) page(t *testing.T, id int64) *escalation.Page {
	t.Helper()
	var p *escalation.Page
	err := f.st.View(t.Context(), func(tx escalation.Tx) error {
		var err error
		p, err = tx.Page(id)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func (f *recordFixture) events(t *testing.T, incident int64, kind escalation.EventKind) []escalation.Event {
	t.Helper()
	_, events, err := f.eng.Incident(t.Context(), incident)
	if err != nil {
		t.Fatal(err)
	}
	var out []escalation.Event
	for _, ev := range events {
		if ev.Kind == kind {
			out = append(out, ev)
		}
	}
	return out
}

func sent(p escalation.Page, failed ...string) escalation.Outcome {
	return escalation.Outcome{Page: p, Delivery: escalation.Delivery{Provider: "twilio", ProviderID: fmt.Sprint("SM", p.ID), Failed: failed}}
}

// Outcomes of every kind share one transaction, and each is recorded as
// Deliver records it alone: sent after a failover, retried with backoff,
// failed for good with the next contact rule due at once.
func TestRecordBatchInOneTransaction(t *testing.T) {
	f := newRecordFixture(t, &countMetrics{}, nil)
	f.incidents(t, 3)
	pages := f.claim(t, 3)

	f.clock.Advance(time.Second)
	now := f.clock.Now()
	before := f.st.updates.Load()
	err := f.eng.Record(t.Context(), []escalation.Outcome{
		sent(pages[0], "vonage: 503"),
		{Page: pages[1], Delivery: escalation.Delivery{Provider: "twilio"}, Err: errors.New("timeout")},
		{Page: pages[2], Delivery: escalation.Delivery{Provider: "twilio"}, Err: escalation.Permanent(errors.New("invalid number"))},
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := f.st.updates.Load() - before; n != 1 {
		t.Fatalf("recording 3 outcomes took %d write transactions, want 1", n)
	}

	if p := f.page(t, pages[0].ID); p.Status != escalation.PageSent || !p.SentAt.Equal(now) || p.ProviderID != fmt.Sprint("SM", p.ID) {
		t.Fatalf("sent page: %+v", p)
	}
	if evs := f.events(t, pages[0].IncidentID, escalation.EventPageFailed); len(evs) != 1 || !strings.Contains(evs[0].Message, "vonage: 503; trying the next provider") {
		t.Fatalf("failover not on the timeline: %+v", evs)
	}
	if evs := f.events(t, pages[0].IncidentID, escalation.EventPageSent); len(evs) != 1 || evs[0].Provider != "twilio" {
		t.Fatalf("sent events: %+v", evs)
	}

	if p := f.page(t, pages[1].ID); p.Status != escalation.PageQueued || !p.NotBefore.Equal(now.Add(20*time.Second)) {
		t.Fatalf("retried page: %+v, want queued 20s on", p)
	}
	if evs := f.events(t, pages[1].IncidentID, escalation.EventPageFailed); len(evs) != 1 || !strings.Contains(evs[0].Message, "retrying in 20s") {
		t.Fatalf("retry not on the timeline: %+v", evs)
	}

	if p := f.page(t, pages[2].ID); p.Status != escalation.PageFailed {
		t.Fatalf("permanently failed page: %+v", p)
	}
	next := f.claim(t, 1)[0]
	if next.IncidentID != pages[2].IncidentID || next.Channel != escalation.ChannelVoice {
		t.Fatalf("after a permanent failure claimed %+v, want incident %d's call at once", next, pages[2].IncidentID)
	}

	got, _ := f.metrics.counts()
	want := map[string]int{"sms/twilio/sent": 1, "sms/vonage/failed": 1, "sms/twilio/retry": 1, "sms/twilio/failed": 1}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("page metrics %v, want %v", got, want)
	}
}

// Twilio and the gateway both refused a text: each failure counts against
// its provider, and none against a provider called "none".
func TestEveryProviderFailingIsCountedPerProvider(t *testing.T) {
	f := newRecordFixture(t, &countMetrics{}, nil)
	f.incidents(t, 1)
	page := f.claim(t, 1)[0]
	err := f.eng.Record(t.Context(), []escalation.Outcome{{Page: page,
		Delivery: escalation.Delivery{Failed: []string{"twilio: HTTP 503", "gateway: HTTP 502"}},
		Err:      escalation.Permanent(errors.New("every provider failed: twilio: HTTP 503; gateway: HTTP 502"))}})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := f.metrics.counts()
	want := map[string]int{"sms/twilio/failed": 1, "sms/gateway/failed": 1}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("page metrics %v, want %v", got, want)
	}
}

// Ana acknowledges while her text is at Twilio, which then times out. The
// page is not retried, and the timeline ends by saying so rather than with
// a retry that never comes.
func TestAFailureAfterTheAckIsNotRetried(t *testing.T) {
	f := newRecordFixture(t, &countMetrics{}, nil)
	f.incidents(t, 1)
	page := f.claim(t, 1)[0]
	if _, err := f.eng.Acknowledge(t.Context(), page.IncidentID, escalation.Actor{Name: "ana", Via: escalation.ViaAPI}); err != nil {
		t.Fatal(err)
	}
	err := f.eng.Record(t.Context(), []escalation.Outcome{{Page: page,
		Delivery: escalation.Delivery{Provider: "twilio"}, Err: errors.New("timeout")}})
	if err != nil {
		t.Fatal(err)
	}
	if p := f.page(t, page.ID); p.Status != escalation.PageCancelled {
		t.Fatalf("page after the ack: %+v, want cancelled", p)
	}
	evs := f.events(t, page.IncidentID, escalation.EventPageCancelled)
	if len(evs) != 1 || evs[0].Message != "attempt 1 failed: timeout; not retried: incident acknowledged" || evs[0].Provider != "twilio" {
		t.Fatalf("cancellations on the timeline: %+v", evs)
	}
	f.clock.Advance(time.Hour)
	f.claim(t, 0)
}

// Twilio reports ana's text undelivered before its own answer to the send
// reaches Klaxon. The report stands: her next rule (the call) is due at
// once, and the send's answer, recorded after, only says it went out.
func TestADeliveryReportThatOvertakesTheSend(t *testing.T) {
	f := newRecordFixture(t, &countMetrics{}, nil)
	f.incidents(t, 1)
	page := f.claim(t, 1)[0]
	if err := f.eng.PageReport(t.Context(), page.ID, false, "twilio: SMS undelivered (error 30003)"); err != nil {
		t.Fatal(err)
	}
	if err := f.eng.Record(t.Context(), []escalation.Outcome{sent(page)}); err != nil {
		t.Fatal(err)
	}
	if p := f.page(t, page.ID); p.Status != escalation.PageFailed || p.SentAt.IsZero() || p.ProviderID == "" {
		t.Fatalf("page: %+v, want failed as reported, and sent", p)
	}
	if evs := f.events(t, page.IncidentID, escalation.EventPageFailed); len(evs) != 1 || !strings.Contains(evs[0].Message, "undelivered") {
		t.Fatalf("failures on the timeline: %+v", evs)
	}
	if next := f.claim(t, 1)[0]; next.Channel != escalation.ChannelVoice {
		t.Fatalf("after the report claimed %+v, want the call at once", next)
	}
}

// An outcome that cannot be recorded, or whose recording panics, fails
// alone: the others of its batch are recorded in their own transactions.
func TestRecordFailureOrPanicLosesNoOtherOutcome(t *testing.T) {
	f := newRecordFixture(t, &countMetrics{}, nil)
	f.incidents(t, 4)
	pages := f.claim(t, 4)
	f.st.panicOn.Store(pages[1].ID)
	ghost := escalation.Page{ID: 999, IncidentID: pages[3].IncidentID, Person: "ana", Channel: escalation.ChannelSMS}

	before := f.st.updates.Load()
	err := f.eng.Record(t.Context(), []escalation.Outcome{sent(pages[0]), sent(pages[1]), sent(pages[2]), sent(ghost), sent(pages[3])})
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("record page %d: recording panicked: corrupt page record", pages[1].ID)) ||
		!strings.Contains(err.Error(), "record page 999:") || !errors.Is(err, escalation.ErrNotFound) {
		t.Fatalf("err = %v, want page %d's panic and page 999 not found", err, pages[1].ID)
	}
	if n := f.st.updates.Load() - before; n != 1+5 {
		t.Fatalf("%d write transactions, want the failed batch and one per outcome", n)
	}
	for i, p := range pages {
		got := f.page(t, p.ID)
		evs := f.events(t, p.IncidentID, escalation.EventPageSent)
		if i == 1 {
			if got.Status != escalation.PageSending || len(evs) != 0 {
				t.Fatalf("page whose recording panicked is %s with %d sent events, want still claimed", got.Status, len(evs))
			}
			continue
		}
		if got.Status != escalation.PageSent || len(evs) != 1 {
			t.Fatalf("page %d is %s with %d sent events, want sent once", p.ID, got.Status, len(evs))
		}
	}
	pageCounts, panics := f.metrics.counts()
	if pageCounts["sms/twilio/sent"] != 3 || fmt.Sprint(panics) != "map[page:1]" {
		t.Fatalf("metrics: pages %v, panics %v; want 3 sent and one page panic", pageCounts, panics)
	}

	// The claimed page goes out again once its lease ends.
	f.st.panicOn.Store(0)
	f.clock.Advance(5 * time.Minute)
	if again := f.claim(t, 1)[0]; again.ID != pages[1].ID || again.Attempts != 2 {
		t.Fatalf("reclaimed %+v, want page %d's second attempt", again, pages[1].ID)
	}
}

// A recorder's commit claims as many due pages as it records, in the same
// transaction; if that transaction fails, the outcomes are recorded alone
// and nothing is claimed.
func TestRecordAndClaimInOneTransaction(t *testing.T) {
	f := newRecordFixture(t, &countMetrics{}, nil)
	f.incidents(t, 2)
	first := f.claim(t, 2)
	f.incidents(t, 3) // incidents 3 to 5 page now

	before := f.st.updates.Load()
	next, err := f.eng.RecordAndClaim(t.Context(), []escalation.Outcome{sent(first[0]), sent(first[1])}, 2)
	if err != nil {
		t.Fatal(err)
	}
	if n := f.st.updates.Load() - before; n != 1 {
		t.Fatalf("%d write transactions, want one", n)
	}
	if len(next) != 2 {
		t.Fatalf("claimed %d pages with the record, want 2", len(next))
	}
	for _, p := range first {
		if got := f.page(t, p.ID); got.Status != escalation.PageSent {
			t.Fatalf("page %d is %s, want sent", p.ID, got.Status)
		}
	}
	for _, p := range next {
		if got := f.page(t, p.ID); got.Status != escalation.PageSending || got.Attempts != 1 {
			t.Fatalf("page %d is %s (attempt %d), want claimed for its first attempt", p.ID, got.Status, got.Attempts)
		}
	}

	// Recording one of these panics: each outcome alone, no claim.
	f.st.panicOn.Store(next[0].ID)
	again, err := f.eng.RecordAndClaim(t.Context(), []escalation.Outcome{sent(next[0]), sent(next[1])}, 2)
	if err == nil || len(again) != 0 {
		t.Fatalf("RecordAndClaim = %d pages, %v; want none claimed and the panic", len(again), err)
	}
	if got := f.page(t, next[1].ID); got.Status != escalation.PageSent {
		t.Fatalf("the other outcome's page is %s, want sent", got.Status)
	}
	if left := f.claim(t, 1); left[0].IncidentID == next[0].IncidentID || left[0].IncidentID == next[1].IncidentID {
		t.Fatalf("claimed %+v, want the one page still queued", left[0])
	}
}

// Deliver is Send and Record of one page, in a transaction of its own;
// a single outcome whose recording panics is an error too.
func TestDeliverRecordsAlone(t *testing.T) {
	f := newRecordFixture(t, &countMetrics{}, nil)
	f.incidents(t, 2)
	pages := f.claim(t, 2)
	before := f.st.updates.Load()
	// No pager for SMS: a permanent failure.
	if err := f.eng.Deliver(t.Context(), pages[0]); err != nil {
		t.Fatal(err)
	}
	if n := f.st.updates.Load() - before; n != 1 {
		t.Fatalf("%d write transactions, want 1", n)
	}
	if got := f.page(t, pages[0].ID); got.Status != escalation.PageFailed || !strings.Contains(got.Error, "no provider configured") {
		t.Fatalf("page %+v, want failed for want of a provider", got)
	}

	f.st.panicOn.Store(pages[1].ID)
	err := f.eng.Record(t.Context(), []escalation.Outcome{sent(pages[1])})
	if err == nil || !strings.Contains(err.Error(), "panicked") {
		t.Fatalf("err = %v, want the panic as an error", err)
	}
	if got := f.page(t, pages[1].ID); got.Status != escalation.PageSending {
		t.Fatalf("page whose recording panicked is %s, want still claimed", got.Status)
	}
	if _, panics := f.metrics.counts(); panics["page"] != 1 {
		t.Fatalf("panics %v, want one page panic", panics)
	}
}

type quietChat struct{}

func (quietChat) Post(context.Context, *escalation.Incident) (string, error) { return "ref", nil }
func (quietChat) Update(context.Context, string, *escalation.Incident) error { return nil }
func (quietChat) Reply(context.Context, string, *escalation.Incident, escalation.Event) error {
	return nil
}

// Outcomes recorded together mark each incident's chat post for syncing
// in the same transaction, as outcomes recorded alone do.
func TestRecordBatchMarksChatPosts(t *testing.T) {
	ctx := t.Context()
	db := openDB(t)
	eng, err := escalation.New(escalation.Options{Store: db, Catalog: catalog(),
		Clock: escalation.NewManualClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)),
		Chats: map[string]escalation.Chat{"ops": quietChat{}}})
	if err != nil {
		t.Fatal(err)
	}
	alerts := []escalation.Alert{{DedupKey: "a", State: escalation.AlertFiring}, {DedupKey: "b", State: escalation.AlertFiring}}
	if _, err := eng.Ingest(ctx, "am", alerts); err != nil {
		t.Fatal(err)
	}
	pages, err := eng.ClaimDue(ctx, 10)
	if err != nil || len(pages) != 2 {
		t.Fatalf("claimed %v, %v; want 2 pages", pages, err)
	}
	dirty := func() []int64 {
		posts, err := eng.ClaimChatPosts(ctx, 10, nil)
		if err != nil {
			t.Fatal(err)
		}
		var ids []int64
		for _, p := range posts {
			ids = append(ids, p.IncidentID)
			if err := eng.SyncChatPost(ctx, p); err != nil {
				t.Fatal(err)
			}
		}
		slices.Sort(ids)
		return ids
	}
	dirty() // the posts of the new incidents
	if err := eng.Record(ctx, []escalation.Outcome{sent(pages[0]), sent(pages[1])}); err != nil {
		t.Fatal(err)
	}
	if got := dirty(); !slices.Equal(got, []int64{1, 2}) {
		t.Fatalf("chat posts to sync after the batch: incidents %v, want 1 and 2", got)
	}
}

// The runner's tick claims the pages its steps queue in the same commit:
// in a storm, a page then waits behind the applies once, not twice.
func TestTickAndClaimQueuesAndClaimsInOneCommit(t *testing.T) {
	f := newRecordFixture(t, &countMetrics{}, nil)
	f.incidents(t, 3)
	var outcomes []escalation.Outcome
	for _, p := range f.claim(t, 3) {
		outcomes = append(outcomes, sent(p))
	}
	if err := f.eng.Record(t.Context(), outcomes); err != nil {
		t.Fatal(err)
	}

	// Two minutes on, nobody has acknowledged: each incident calls ana.
	f.clock.Advance(2 * time.Minute)
	before := f.st.updates.Load()
	moved, pages, err := f.eng.TickAndClaim(t.Context(), 2)
	if err != nil {
		t.Fatal(err)
	}
	if n := f.st.updates.Load() - before; moved != 3 || len(pages) != 2 || n != 1 {
		t.Fatalf("moved %d incidents and claimed %d pages in %d write transactions; want 3, 2 (the limit) and 1", moved, len(pages), n)
	}
	for _, p := range pages {
		stored := f.page(t, p.ID)
		if p.Channel != escalation.ChannelVoice || stored.Status != escalation.PageSending || stored.Attempts != 1 {
			t.Fatalf("claimed %+v, stored %+v; want a call being sent, first attempt", p, stored)
		}
	}
	// The third call waits for a free worker, queued.
	if rest := f.claim(t, 1); rest[0].Channel != escalation.ChannelVoice || rest[0].IncidentID == pages[0].IncidentID || rest[0].IncidentID == pages[1].IncidentID {
		t.Fatalf("left queued: %+v, want the third incident's call", rest[0])
	}

	// With nothing to step, it still claims what is due; with no free
	// worker, it claims nothing and leaves the pages queued.
	f.incidents(t, 1)
	before = f.st.updates.Load()
	if moved, pages, err := f.eng.TickAndClaim(t.Context(), 0); err != nil || moved != 0 || len(pages) != 0 || f.st.updates.Load() != before {
		t.Fatalf("no free worker: moved %d, claimed %d, %d write transactions, err %v; want nothing", moved, len(pages), f.st.updates.Load()-before, err)
	}
	if _, pages, err := f.eng.TickAndClaim(t.Context(), 10); err != nil || len(pages) != 1 || pages[0].Channel != escalation.ChannelSMS {
		t.Fatalf("claimed %+v, err %v; want the new incident's SMS", pages, err)
	}
}

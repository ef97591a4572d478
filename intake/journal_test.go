package intake

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/klaxonhq/klaxon/escalation"
	"github.com/klaxonhq/klaxon/escalation/escalationtest"
	"github.com/klaxonhq/klaxon/store"
)

func catalog() *escalation.Catalog {
	return &escalation.Catalog{
		People: map[string]*escalation.Person{"ana": {Name: "ana", Timezone: time.UTC, Phone: "+46700000001",
			Rules: []escalation.ContactRule{{Channel: escalation.ChannelSMS}}}},
		Policies: map[string]*escalation.Policy{"p": {Name: "p", Levels: []escalation.Level{
			{Targets: []escalation.Target{{Kind: escalation.TargetPerson, Name: "ana"}}, Delay: time.Hour}}}},
		Services: map[string]*escalation.Service{"web": {Name: "web", Policy: "p", DefaultPriority: escalation.P2,
			GroupBy: []string{"alertname"}}},
		Integrations: map[string]*escalation.Integration{"am": {Name: "am", Service: "web", Format: "alertmanager", Token: "t"}},
	}
}

// world is one Klaxon's store, engine and journal on a temp directory that
// outlives restarts.
type world struct {
	t     *testing.T
	dir   string
	clock *escalationtest.Clock
	db    *store.DB
	eng   *escalation.Engine
	j     *Journal
	opts  Options
	logs  *syncBuffer
	// wrap, when set, stands between the journal and the engine.
	wrap func(Engine) Engine
	// flush, when set, stands in for the journal's fdatasync, and
	// appends are buffered writes it flushes.
	flush func(*os.File) error
	// openDirect and writeDirect, when set, stand in for opening a
	// segment for direct writes and for a direct write.
	openDirect  func(path string) (*os.File, error)
	writeDirect func(f *os.File, b []byte, off int64) (int, error)
	stop        func()
}

func newWorld(t *testing.T, o Options) *world {
	w := &world{t: t, dir: t.TempDir(), clock: escalationtest.NewClock(time.Date(2025, 6, 2, 3, 0, 0, 0, time.UTC)),
		opts: o, logs: &syncBuffer{}}
	t.Cleanup(w.crash)
	return w
}

func (w *world) open() {
	w.t.Helper()
	db, err := store.Open(filepath.Join(w.dir, "klaxon.db"), store.Options{})
	if err != nil {
		w.t.Fatal(err)
	}
	eng, err := escalation.New(escalation.Options{Store: db, Catalog: catalog(), Clock: w.clock})
	if err != nil {
		w.t.Fatal(err)
	}
	o := w.opts
	o.Dir = filepath.Join(w.dir, "klaxon.db.intake")
	o.Logger = slog.New(slog.NewTextHandler(w.logs, nil))
	var e Engine = eng
	if w.wrap != nil {
		e = w.wrap(eng)
	}
	dk := systemDisk()
	if w.flush != nil {
		dk.flush, dk.direct = w.flush, false
	}
	if w.openDirect != nil {
		dk.openDirect = w.openDirect
	}
	if w.writeDirect != nil {
		dk.writeDirect = w.writeDirect
	}
	j, err := open(w.t.Context(), e, o, dk)
	if err != nil {
		w.t.Fatal(err)
	}
	w.db, w.eng, w.j = db, eng, j
}

// run starts applying; crash stops everything as SIGKILL would leave it:
// what is in the files stays, nothing is drained.
func (w *world) run() { w.stop = w.j.Start() }

func (w *world) crash() {
	if w.stop != nil {
		w.stop()
		w.stop = nil
	}
	if w.j != nil {
		w.j.Close()
		w.db.Close()
		w.j = nil
	}
}

func (w *world) ingest(alerts ...escalation.Alert) escalation.IngestResult {
	w.t.Helper()
	res, err := w.j.Ingest(w.t.Context(), "am", alerts)
	if err != nil {
		w.t.Fatalf("ingest: %v", err)
	}
	return res
}

func (w *world) wait() {
	w.t.Helper()
	if err := w.j.Wait(w.t.Context()); err != nil {
		w.t.Fatal(err)
	}
}

func firing(key, summary string) escalation.Alert {
	return escalation.Alert{DedupKey: key, State: escalation.AlertFiring, Summary: summary,
		Labels: map[string]string{"alertname": "DiskFull"}}
}

func resolved(key string) escalation.Alert {
	return escalation.Alert{DedupKey: key, State: escalation.AlertResolved, Labels: map[string]string{"alertname": "DiskFull"}}
}

func (w *world) incident(id int64) (*escalation.Incident, []escalation.Event) {
	w.t.Helper()
	inc, events, err := w.eng.Incident(w.t.Context(), id)
	if err != nil {
		w.t.Fatalf("incident %d: %v", id, err)
	}
	return inc, events
}

func (w *world) segments() []string {
	w.t.Helper()
	names, err := filepath.Glob(filepath.Join(w.dir, "klaxon.db.intake", "*.log"))
	if err != nil {
		w.t.Fatal(err)
	}
	return names
}

// appendToSegment writes b after the first segment's records (over the
// zeros a direct write pads its last block with), as a killed Klaxon (or
// an earlier one) would have left it.
func (w *world) appendToSegment(b []byte) {
	w.t.Helper()
	path := w.segments()[0]
	var first uint64
	if _, err := fmt.Sscanf(filepath.Base(path), "%d.log", &first); err != nil {
		w.t.Fatal(err)
	}
	_, _, end, err := readSegment(path, first, 0)
	if err != nil {
		w.t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err == nil {
		_, err = f.WriteAt(b, end)
		err = errors.Join(err, f.Close())
	}
	if err != nil {
		w.t.Fatal(err)
	}
}

func kinds(events []escalation.Event) string {
	var out []string
	for _, ev := range events {
		out = append(out, string(ev.Kind))
	}
	return strings.Join(out, " ")
}

func TestAcceptedAlertIsAppliedAndAnUnchangedRepeatCostsNoWrite(t *testing.T) {
	w := newWorld(t, Options{})
	w.open()
	w.run()
	res := w.ingest(firing("db1", "disk full on db-1"))
	if res.Queued != 1 || len(res.Incidents) != 0 {
		t.Fatalf("answer %+v; want the alert queued", res)
	}
	w.wait()
	inc, events := w.incident(1)
	if inc.Status != escalation.StatusTriggered || inc.Title != "disk full on db-1" || inc.Alerts != 1 {
		t.Fatalf("incident %+v", inc)
	}
	if !strings.HasPrefix(kinds(events), "triggered alert_attached") {
		t.Fatalf("timeline: %s", kinds(events))
	}
	// Alertmanager re-sends the group every few minutes: answered from the
	// store, nothing appended.
	before, _ := os.Stat(w.segments()[0])
	res = w.ingest(firing("db1", "disk full on db-1"))
	if res.Queued != 0 || res.Unchanged != 1 || len(res.Incidents) != 1 || res.Incidents[0] != 1 {
		t.Fatalf("repeat answered %+v; want unchanged in incident 1", res)
	}
	after, _ := os.Stat(w.segments()[0])
	if after.Size() != before.Size() {
		t.Fatalf("the repeat grew the journal from %d to %d bytes", before.Size(), after.Size())
	}
}

// Under a steady trickle of alerts the applier waits to gather them (one
// transaction of many costs far less than many of one); someone opening
// the incident list must not sit out that wait.
func TestAReaderDoesNotWaitOutTheSpacingOfApplies(t *testing.T) {
	w := newWorld(t, Options{ApplyEvery: time.Hour})
	w.open()
	w.run()
	w.ingest(firing("db1", "disk full on db-1")) // after a quiet spell: applied at once
	w.ingest(firing("db2", "disk full on db-2")) // gathered for an hour, unless someone asks
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := w.j.Wait(ctx); err != nil {
		t.Fatalf("wait: %v; the reader sat out the hour", err)
	}
	if inc, _ := w.incident(1); inc.Alerts != 2 {
		t.Fatalf("incident 1 has %d alerts; want both", inc.Alerts)
	}
}

// Klaxon dies after answering 200 and before applying: the next start
// applies every accepted delivery once, as it comes back, and a later
// restart applies nothing twice.
func TestAKillBetweenAcceptAndApplyLosesNothingAndDoublesNothing(t *testing.T) {
	w := newWorld(t, Options{})
	w.open()
	received := w.clock.Now()
	w.ingest(firing("db1", "disk full on db-1"))
	w.ingest(firing("db2", "disk full on db-2"))
	w.clock.Advance(time.Minute)
	w.ingest(resolved("db1"))
	w.crash()

	w.clock.Advance(10 * time.Minute) // down for ten minutes
	w.open()
	if n, oldest := w.j.Backlog(); n != 3 || !oldest.Equal(received) {
		t.Fatalf("backlog after restart: %d alerts, oldest %v; want 3 from %v", n, oldest, received)
	}
	back := w.clock.Now()
	w.run()
	w.wait()
	inc, events := w.incident(1)
	if inc.Alerts != 2 || inc.Firing != 1 || !inc.CreatedAt.Equal(back) {
		t.Fatalf("incident %+v; want 2 alerts, 1 firing, opened as Klaxon came back", inc)
	}
	want := kinds(events)
	w.crash()

	w.open()
	if n, _ := w.j.Backlog(); n != 0 {
		t.Fatalf("backlog after a second restart: %d; want 0", n)
	}
	w.run()
	w.wait()
	if _, events := w.incident(1); kinds(events) != want {
		t.Fatalf("timeline after a second restart:\n%s\nwant\n%s", kinds(events), want)
	}
}

// ingestOutOfOrderTraps accepts seven single-alert deliveries that end
// right only if applied in the order accepted: db1 resolves and fires
// again, db2 fires and resolves.
func (w *world) ingestOutOfOrderTraps() {
	w.t.Helper()
	for _, a := range []escalation.Alert{
		firing("db1", "disk full on db-1"), firing("db2", "disk full on db-2"), resolved("db1"),
		firing("db3", "disk full on db-3"), firing("db1", "disk full on db-1 again"), resolved("db2"),
		firing("db4", "disk full on db-4"),
	} {
		w.ingest(a)
	}
}

func (w *world) checkOutOfOrderTraps() {
	w.t.Helper()
	inc, events := w.incident(1)
	if inc.Alerts != 4 || inc.Firing != 3 {
		w.t.Fatalf("incident has %d alerts, %d firing; want 4, 3 (db1, db3, db4)\n%s", inc.Alerts, inc.Firing, kinds(events))
	}
}

// A backlog larger than one transaction is applied a transaction at a
// time, each one's deliveries decoded while the one before applies. An
// alert resolved and then firing again in later transactions must end
// firing: applied in the order accepted, whatever was decoded ahead.
func TestABacklogOfManyTransactionsAppliesInTheOrderAccepted(t *testing.T) {
	w := newWorld(t, Options{MaxApply: 2})
	w.open()
	w.ingestOutOfOrderTraps()
	w.run()
	w.wait()
	if n, _ := w.j.Backlog(); n != 0 {
		t.Fatalf("backlog %d; want all applied", n)
	}
	w.checkOutOfOrderTraps()
}

// yieldsAfterOne applies only the first delivery of each transaction, as
// an apply told to yield to a page's tick at its first chance does, and
// notes the deliveries each transaction was handed.
type yieldsAfterOne struct {
	Engine
	mu     *sync.Mutex
	handed *[][]uint64
}

func (y yieldsAfterOne) ApplyQueued(ctx context.Context, q []escalation.Queued) (int, error) {
	seqs := make([]uint64, len(q))
	for i, d := range q {
		seqs[i] = d.Seq
	}
	y.mu.Lock()
	*y.handed = append(*y.handed, seqs)
	y.mu.Unlock()
	return y.Engine.ApplyQueued(ctx, q[:1])
}

// Applies that yield after their first delivery leave the rest for the
// next transaction, which starts with the delivery after the last one
// applied, with the alerts accepted under it: the backlog ends applied in
// the order accepted, each delivery once.
func TestAppliesCutShortGoOnFromWhereTheyStopped(t *testing.T) {
	var mu sync.Mutex
	var handed [][]uint64
	w := newWorld(t, Options{MaxApply: 3})
	w.wrap = func(e Engine) Engine { return yieldsAfterOne{Engine: e, mu: &mu, handed: &handed} }
	w.open()
	w.ingestOutOfOrderTraps()
	w.run()
	w.wait()
	w.checkOutOfOrderTraps()
	mu.Lock()
	defer mu.Unlock()
	if len(handed) != 7 {
		t.Fatalf("%d apply transactions, want 7 (one delivery each): %v", len(handed), handed)
	}
	for i, seqs := range handed {
		if seqs[0] != uint64(i+1) {
			t.Errorf("transaction %d was handed deliveries %v, want them from %d on", i+1, seqs, i+1)
		}
	}
}

// A kill in the middle of a write leaves half a record at the end of the
// segment. It was never answered, so it is cut off, and records appended
// after the restart follow the last whole one.
func TestATornRecordAtTheEndIsCutOff(t *testing.T) {
	w := newWorld(t, Options{})
	w.open()
	w.ingest(firing("db1", "disk full on db-1"))
	w.ingest(firing("db2", "disk full on db-2"))
	w.crash()
	body := encodeDelivery("am", w.clock.Now(), []escalation.Alert{firing("db3", "never answered")})
	w.appendToSegment(appendRecord(nil, 3, body)[:40])

	w.open()
	if n, _ := w.j.Backlog(); n != 2 {
		t.Fatalf("backlog %d; want the 2 whole records", n)
	}
	w.ingest(firing("db4", "disk full on db-4"))
	w.crash()
	w.open()
	if n, _ := w.j.Backlog(); n != 3 {
		t.Fatalf("backlog %d; want 3", n)
	}
	w.run()
	w.wait()
	inc, _ := w.incident(1)
	if inc.Alerts != 3 {
		t.Fatalf("incident holds %d alerts; want db1, db2 and db4", inc.Alerts)
	}
}

// A journal left by a Klaxon that wrote its records as JSON replays after
// an upgrade, and new records in the wire form follow them.
func TestRecordsInTheEarlierJSONFormReplay(t *testing.T) {
	w := newWorld(t, Options{})
	w.open()
	w.ingest(firing("db1", "disk full on db-1"))
	w.crash()
	js, _ := json.Marshal(payload{Integration: "am", Received: w.clock.Now().UnixNano(),
		Alerts: []escalation.Alert{firing("db2", "disk full on db-2")}})
	w.appendToSegment(appendRecord(nil, 2, js))

	w.open()
	w.ingest(firing("db3", "disk full on db-3"))
	w.run()
	w.wait()
	inc, _ := w.incident(1)
	if inc.Alerts != 3 {
		t.Fatalf("incident holds %d alerts; want db1, db2 (JSON) and db3", inc.Alerts)
	}
}

func TestAppliedSegmentsAreDeleted(t *testing.T) {
	w := newWorld(t, Options{SegmentBytes: 1}) // a new segment after every write
	w.open()
	for _, k := range []string{"a", "b", "c", "d"} {
		w.ingest(firing(k, "disk full"))
	}
	if n := len(w.segments()); n != 5 {
		t.Fatalf("%d segments; want 4 written and 1 open", n)
	}
	w.run()
	w.wait()
	if segs := w.segments(); len(segs) != 1 || filepath.Base(segs[0]) != segmentName(5) {
		t.Fatalf("segments after applying: %v; want only the open one", segs)
	}
	w.crash()
	w.open()
	w.ingest(firing("e", "disk full"))
	w.run()
	w.wait()
	if inc, _ := w.incident(1); inc.Alerts != 5 {
		t.Fatalf("incident holds %d alerts; want 5", inc.Alerts)
	}
}

// poisoned fails to apply any batch holding one delivery.
type poisoned struct {
	Engine
	seq uint64
}

func (p poisoned) ApplyQueued(ctx context.Context, q []escalation.Queued) (int, error) {
	for _, d := range q {
		if d.Seq == p.seq {
			panic("a bug that only this delivery reaches")
		}
	}
	return p.Engine.ApplyQueued(ctx, q)
}

// One delivery that cannot be applied (here: it panics every time) is
// skipped and logged with its dedup keys; the deliveries before and after
// it are applied, and intake goes on.
func TestADeliveryThatCannotBeAppliedHoldsUpNoOther(t *testing.T) {
	w := newWorld(t, Options{RetryBackoff: time.Millisecond})
	w.wrap = func(e Engine) Engine { return poisoned{Engine: e, seq: 2} }
	w.open()
	w.ingest(firing("db1", "disk full on db-1"))
	w.ingest(firing("poison", "bad"))
	w.ingest(firing("db3", "disk full on db-3"))
	w.run()
	w.wait()
	inc, _ := w.incident(1)
	if inc.Alerts != 2 {
		t.Fatalf("incident holds %d alerts; want db1 and db3", inc.Alerts)
	}
	if log := w.logs.String(); !strings.Contains(log, "skipped") || !strings.Contains(log, "dedup_keys=[poison]") {
		t.Fatalf("the skipped delivery is not in the log:\n%s", log)
	}
	w.ingest(firing("db4", "disk full on db-4"))
	w.wait()
	if inc, _ := w.incident(1); inc.Alerts != 3 {
		t.Fatalf("after the skip, incident holds %d alerts; want 3", inc.Alerts)
	}
}

// diskFull is a store that cannot write until freed: every apply fails
// as bbolt's commit does on a full disk.
type diskFull struct {
	Engine
	full   *atomic.Bool
	failed chan struct{} // one per failed apply, while it has room
}

func (d diskFull) ApplyQueued(ctx context.Context, q []escalation.Queued) (int, error) {
	if d.full.Load() {
		select {
		case d.failed <- struct{}{}:
		default:
		}
		return 0, fmt.Errorf("store: commit: %w: write klaxon.db: no space left on device", escalation.ErrStorage)
	}
	return d.Engine.ApplyQueued(ctx, q)
}

// The disk fills up while alerts wait to be applied. They were answered
// 2xx, so they wait in the journal, however many times the apply fails,
// and are applied once space is freed: none is skipped as poisonous.
func TestAFullDiskSkipsNoAcceptedDelivery(t *testing.T) {
	full := &atomic.Bool{}
	full.Store(true)
	w := newWorld(t, Options{RetryBackoff: time.Millisecond})
	failed := make(chan struct{}, 100)
	w.wrap = func(e Engine) Engine { return diskFull{Engine: e, full: full, failed: failed} }
	w.open()
	w.ingest(firing("db1", "disk full on db-1"))
	w.ingest(firing("db2", "disk full on db-2"))
	w.run()
	// Many failed applies: each delivery tried alone three times, over
	// and over.
	for range 20 {
		select {
		case <-failed:
		case <-time.After(10 * time.Second):
			t.Fatalf("the applier stopped trying:\n%s", w.logs.String())
		}
	}
	full.Store(false)
	w.wait()
	if inc, _ := w.incident(1); inc.Alerts != 2 {
		t.Fatalf("incident holds %d alerts after the disk was freed; want db1 and db2", inc.Alerts)
	}
	if strings.Contains(w.logs.String(), "skipped") {
		t.Fatalf("a delivery was skipped:\n%s", w.logs.String())
	}
}

// With the backlog full, a delivery waits for the applier rather than
// growing the journal without bound.
func TestAFullBacklogHoldsNewDeliveries(t *testing.T) {
	w := newWorld(t, Options{MaxBacklog: 2})
	w.open()
	w.ingest(firing("a", "x"), firing("b", "x"))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := w.j.Ingest(ctx, "am", []escalation.Alert{firing("c", "x")}); !errors.Is(err, context.Canceled) {
		t.Fatalf("ingest into a full backlog: %v; want it to wait until its context ends", err)
	}
	if n, _ := w.j.Backlog(); n != 2 {
		t.Fatalf("backlog %d; the refused delivery was stored", n)
	}
	w.run()
	w.ingest(firing("c", "x"))
	w.wait()
	if inc, _ := w.incident(1); inc.Alerts != 3 {
		t.Fatalf("incident holds %d alerts; want 3", inc.Alerts)
	}
}

func TestBadDeliveriesAndAClosedJournalStoreNothing(t *testing.T) {
	w := newWorld(t, Options{})
	w.open()
	for name, tc := range map[string]struct {
		integration string
		alerts      []escalation.Alert
		code        escalation.Code
	}{
		"unknown integration": {"nope", []escalation.Alert{firing("a", "x")}, escalation.CodeNotFound},
		"no dedup key":        {"am", []escalation.Alert{{State: escalation.AlertFiring}}, escalation.CodeInvalid},
		"unknown state":       {"am", []escalation.Alert{{DedupKey: "a", State: "on fire"}}, escalation.CodeInvalid},
	} {
		if _, err := w.j.Ingest(t.Context(), tc.integration, tc.alerts); escalation.ErrorCode(err) != tc.code {
			t.Errorf("%s: %v; want %s", name, err, tc.code)
		}
	}
	w.j.Close()
	if _, err := w.j.Ingest(t.Context(), "am", []escalation.Alert{firing("a", "x")}); escalation.ErrorCode(err) != escalation.CodeUnavailable {
		t.Fatalf("after Close: %v; want unavailable", err)
	}
	if n, _ := w.j.Backlog(); n != 0 {
		t.Fatalf("backlog %d; want nothing stored", n)
	}
	if fi, err := os.Stat(w.segments()[0]); err != nil || fi.Size() != 0 {
		t.Fatalf("segment: %v, %v; want empty", fi, err)
	}
}

func TestASegmentWithAGapIsRefused(t *testing.T) {
	w := newWorld(t, Options{SegmentBytes: 1})
	w.open()
	w.ingest(firing("a", "x"))
	w.ingest(firing("b", "x"))
	w.ingest(firing("c", "x"))
	w.crash()
	if err := os.Remove(filepath.Join(w.dir, "klaxon.db.intake", segmentName(2))); err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(filepath.Join(w.dir, "klaxon.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	eng, err := escalation.New(escalation.Options{Store: db, Catalog: catalog(), Clock: w.clock})
	if err != nil {
		t.Fatal(err)
	}
	_, err = Open(t.Context(), eng, Options{Dir: filepath.Join(w.dir, "klaxon.db.intake")})
	if err == nil || !strings.Contains(err.Error(), "records 2 to 2 are missing") {
		t.Fatalf("open with a missing segment: %v", err)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// An applied segment is kept as the spare and written over as a later
// segment; after a kill, the records it held before are not read back as
// new ones.
func TestAReusedSegmentYieldsOnlyItsNewRecords(t *testing.T) {
	w := newWorld(t, Options{SegmentBytes: 1})
	w.open()
	w.ingest(firing("a", "first life of the segment"), firing("b", "x"), firing("c", "x"))
	w.run()
	w.wait()
	if _, err := os.Stat(filepath.Join(w.dir, "klaxon.db.intake", spareName)); err != nil {
		t.Fatalf("no spare after applying a segment: %v", err)
	}
	w.crash()
	w.open() // the new open segment is the spare, its old record still in it
	w.ingest(firing("d", "y"))
	w.crash()
	w.open()
	if n, _ := w.j.Backlog(); n != 1 {
		t.Fatalf("backlog %d; want only d", n)
	}
	w.run()
	w.wait()
	if inc, _ := w.incident(1); inc.Alerts != 4 {
		t.Fatalf("incident holds %d alerts; want a, b, c and d once each", inc.Alerts)
	}
}

func TestAZeroFilledFirstSegmentReadsBack(t *testing.T) {
	w := newWorld(t, Options{SegmentBytes: 64 << 10, Prefill: true})
	w.open()
	if fi, err := os.Stat(w.segments()[0]); err != nil || fi.Size() != 64<<10 {
		t.Fatalf("first segment: %v %v; want 64 KiB of zeros", fi, err)
	}
	w.ingest(firing("a", "x"))
	w.ingest(firing("b", "x"))
	w.crash()
	w.open()
	if n, _ := w.j.Backlog(); n != 2 {
		t.Fatalf("backlog %d; want 2", n)
	}
	w.run()
	w.wait()
	w.crash()
	// All applied: the next start writes over the old segment rather
	// than zero-filling a new one.
	w.open()
	segs := w.segments()
	if len(segs) != 1 || filepath.Base(segs[0]) != segmentName(3) {
		t.Fatalf("segments %v; want only the new one", segs)
	}
	raw, err := os.ReadFile(segs[0])
	if err != nil || len(raw) != 64<<10 || raw[8] != 1 {
		t.Fatalf("the new segment is not the old one reused: %d bytes, first record %v", len(raw), raw[:16])
	}
}

// Under a flood the applier lags and no applied segment is free when the
// open one fills: the next segment is zero-filled in the background while
// the open one fills, so that no append ever grows a file (an fdatasync
// that must also journal a new size and blocks takes the disk longer).
func TestTheNextSegmentIsZeroFilledBeforeTheOpenOneIsFull(t *testing.T) {
	const seg = 16 << 10
	w := newWorld(t, Options{SegmentBytes: seg, Prefill: true})
	w.open() // not applying: the flood outruns the applier
	dir := filepath.Join(w.dir, "klaxon.db.intake")
	spare := filepath.Join(dir, spareName)
	body := strings.Repeat("x", 1000)
	n := 0
	for w.j.size < seg/2 {
		n++
		w.ingest(firing(fmt.Sprint("a", n), body))
	}
	w.j.prepared.Wait() // started by the write that passed half
	if fi, err := os.Stat(spare); err != nil || fi.Size() != seg {
		t.Fatalf("spare: %v %v; want %d zero bytes waiting", fi, err, seg)
	}
	if _, err := os.Stat(filepath.Join(dir, preparingName)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the zero-fill left its temporary file: %v", err)
	}
	for len(w.segments()) == 1 {
		n++
		w.ingest(firing(fmt.Sprint("a", n), body))
	}
	if _, err := os.Stat(spare); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the spare was not taken as the next segment: %v", err)
	}
	second := w.segments()[1]
	if fi, err := os.Stat(second); err != nil || fi.Size() != seg || w.j.size >= seg {
		t.Fatalf("second segment %v %v, %d bytes written; want the zero-filled %d bytes", fi, err, w.j.size, seg)
	}
	// Everything accepted reads back after a kill, zeros and all.
	if got := w.restart(); got != n {
		t.Fatalf("backlog %d after the restart; want all %d alerts", got, n)
	}
	w.run()
	w.wait()
	if inc, _ := w.incident(1); inc.Alerts != n {
		t.Fatalf("incident holds %d alerts; want %d", inc.Alerts, n)
	}
}

// Large appends (a flood of 100-alert webhooks) take few fdatasyncs a
// segment: zero-filling one ahead would cost more writes than it saves,
// so the next segment is a new file unless an applied one is free.
func TestLargeAppendsDoNotZeroFillASpare(t *testing.T) {
	const seg = 64 << 10
	w := newWorld(t, Options{SegmentBytes: seg, Prefill: true})
	w.open()
	body := strings.Repeat("x", 10_000)
	for n := 0; len(w.segments()) == 1; n++ {
		w.ingest(firing(fmt.Sprint("a", n), body))
		w.j.prepared.Wait()
	}
	if fi, err := os.Stat(w.segments()[1]); err != nil || fi.Size() >= seg {
		t.Fatalf("second segment %v %v; want a new file, not a zero-filled spare", fi, err)
	}
}

// When the spare cannot be made (a full disk, say), appends go on into a
// file that grows, and the attempt is not repeated at every flush.
func TestASpareThatCannotBeMadeIsTriedOnceASegment(t *testing.T) {
	const seg = 16 << 10
	w := newWorld(t, Options{SegmentBytes: seg, Prefill: true})
	w.open()
	// Something the zero-fill cannot open as a file stands in its way.
	if err := os.Mkdir(filepath.Join(w.dir, "klaxon.db.intake", preparingName), 0o700); err != nil {
		t.Fatal(err)
	}
	body := strings.Repeat("x", 1000)
	n := 0
	for len(w.segments()) == 1 {
		n++
		w.ingest(firing(fmt.Sprint("a", n), body))
		w.j.prepared.Wait()
	}
	if got := strings.Count(w.logs.String(), "cannot prepare the next journal segment"); got != 1 {
		t.Fatalf("%d warnings of a failed zero-fill over one segment; want 1:\n%s", got, w.logs)
	}
	w.run()
	w.wait()
	if inc, _ := w.incident(1); inc.Alerts != n {
		t.Fatalf("incident holds %d alerts; want all %d accepted", inc.Alerts, n)
	}
}

// A zero-fill that a kill cut short is not left to take up the disk.
func TestAHalfPreparedSpareIsRemovedAtStart(t *testing.T) {
	w := newWorld(t, Options{})
	w.open()
	w.crash()
	tmp := filepath.Join(w.dir, "klaxon.db.intake", preparingName)
	if err := os.WriteFile(tmp, make([]byte, 4096), 0o600); err != nil {
		t.Fatal(err)
	}
	w.open()
	if _, err := os.Stat(tmp); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("half-prepared spare still there: %v", err)
	}
}

// Each flush is reported with the deliveries that shared it: the wait in
// every sender's 2xx, for /metrics.
func TestEachFlushIsObservedWithTheDeliveriesItCarried(t *testing.T) {
	var mu sync.Mutex
	var carried []int
	w := newWorld(t, Options{ObserveFlush: func(d time.Duration, deliveries int) {
		mu.Lock()
		defer mu.Unlock()
		if d <= 0 {
			t.Errorf("flush observed as taking %v", d)
		}
		carried = append(carried, deliveries)
	}})
	w.open()
	w.ingest(firing("a", "x"))
	w.ingest(firing("b", "x"), firing("c", "x"))
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(carried, []int{1, 1}) {
		t.Fatalf("flushes observed %v; want two of one delivery each", carried)
	}
}

// Single-alert webhooks arriving together read as one timeline entry, not
// a line each.
func TestAStormOfSingleAlertWebhooksIsOneTimelineEntry(t *testing.T) {
	w := newWorld(t, Options{})
	w.open()
	for _, k := range []string{"a", "b", "c", "d", "e"} {
		w.ingest(firing(k, "disk full on "+k))
	}
	w.run()
	w.wait()
	_, events := w.incident(1)
	var attached []escalation.Event
	for _, ev := range events {
		if ev.Kind == escalation.EventAlertAttached {
			attached = append(attached, ev)
		}
	}
	// The first opened the incident, whose escalation starts at once;
	// the other four join it as one entry.
	if len(attached) != 2 || attached[0].Message != "disk full on a" ||
		attached[1].Count != 4 || !strings.HasPrefix(attached[1].Message, "4 alerts attached: disk full on b;") {
		t.Fatalf("alert entries %+v; want a, then one entry of 4", attached)
	}
}

// Sixteen senders at once cost the journal a flush each unless they share
// them. Here each flush takes 2 ms (a slow disk; Gather caps any wait at
// 1 ms): deliveries that arrive during one flush share the next; after a
// flush of three, the writer waits for as many again, but no longer than
// Gather; and once a flush carried one, a lone delivery goes at once.
func TestDeliveriesArrivingTogetherShareAFlushAndALoneOneGoesAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const flushTakes = 2 * time.Millisecond
		w := newWorld(t, Options{})
		w.flush = func(f *os.File) error {
			time.Sleep(flushTakes)
			return fdatasync(f)
		}
		w.open()
		start := time.Now()
		// send ingests one alert in the background; the channel gives
		// the time since start at which it was answered.
		send := func(key string) <-chan time.Duration {
			answered := make(chan time.Duration, 1)
			go func() {
				w.ingest(firing(key, "disk full on "+key))
				answered <- time.Since(start)
			}()
			return answered
		}
		at := func(what string, answered <-chan time.Duration, want time.Duration) {
			t.Helper()
			if got := <-answered; got != want {
				t.Errorf("%s answered at %v; want %v", what, got, want)
			}
		}

		first := send("a") // flushed alone: 0-2 ms
		synctest.Wait()
		b, c, d := send("b"), send("c"), send("d") // arrive during it
		at("the first", first, 2*time.Millisecond)
		at("b", b, 4*time.Millisecond) // all three in the next flush
		at("c", c, 4*time.Millisecond)
		at("d", d, 4*time.Millisecond)

		// The last flush carried three: e waits for two more, which come
		// half a millisecond later, and the three share a flush.
		e := send("e")
		time.Sleep(500 * time.Microsecond)
		f, g := send("f"), send("g")
		at("e", e, 6500*time.Microsecond)
		at("f", f, 6500*time.Microsecond)
		at("g", g, 6500*time.Microsecond)

		// After a quiet spell, h waits for company, but only Gather's
		// millisecond; then i, after a flush of one, waits not at all.
		time.Sleep(time.Second)
		quiet := time.Since(start)
		at("h", send("h"), quiet+time.Millisecond+flushTakes)
		at("i", send("i"), quiet+time.Millisecond+2*flushTakes)
	})
}

// Someone deletes klaxon.db to start afresh and leaves the journal: its
// alerts belong to the old database and must not page anyone from the new
// one. The journal is set aside, not replayed.
func TestAJournalOfAnotherDatabaseIsSetAsideNotApplied(t *testing.T) {
	w := newWorld(t, Options{})
	w.open()
	w.ingest(firing("old", "from the deleted database"))
	w.crash()
	if err := os.Remove(filepath.Join(w.dir, "klaxon.db")); err != nil {
		t.Fatal(err)
	}
	w.open()
	if n, _ := w.j.Backlog(); n != 0 {
		t.Fatalf("backlog %d; the old database's alerts were taken up", n)
	}
	aside, _ := filepath.Glob(filepath.Join(w.dir, "klaxon.db.intake.other-*"))
	if len(aside) != 1 || !strings.Contains(w.logs.String(), "belongs to another database") {
		t.Fatalf("set aside: %v; log:\n%s", aside, w.logs.String())
	}
	w.run()
	w.ingest(firing("new", "x"))
	w.wait()
	if inc, _ := w.incident(1); inc.Alerts != 1 || inc.Title != "x" {
		t.Fatalf("incident %+v; want only the new alert", inc)
	}
}

// A backup restored in place of the database is a copy of it: the journal
// stays, and what it holds past the copy's moment is applied.
func TestARestoredBackupTakesUpTheJournal(t *testing.T) {
	w := newWorld(t, Options{})
	w.open()
	w.run()
	w.ingest(firing("a", "before the backup"))
	w.wait()
	var backup bytes.Buffer
	if _, err := w.db.Backup(&backup); err != nil {
		t.Fatal(err)
	}
	w.ingest(firing("b", "after the backup"))
	w.wait()
	w.crash()
	if err := os.WriteFile(filepath.Join(w.dir, "klaxon.db"), backup.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	w.open()
	w.run()
	w.wait()
	if inc, _ := w.incident(1); inc.Alerts != 2 {
		t.Fatalf("incident holds %d alerts; want a from the copy and b from the journal", inc.Alerts)
	}
}

// slowStore is an engine whose apply transactions take fixed plus per for
// each alert of the clock's time, and whose escalation work is due now
// only while due is set.
type slowStore struct {
	Engine
	clock      *escalation.ManualClock
	fixed, per time.Duration
	due        bool
	sizes      *[]int // alerts of each apply transaction
}

func (s slowStore) ApplyQueued(ctx context.Context, q []escalation.Queued) (int, error) {
	n := 0
	for _, d := range q {
		n += len(d.Alerts)
	}
	*s.sizes = append(*s.sizes, n)
	s.clock.Advance(s.fixed + time.Duration(n)*s.per)
	return s.Engine.ApplyQueued(ctx, q)
}

func (s slowStore) NextDue(ctx context.Context) (time.Time, bool, error) {
	if !s.due {
		return time.Time{}, false, nil
	}
	return s.clock.Now(), true, nil
}

// While pages are due, a storm's backlog is applied in transactions that
// fit the budget at the rate the last large one ran, so a page waits
// behind none for much longer; with nothing due, transactions are as large
// as MaxApply allows. A transaction's own cost (30 ms here: its fsyncs, the
// wait for the writer) makes small ones dear per alert, so the rate they
// show would shrink the next ones until a storm took a commit per
// delivery; budgeted applies take at least 2,000 alerts.
func TestAppliesFitTheBudgetWhilePagesAreDue(t *testing.T) {
	for _, due := range []bool{true, false} {
		t.Run(fmt.Sprint("due=", due), func(t *testing.T) {
			w := newWorld(t, Options{MaxApply: 10_000, Budget: 40 * time.Millisecond})
			var sizes []int
			w.wrap = func(e Engine) Engine {
				return slowStore{Engine: e, clock: w.clock, fixed: 30 * time.Millisecond, per: 10 * time.Microsecond,
					due: due, sizes: &sizes}
			}
			w.open()
			for d := range 30 {
				alerts := make([]escalation.Alert, 600)
				for i := range alerts {
					alerts[i] = firing(fmt.Sprintf("node-%d-%d", d, i), "node down")
				}
				w.ingest(alerts...)
			}
			w.run()
			w.wait()
			// The first as MaxApply allows: no rate known yet. Then 126 ms
			// for 9,600 alerts fits 3,047 in 40 ms (3,000 in whole
			// deliveries); 60 ms for those fits 2,000, and the rest go
			// 1,800 at a time. Sized by the rate of the small ones, they
			// would shrink to a delivery each.
			want := []int{9_600, 8_400}
			if due {
				want = []int{9_600, 3_000, 1_800, 1_800, 1_800}
			}
			if !slices.Equal(sizes, want) {
				t.Fatalf("apply transactions of %v alerts; want %v", sizes, want)
			}
			if inc, _ := w.incident(1); inc.Alerts != 18_000 {
				t.Fatalf("incident holds %d alerts; want 18,000", inc.Alerts)
			}
		})
	}
}

package store

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/klaxonhq/klaxon/escalation"
	"github.com/klaxonhq/klaxon/internal/wire"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func TestRoundTrip(t *testing.T) {
	db := openTemp(t)
	inc := &escalation.Incident{
		ID: 1, Service: "api", GroupKey: "g", Title: "down", Status: escalation.StatusAcknowledged,
		Priority: escalation.P2, Policy: "ops", CreatedAt: t0, UpdatedAt: t0.Add(time.Minute),
		AcknowledgedAt: t0.Add(time.Minute), AcknowledgedBy: "alice", Firing: 1, Alerts: 2,
		Escalation: escalation.Escalation{Level: 1, Round: 0, NextLevelAt: t0.Add(time.Hour),
			Runs: []escalation.ContactRun{{Person: "alice", Level: 0, Since: t0, Step: 1, NextAt: t0.Add(5 * time.Minute)}}},
		NextDue: t0.Add(5 * time.Minute),
	}
	rec := &escalation.AlertRecord{Service: "api", Integration: "am", IncidentID: 1, FirstSeen: t0, LastSeen: t0,
		Alert: escalation.Alert{DedupKey: "fp1", State: escalation.AlertFiring, Summary: "s",
			Labels: map[string]string{"a": "b"}, Links: []escalation.Link{{Href: "http://x"}}}}
	page := &escalation.Page{ID: 1, IncidentID: 1, Person: "alice", Channel: escalation.ChannelSMS,
		Address: "+15551234567", Text: "hi", Status: escalation.PageSent, Step: 1, Attempts: 1,
		CreatedAt: t0, SentAt: t0, Provider: "twilio", ProviderID: "SM1"}
	ev := escalation.Event{At: t0, Kind: escalation.EventPageSent, Person: "alice", PageID: 1, Channel: escalation.ChannelSMS}

	update(t, db, func(tx escalation.Tx) error {
		return errors.Join(tx.PutIncident(inc), tx.PutAlert(rec), tx.PutPage(page),
			tx.AppendEvent(1, ev), tx.SetGroupIncident("api", "g", 1))
	})
	view(t, db, func(tx escalation.Tx) error {
		gotInc, err := tx.Incident(1)
		if err != nil || !reflect.DeepEqual(gotInc, inc) {
			t.Errorf("Incident = %+v, %v; want %+v", gotInc, err, inc)
		}
		gotRec, err := tx.Alert("api", "fp1")
		if err != nil || !reflect.DeepEqual(gotRec, rec) {
			t.Errorf("Alert = %+v, %v; want %+v", gotRec, err, rec)
		}
		gotPage, err := tx.Page(1)
		if err != nil || !reflect.DeepEqual(gotPage, page) {
			t.Errorf("Page = %+v, %v; want %+v", gotPage, err, page)
		}
		evs, err := tx.Events(1)
		if err != nil || !reflect.DeepEqual(evs, []escalation.Event{ev}) {
			t.Errorf("Events = %+v, %v", evs, err)
		}
		if id, err := tx.GroupIncident("api", "g"); err != nil || id != 1 {
			t.Errorf("GroupIncident = %d, %v", id, err)
		}

		// Records are copies: changing one changes nothing stored.
		gotInc.Escalation.Runs[0].Person = "mallory"
		gotRec.Alert.Labels["a"] = "changed"
		again, _ := tx.Incident(1)
		againRec, _ := tx.Alert("api", "fp1")
		if again.Escalation.Runs[0].Person != "alice" || againRec.Alert.Labels["a"] != "b" {
			t.Error("a returned record aliases stored data")
		}
		return nil
	})
}

func TestNotFound(t *testing.T) {
	db := openTemp(t)
	view(t, db, func(tx escalation.Tx) error {
		if _, err := tx.Incident(7); !errors.Is(err, escalation.ErrNotFound) {
			t.Errorf("Incident: %v", err)
		}
		if _, err := tx.Page(7); !errors.Is(err, escalation.ErrNotFound) {
			t.Errorf("Page: %v", err)
		}
		if _, err := tx.Alert("api", "nope"); !errors.Is(err, escalation.ErrNotFound) {
			t.Errorf("Alert: %v", err)
		} else if got, want := err.Error(), `alert "nope" of service "api": not found`; got != want {
			t.Errorf("Alert error = %q, want %q", got, want)
		}
		if _, err := tx.LatestPageTo("alice", 10); !errors.Is(err, escalation.ErrNotFound) {
			t.Errorf("LatestPageTo: %v", err)
		}
		if id, err := tx.GroupIncident("api", "g"); id != 0 || err != nil {
			t.Errorf("GroupIncident = %d, %v; want 0, nil", id, err)
		}
		for name, f := range map[string]func() (any, error){
			"Incidents": func() (any, error) { return tx.Incidents("", 0) },
			"Events":    func() (any, error) { return tx.Events(7) },
			"Outbox":    func() (any, error) { return tx.Outbox() },
			"DuePages":  func() (any, error) { return tx.DuePages(t0, 0) },
			"DueIncs":   func() (any, error) { return tx.DueIncidents(t0, 0) },
		} {
			v, err := f()
			if err != nil || reflect.ValueOf(v).IsNil() || reflect.ValueOf(v).Len() != 0 {
				t.Errorf("%s on empty store = %#v, %v; want empty non-nil", name, v, err)
			}
		}
		if _, ok, err := tx.NextIncidentDue(); ok || err != nil {
			t.Errorf("NextIncidentDue on empty store: %v %v", ok, err)
		}
		if _, ok, err := tx.NextPageDue(); ok || err != nil {
			t.Errorf("NextPageDue on empty store: %v %v", ok, err)
		}
		return nil
	})
}

func TestInvalidWrites(t *testing.T) {
	db := openTemp(t)
	for name, fn := range map[string]func(escalation.Tx) error{
		"incident id 0":  func(tx escalation.Tx) error { return tx.PutIncident(&escalation.Incident{}) },
		"page id -1":     func(tx escalation.Tx) error { return tx.PutPage(&escalation.Page{ID: -1}) },
		"event to 0":     func(tx escalation.Tx) error { return tx.AppendEvent(0, escalation.Event{}) },
		"NUL in service": func(tx escalation.Tx) error { return tx.PutAlert(&escalation.AlertRecord{Service: "a\x00b"}) },
		"group to -2":    func(tx escalation.Tx) error { return tx.SetGroupIncident("api", "g", -2) },
	} {
		if err := db.Update(t.Context(), fn); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	// A read-only transaction refuses writes.
	err := db.View(t.Context(), func(tx escalation.Tx) error {
		return tx.PutIncident(&escalation.Incident{ID: 1})
	})
	if err == nil {
		t.Error("PutIncident in View succeeded")
	}
}

func TestGroupIncidentMoveAndClear(t *testing.T) {
	db := openTemp(t)
	update(t, db, func(tx escalation.Tx) error {
		return errors.Join(tx.SetGroupIncident("api", "g", 1), tx.SetGroupIncident("api", "g", 2),
			tx.SetGroupIncident("web", "g", 3))
	})
	view(t, db, func(tx escalation.Tx) error {
		if id, _ := tx.GroupIncident("api", "g"); id != 2 {
			t.Errorf("api/g = %d, want 2", id)
		}
		if id, _ := tx.GroupIncident("web", "g"); id != 3 {
			t.Errorf("web/g = %d, want 3", id)
		}
		return nil
	})
	update(t, db, func(tx escalation.Tx) error { return tx.SetGroupIncident("api", "g", 0) })
	view(t, db, func(tx escalation.Tx) error {
		if id, err := tx.GroupIncident("api", "g"); id != 0 || err != nil {
			t.Errorf("api/g after clear = %d, %v", id, err)
		}
		return nil
	})
}

// Within one transaction an incident is put again and again (once per
// alert of a storm); its due entry moves only when its due time does,
// and never doubles, whether it was put or read first.
func TestDueIndexWithinOneTransaction(t *testing.T) {
	db := openTemp(t)
	t1, t2 := t0.Add(10*time.Minute), t0.Add(20*time.Minute)
	inc := &escalation.Incident{ID: 7, Status: escalation.StatusTriggered, NextDue: t1}
	update(t, db, func(tx escalation.Tx) error {
		for _, due := range []time.Time{t1, t1, t2, t2} {
			inc.NextDue = due
			if err := tx.PutIncident(inc); err != nil {
				return err
			}
		}
		return nil
	})
	update(t, db, func(tx escalation.Tx) error {
		got, err := tx.Incident(7)
		if err != nil {
			return err
		}
		for _, due := range []time.Time{t2, t1, t1} {
			got.NextDue = due
			if err := tx.PutIncident(got); err != nil {
				return err
			}
		}
		return nil
	})
	view(t, db, func(tx escalation.Tx) error {
		if ids, err := tx.DueIncidents(t2.Add(time.Hour), 0); err != nil || !equal(ids, []int64{7}) {
			t.Errorf("due = %v, %v; want [7] once", ids, err)
		}
		if at, ok, err := tx.NextIncidentDue(); err != nil || !ok || !at.Equal(t1) {
			t.Errorf("next due = %v %v %v; want %v", at, ok, err, t1)
		}
		return nil
	})
}

func TestDueIndex(t *testing.T) {
	db := openTemp(t)
	t1, t2 := t0.Add(10*time.Minute), t0.Add(20*time.Minute)
	put := func(id int64, due time.Time) {
		t.Helper()
		update(t, db, func(tx escalation.Tx) error {
			return tx.PutIncident(&escalation.Incident{ID: id, Status: escalation.StatusTriggered, NextDue: due})
		})
	}
	due := func(now time.Time, limit int) []int64 {
		t.Helper()
		var ids []int64
		view(t, db, func(tx escalation.Tx) (err error) {
			ids, err = tx.DueIncidents(now, limit)
			return err
		})
		return ids
	}
	next := func() (time.Time, bool) {
		t.Helper()
		var at time.Time
		var ok bool
		view(t, db, func(tx escalation.Tx) (err error) {
			at, ok, err = tx.NextIncidentDue()
			return err
		})
		return at, ok
	}

	put(1, t1)
	if got := due(t1, 0); !equal(got, []int64{1}) {
		t.Errorf("due at t1 = %v", got)
	}
	if got := due(t1.Add(-time.Nanosecond), 0); len(got) != 0 {
		t.Errorf("due before t1 = %v", got)
	}
	put(1, t2)
	if got := due(t1, 0); len(got) != 0 {
		t.Errorf("after move to t2, due at t1 = %v", got)
	}
	if at, ok := next(); !ok || !at.Equal(t2) {
		t.Errorf("NextIncidentDue = %v %v, want %v", at, ok, t2)
	}
	put(1, t2) // unchanged: still indexed once
	if got := due(t2, 0); !equal(got, []int64{1}) {
		t.Errorf("due at t2 = %v", got)
	}
	put(1, time.Time{})
	if got := due(t2.Add(time.Hour), 0); len(got) != 0 {
		t.Errorf("after clearing, due = %v", got)
	}
	if at, ok := next(); ok {
		t.Errorf("after clearing, NextIncidentDue = %v", at)
	}

	// Order is by time, then id; limit cuts the earliest.
	put(5, t2)
	put(3, t1)
	put(4, t2)
	put(2, t0)
	put(6, time.Time{})
	if got := due(t2, 0); !equal(got, []int64{2, 3, 4, 5}) {
		t.Errorf("due at t2 = %v, want [2 3 4 5]", got)
	}
	if got := due(t2, 2); !equal(got, []int64{2, 3}) {
		t.Errorf("due at t2, limit 2 = %v, want [2 3]", got)
	}
	if got := due(t1, 10); !equal(got, []int64{2, 3}) {
		t.Errorf("due at t1 = %v, want [2 3]", got)
	}
	if at, ok := next(); !ok || !at.Equal(t0) {
		t.Errorf("NextIncidentDue = %v %v, want %v", at, ok, t0)
	}
}

func TestOutboxIndex(t *testing.T) {
	db := openTemp(t)
	put := func(p *escalation.Page) {
		t.Helper()
		update(t, db, func(tx escalation.Tx) error { return tx.PutPage(p) })
	}
	ids := func(ps []*escalation.Page) []int64 {
		out := []int64{}
		for _, p := range ps {
			out = append(out, p.ID)
		}
		return out
	}
	check := func(now time.Time, limit int, wantDue, wantOutbox []int64, wantNext time.Time) {
		t.Helper()
		view(t, db, func(tx escalation.Tx) error {
			due, err := tx.DuePages(now, limit)
			if err != nil || !equal(ids(due), wantDue) {
				t.Errorf("DuePages(%v, %d) = %v, %v; want %v", now, limit, ids(due), err, wantDue)
			}
			out, err := tx.Outbox()
			if err != nil || !equal(ids(out), wantOutbox) {
				t.Errorf("Outbox = %v, %v; want %v", ids(out), err, wantOutbox)
			}
			at, ok, err := tx.NextPageDue()
			if err != nil || ok != !wantNext.IsZero() || ok && !at.Equal(wantNext) {
				t.Errorf("NextPageDue = %v %v %v; want %v", at, ok, err, wantNext)
			}
			return nil
		})
	}

	p1 := &escalation.Page{ID: 1, Person: "alice", Status: escalation.PageQueued, NotBefore: t0.Add(time.Minute)}
	p2 := &escalation.Page{ID: 2, Person: "bob", Status: escalation.PageQueued, NotBefore: t0}
	p3 := &escalation.Page{ID: 3, Person: "carol", Status: escalation.PageQueued, NotBefore: t0.Add(time.Hour)}
	put(p1)
	put(p2)
	put(p3)
	check(t0.Add(time.Minute), 0, []int64{2, 1}, []int64{2, 1, 3}, t0)
	check(t0.Add(time.Hour), 2, []int64{2, 1}, []int64{2, 1, 3}, t0)
	check(t0.Add(-time.Second), 0, []int64{}, []int64{2, 1, 3}, t0)

	// Sending, with a retry time, stays in the outbox under its new time.
	p2.Status, p2.NotBefore = escalation.PageSending, t0.Add(2*time.Hour)
	put(p2)
	check(t0.Add(time.Hour), 0, []int64{1, 3}, []int64{1, 3, 2}, t0.Add(time.Minute))

	// Sent leaves it.
	p2.Status = escalation.PageSent
	put(p2)
	p1.Status = escalation.PageCancelled
	put(p1)
	check(t0.Add(3*time.Hour), 0, []int64{3}, []int64{3}, t0.Add(time.Hour))
	p3.Status = escalation.PageFailed
	put(p3)
	check(t0.Add(3*time.Hour), 0, []int64{}, []int64{}, time.Time{})

	// A queued page without NotBefore is due at once.
	put(&escalation.Page{ID: 4, Status: escalation.PageQueued})
	check(t0, 0, []int64{4}, []int64{4}, time.Unix(0, 0))

	// Outbox pages are full records.
	view(t, db, func(tx escalation.Tx) error {
		out, err := tx.Outbox()
		if err != nil || len(out) != 1 || out[0].Status != escalation.PageQueued {
			t.Errorf("Outbox = %+v, %v", out, err)
		}
		return nil
	})
}

func TestEventsInterleaved(t *testing.T) {
	db := openTemp(t)
	for i := range 300 {
		id := int64(1 + i%2)
		update(t, db, func(tx escalation.Tx) error {
			// Incident 256 sorts last, so its appends seek past the end;
			// 1 and 2 seek into a neighbour and step back.
			if err := tx.AppendEvent(256, escalation.Event{Level: -i}); err != nil {
				return err
			}
			return tx.AppendEvent(id, escalation.Event{Level: i, Kind: escalation.EventEscalated})
		})
	}
	view(t, db, func(tx escalation.Tx) error {
		for id := int64(1); id <= 2; id++ {
			evs, err := tx.Events(id)
			if err != nil || len(evs) != 150 {
				t.Fatalf("Events(%d) = %d, %v", id, len(evs), err)
			}
			for j, ev := range evs {
				if want := 2*j + int(id) - 1; ev.Level != want {
					t.Fatalf("Events(%d)[%d].Level = %d, want %d", id, j, ev.Level, want)
				}
			}
		}
		if evs, _ := tx.Events(256); len(evs) != 300 || evs[299].Level != -299 {
			t.Errorf("Events(256) = %d events", len(evs))
		}
		if evs, _ := tx.Events(3); len(evs) != 0 {
			t.Errorf("Events(3) = %v", evs)
		}
		return nil
	})
}

func TestIncidentsNewestFirst(t *testing.T) {
	db := openTemp(t)
	statuses := []escalation.Status{escalation.StatusResolved, escalation.StatusTriggered,
		escalation.StatusAcknowledged, escalation.StatusTriggered}
	update(t, db, func(tx escalation.Tx) error {
		for _, st := range statuses {
			id, err := tx.NextIncidentID()
			if err != nil {
				return err
			}
			if err := tx.PutIncident(&escalation.Incident{ID: id, Status: st}); err != nil {
				return err
			}
		}
		return nil
	})
	view(t, db, func(tx escalation.Tx) error {
		list := func(st escalation.Status) []int64 {
			incs, err := tx.Incidents(st, 0)
			if err != nil {
				t.Fatal(err)
			}
			var ids []int64
			for _, inc := range incs {
				ids = append(ids, inc.ID)
			}
			return ids
		}
		if got := list(""); !equal(got, []int64{4, 3, 2, 1}) {
			t.Errorf("all = %v", got)
		}
		if got := list(escalation.StatusTriggered); !equal(got, []int64{4, 2}) {
			t.Errorf("triggered = %v", got)
		}
		if got := list(escalation.StatusResolved); !equal(got, []int64{1}) {
			t.Errorf("resolved = %v", got)
		}
		return nil
	})
}

func TestLatestPageTo(t *testing.T) {
	db := openTemp(t)
	pages := []escalation.Page{
		{IncidentID: 1, Person: "alice", Status: escalation.PageSent},      // 1
		{IncidentID: 1, Person: "alice", Status: escalation.PageQueued},    // 2
		{IncidentID: 1, Person: "bob", Status: escalation.PageSent},        // 3
		{IncidentID: 2, Person: "alice", Status: escalation.PageFailed},    // 4
		{IncidentID: 2, Person: "alice", Status: escalation.PageCancelled}, // 5
		{IncidentID: 2, Person: "bob", Status: escalation.PageSending},     // 6
		{Person: "alice", Status: escalation.PageSent},                     // 7: a shift notice, nothing to ack
	}
	update(t, db, func(tx escalation.Tx) error {
		for i := range pages {
			id, err := tx.NextPageID()
			if err != nil {
				return err
			}
			pages[i].ID = id
			if err := tx.PutPage(&pages[i]); err != nil {
				return err
			}
		}
		return nil
	})
	view(t, db, func(tx escalation.Tx) error {
		for _, c := range []struct {
			person string
			limit  int
			want   int64 // 0: not found
		}{
			{"alice", 10, 2},
			{"alice", 6, 2},
			{"alice", 5, 0}, // pages 7..3 hold nothing for alice to ack
			{"alice", 0, 2}, // no limit
			{"bob", 2, 6},
			{"carol", 10, 0},
		} {
			p, err := tx.LatestPageTo(c.person, c.limit)
			switch {
			case c.want == 0 && !errors.Is(err, escalation.ErrNotFound):
				t.Errorf("LatestPageTo(%s, %d) = %v, %v; want not found", c.person, c.limit, p, err)
			case c.want != 0 && (err != nil || p.ID != c.want):
				t.Errorf("LatestPageTo(%s, %d) = %v, %v; want page %d", c.person, c.limit, p, err, c.want)
			}
		}
		return nil
	})
}

// Alice was paged, then a storm paged bob over and over: her bare "ack"
// still means her page, however many went to others since.
func TestLatestPageToLooksPastOtherPeoplesPages(t *testing.T) {
	db := openTemp(t)
	update(t, db, func(tx escalation.Tx) error {
		for i := range 51 {
			p := escalation.Page{IncidentID: int64(i + 1), Person: "bob", Status: escalation.PageSent}
			if i == 0 {
				p.Person = "alice"
			}
			id, err := tx.NextPageID()
			if err != nil {
				return err
			}
			p.ID = id
			if err := tx.PutPage(&p); err != nil {
				return err
			}
		}
		return nil
	})
	view(t, db, func(tx escalation.Tx) error {
		if p, err := tx.LatestPageTo("alice", 10); err != nil || p.ID != 1 {
			t.Errorf("LatestPageTo(alice) = %v, %v; want page 1", p, err)
		}
		return nil
	})
}

func TestTimeKeyClamps(t *testing.T) {
	if got := unixNanos(time.Time{}); got != 0 {
		t.Errorf("zero time = %d", got)
	}
	if got := unixNanos(time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)); got != 0 {
		t.Errorf("1900 = %d", got)
	}
	far := time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)
	if a, b := unixNanos(far), unixNanos(t0); a <= b {
		t.Errorf("year 3000 (%d) sorts before 2026 (%d)", a, b)
	}
}

// Within one transaction an incident is decoded and encoded once, yet every
// read is a private copy and sees the transaction's own puts.
func TestIncidentCacheWithinTransaction(t *testing.T) {
	dir := t.TempDir()
	db := openAt(t, filepath.Join(dir, "k.db"))
	base := time.Date(2025, 3, 13, 16, 0, 0, 0, time.UTC)
	update(t, db, func(tx escalation.Tx) error {
		inc := &escalation.Incident{ID: 1, Status: escalation.StatusTriggered, Title: "first",
			Escalation: escalation.Escalation{Runs: []escalation.ContactRun{{Person: "ana"}}}, NextDue: base}
		if err := tx.PutIncident(inc); err != nil {
			return err
		}
		inc.Title = "changed after put"
		inc.Escalation.Runs[0].Person = "changed after put"
		got, err := tx.Incident(1)
		if err != nil {
			return err
		}
		if got.Title != "first" || got.Escalation.Runs[0].Person != "ana" {
			t.Errorf("the cache shares memory with the caller: %+v", got)
		}
		got.Escalation.Runs[0].Person = "scribbled"
		again, _ := tx.Incident(1)
		if again.Escalation.Runs[0].Person != "ana" {
			t.Errorf("a read copy shares memory with the cache")
		}
		got.Title = "second"
		if err := tx.PutIncident(got); err != nil {
			return err
		}
		list, err := tx.Incidents("", 0)
		if err != nil {
			return err
		}
		if len(list) != 1 || list[0].Title != "second" {
			t.Errorf("Incidents in the same transaction: %+v", list)
		}
		due, err := tx.DueIncidents(base, 10)
		if err != nil || len(due) != 1 {
			t.Errorf("due index in the same transaction: %v %v", due, err)
		}
		return nil
	})
	db.Close()
	db = openAt(t, filepath.Join(dir, "k.db"))
	view(t, db, func(tx escalation.Tx) error {
		inc, err := tx.Incident(1)
		if err != nil || inc.Title != "second" {
			t.Errorf("after reopen: %+v %v", inc, err)
		}
		return nil
	})
	db.Close()
}

// A file of schema 1 kept alerts by key, some still in the JSON of earlier
// Klaxons. Opened by this one, every alert reads back from its numbered
// record, new alerts are numbered after them, the file says schema 2 (so
// an earlier Klaxon refuses it), and an update rewrites a JSON record in
// the wire form.
func TestAlertsOfASchema1FileMoveToNumberedRecords(t *testing.T) {
	jsonRec := &escalation.AlertRecord{Service: "api", Integration: "am", IncidentID: 7, FirstSeen: t0, LastSeen: t0,
		Alert: escalation.Alert{DedupKey: "fp-json", State: escalation.AlertFiring, Summary: "disk full",
			Labels: map[string]string{"host": "db1"}}}
	wireRec := &escalation.AlertRecord{Service: "api", Integration: "am", IncidentID: 7, FirstSeen: t0, LastSeen: t0,
		Alert: escalation.Alert{DedupKey: "fp-wire", State: escalation.AlertResolved, Summary: "disk fuller"}}
	js, err := json.Marshal(jsonRec)
	if err != nil {
		t.Fatal(err)
	}
	path := schema1File(t, map[string][]byte{"fp-json": js, "fp-wire": wire.AppendRecord(nil, wireRec)})
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	fresh := &escalation.AlertRecord{Service: "api", Integration: "am", IncidentID: 7, FirstSeen: t0, LastSeen: t0,
		Alert: escalation.Alert{DedupKey: "fp-new", State: escalation.AlertFiring, Summary: "disk fullest"}}
	update(t, db, func(tx escalation.Tx) error { return tx.PutAlert(fresh) })
	view(t, db, func(tx escalation.Tx) error {
		for _, want := range []*escalation.AlertRecord{jsonRec, wireRec, fresh} {
			got, err := tx.Alert("api", want.Alert.DedupKey)
			if err != nil || !reflect.DeepEqual(got, want) {
				t.Errorf("Alert(%s) = %+v, %v; want %+v", want.Alert.DedupKey, got, err, want)
			}
		}
		if all, err := tx.IncidentAlerts(7); err != nil || len(all) != 3 {
			t.Errorf("IncidentAlerts(7) = %d records, %v; want the two moved and the new one", len(all), err)
		}
		return nil
	})
	update(t, db, func(tx escalation.Tx) error {
		jsonRec.LastSeen = t0.Add(time.Minute)
		return tx.PutAlert(jsonRec)
	})
	err = db.bolt.View(func(btx *bolt.Tx) error {
		if btx.Bucket([]byte(bucketAlertsV1)) != nil {
			t.Errorf("the schema 1 bucket %q is still there", bucketAlertsV1)
		}
		if v := btx.Bucket([]byte(bucketMeta)).Get([]byte(keySchemaVersion)); binary.BigEndian.Uint64(v) != schemaVersion {
			t.Errorf("schema version = %d, want %d", binary.BigEndian.Uint64(v), schemaVersion)
		}
		numbers := map[string]uint64{}
		for _, key := range []string{"fp-json", "fp-wire", "fp-new"} {
			k, _ := stringKey("api", key)
			numbers[key] = binary.BigEndian.Uint64(btx.Bucket([]byte(bucketAlertIDs)).Get(k))
		}
		// Moved in key order, then the new one after them.
		if want := map[string]uint64{"fp-json": 1, "fp-wire": 2, "fp-new": 3}; !reflect.DeepEqual(numbers, want) {
			t.Errorf("alert numbers = %v, want %v", numbers, want)
		}
		if v := btx.Bucket([]byte(bucketAlertRecords)).Get(u64(1)); !wire.IsWire(v) {
			t.Errorf("the updated alert is still stored as %.20q", v)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
}

// schema1File writes a file as a schema 1 Klaxon left it, with the given
// alert records (dedup key → stored value) of service "api".
func schema1File(t *testing.T, records map[string][]byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "klaxon.db")
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	setRaw(t, path, func(btx *bolt.Tx) error {
		if err := btx.DeleteBucket([]byte(bucketAlertIDs)); err != nil {
			return err
		}
		if err := btx.DeleteBucket([]byte(bucketAlertRecords)); err != nil {
			return err
		}
		old, err := btx.CreateBucket([]byte(bucketAlertsV1))
		if err != nil {
			return err
		}
		for key, v := range records {
			k, _ := stringKey("api", key)
			if err := old.Put(k, v); err != nil {
				return err
			}
		}
		return btx.Bucket([]byte(bucketMeta)).Put([]byte(keySchemaVersion), u64(1))
	})
	return path
}

// The move from schema 1 goes a chunk per transaction. Cut short after
// the first chunk (a crash), the file already says schema 2, and the next
// Open moves the rest: every alert once, none numbered twice.
func TestAMoveOfAlertsCutShortGoesOnAtTheNextOpen(t *testing.T) {
	records := map[string][]byte{}
	for i := range 5 {
		key := fmt.Sprintf("fp-%d", i)
		records[key] = wire.AppendRecord(nil, &escalation.AlertRecord{Service: "api", IncidentID: 1,
			FirstSeen: t0, LastSeen: t0, Alert: escalation.Alert{DedupKey: key, State: escalation.AlertFiring}})
	}
	path := schema1File(t, records)
	setRaw(t, path, func(btx *bolt.Tx) error {
		if err := initSchema(btx); err != nil {
			return err
		}
		done, err := moveSomeAlerts(btx, 2)
		if done {
			t.Error("two of five alerts moved, and the move says it is done")
		}
		return err
	})
	setRaw(t, path, func(btx *bolt.Tx) error {
		v := btx.Bucket([]byte(bucketMeta)).Get([]byte(keySchemaVersion))
		if got := binary.BigEndian.Uint64(v); got != schemaVersion {
			t.Errorf("schema version mid-move = %d, want %d", got, schemaVersion)
		}
		if n := btx.Bucket([]byte(bucketAlertsV1)).Stats().KeyN; n != 3 {
			t.Errorf("%d alerts left to move, want 3", n)
		}
		return nil
	})

	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	view(t, db, func(tx escalation.Tx) error {
		for key := range records {
			if _, err := tx.Alert("api", key); err != nil {
				t.Errorf("Alert(%s): %v", key, err)
			}
		}
		if all, err := tx.IncidentAlerts(1); err != nil || len(all) != 5 {
			t.Errorf("IncidentAlerts(1) = %d records, %v; want 5", len(all), err)
		}
		return nil
	})
	err = db.bolt.View(func(btx *bolt.Tx) error {
		if btx.Bucket([]byte(bucketAlertsV1)) != nil {
			t.Errorf("the schema 1 bucket %q is still there", bucketAlertsV1)
		}
		if n := btx.Bucket([]byte(bucketAlertIDs)).Stats().KeyN; n != 5 {
			t.Errorf("%d alert numbers, want 5", n)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Applying an alert reads it, then writes it, often in one transaction
// with other alerts: the number the read found (or did not) must never
// answer for another alert, nor outlive the write that creates it.
func TestAlertNumbersWithinOneTransaction(t *testing.T) {
	db := openTemp(t)
	rec := func(key, summary string) *escalation.AlertRecord {
		return &escalation.AlertRecord{Service: "api", IncidentID: 1, FirstSeen: t0, LastSeen: t0,
			Alert: escalation.Alert{DedupKey: key, State: escalation.AlertFiring, Summary: summary}}
	}
	update(t, db, func(tx escalation.Tx) error {
		if _, err := tx.Alert("api", "a"); !errors.Is(err, escalation.ErrNotFound) {
			t.Errorf("Alert(a) before any write: %v", err)
		}
		if err := tx.PutAlert(rec("a", "first")); err != nil {
			return err
		}
		if _, err := tx.Alert("api", "b"); !errors.Is(err, escalation.ErrNotFound) {
			t.Errorf("Alert(b) after a was written: %v", err)
		}
		if err := errors.Join(tx.PutAlert(rec("b", "second")), tx.PutAlert(rec("a", "first, updated"))); err != nil {
			return err
		}
		for key, want := range map[string]string{"a": "first, updated", "b": "second"} {
			if got, err := tx.Alert("api", key); err != nil || got.Alert.Summary != want {
				t.Errorf("Alert(%s) in the transaction = %+v, %v; want summary %q", key, got, err, want)
			}
		}
		return nil
	})
	err := db.bolt.View(func(btx *bolt.Tx) error {
		if n := btx.Bucket([]byte(bucketAlertRecords)).Stats().KeyN; n != 2 {
			t.Errorf("%d alert records, want 2", n)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A schema 2 file holds incidents, timeline events and pages as JSON.
// Opened by this Klaxon it is marked schema 3 (an earlier Klaxon then
// refuses it rather than misread a compact record), every JSON record
// reads as it was written, and a record written again is compact.
func TestJSONRecordsOfASchema2FileReadAsWrittenAndAreRewrittenCompact(t *testing.T) {
	path := filepath.Join(t.TempDir(), "klaxon.db")
	db := openAt(t, path)
	inc := &escalation.Incident{Service: "api", GroupKey: "g", Title: "disk full", Status: escalation.StatusTriggered,
		Priority: escalation.P2, Policy: "default", CreatedAt: t0, UpdatedAt: t0, Firing: 1, Alerts: 1,
		Escalation: escalation.Escalation{Runs: []escalation.ContactRun{{Person: "ana", Since: t0, NextAt: t0.Add(time.Minute)}}},
		NextDue:    t0.Add(time.Minute)}
	ev := escalation.Event{At: t0, Kind: escalation.EventTriggered, Actor: "prometheus", Via: "monitor", Message: "P2 disk full on api"}
	page := &escalation.Page{IncidentID: 1, Person: "ana", Channel: escalation.ChannelSMS, Address: "+46700000001",
		Text: "P2 disk full", Status: escalation.PageQueued, CreatedAt: t0}
	update(t, db, func(tx escalation.Tx) error {
		var err error
		if inc.ID, err = tx.NextIncidentID(); err != nil {
			return err
		}
		if page.ID, err = tx.NextPageID(); err != nil {
			return err
		}
		return errors.Join(tx.PutIncident(inc), tx.AppendEvent(inc.ID, ev), tx.PutPage(page))
	})
	db.Close()
	setRaw(t, path, func(btx *bolt.Tx) error {
		incJS, _ := json.Marshal(inc)
		evJS, _ := json.Marshal(ev)
		pageJS, _ := json.Marshal(page)
		return errors.Join(btx.Bucket([]byte(bucketIncidents)).Put(idKey(inc.ID), incJS),
			btx.Bucket([]byte(bucketEvents)).Put(eventKey(inc.ID, 1), evJS),
			btx.Bucket([]byte(bucketPages)).Put(idKey(page.ID), pageJS),
			btx.Bucket([]byte(bucketMeta)).Put([]byte(keySchemaVersion), u64(2)))
	})

	db = openAt(t, path)
	same := func(what string, got, want any) {
		t.Helper()
		g, _ := json.Marshal(got)
		w, _ := json.Marshal(want)
		if string(g) != string(w) {
			t.Errorf("%s read as\n%s\nwant\n%s", what, g, w)
		}
	}
	view(t, db, func(tx escalation.Tx) error {
		got, err := tx.Incident(inc.ID)
		if err != nil {
			return err
		}
		same("incident", got, inc)
		all, err := tx.Incidents("", 0)
		if err != nil || len(all) != 1 {
			t.Fatalf("Incidents = %d, %v; want the one", len(all), err)
		}
		same("listed incident", all[0], inc)
		evs, err := tx.Events(inc.ID)
		if err != nil {
			return err
		}
		same("timeline", evs, []escalation.Event{ev})
		p, err := tx.Page(page.ID)
		if err != nil {
			return err
		}
		same("page", p, page)
		latest, err := tx.LatestPageTo("ana", 0)
		if err != nil {
			return err
		}
		same("latest page", latest, page)
		return nil
	})
	update(t, db, func(tx escalation.Tx) error {
		inc.Status, inc.AcknowledgedAt, inc.AcknowledgedBy = escalation.StatusAcknowledged, t0.Add(time.Minute), "ana"
		page.Status, page.SentAt = escalation.PageSent, t0
		return errors.Join(tx.PutIncident(inc), tx.PutPage(page))
	})
	err := db.bolt.View(func(btx *bolt.Tx) error {
		if v := btx.Bucket([]byte(bucketMeta)).Get([]byte(keySchemaVersion)); binary.BigEndian.Uint64(v) != schemaVersion {
			t.Errorf("schema version = %d, want %d", binary.BigEndian.Uint64(v), schemaVersion)
		}
		for name, v := range map[string][]byte{
			"incident": btx.Bucket([]byte(bucketIncidents)).Get(idKey(inc.ID)),
			"page":     btx.Bucket([]byte(bucketPages)).Get(idKey(page.ID)),
		} {
			if !wire.IsWire(v) {
				t.Errorf("the rewritten %s is still stored as %.20q", name, v)
			}
		}
		if v := btx.Bucket([]byte(bucketEvents)).Get(eventKey(inc.ID, 1)); wire.IsWire(v) {
			t.Error("an event never written again changed form")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	view(t, db, func(tx escalation.Tx) error {
		got, err := tx.Incident(inc.ID)
		if err != nil {
			return err
		}
		same("rewritten incident", got, inc)
		return nil
	})
}

package store

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/escalation"
)

// A year of history: incident 1 (db, resolved long ago, with its alert,
// pages — one a call in alice's call-limit index — a chat post still due,
// and a group key), incident 2 (api, still open, sharing nothing with it),
// an early resolve seen long ago and one seen lately, and a shift notice.
// Deleting incident 1 takes all that was kept for it alone, and nothing
// of incident 2's.
func TestDeleteIncidentsTakesWhatWasKeptForThemAlone(t *testing.T) {
	db := openTemp(t)
	old, recent := t0.AddDate(0, 0, -200), t0.Add(-time.Hour)
	inc1 := &escalation.Incident{ID: 1, Service: "db", GroupKey: "g1", Status: escalation.StatusResolved,
		CreatedAt: old, UpdatedAt: old, ResolvedAt: old}
	inc2 := &escalation.Incident{ID: 2, Service: "api", GroupKey: "g2", Status: escalation.StatusTriggered,
		CreatedAt: recent, UpdatedAt: recent, Firing: 1, NextDue: t0}
	alert := func(svc, key string, id int64, state escalation.AlertState, seen time.Time) *escalation.AlertRecord {
		return &escalation.AlertRecord{Service: svc, Integration: "am", IncidentID: id, FirstSeen: seen, LastSeen: seen,
			Alert: escalation.Alert{DedupKey: key, State: state, EndsAt: seen}}
	}
	page := func(id, inc int64, person string, ch escalation.Channel, at time.Time) *escalation.Page {
		return &escalation.Page{ID: id, IncidentID: inc, Person: person, Channel: ch, Status: escalation.PageSent, CreatedAt: at}
	}
	update(t, db, func(tx escalation.Tx) error {
		return errors.Join(
			tx.PutIncident(inc1), tx.PutIncident(inc2),
			tx.AppendEvent(1, escalation.Event{At: old, Kind: escalation.EventTriggered}),
			tx.AppendEvent(1, escalation.Event{At: old, Kind: escalation.EventResolved}),
			tx.AppendEvent(2, escalation.Event{At: recent, Kind: escalation.EventTriggered}),
			tx.PutAlert(alert("db", "fp-db", 1, escalation.AlertResolved, old)),
			tx.PutAlert(alert("api", "fp-api", 2, escalation.AlertFiring, recent)),
			tx.PutAlert(alert("api", "early-old", 0, escalation.AlertResolved, old)),
			tx.PutAlert(alert("api", "early-new", 0, escalation.AlertResolved, recent)),
			tx.PutPage(page(1, 1, "alice", escalation.ChannelSMS, old)),
			tx.PutPage(page(2, 1, "alice", escalation.ChannelVoice, old)),
			tx.PutPage(page(3, 2, "bob", escalation.ChannelVoice, recent)),
			tx.PutPage(&escalation.Page{ID: 4, Person: "carol", Channel: escalation.ChannelSMS, Status: escalation.PageSent,
				CreatedAt: old, Text: "you are on call from 09:00"}),
			tx.PutChatPost(&escalation.ChatPost{Chat: "ops", IncidentID: 1, Dirty: true, NotBefore: old}),
			tx.PutChatPost(&escalation.ChatPost{Chat: "ops", IncidentID: 2, Dirty: true, NotBefore: recent}),
			tx.SetGroupIncident("db", "g1", 1), tx.SetGroupIncident("api", "g2", 2),
			tx.SetGroupIncident("web", "impact-of-db", 1),
		)
	})

	var d escalation.Deleted
	update(t, db, func(tx escalation.Tx) error {
		if _, err := tx.DeleteIncidents([]int64{2}, time.Time{}); err == nil {
			t.Error("an open incident was deleted")
		}
		var err error
		d, err = tx.DeleteIncidents([]int64{1, 99}, t0.AddDate(0, 0, -100))
		return err
	})
	want := escalation.Deleted{Incidents: 1, Events: 2, Pages: 3, Alerts: 2, ChatPosts: 1}
	if d != want {
		t.Errorf("deleted %+v, want %+v", d, want)
	}

	view(t, db, func(tx escalation.Tx) error {
		if _, err := tx.Incident(1); !errors.Is(err, escalation.ErrNotFound) {
			t.Errorf("incident 1: %v", err)
		}
		if evs, err := tx.Events(1); err != nil || len(evs) != 0 {
			t.Errorf("incident 1's timeline: %d entries, %v", len(evs), err)
		}
		for _, key := range []string{"fp-db"} {
			if _, err := tx.Alert("db", key); !errors.Is(err, escalation.ErrNotFound) {
				t.Errorf("alert %s: %v", key, err)
			}
		}
		if _, err := tx.Alert("api", "early-old"); !errors.Is(err, escalation.ErrNotFound) {
			t.Errorf("the early resolve seen 200 days ago: %v", err)
		}
		for _, id := range []int64{1, 2, 4} {
			if _, err := tx.Page(id); !errors.Is(err, escalation.ErrNotFound) {
				t.Errorf("page %d: %v", id, err)
			}
		}
		if calls, err := tx.PagesTo("alice", time.Time{}); err != nil || len(calls) != 0 {
			t.Errorf("alice's calls: %d, %v", len(calls), err)
		}
		if _, err := tx.ChatPost("ops", 1); !errors.Is(err, escalation.ErrNotFound) {
			t.Errorf("chat post of incident 1: %v", err)
		}
		for _, g := range [][2]string{{"db", "g1"}, {"web", "impact-of-db"}} {
			if id, err := tx.GroupIncident(g[0], g[1]); err != nil || id != 0 {
				t.Errorf("group %s/%s leads to %d, %v", g[0], g[1], id, err)
			}
		}

		// Incident 2's, and the recent early resolve, are all there.
		if inc, err := tx.Incident(2); err != nil || inc.Status != escalation.StatusTriggered {
			t.Errorf("incident 2: %+v, %v", inc, err)
		}
		if evs, err := tx.Events(2); err != nil || len(evs) != 1 {
			t.Errorf("incident 2's timeline: %d entries, %v", len(evs), err)
		}
		for _, key := range []string{"fp-api", "early-new"} {
			if _, err := tx.Alert("api", key); err != nil {
				t.Errorf("alert %s: %v", key, err)
			}
		}
		if calls, err := tx.PagesTo("bob", time.Time{}); err != nil || len(calls) != 1 {
			t.Errorf("bob's calls: %d, %v", len(calls), err)
		}
		if p, err := tx.LatestPageTo("bob", 10); err != nil || p.ID != 3 {
			t.Errorf("bob's latest page: %+v, %v", p, err)
		}
		if due, err := tx.DueChatPosts(t0, 0, nil); err != nil || len(due) != 1 || due[0].IncidentID != 2 {
			t.Errorf("chat posts due: %+v, %v", due, err)
		}
		if ids, err := tx.DueIncidents(t0, 0); err != nil || len(ids) != 1 || ids[0] != 2 {
			t.Errorf("incidents due: %v, %v", ids, err)
		}
		if id, err := tx.GroupIncident("api", "g2"); err != nil || id != 2 {
			t.Errorf("group api/g2 leads to %d, %v", id, err)
		}
		var listed []int64
		err := tx.EachIncident(func(inc *escalation.Incident) error {
			listed = append(listed, inc.ID)
			return nil
		})
		if err != nil || len(listed) != 1 || listed[0] != 2 {
			t.Errorf("incidents left: %v, %v", listed, err)
		}
		return nil
	})

	// New alerts are numbered past the deleted ones, and a new incident
	// of the pruned group keeps its own timeline.
	update(t, db, func(tx escalation.Tx) error {
		inc3 := &escalation.Incident{ID: 3, Service: "db", GroupKey: "g1", Status: escalation.StatusTriggered, CreatedAt: t0, UpdatedAt: t0}
		return errors.Join(tx.PutIncident(inc3), tx.PutAlert(alert("db", "fp-db", 3, escalation.AlertFiring, t0)),
			tx.AppendEvent(3, escalation.Event{At: t0, Kind: escalation.EventTriggered}), tx.SetGroupIncident("db", "g1", 3))
	})
	view(t, db, func(tx escalation.Tx) error {
		if rec, err := tx.Alert("db", "fp-db"); err != nil || rec.IncidentID != 3 {
			t.Errorf("alert fp-db again: %+v, %v", rec, err)
		}
		if recs, err := tx.IncidentAlerts(3); err != nil || len(recs) != 1 {
			t.Errorf("incident 3's alerts: %d, %v", len(recs), err)
		}
		return nil
	})
}

// Within the transaction that changed it, an incident is listed as it is
// now, and one deleted there is not written back at commit.
func TestDeleteIncidentsWithinOneTransaction(t *testing.T) {
	db := openTemp(t)
	update(t, db, func(tx escalation.Tx) error {
		return tx.PutIncident(&escalation.Incident{ID: 1, Service: "db", Status: escalation.StatusTriggered, CreatedAt: t0, UpdatedAt: t0})
	})
	update(t, db, func(tx escalation.Tx) error {
		inc, err := tx.Incident(1)
		if err != nil {
			return err
		}
		inc.Status, inc.ResolvedAt = escalation.StatusResolved, t0
		if err := tx.PutIncident(inc); err != nil {
			return err
		}
		var seen []escalation.Status
		if err := tx.EachIncident(func(inc *escalation.Incident) error {
			seen = append(seen, inc.Status)
			return nil
		}); err != nil {
			return err
		}
		if len(seen) != 1 || seen[0] != escalation.StatusResolved {
			t.Errorf("listed %v, want the resolved incident", seen)
		}
		_, err = tx.DeleteIncidents([]int64{1}, time.Time{})
		return err
	})
	view(t, db, func(tx escalation.Tx) error {
		if _, err := tx.Incident(1); !errors.Is(err, escalation.ErrNotFound) {
			t.Errorf("incident 1 after commit: %v", err)
		}
		return nil
	})
}

// pruneBatch is escalation's batch of incidents a prune deletes at once.
const pruneBatch = 200

// BenchmarkDeleteIncidents times one prune batch — 200 resolved incidents
// of 20 alerts, 10 pages and 30 timeline entries each, committed — in a
// store of 10,000 such incidents: the batch's walks of the alert records
// and pages go over up to 200,000 records and 100,000 pages.
func BenchmarkDeleteIncidents(b *testing.B) {
	const incidents, alertsEach, pagesEach, eventsEach = 10_000, 20, 10, 30
	db := openTemp(b)
	for first := 1; first <= incidents; first += 1_000 {
		update(b, db, func(tx escalation.Tx) error {
			for id := int64(first); id < int64(first+1_000); id++ {
				inc := &escalation.Incident{ID: id, Service: "api", Status: escalation.StatusResolved, CreatedAt: t0, ResolvedAt: t0}
				if err := tx.PutIncident(inc); err != nil {
					return err
				}
				for j := range alertsEach {
					if err := tx.PutAlert(&escalation.AlertRecord{Service: "api", IncidentID: id, Alert: escalation.Alert{
						DedupKey: fmt.Sprint(id, "/", j), State: escalation.AlertResolved, Summary: "disk full",
						Labels: map[string]string{"alertname": "DiskFull", "instance": fmt.Sprintf("db-%d:9100", j)}}}); err != nil {
						return err
					}
				}
				for j := range pagesEach {
					if err := tx.PutPage(&escalation.Page{ID: id*pagesEach + int64(j), IncidentID: id, Person: "alice",
						Channel: escalation.ChannelVoice, Status: escalation.PageSent, CreatedAt: t0, Text: "api: disk full"}); err != nil {
						return err
					}
				}
				for range eventsEach {
					if err := tx.AppendEvent(id, escalation.Event{At: t0, Kind: escalation.EventPageSent, Person: "alice"}); err != nil {
						return err
					}
				}
				if err := tx.SetGroupIncident("api", fmt.Sprint(id), id); err != nil {
					return err
				}
			}
			return nil
		})
	}
	next := int64(1)
	for b.Loop() {
		if next+pruneBatch > incidents/2 {
			b.Fatal("ran out of incidents to delete: use -benchtime 20x or less")
		}
		ids := make([]int64, pruneBatch)
		for i := range ids {
			ids[i] = next + int64(i)
		}
		next += pruneBatch
		update(b, db, func(tx escalation.Tx) error {
			d, err := tx.DeleteIncidents(ids, time.Time{})
			if err == nil && d.Incidents != pruneBatch {
				b.Fatalf("deleted %+v", d)
			}
			return err
		})
	}
}

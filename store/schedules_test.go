package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/escalation"
)

func overridesVersion(t *testing.T, db *DB) uint64 {
	t.Helper()
	var v uint64
	view(t, db, func(tx escalation.Tx) error {
		var err error
		v, err = tx.OverridesVersion()
		return err
	})
	return v
}

func TestOverridesVersionChangesOnEveryCommittedChangeOnly(t *testing.T) {
	db := openTemp(t)
	if v := overridesVersion(t, db); v != 0 {
		t.Fatalf("fresh file: version %d, want 0", v)
	}
	from := time.Date(2025, 3, 12, 18, 0, 0, 0, time.UTC)
	update(t, db, func(tx escalation.Tx) error {
		id, err := tx.NextOverrideID()
		if err != nil {
			return err
		}
		return tx.PutOverride(&escalation.Override{ID: id, Schedule: "primary", Person: "cyrus", From: from, To: from.Add(2 * time.Hour)})
	})
	v1 := overridesVersion(t, db)
	if v1 == 0 {
		t.Fatal("version still 0 after an override was stored")
	}

	// A rolled-back change leaves the version (and the overrides) as they were.
	boom := errors.New("boom")
	err := db.Update(context.Background(), func(tx escalation.Tx) error {
		if err := tx.DeleteOverride(1); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("update: %v", err)
	}
	if v := overridesVersion(t, db); v != v1 {
		t.Fatalf("rolled-back delete moved the version %d → %d", v1, v)
	}
	view(t, db, func(tx escalation.Tx) error {
		ovs, err := tx.Overrides()
		if err != nil || len(ovs) != 1 || ovs[0].Person != "cyrus" || !ovs[0].From.Equal(from) {
			t.Fatalf("overrides %+v, %v", ovs, err)
		}
		return nil
	})

	update(t, db, func(tx escalation.Tx) error { return tx.DeleteOverride(1) })
	if v := overridesVersion(t, db); v == v1 || v == 0 {
		t.Fatalf("delete left version %d (was %d)", v, v1)
	}
}

func TestTimersRoundTripAndSurviveReopen(t *testing.T) {
	path := t.TempDir() + "/klaxon.db"
	db := openAt(t, path)
	at := time.Date(2025, 3, 30, 1, 0, 0, 0, time.UTC)
	update(t, db, func(tx escalation.Tx) error {
		if err := tx.PutTimer(&escalation.Timer{Name: "digest/primary", At: at, Spec: "30 2 * * *"}); err != nil {
			return err
		}
		if err := tx.PutTimer(&escalation.Timer{Name: "shift/primary", At: at.Add(time.Hour), Person: "ana"}); err != nil {
			return err
		}
		if err := tx.PutTimer(&escalation.Timer{}); err == nil {
			t.Error("a timer without a name was stored")
		}
		return nil
	})
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openAt(t, path)
	view(t, db, func(tx escalation.Tx) error {
		ts, err := tx.Timers()
		if err != nil || len(ts) != 2 || ts[0].Name != "digest/primary" || !ts[0].At.Equal(at) || ts[1].Person != "ana" {
			t.Fatalf("timers %+v, %v", ts, err)
		}
		if _, err := tx.Timer("shift/secondary"); !errors.Is(err, escalation.ErrNotFound) {
			t.Fatalf("missing timer: %v", err)
		}
		return nil
	})
	update(t, db, func(tx escalation.Tx) error { return tx.DeleteTimer("digest/primary") })
	view(t, db, func(tx escalation.Tx) error {
		if ts, _ := tx.Timers(); len(ts) != 1 {
			t.Fatalf("after delete: %+v", ts)
		}
		return nil
	})
}

func TestPagesToReadsOnePersonsWindow(t *testing.T) {
	db := openTemp(t)
	base := time.Date(2026, 3, 2, 1, 0, 0, 0, time.UTC)
	update(t, db, func(tx escalation.Tx) error {
		for i, p := range []escalation.Page{
			{Person: "alice", CreatedAt: base.Add(-20 * time.Minute), Channel: escalation.ChannelVoice},
			{Person: "bob", CreatedAt: base.Add(-5 * time.Minute), Channel: escalation.ChannelVoice},
			{Person: "alice", CreatedAt: base.Add(-10 * time.Minute), Channel: escalation.ChannelVoice},
			{Person: "alice", CreatedAt: base.Add(-time.Minute), Channel: escalation.ChannelSMS, Bundle: true},
			{Person: "alicia", CreatedAt: base, Channel: escalation.ChannelVoice},
			{Person: "alice", CreatedAt: base, Channel: escalation.ChannelSMS}, // not a call: not counted
		} {
			p.ID, p.IncidentID = int64(i+1), 1
			if err := tx.PutPage(&p); err != nil {
				return err
			}
		}
		return nil
	})
	view(t, db, func(tx escalation.Tx) error {
		got, err := tx.PagesTo("alice", base.Add(-15*time.Minute))
		if err != nil || len(got) != 2 || got[0].ID != 4 || got[1].ID != 3 {
			t.Fatalf("PagesTo = %+v, %v; want pages 4 and 3, newest first", got, err)
		}
		return nil
	})
}

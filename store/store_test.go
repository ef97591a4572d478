package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/klaxonhq/klaxon/escalation"
)

func openAt(t testing.TB, path string) *DB {
	t.Helper()
	return openWith(t, path, Options{})
}

// openWith opens the database at path with opts, closed when the test
// ends (inside a synctest bubble too: its cleanups run in the bubble).
func openWith(t testing.TB, path string, opts Options) *DB {
	t.Helper()
	db, err := Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func openTemp(t testing.TB) *DB {
	t.Helper()
	return openAt(t, filepath.Join(t.TempDir(), "klaxon.db"))
}

func update(t testing.TB, db *DB, fn func(escalation.Tx) error) {
	t.Helper()
	if err := db.Update(context.Background(), fn); err != nil {
		t.Fatalf("update: %v", err)
	}
}

func view(t testing.TB, db *DB, fn func(escalation.Tx) error) {
	t.Helper()
	if err := db.View(context.Background(), fn); err != nil {
		t.Fatalf("view: %v", err)
	}
}

// seed writes one of everything, with indexes, and returns the instant the
// due times are relative to.
func seed(t *testing.T, db *DB) time.Time {
	t.Helper()
	base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	update(t, db, func(tx escalation.Tx) error {
		for i := range 3 {
			id, err := tx.NextIncidentID()
			if err != nil {
				return err
			}
			inc := &escalation.Incident{ID: id, Service: "api", Status: escalation.StatusTriggered,
				NextDue: base.Add(time.Duration(i) * time.Minute)}
			if err := tx.PutIncident(inc); err != nil {
				return err
			}
			if err := tx.AppendEvent(id, escalation.Event{At: base, Kind: escalation.EventTriggered}); err != nil {
				return err
			}
		}
		if err := tx.PutAlert(&escalation.AlertRecord{Service: "api", IncidentID: 1,
			Alert: escalation.Alert{DedupKey: "d1", State: escalation.AlertFiring}}); err != nil {
			return err
		}
		if err := tx.SetGroupIncident("api", "g1", 1); err != nil {
			return err
		}
		for i := range 2 {
			id, err := tx.NextPageID()
			if err != nil {
				return err
			}
			p := &escalation.Page{ID: id, IncidentID: 1, Person: "alice", Status: escalation.PageQueued,
				NotBefore: base.Add(time.Duration(i) * time.Second)}
			if err := tx.PutPage(p); err != nil {
				return err
			}
		}
		return nil
	})
	return base
}

func checkSeed(t *testing.T, db *DB, base time.Time) {
	t.Helper()
	view(t, db, func(tx escalation.Tx) error {
		incs, err := tx.Incidents("", 0)
		if err != nil || len(incs) != 3 {
			t.Fatalf("Incidents = %d, %v; want 3", len(incs), err)
		}
		ids, err := tx.DueIncidents(base.Add(time.Hour), 0)
		if err != nil || !equal(ids, []int64{1, 2, 3}) {
			t.Errorf("DueIncidents = %v, %v", ids, err)
		}
		if next, ok, err := tx.NextIncidentDue(); err != nil || !ok || !next.Equal(base) {
			t.Errorf("NextIncidentDue = %v %v %v", next, ok, err)
		}
		if evs, err := tx.Events(2); err != nil || len(evs) != 1 {
			t.Errorf("Events(2) = %v, %v", evs, err)
		}
		if _, err := tx.Alert("api", "d1"); err != nil {
			t.Error(err)
		}
		if id, err := tx.GroupIncident("api", "g1"); err != nil || id != 1 {
			t.Errorf("GroupIncident = %d, %v", id, err)
		}
		if out, err := tx.Outbox(); err != nil || len(out) != 2 || out[0].ID != 1 {
			t.Errorf("Outbox = %v, %v", out, err)
		}
		if next, ok, err := tx.NextPageDue(); err != nil || !ok || !next.Equal(base) {
			t.Errorf("NextPageDue = %v %v %v", next, ok, err)
		}
		// Sequences survive too.
		if id, err := tx.NextIncidentID(); !errors.Is(err, bolt.ErrTxNotWritable) {
			t.Errorf("NextIncidentID in View = %d, %v; want ErrTxNotWritable", id, err)
		}
		return nil
	})
	update(t, db, func(tx escalation.Tx) error {
		if id, err := tx.NextIncidentID(); err != nil || id != 4 {
			t.Errorf("NextIncidentID after reopen = %d, %v; want 4", id, err)
		}
		if id, err := tx.NextPageID(); err != nil || id != 3 {
			t.Errorf("NextPageID after reopen = %d, %v; want 3", id, err)
		}
		return nil
	})
}

func TestDurableAcrossReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "klaxon.db")
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	base := seed(t, db)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	checkSeed(t, openAt(t, path), base)
}

func TestBackup(t *testing.T) {
	db := openTemp(t)
	base := seed(t, db)
	var buf bytes.Buffer
	n, err := db.Backup(&buf)
	if err != nil || n != int64(buf.Len()) || n == 0 {
		t.Fatalf("Backup = %d, %v (buffer %d)", n, err, buf.Len())
	}
	path := filepath.Join(t.TempDir(), "backup.db")
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	checkSeed(t, openAt(t, path), base)
}

func TestOpenLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "klaxon.db")
	openAt(t, path)
	db, err := Open(path, Options{Timeout: 50 * time.Millisecond})
	if err == nil {
		_ = db.Close()
		t.Fatal("second Open succeeded")
	}
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), path+" is locked by another klaxon process") {
		t.Fatalf("second Open: %v", err)
	}
}

func TestSchemaVersion(t *testing.T) {
	path := filepath.Join(t.TempDir(), "klaxon.db")
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	setRaw(t, path, func(btx *bolt.Tx) error {
		v := btx.Bucket([]byte(bucketMeta)).Get([]byte(keySchemaVersion))
		if got := binary.BigEndian.Uint64(v); got != schemaVersion {
			t.Errorf("schema version = %d, want %d", got, schemaVersion)
		}
		return btx.Bucket([]byte(bucketMeta)).Put([]byte(keySchemaVersion), u64(schemaVersion+1))
	})
	if db, err := Open(path, Options{}); err == nil {
		_ = db.Close()
		t.Fatal("Open of a newer schema succeeded")
	} else if !strings.Contains(err.Error(), "newer") {
		t.Fatalf("Open of a newer schema: %v", err)
	}
}

func TestOpenForeignFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "other.db")
	setRaw(t, path, func(btx *bolt.Tx) error {
		_, err := btx.CreateBucket([]byte("something"))
		return err
	})
	if db, err := Open(path, Options{}); err == nil {
		_ = db.Close()
		t.Fatal("Open of a foreign bbolt file succeeded")
	} else if !strings.Contains(err.Error(), "not a klaxon database") {
		t.Fatalf("Open of a foreign file: %v", err)
	}
}

func setRaw(t *testing.T, path string, fn func(*bolt.Tx) error) {
	t.Helper()
	bdb, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := bdb.Update(fn); err != nil {
		t.Fatal(err)
	}
	if err := bdb.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestClosed(t *testing.T) {
	db := openTemp(t)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	ran := false
	fn := func(escalation.Tx) error { ran = true; return nil }
	if err := db.Update(context.Background(), fn); !errors.Is(err, ErrClosed) {
		t.Errorf("Update after Close = %v, want ErrClosed", err)
	}
	if err := db.View(context.Background(), fn); !errors.Is(err, ErrClosed) {
		t.Errorf("View after Close = %v, want ErrClosed", err)
	}
	if _, err := db.Backup(&bytes.Buffer{}); !errors.Is(err, ErrClosed) {
		t.Errorf("Backup after Close = %v, want ErrClosed", err)
	}
	if ran {
		t.Error("fn ran on a closed DB")
	}
}

func equal[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// A restart opens a current file without a write transaction (each bbolt
// commit, even an empty one, writes and fsyncs its meta page); a file
// missing a bucket gets it at the next Open.
func TestOpeningACurrentFileCommitsNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "klaxon.db")
	txid := func() int {
		t.Helper()
		bdb, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		defer bdb.Close()
		var id int
		if err := bdb.View(func(btx *bolt.Tx) error { id = btx.ID(); return nil }); err != nil {
			t.Fatal(err)
		}
		return id
	}
	reopen := func() {
		t.Helper()
		db, err := Open(path, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
	reopen()
	created := txid()
	reopen()
	reopen()
	if got := txid(); got != created {
		t.Errorf("two restarts committed %d transactions, want none", got-created)
	}

	setRaw(t, path, func(btx *bolt.Tx) error { return btx.DeleteBucket([]byte(bucketSilences)) })
	reopen()
	err := func() error {
		bdb, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
		if err != nil {
			return err
		}
		defer bdb.Close()
		return bdb.View(func(btx *bolt.Tx) error {
			if !schemaCurrent(btx) {
				t.Error("a file missing a bucket is not current after Open")
			}
			return nil
		})
	}()
	if err != nil {
		t.Fatal(err)
	}
}

// Package store is Klaxon's durable state: an escalation.Store on one bbolt
// file. Writes go through a single writer goroutine that group-commits every
// Update queued while the previous commit was in flight, so concurrent
// webhooks share an fsync instead of queueing for one each, and a lone
// caller pays no batching delay.
package store

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/klaxonhq/klaxon/escalation"
	"github.com/klaxonhq/klaxon/internal/wire"
)

// schemaVersion is the layout this package reads and writes; Open refuses a
// file written by a newer Klaxon rather than misreading it. Version 2
// numbers alert records (alert_ids, alert_records); Open moves a version 1
// file's alerts. Version 3 writes incidents, events and pages in the
// compact wire form; those written as JSON before read as they are.
// Version 4 writes incidents in a layout with their public priority and
// services and their schedule watches (a layout byte of 3 or 4, where an
// earlier Klaxon reads only 0 and 1), and a person_last bucket; it reads
// the earlier layouts as they are.
const schemaVersion = 4

// DefaultTimeout is how long Open waits for another process's file lock.
const DefaultTimeout = time.Second

// Errors callers may test with errors.Is.
var (
	// ErrClosed is returned by calls on a closed DB, and by Update calls
	// still queued when Close ran.
	ErrClosed = errors.New("store: closed")
	// ErrLocked is returned (wrapped) by Open when another process holds
	// the database file.
	ErrLocked = errors.New("locked by another klaxon process")
)

// Options tune Open. The zero value is what production wants.
type Options struct {
	// Timeout is how long to wait for the file lock; zero means
	// DefaultTimeout.
	Timeout time.Duration
	// NoSync skips fsync on commit. UNSAFE: a crash or power loss can lose
	// acknowledged writes or corrupt the file. For benchmarks only.
	NoSync bool
	// ObserveCommit, when set, is told each commit's duration (the
	// transaction with its fsync) and how many callers it carried.
	ObserveCommit func(d time.Duration, callers int)
	// BulkYield is how long a bulk transaction (UpdateBulk) works at
	// least before it is asked to yield to callers waiting for the writer
	// (longer when bulk commits lately took longer); zero means
	// DefaultBulkYield.
	BulkYield time.Duration
}

// DefaultBulkYield is a bulk transaction's work before it yields: about
// what committing an apply cut short costs on a small machine's disk (5–8
// ms), so that a page's tick waits for a few milliseconds of an apply
// rather than all of it (tens of milliseconds, hundreds when the machine
// stalls), while an apply still commits about as much work as its commit
// costs. Shorter, a storm's applies would be mostly commits; 10 ms made
// the pages' tail longer.
const DefaultBulkYield = 5 * time.Millisecond

// DB is an open Klaxon database. It implements escalation.Store and is safe
// for concurrent use.
type DB struct {
	bolt     *bolt.DB
	onCommit func(time.Duration, int)

	// reqs is unbuffered: callers park in the send until the writer takes
	// them, which makes the channel's wait queue the group-commit queue.
	reqs       chan *request
	quit       chan struct{} // closed by Close
	writerDone chan struct{} // closed when the writer has exited

	closeOnce sync.Once
	closeErr  error

	// commits counts write transactions committed, so tests and benchmarks
	// can see how many fns a round carried.
	commits atomic.Int64

	// waiting counts callers of Update (not UpdateBulk) parked for the
	// writer: what a bulk transaction yields to.
	waiting   atomic.Int32
	bulkYield time.Duration
	// bulkCommit is how long bulk transactions have lately taken to
	// commit once their fn returned (nanoseconds, a moving average of a
	// quarter weight): a bulk fn works at least as long before it yields.
	bulkCommit atomic.Int64
}

var _ escalation.Store = (*DB)(nil)

// Open opens or creates the database at path. It fails after opts.Timeout if
// another process has the file open.
func Open(path string, opts Options) (*DB, error) {
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	bdb, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: timeout, NoSync: opts.NoSync})
	if errors.Is(err, bolt.ErrTimeout) {
		return nil, fmt.Errorf("database %s is %w", path, ErrLocked)
	}
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	if err := openSchema(bdb); err != nil {
		_ = bdb.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	db := &DB{
		bolt:       bdb,
		reqs:       make(chan *request),
		quit:       make(chan struct{}),
		writerDone: make(chan struct{}),
		onCommit:   opts.ObserveCommit,
		bulkYield:  cmp.Or(opts.BulkYield, DefaultBulkYield),
	}
	go db.writer()
	return db, nil
}

// openSchema creates the buckets of a new file, or checks an existing
// one's version and brings its layout up to date. One read transaction
// tells what is to do, and nearly every start finds nothing: a bbolt
// commit with no change still writes and fsyncs its meta page.
func openSchema(bdb *bolt.DB) error {
	var current, moving bool
	err := bdb.View(func(btx *bolt.Tx) error {
		current, moving = schemaCurrent(btx), btx.Bucket([]byte(bucketAlertsV1)) != nil
		return nil
	})
	if err != nil {
		return err
	}
	if !current {
		if err := bdb.Update(initSchema); err != nil {
			return err
		}
	}
	if moving {
		return moveAlerts(bdb, moveChunk)
	}
	return nil
}

// buckets are the top-level buckets of the current schema.
func buckets() []string {
	return []string{
		bucketMeta, bucketOpen, bucketIncidents, bucketDue, bucketDueRev, bucketEvents, bucketAlertIDs, bucketAlertRecords,
		bucketGroups, bucketPages, bucketOutbox, bucketOutboxRev, bucketOverrides, bucketTimers,
		bucketChat, bucketChatDue, bucketChatRev, bucketSilences, bucketPersonPages, bucketPersonLast,
	}
}

// schemaCurrent reports whether initSchema would leave btx's file as it
// is: the current version, a store id and every bucket.
func schemaCurrent(btx *bolt.Tx) bool {
	meta := btx.Bucket([]byte(bucketMeta))
	if meta == nil || meta.Get([]byte(keyStoreID)) == nil {
		return false
	}
	if v := meta.Get([]byte(keySchemaVersion)); len(v) != 8 || binary.BigEndian.Uint64(v) != schemaVersion {
		return false
	}
	for _, name := range buckets() {
		if btx.Bucket([]byte(name)) == nil {
			return false
		}
	}
	return true
}

// initSchema creates the buckets of a new file and checks the version of an
// existing one. A step added here must leave schemaCurrent false on a file
// that needs it, or a restart skips it.
func initSchema(btx *bolt.Tx) error {
	meta := btx.Bucket([]byte(bucketMeta))
	if meta == nil {
		// A file with buckets but no meta was not written by Klaxon.
		empty := true
		_ = btx.ForEach(func([]byte, *bolt.Bucket) error { empty = false; return nil })
		if !empty {
			return errors.New("not a klaxon database (no meta bucket)")
		}
		var err error
		if meta, err = btx.CreateBucket([]byte(bucketMeta)); err != nil {
			return fmt.Errorf("create meta bucket: %w", err)
		}
		if err := meta.Put([]byte(keySchemaVersion), u64(schemaVersion)); err != nil {
			return fmt.Errorf("write schema version: %w", err)
		}
	}
	v := meta.Get([]byte(keySchemaVersion))
	if len(v) != 8 {
		return errors.New("not a klaxon database (bad schema version)")
	}
	if got := binary.BigEndian.Uint64(v); got > schemaVersion {
		return fmt.Errorf("schema version %d is newer than this klaxon supports (%d); upgrade klaxon", got, schemaVersion)
	}
	if meta.Get([]byte(keyStoreID)) == nil {
		id := make([]byte, 16)
		if _, err := rand.Read(id); err != nil {
			return fmt.Errorf("make store id: %w", err)
		}
		if err := meta.Put([]byte(keyStoreID), []byte(hex.EncodeToString(id))); err != nil {
			return fmt.Errorf("write store id: %w", err)
		}
	}
	// Files from before the open index get it filled from their incidents.
	backfillOpen := btx.Bucket([]byte(bucketOpen)) == nil && btx.Bucket([]byte(bucketIncidents)) != nil
	backfillPersonPages := btx.Bucket([]byte(bucketPersonPages)) == nil && btx.Bucket([]byte(bucketPages)) != nil
	for _, name := range buckets() {
		if _, err := btx.CreateBucketIfNotExists([]byte(name)); err != nil {
			return fmt.Errorf("create bucket %s: %w", name, err)
		}
	}
	if err := raiseSchema(btx); err != nil {
		return err
	}
	if backfillPersonPages {
		t := newTx(btx)
		err := btx.Bucket([]byte(bucketPages)).ForEach(func(k, v []byte) error {
			var p escalation.Page
			if err := decodeRecord(v, &p, wire.DecodePage); err != nil {
				return fmt.Errorf("page %d: %w", int64(binary.BigEndian.Uint64(k)), err)
			}
			return t.indexPersonPage(&p)
		})
		if err != nil {
			return fmt.Errorf("index pages by person: %w", err)
		}
	}
	if backfillOpen {
		t := newTx(btx)
		err := btx.Bucket([]byte(bucketIncidents)).ForEach(func(k, v []byte) error {
			var inc escalation.Incident
			if err := decodeRecord(v, &inc, wire.DecodeIncident); err != nil {
				return fmt.Errorf("incident %d: %w", int64(binary.BigEndian.Uint64(k)), err)
			}
			return t.indexOpen(&inc)
		})
		if err != nil {
			return fmt.Errorf("index open incidents: %w", err)
		}
	}
	return nil
}

// bucketAlertsV1 held alert records by service and dedup key, up to
// schema version 1.
const bucketAlertsV1 = "alerts"

// moveChunk bounds the alerts one transaction of moveAlerts moves, so that
// a large file is not rewritten in one transaction held in memory.
const moveChunk = 10_000

// raiseSchema marks the file with this package's schema version. It goes
// first, in initSchema's transaction, so that an earlier Klaxon refuses a
// file whose alerts are partly moved rather than miss them.
func raiseSchema(btx *bolt.Tx) error {
	meta := btx.Bucket([]byte(bucketMeta))
	if binary.BigEndian.Uint64(meta.Get([]byte(keySchemaVersion))) < schemaVersion {
		if err := meta.Put([]byte(keySchemaVersion), u64(schemaVersion)); err != nil {
			return fmt.Errorf("write schema version: %w", err)
		}
	}
	return nil
}

// moveAlerts moves the records of a schema 1 file into alert_ids and
// alert_records, numbered in key order, chunk alerts a transaction. A move
// cut short by a crash goes on at the next Open.
func moveAlerts(bdb *bolt.DB, chunk int) error {
	for done := false; !done; {
		err := bdb.Update(func(btx *bolt.Tx) (err error) {
			done, err = moveSomeAlerts(btx, chunk)
			return err
		})
		if err != nil {
			return fmt.Errorf("move alerts to numbered records (starting again goes on with the move): %w", err)
		}
	}
	return nil
}

// moveSomeAlerts moves up to chunk alerts out of the schema 1 bucket, and
// drops the bucket once it is empty; done reports that it is gone.
func moveSomeAlerts(btx *bolt.Tx, chunk int) (done bool, err error) {
	old := btx.Bucket([]byte(bucketAlertsV1))
	if old == nil {
		return true, nil
	}
	var keys [][]byte
	t := newTx(btx)
	c := old.Cursor()
	for k, v := c.First(); k != nil && len(keys) < chunk; k, v = c.Next() {
		k := bytes.Clone(k)
		if err := t.putAlert(k, bytes.Clone(v)); err != nil {
			return false, err
		}
		keys = append(keys, k)
	}
	if len(keys) < chunk {
		return true, btx.DeleteBucket([]byte(bucketAlertsV1))
	}
	for _, k := range keys {
		if err := old.Delete(k); err != nil {
			return false, err
		}
	}
	return false, nil
}

// Close stops the writer, failing queued Update calls with ErrClosed, and
// closes the file. It waits for the commit in flight and for open Views.
func (db *DB) Close() error {
	db.closeOnce.Do(func() {
		close(db.quit)
		<-db.writerDone
		if err := db.bolt.Close(); err != nil {
			db.closeErr = fmt.Errorf("store: close: %w", err)
		}
	})
	return db.closeErr
}

// View runs fn in a read-only transaction. Write methods of the Tx fail.
func (db *DB) View(ctx context.Context, fn func(escalation.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	err := db.bolt.View(func(btx *bolt.Tx) error { return call(fn, newTx(btx)) })
	if errors.Is(err, bolt.ErrDatabaseNotOpen) {
		return ErrClosed
	}
	return err
}

// Backup writes a consistent snapshot of the whole database to w while
// writes go on, and returns the bytes written. The output is a bbolt file
// that Open accepts.
func (db *DB) Backup(w io.Writer) (int64, error) {
	var n int64
	err := db.bolt.View(func(btx *bolt.Tx) error {
		var err error
		n, err = btx.WriteTo(w)
		return err
	})
	if errors.Is(err, bolt.ErrDatabaseNotOpen) {
		return 0, ErrClosed
	}
	if err != nil {
		return n, fmt.Errorf("store: backup: %w", err)
	}
	return n, nil
}

// Commits counts the write transactions committed (each one fsync) since
// Open; with the number of Update calls it shows how well group commit
// batches, and it proves when a request cost no write at all.
func (db *DB) Commits() int64 { return db.commits.Load() }

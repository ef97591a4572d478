package store

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/klaxonhq/klaxon/escalation"
	"github.com/klaxonhq/klaxon/internal/wire"
)

// Buckets. Integer keys are big-endian so cursors walk them in order; values
// are JSON, but for alert records (package wire). The *_rev buckets map a
// record to its index key, so a put can drop the old index entry without
// reading the old record.
const (
	bucketMeta      = "meta"      // keySchemaVersion → uint64
	bucketIncidents = "incidents" // id → escalation.Incident
	bucketDue       = "due"       // NextDue nanos + id → empty
	bucketDueRev    = "due_rev"   // id → due key
	bucketEvents    = "events"    // incident id + seq → escalation.Event
	bucketAlertIDs  = "alert_ids" // service \0 dedup key → alert number
	// alert number → escalation.AlertRecord. Numbers are handed out in
	// the order alerts are first seen, so a flood of new alerts appends
	// full pages at the end instead of rewriting random leaves, and only
	// the small entries of alert_ids land at random.
	bucketAlertRecords = "alert_records"
	bucketGroups       = "groups" // service \0 group key → incident id
	bucketPages        = "pages"  // id → escalation.Page
	bucketOutbox       = "outbox" // NotBefore nanos + page id → empty
	bucketOutboxRev    = "outbox_rev"
	bucketOverrides    = "overrides" // id → escalation.Override
	bucketTimers       = "timers"    // name → escalation.Timer
	bucketSilences     = "silences"  // id → escalation.Silence
	// person \0 created-at nanos + page id → empty
	bucketPersonPages = "person_pages"
	bucketPersonLast  = "person_last" // person → id of the newest page to them
	bucketOpen        = "open"        // service \0 incident id → empty, open incidents only
	bucketChat        = "chat"        // chat \0 incident id → escalation.ChatPost
	bucketChatDue     = "chat_due"    // NotBefore nanos + chat key → empty, dirty posts only
	bucketChatRev     = "chat_rev"    // chat key → chat_due key

	keyOverridesVersion = "overrides_version"

	keySchemaVersion = "schema_version"
)

// tx implements escalation.Tx over a bbolt transaction. Every record it
// returns is a fresh copy, so callers own it; every slice it hands to Put is
// freshly allocated, as bbolt keeps values until commit.
//
// One write transaction carries a whole group-commit round, and in a busy
// round many fns touch the same incident (every alert of a storm joins it).
// So incidents are decoded once per transaction and encoded once, by flush
// before commit, and each incident's next event number is looked up once.
type tx struct {
	btx       *bolt.Tx
	incidents map[int64]*cachedIncident
	eventSeq  map[int64]uint64
	// The alert number last looked up (nil: none), since applying an
	// alert reads it and then writes it.
	alertKey, alertNum []byte
	// Cursors kept for the alert lookups of a flood: bbolt's Get makes a
	// new cursor and grows its stack each time.
	idsCursor, recordsCursor *bolt.Cursor
}

type cachedIncident struct {
	inc   escalation.Incident
	dirty bool
}

func newTx(btx *bolt.Tx) *tx {
	return &tx{btx: btx, incidents: map[int64]*cachedIncident{}, eventSeq: map[int64]uint64{}}
}

// cloneIncident copies an incident deeply enough that the copy shares no
// memory with the original.
func cloneIncident(inc *escalation.Incident) escalation.Incident {
	c := *inc
	c.Escalation.Runs = slices.Clone(inc.Escalation.Runs)
	c.Escalation.Watches = slices.Clone(inc.Escalation.Watches)
	c.Flaps = slices.Clone(inc.Flaps)
	c.Impacted = slices.Clone(inc.Impacted)
	if inc.Public != nil {
		pub := *inc.Public
		pub.Services = slices.Clone(inc.Public.Services)
		c.Public = &pub
	}
	return c
}

// flush encodes the incidents changed in this transaction. Commit paths
// call it after the last fn, before bbolt commits.
func (t *tx) flush() error {
	if !t.btx.Writable() {
		return nil
	}
	for _, id := range slices.Sorted(maps.Keys(t.incidents)) {
		c := t.incidents[id]
		if !c.dirty {
			continue
		}
		if err := t.bucket(bucketIncidents).Put(idKey(id), wire.AppendIncident(nil, &c.inc)); err != nil {
			return fmt.Errorf("store: put incident %d: %w", id, err)
		}
		c.dirty = false
	}
	return nil
}

var _ escalation.Tx = (*tx)(nil)

func (t *tx) bucket(name string) *bolt.Bucket { return t.btx.Bucket([]byte(name)) }

func u64(v uint64) []byte { return binary.BigEndian.AppendUint64(make([]byte, 0, 8), v) }

func idKey(id int64) []byte { return u64(uint64(id)) }

// unixNanos maps t onto the index's time axis. Zero and pre-1970 times sort
// first (due at once); times past 2262 clamp to the end.
func unixNanos(t time.Time) uint64 {
	switch {
	case t.Before(time.Unix(0, 0)):
		return 0
	case t.After(time.Unix(0, math.MaxInt64)):
		return math.MaxInt64
	}
	return uint64(t.UnixNano())
}

// timeKey is an index key: time, then id to keep equal times apart.
func timeKey(t time.Time, id int64) []byte {
	k := make([]byte, 0, 16)
	k = binary.BigEndian.AppendUint64(k, unixNanos(t))
	return binary.BigEndian.AppendUint64(k, uint64(id))
}

func keyTime(k []byte) time.Time { return time.Unix(0, int64(binary.BigEndian.Uint64(k))).UTC() }

func keyID(k []byte) int64 { return int64(binary.BigEndian.Uint64(k[8:])) }

// stringKey joins a service and a key with NUL; services never contain NUL,
// so the join is unambiguous.
func stringKey(service, key string) ([]byte, error) {
	if strings.IndexByte(service, 0) >= 0 {
		return nil, fmt.Errorf("service %q contains a NUL byte", service)
	}
	k := make([]byte, 0, len(service)+1+len(key))
	k = append(k, service...)
	k = append(k, 0)
	return append(k, key...), nil
}

func checkID(kind string, id int64) error {
	if id <= 0 {
		return fmt.Errorf("store: %s id %d is not positive", kind, id)
	}
	return nil
}

// reindex moves a record's entry in a time index: it deletes the entry the
// reverse bucket points at and, when index, adds key. It is a no-op when the
// entry is unchanged.
func (t *tx) reindex(index, rev string, id int64, key []byte, add bool) error {
	ib, rb := t.bucket(index), t.bucket(rev)
	idk := idKey(id)
	if old := rb.Get(idk); old != nil {
		if add && bytes.Equal(old, key) {
			return nil
		}
		if err := ib.Delete(bytes.Clone(old)); err != nil {
			return err
		}
		if !add {
			return rb.Delete(idk)
		}
	}
	if !add {
		return nil
	}
	if err := ib.Put(key, []byte{}); err != nil {
		return err
	}
	return rb.Put(idk, key)
}

// scanIndex calls fn with the ids of the index entries due at or before
// until (all of them if until is nil), earliest first, stopping after limit
// (limit <= 0: no limit) or at fn's first error.
func (t *tx) scanIndex(index string, until *time.Time, limit int, fn func(id int64) error) error {
	var last uint64 = math.MaxUint64
	if until != nil {
		last = unixNanos(*until)
	}
	c := t.bucket(index).Cursor()
	n := 0
	for k, _ := c.First(); k != nil && binary.BigEndian.Uint64(k) <= last; k, _ = c.Next() {
		if limit > 0 && n >= limit {
			break
		}
		if err := fn(keyID(k)); err != nil {
			return err
		}
		n++
	}
	return nil
}

func (t *tx) put(bucket string, key []byte, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return t.bucket(bucket).Put(key, b)
}

// get unmarshals the value at key into v; ok is false when there is none.
func (t *tx) get(bucket string, key []byte, v any) (ok bool, err error) {
	b := t.bucket(bucket).Get(key)
	if b == nil {
		return false, nil
	}
	return true, json.Unmarshal(b, v)
}

// getRecord is get for a record kept in the wire form (decodeRecord).
func getRecord[T any](t *tx, bucket string, key []byte, out *T, decode func([]byte) (T, error)) (ok bool, err error) {
	b := t.bucket(bucket).Get(key)
	if b == nil {
		return false, nil
	}
	return true, decodeRecord(b, out, decode)
}

func (t *tx) NextIncidentID() (int64, error) {
	n, err := t.bucket(bucketIncidents).NextSequence()
	if err != nil {
		return 0, fmt.Errorf("store: next incident id: %w", err)
	}
	return int64(n), nil
}

func (t *tx) Incident(id int64) (*escalation.Incident, error) {
	if c, ok := t.incidents[id]; ok {
		inc := cloneIncident(&c.inc)
		return &inc, nil
	}
	var inc escalation.Incident
	ok, err := getRecord(t, bucketIncidents, idKey(id), &inc, wire.DecodeIncident)
	if err != nil {
		return nil, fmt.Errorf("store: read incident %d: %w", id, err)
	}
	if !ok {
		return nil, fmt.Errorf("incident %d: %w", id, escalation.ErrNotFound)
	}
	t.incidents[id] = &cachedIncident{inc: cloneIncident(&inc)}
	return &inc, nil
}

func (t *tx) PutIncident(inc *escalation.Incident) error {
	if err := checkID("incident", inc.ID); err != nil {
		return err
	}
	if !t.btx.Writable() {
		return fmt.Errorf("store: put incident %d: %w", inc.ID, bolt.ErrTxNotWritable)
	}
	c, cached := t.incidents[inc.ID]
	if !cached || c.inc.Status.Open() != inc.Status.Open() {
		if err := t.indexOpen(inc); err != nil {
			return fmt.Errorf("store: index incident %d: %w", inc.ID, err)
		}
	}
	if !cached {
		// Every alert of a flood puts its incident again: the entry is
		// reused.
		c = new(cachedIncident)
		t.incidents[inc.ID] = c
	}
	c.inc, c.dirty = cloneIncident(inc), true
	due := !inc.NextDue.IsZero()
	if err := t.reindex(bucketDue, bucketDueRev, inc.ID, timeKey(inc.NextDue, inc.ID), due); err != nil {
		return fmt.Errorf("store: index incident %d: %w", inc.ID, err)
	}
	return nil
}

func (t *tx) Incidents(status escalation.Status, limit int) ([]*escalation.Incident, error) {
	if status.Open() {
		return t.openIncidents(status, limit)
	}
	// The scan reads the bucket, so changes of this transaction go there first.
	if err := t.flush(); err != nil {
		return nil, err
	}
	out := []*escalation.Incident{}
	c := t.bucket(bucketIncidents).Cursor()
	for k, v := c.Last(); k != nil && (limit <= 0 || len(out) < limit); k, v = c.Prev() {
		inc := new(escalation.Incident)
		if err := decodeRecord(v, inc, wire.DecodeIncident); err != nil {
			return nil, fmt.Errorf("store: read incident %d: %w", int64(binary.BigEndian.Uint64(k)), err)
		}
		if status == "" || inc.Status == status {
			out = append(out, inc)
		}
	}
	return out, nil
}

func (t *tx) DueIncidents(now time.Time, limit int) ([]int64, error) {
	ids := []int64{}
	err := t.scanIndex(bucketDue, &now, limit, func(id int64) error {
		ids = append(ids, id)
		return nil
	})
	return ids, err
}

func (t *tx) NextIncidentDue() (time.Time, bool, error) {
	k, _ := t.bucket(bucketDue).Cursor().First()
	if k == nil {
		return time.Time{}, false, nil
	}
	return keyTime(k), true, nil
}

// eventKey orders an incident's events by their sequence number.
func eventKey(incidentID int64, seq uint64) []byte {
	k := make([]byte, 0, 16)
	k = binary.BigEndian.AppendUint64(k, uint64(incidentID))
	return binary.BigEndian.AppendUint64(k, seq)
}

func (t *tx) AppendEvent(incidentID int64, ev escalation.Event) error {
	if err := checkID("incident", incidentID); err != nil {
		return err
	}
	seq, ok := t.eventSeq[incidentID]
	if !ok {
		// The incident's last event is just before the largest possible
		// key of its prefix: one seek, not a scan of the timeline.
		c := t.bucket(bucketEvents).Cursor()
		k, _ := c.Seek(eventKey(incidentID, math.MaxUint64))
		if k == nil {
			k, _ = c.Last()
		} else {
			k, _ = c.Prev()
		}
		seq = 1
		if k != nil && binary.BigEndian.Uint64(k) == uint64(incidentID) {
			seq = binary.BigEndian.Uint64(k[8:]) + 1
		}
	}
	t.eventSeq[incidentID] = seq + 1
	if err := t.bucket(bucketEvents).Put(eventKey(incidentID, seq), wire.AppendEvent(nil, &ev)); err != nil {
		return fmt.Errorf("store: append event to incident %d: %w", incidentID, err)
	}
	return nil
}

func (t *tx) Events(incidentID int64) ([]escalation.Event, error) {
	out := []escalation.Event{}
	prefix := idKey(incidentID)
	c := t.bucket(bucketEvents).Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		var ev escalation.Event
		if err := decodeRecord(v, &ev, wire.DecodeEvent); err != nil {
			return nil, fmt.Errorf("store: read event %d of incident %d: %w", binary.BigEndian.Uint64(k[8:]), incidentID, err)
		}
		out = append(out, ev)
	}
	return out, nil
}

func (t *tx) Alert(service, dedupKey string) (*escalation.AlertRecord, error) {
	k, err := stringKey(service, dedupKey)
	if err != nil {
		return nil, fmt.Errorf("store: alert: %w", err)
	}
	n := t.alertNumber(k)
	if n == nil {
		return nil, missingAlert{service, dedupKey}
	}
	if t.recordsCursor == nil {
		t.recordsCursor = t.bucket(bucketAlertRecords).Cursor()
	}
	v := seek(t.recordsCursor, n)
	if v == nil {
		return nil, fmt.Errorf("store: alert %q of service %q: record %x is missing", dedupKey, service, n)
	}
	rec, err := decodeAlert(v)
	if err != nil {
		return nil, fmt.Errorf("store: read alert %q of service %q: %w", dedupKey, service, err)
	}
	return rec, nil
}

// missingAlert is Alert's ErrNotFound. Every new alert of a flood asks
// for it, so its message is only formatted when someone reads it.
type missingAlert struct{ service, dedupKey string }

func (e missingAlert) Error() string {
	return fmt.Sprintf("alert %q of service %q: %v", e.dedupKey, e.service, escalation.ErrNotFound)
}

func (e missingAlert) Unwrap() error { return escalation.ErrNotFound }

// decodeAlert reads an alert record: the compact wire form, or JSON as
// written before it.
func decodeAlert(v []byte) (*escalation.AlertRecord, error) {
	rec := new(escalation.AlertRecord)
	return rec, decodeRecord(v, rec, wire.DecodeRecord)
}

// decodeRecord reads a record of alerts, incidents, events or pages into
// out: the compact wire form, or JSON as written before it (schema 2 for
// alerts, 3 for the others).
func decodeRecord[T any](v []byte, out *T, decode func([]byte) (T, error)) error {
	if !wire.IsWire(v) {
		return json.Unmarshal(v, out)
	}
	r, err := decode(v)
	if err != nil {
		return err
	}
	*out = r
	return nil
}

func (t *tx) PutAlert(rec *escalation.AlertRecord) error {
	// Every alert received is written here: the wire form costs a
	// fraction of JSON's CPU and half its bytes (fewer pages per commit).
	k, err := stringKey(rec.Service, rec.Alert.DedupKey)
	if err == nil {
		err = t.putAlert(k, wire.AppendRecord(nil, rec))
	}
	if err != nil {
		return fmt.Errorf("store: put alert %q of service %q: %w", rec.Alert.DedupKey, rec.Service, err)
	}
	return nil
}

// alertNumber is the number of the alert keyed k, or nil.
func (t *tx) alertNumber(k []byte) []byte {
	if t.alertKey == nil || !bytes.Equal(k, t.alertKey) {
		if t.idsCursor == nil {
			t.idsCursor = t.bucket(bucketAlertIDs).Cursor()
		}
		t.alertKey, t.alertNum = k, seek(t.idsCursor, k)
	}
	return t.alertNum
}

// seek is Get through a cursor: the value of key k, or nil. Seek places
// the cursor afresh, so writes since its last use do not matter.
func seek(c *bolt.Cursor, k []byte) []byte {
	if got, v := c.Seek(k); bytes.Equal(got, k) {
		return v
	}
	return nil
}

// putAlert writes the record of the alert keyed k, numbering it if new.
func (t *tx) putAlert(k, record []byte) error {
	records := t.bucket(bucketAlertRecords)
	n := t.alertNumber(k)
	if n == nil {
		seq, err := records.NextSequence()
		if err != nil {
			return err
		}
		n = u64(seq)
		if err := t.bucket(bucketAlertIDs).Put(k, n); err != nil {
			return err
		}
		t.alertKey, t.alertNum = k, n
	}
	// New numbers only ever go at the end: a split page need leave no
	// room for inserts before it.
	records.FillPercent = 1
	return records.Put(n, record)
}

func (t *tx) IncidentAlerts(incidentID int64) ([]*escalation.AlertRecord, error) {
	var out []*escalation.AlertRecord
	// A full scan: only merges ask, and they are rare. Each record's
	// incident is read without decoding the rest of it: at 100,000 stored
	// alerts the scan takes about 11 ms against 96 ms decoding each
	// (BenchmarkIncidentAlerts), and the writer waits for it.
	err := t.bucket(bucketAlertRecords).ForEach(func(k, v []byte) error {
		if id, ok := wire.RecordIncident(v); ok && id != incidentID {
			return nil
		}
		rec, err := decodeAlert(v)
		if err != nil {
			return fmt.Errorf("store: read alert record %d: %w", binary.BigEndian.Uint64(k), err)
		}
		if rec.IncidentID == incidentID {
			out = append(out, rec)
		}
		return nil
	})
	return out, err
}

func (t *tx) GroupIncident(service, groupKey string) (int64, error) {
	k, err := stringKey(service, groupKey)
	if err != nil {
		return 0, fmt.Errorf("store: group: %w", err)
	}
	v := t.bucket(bucketGroups).Get(k)
	if v == nil {
		return 0, nil
	}
	if len(v) != 8 {
		return 0, fmt.Errorf("store: group %q of service %q: corrupt value", groupKey, service)
	}
	return int64(binary.BigEndian.Uint64(v)), nil
}

// SetGroupIncident points the group at id; id 0 forgets the group.
func (t *tx) SetGroupIncident(service, groupKey string, id int64) error {
	k, err := stringKey(service, groupKey)
	if err == nil {
		if id == 0 {
			err = t.bucket(bucketGroups).Delete(k)
		} else if err = checkID("incident", id); err == nil {
			err = t.bucket(bucketGroups).Put(k, idKey(id))
		}
	}
	if err != nil {
		return fmt.Errorf("store: set group %q of service %q: %w", groupKey, service, err)
	}
	return nil
}

func (t *tx) NextPageID() (int64, error) {
	n, err := t.bucket(bucketPages).NextSequence()
	if err != nil {
		return 0, fmt.Errorf("store: next page id: %w", err)
	}
	return int64(n), nil
}

func (t *tx) Page(id int64) (*escalation.Page, error) {
	var p escalation.Page
	ok, err := getRecord(t, bucketPages, idKey(id), &p, wire.DecodePage)
	if err != nil {
		return nil, fmt.Errorf("store: read page %d: %w", id, err)
	}
	if !ok {
		return nil, fmt.Errorf("page %d: %w", id, escalation.ErrNotFound)
	}
	return &p, nil
}

func (t *tx) PutPage(p *escalation.Page) error {
	if err := checkID("page", p.ID); err != nil {
		return err
	}
	if t.bucket(bucketPages).Get(idKey(p.ID)) == nil {
		if err := t.indexPersonPage(p); err != nil {
			return fmt.Errorf("store: index page %d: %w", p.ID, err)
		}
		if !p.Notice() {
			if err := t.bucket(bucketPersonLast).Put([]byte(p.Person), idKey(p.ID)); err != nil {
				return fmt.Errorf("store: index page %d: %w", p.ID, err)
			}
		}
	}
	if err := t.bucket(bucketPages).Put(idKey(p.ID), wire.AppendPage(nil, p)); err != nil {
		return fmt.Errorf("store: put page %d: %w", p.ID, err)
	}
	// A zero NotBefore in the outbox means "now": it indexes first.
	if err := t.reindex(bucketOutbox, bucketOutboxRev, p.ID, timeKey(p.NotBefore, p.ID), p.Status.InOutbox()); err != nil {
		return fmt.Errorf("store: index page %d: %w", p.ID, err)
	}
	return nil
}

// outboxPages loads the pages of the outbox index up to until (all when nil).
func (t *tx) outboxPages(until *time.Time, limit int) ([]*escalation.Page, error) {
	out := []*escalation.Page{}
	err := t.scanIndex(bucketOutbox, until, limit, func(id int64) error {
		p, err := t.Page(id)
		if errors.Is(err, escalation.ErrNotFound) {
			return fmt.Errorf("store: outbox entry for missing page %d", id)
		}
		out = append(out, p)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (t *tx) DuePages(now time.Time, limit int) ([]*escalation.Page, error) {
	return t.outboxPages(&now, limit)
}

func (t *tx) Outbox() ([]*escalation.Page, error) { return t.outboxPages(nil, 0) }

// NextPageDue is the earliest NotBefore in the outbox; a page queued with a
// zero NotBefore reports the Unix epoch, which is as due as can be.
func (t *tx) NextPageDue() (time.Time, bool, error) {
	k, _ := t.bucket(bucketOutbox).Cursor().First()
	if k == nil {
		return time.Time{}, false, nil
	}
	return keyTime(k), true, nil
}

func (t *tx) LatestPageTo(person string, limit int) (*escalation.Page, error) {
	// The newest page to them, however many pages went to others since;
	// when it is no longer on its way (cancelled, failed) or the file is
	// from before the pointer, the newest pages are searched.
	if id := t.bucket(bucketPersonLast).Get([]byte(person)); len(id) == 8 {
		p, err := t.Page(int64(binary.BigEndian.Uint64(id)))
		if err != nil && !errors.Is(err, escalation.ErrNotFound) {
			return nil, err
		}
		if p != nil && activePage(p) {
			return p, nil
		}
	}
	c := t.bucket(bucketPages).Cursor()
	n := 0
	for k, v := c.Last(); k != nil && (limit <= 0 || n < limit); k, v = c.Prev() {
		n++
		p := new(escalation.Page)
		if err := decodeRecord(v, p, wire.DecodePage); err != nil {
			return nil, fmt.Errorf("store: read page %d: %w", int64(binary.BigEndian.Uint64(k)), err)
		}
		if p.Person == person && !p.Notice() && activePage(p) {
			return p, nil
		}
	}
	return nil, fmt.Errorf("recent page to %q: %w", person, escalation.ErrNotFound)
}

// activePage reports whether a page is on its way or went out: what a
// reply that names no incident means.
func activePage(p *escalation.Page) bool {
	switch p.Status {
	case escalation.PageSent, escalation.PageDelivered, escalation.PageSending, escalation.PageQueued:
		return true
	}
	return false
}

// openKey is an open-index key: service, NUL, incident id.
func openKey(service string, id int64) ([]byte, error) {
	k, err := stringKey(service, "")
	if err != nil {
		return nil, err
	}
	return binary.BigEndian.AppendUint64(k, uint64(id)), nil
}

// indexOpen keeps the incident in the open index exactly while it is open.
func (t *tx) indexOpen(inc *escalation.Incident) error {
	k, err := openKey(inc.Service, inc.ID)
	if err != nil {
		return err
	}
	if inc.Status.Open() {
		return t.bucket(bucketOpen).Put(k, []byte{})
	}
	return t.bucket(bucketOpen).Delete(k)
}

// openIncidents lists triggered or acknowledged incidents through the open
// index, newest first: resolved history is never read.
func (t *tx) openIncidents(status escalation.Status, limit int) ([]*escalation.Incident, error) {
	var ids []int64
	err := t.bucket(bucketOpen).ForEach(func(k, _ []byte) error {
		ids = append(ids, int64(binary.BigEndian.Uint64(k[len(k)-8:])))
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(ids, func(a, b int64) int { return cmp.Compare(b, a) })
	out := []*escalation.Incident{}
	for _, id := range ids {
		if limit > 0 && len(out) >= limit {
			break
		}
		inc, err := t.Incident(id)
		if err != nil {
			return nil, err
		}
		if inc.Status == status {
			out = append(out, inc)
		}
	}
	return out, nil
}

func (t *tx) OpenIncidents(service string) ([]int64, error) {
	prefix, err := stringKey(service, "")
	if err != nil {
		return nil, fmt.Errorf("store: open incidents: %w", err)
	}
	var out []int64
	c := t.bucket(bucketOpen).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix) && len(k) == len(prefix)+8; k, _ = c.Next() {
		out = append(out, int64(binary.BigEndian.Uint64(k[len(prefix):])))
	}
	return out, nil
}

// personPageKey orders a person's pages by creation: person, NUL,
// created-at nanos, page id.
func personPageKey(p *escalation.Page) ([]byte, error) {
	k, err := stringKey(p.Person, "")
	if err != nil {
		return nil, err
	}
	k = binary.BigEndian.AppendUint64(k, unixNanos(p.CreatedAt))
	return binary.BigEndian.AppendUint64(k, uint64(p.ID)), nil
}

// indexPersonPage adds a new call, or the SMS that stands in for calls, to
// its person's index: call limits count only those, so a storm of SMS
// pages costs them nothing. A page's person and creation time never
// change, so it is written once.
func (t *tx) indexPersonPage(p *escalation.Page) error {
	if p.Channel != escalation.ChannelVoice && !p.Bundle {
		return nil
	}
	k, err := personPageKey(p)
	if err != nil {
		return err
	}
	return t.bucket(bucketPersonPages).Put(k, []byte{})
}

// PagesTo reads the person's index from since: the calls (and bundle SMS)
// of one person's window, whatever else is paging.
func (t *tx) PagesTo(person string, since time.Time) ([]*escalation.Page, error) {
	prefix, err := stringKey(person, "")
	if err != nil {
		return nil, fmt.Errorf("store: pages to %q: %w", person, err)
	}
	start := binary.BigEndian.AppendUint64(bytes.Clone(prefix), unixNanos(since))
	var out []*escalation.Page
	c := t.bucket(bucketPersonPages).Cursor()
	for k, _ := c.Seek(start); k != nil && bytes.HasPrefix(k, prefix) && len(k) == len(prefix)+16; k, _ = c.Next() {
		p, err := t.Page(int64(binary.BigEndian.Uint64(k[len(prefix)+8:])))
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	slices.Reverse(out)
	return out, nil
}

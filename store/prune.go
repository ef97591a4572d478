package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/klaxonhq/klaxon/escalation"
	"github.com/klaxonhq/klaxon/internal/wire"
)

func (t *tx) EachIncident(fn func(*escalation.Incident) error) error {
	c := t.bucket(bucketIncidents).Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		var inc escalation.Incident
		if cached, ok := t.incidents[int64(binary.BigEndian.Uint64(k))]; ok {
			inc = cloneIncident(&cached.inc)
		} else if err := decodeRecord(v, &inc, wire.DecodeIncident); err != nil {
			return fmt.Errorf("store: read incident %d: %w", int64(binary.BigEndian.Uint64(k)), err)
		}
		if err := fn(&inc); err != nil {
			return err
		}
	}
	return nil
}

func (t *tx) DeleteIncidents(ids []int64, early time.Time) (escalation.Deleted, error) {
	var d escalation.Deleted
	if !t.btx.Writable() {
		return d, fmt.Errorf("store: delete incidents: %w", bolt.ErrTxNotWritable)
	}
	gone := make(map[int64]bool, len(ids))
	mergedInto := map[int64]int64{}
	for _, id := range ids {
		inc, err := t.Incident(id)
		if errors.Is(err, escalation.ErrNotFound) {
			continue
		}
		if err != nil {
			return d, err
		}
		if inc.Status.Open() {
			return d, fmt.Errorf("store: incident %d is %s: only resolved incidents are deleted", id, inc.Status)
		}
		n, err := t.deleteIncident(inc)
		if err != nil {
			return d, fmt.Errorf("store: delete incident %d: %w", id, err)
		}
		gone[id] = true
		if inc.MergedInto != 0 {
			mergedInto[id] = inc.MergedInto
		}
		d.Incidents++
		d.Events += n
	}
	if len(gone) == 0 && early.IsZero() {
		return d, nil
	}
	var err error
	if err = t.deleteGroups(gone, survivors(gone, mergedInto)); err == nil {
		if d.ChatPosts, err = t.deleteChatPosts(gone); err == nil {
			if d.Alerts, err = t.deleteAlerts(gone, early); err == nil {
				d.Pages, err = t.deletePages(gone, early)
			}
		}
	}
	if err != nil {
		return d, fmt.Errorf("store: delete incidents: %w", err)
	}
	return d, nil
}

// deleteIncident deletes the incident, its index entries and its
// timeline, and returns how many timeline entries went.
func (t *tx) deleteIncident(inc *escalation.Incident) (int, error) {
	k, err := openKey(inc.Service, inc.ID)
	if err != nil {
		return 0, err
	}
	if err := t.bucket(bucketOpen).Delete(k); err != nil {
		return 0, err
	}
	if err := t.reindex(bucketDue, bucketDueRev, inc.ID, nil, false); err != nil {
		return 0, err
	}
	if err := t.bucket(bucketIncidents).Delete(idKey(inc.ID)); err != nil {
		return 0, err
	}
	// Not written back at commit, and not numbered on from its old last
	// entry.
	delete(t.incidents, inc.ID)
	delete(t.eventSeq, inc.ID)
	return deletePrefix(t.bucket(bucketEvents), idKey(inc.ID))
}

// deletePrefix deletes the entries of b whose keys start with prefix and
// returns how many it deleted. The keys are gathered first: bbolt's cursor
// may skip an entry after a delete.
func deletePrefix(b *bolt.Bucket, prefix []byte) (int, error) {
	var keys [][]byte
	c := b.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		keys = append(keys, bytes.Clone(k))
	}
	for _, k := range keys {
		if err := b.Delete(k); err != nil {
			return 0, err
		}
	}
	return len(keys), nil
}

// survivors maps each deleted incident that was merged into another to
// the end of its chain of merges, when that end is not deleted too.
func survivors(gone map[int64]bool, mergedInto map[int64]int64) map[int64]int64 {
	out := map[int64]int64{}
	for id, next := range mergedInto {
		for hops := 0; gone[next] && hops < len(mergedInto); hops++ {
			next = mergedInto[next]
		}
		if next != 0 && !gone[next] {
			out[id] = next
		}
	}
	return out
}

// deleteGroups forgets the group keys that lead to the deleted incidents,
// so the group's next alert opens an incident afresh; one whose incident
// was merged into another still kept leads there instead, as it would
// have.
func (t *tx) deleteGroups(gone map[int64]bool, moved map[int64]int64) error {
	b := t.bucket(bucketGroups)
	type repoint struct {
		k  []byte
		to int64
	}
	var keys []repoint
	err := b.ForEach(func(k, v []byte) error {
		if len(v) == 8 && gone[int64(binary.BigEndian.Uint64(v))] {
			keys = append(keys, repoint{bytes.Clone(k), moved[int64(binary.BigEndian.Uint64(v))]})
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, r := range keys {
		if r.to != 0 {
			err = b.Put(r.k, idKey(r.to))
		} else {
			err = b.Delete(r.k)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (t *tx) deleteChatPosts(gone map[int64]bool) (int, error) {
	var keys [][]byte
	err := t.bucket(bucketChat).ForEach(func(k, _ []byte) error {
		if len(k) > 8 && gone[int64(binary.BigEndian.Uint64(k[len(k)-8:]))] {
			keys = append(keys, bytes.Clone(k))
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	chat, due, rev := t.bucket(bucketChat), t.bucket(bucketChatDue), t.bucket(bucketChatRev)
	for _, k := range keys {
		if old := rev.Get(k); old != nil {
			if err := due.Delete(bytes.Clone(old)); err != nil {
				return 0, err
			}
			if err := rev.Delete(k); err != nil {
				return 0, err
			}
		}
		if err := chat.Delete(k); err != nil {
			return 0, err
		}
	}
	return len(keys), nil
}

// deleteAlerts deletes the records of the alerts the deleted incidents
// hold, and those of early resolves (in no incident) last seen before
// early.
func (t *tx) deleteAlerts(gone map[int64]bool, early time.Time) (int, error) {
	type doomed struct{ number, id []byte }
	var out []doomed
	err := t.bucket(bucketAlertRecords).ForEach(func(k, v []byte) error {
		id, ok := wire.RecordIncident(v)
		if ok && !gone[id] && (id != 0 || early.IsZero()) {
			return nil
		}
		rec, err := decodeAlert(v)
		if err != nil {
			return fmt.Errorf("read alert record %d: %w", binary.BigEndian.Uint64(k), err)
		}
		if !gone[rec.IncidentID] && (rec.IncidentID != 0 || early.IsZero() || !rec.LastSeen.Before(early)) {
			return nil
		}
		ik, err := stringKey(rec.Service, rec.Alert.DedupKey)
		if err != nil {
			return err
		}
		out = append(out, doomed{bytes.Clone(k), ik})
		return nil
	})
	if err != nil {
		return 0, err
	}
	records, numbers := t.bucket(bucketAlertRecords), t.bucket(bucketAlertIDs)
	for _, a := range out {
		if err := records.Delete(a.number); err != nil {
			return 0, err
		}
		// Only if it still names this record: a key is never numbered
		// twice, but a corrupt file should lose nothing more.
		if n := numbers.Get(a.id); bytes.Equal(n, a.number) {
			if err := numbers.Delete(a.id); err != nil {
				return 0, err
			}
		}
	}
	t.alertKey, t.alertNum = nil, nil
	return len(out), nil
}

// deletePages deletes the deleted incidents' pages, and notices (pages of
// no incident) created before early, with their index entries.
func (t *tx) deletePages(gone map[int64]bool, early time.Time) (int, error) {
	var doomed []*escalation.Page
	err := t.bucket(bucketPages).ForEach(func(k, v []byte) error {
		if id, ok := wire.PageIncident(v); ok && !gone[id] && (id != 0 || early.IsZero()) {
			return nil
		}
		p := new(escalation.Page)
		if err := decodeRecord(v, p, wire.DecodePage); err != nil {
			return fmt.Errorf("read page %d: %w", binary.BigEndian.Uint64(k), err)
		}
		if gone[p.IncidentID] || p.IncidentID == 0 && !early.IsZero() && p.CreatedAt.Before(early) && !p.Status.InOutbox() {
			doomed = append(doomed, p)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	pages, byPerson, last := t.bucket(bucketPages), t.bucket(bucketPersonPages), t.bucket(bucketPersonLast)
	for _, p := range doomed {
		if err := t.reindex(bucketOutbox, bucketOutboxRev, p.ID, nil, false); err != nil {
			return 0, err
		}
		if k, err := personPageKey(p); err == nil {
			if err := byPerson.Delete(k); err != nil {
				return 0, err
			}
		}
		if id := last.Get([]byte(p.Person)); bytes.Equal(id, idKey(p.ID)) {
			if err := last.Delete([]byte(p.Person)); err != nil {
				return 0, err
			}
		}
		if err := pages.Delete(idKey(p.ID)); err != nil {
			return 0, err
		}
	}
	return len(doomed), nil
}

package intake

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/escalation"
	"github.com/klaxonhq/klaxon/internal/wire"
)

// FuzzReadSegment: whatever a crash or a bad disk leaves in a segment,
// reading it never panics and yields only whole records in sequence.
func FuzzReadSegment(f *testing.F) {
	body := encodeDelivery("am", time.Date(2025, 6, 2, 3, 0, 0, 0, time.UTC),
		[]escalation.Alert{{DedupKey: "db1", State: escalation.AlertFiring, Summary: "disk full"}})
	two := appendRecord(appendRecord(nil, 7, body), 8, body)
	f.Add(two)
	f.Add(two[:len(two)-5])
	f.Add(append(appendRecord(nil, 7, body), appendRecord(nil, 3, body)...))
	f.Add(make([]byte, 64))
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), segmentName(7))
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		recs, _, end, err := readSegment(path, 7, 0)
		if err != nil {
			return // a record whose checksum holds but whose payload does not: reported, not read
		}
		if end > int64(len(data)) {
			t.Fatalf("records end at %d of %d bytes", end, len(data))
		}
		for i, r := range recs {
			if r.seq != 7+uint64(i) {
				t.Fatalf("record %d has sequence number %d", i, r.seq)
			}
		}
	})
}

// FuzzDecodeDelivery: a payload that passed its checksum but is not what
// encodeDelivery wrote (a bug, a disk that lies) is an error, never a panic.
func FuzzDecodeDelivery(f *testing.F) {
	f.Add(encodeDelivery("am", time.Date(2025, 6, 2, 3, 0, 0, 0, time.UTC),
		[]escalation.Alert{{DedupKey: "db1", State: escalation.AlertFiring, Summary: "disk full",
			Labels: map[string]string{"host": "db1"}, Links: []escalation.Link{{Href: "http://x"}}}}))
	f.Add([]byte(`{"i":"am","r":1,"a":[{"dedup_key":"db1","state":"firing","summary":"s"}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := decodeDelivery(body)
		if err != nil || !wire.IsWire(body) {
			return
		}
		again, err := decodeDelivery(encodeDelivery(p.Integration, time.Unix(0, p.Received), p.Alerts))
		if err != nil || again.Integration != p.Integration || again.Received != p.Received || len(again.Alerts) != len(p.Alerts) {
			t.Fatalf("a decoded delivery does not round-trip: %+v, %v", again, err)
		}
	})
}

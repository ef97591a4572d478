package intake

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/escalation"
)

// FuzzReadSegment: whatever a crash or a bad disk leaves in a segment,
// reading it never panics and yields only whole records in sequence.
func FuzzReadSegment(f *testing.F) {
	body, err := encodeDelivery("am", time.Date(2025, 6, 2, 3, 0, 0, 0, time.UTC),
		[]escalation.Alert{{DedupKey: "db1", State: escalation.AlertFiring, Summary: "disk full"}})
	if err != nil {
		f.Fatal(err)
	}
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
			return // a record whose checksum holds but whose JSON does not: reported, not read
		}
		if end > int64(len(data)) {
			t.Fatalf("records end at %d of %d bytes", end, len(data))
		}
		for i, r := range recs {
			if r.Seq != 7+uint64(i) {
				t.Fatalf("record %d has sequence number %d", i, r.Seq)
			}
		}
	})
}

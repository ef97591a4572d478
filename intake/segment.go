package intake

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/klaxonhq/klaxon/escalation"
	"github.com/klaxonhq/klaxon/internal/wire"
)

// A segment file holds records back to back:
//
//	[4] payload length, little endian
//	[4] CRC-32C of the sequence number and the payload
//	[8] sequence number, little endian
//	[n] payload: the delivery (see encodeDelivery)
//
// Records are written in sequence order and fsynced before they are
// acknowledged, so a torn record can only be one that was never
// acknowledged; reading a segment stops at the first record that does not
// check out. Segments are named by the sequence number of their first
// record.
const (
	headerSize = 16
	// maxPayload bounds one record: far above any accepted body, so a
	// larger length can only be a torn header.
	maxPayload = 64 << 20
	segmentExt = ".log"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// payload is a delivery as journals before the wire form wrote it, in JSON.
type payload struct {
	Integration string             `json:"i"`
	Received    int64              `json:"r"` // Unix nanoseconds
	Alerts      []escalation.Alert `json:"a"`
}

// appendRecord appends the record of d to buf.
func appendRecord(buf []byte, seq uint64, body []byte) []byte {
	var h [headerSize]byte
	binary.LittleEndian.PutUint32(h[0:], uint32(len(body)))
	binary.LittleEndian.PutUint64(h[8:], seq)
	crc := crc32.Update(0, castagnoli, h[8:16])
	binary.LittleEndian.PutUint32(h[4:], crc32.Update(crc, castagnoli, body))
	return append(append(buf, h[:]...), body...)
}

// encodeDelivery encodes a delivery in the wire form (package wire): the
// version byte, the integration, the receive time in Unix nanoseconds, the
// number of alerts and the alerts.
func encodeDelivery(integration string, received time.Time, alerts []escalation.Alert) []byte {
	b := make([]byte, 0, 1+2*binary.MaxVarintLen64+len(integration)+wire.AlertsSize(alerts))
	b = append(b, wire.Version)
	b = wire.AppendString(b, integration)
	b = binary.AppendVarint(b, received.UnixNano())
	return wire.AppendAlerts(b, alerts)
}

// decodeDelivery reads a record's payload, in the wire form or in the
// JSON of earlier journals.
func decodeDelivery(body []byte) (p payload, err error) {
	if !wire.IsWire(body) {
		err = json.Unmarshal(body, &p)
		return p, err
	}
	d := wire.NewDecoder(body[1:])
	p.Integration = d.String()
	p.Received = d.Varint()
	p.Alerts = d.Alerts()
	return p, d.Finish()
}

// readSegment reads the valid records of the segment whose first record
// is expect, in order: it returns those past applied, decoded, the last
// valid record's number (expect-1 when none) and the offset where the
// valid records end. Records at or below applied are checked but not
// decoded, so a start does not decode what the store already holds. It
// stops at the first record that is short, too long, fails its checksum or
// is not the next in sequence (a reused segment holds its old records
// after the new).
func readSegment(path string, expect, applied uint64) (_ []entry, last uint64, end int64, _ error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, 0, fmt.Errorf("intake: %w", err)
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<20)
	var out []entry
	var h [headerSize]byte
	var body []byte
	for ; ; expect++ {
		if _, err := io.ReadFull(r, h[:]); err != nil {
			return out, expect - 1, end, nil
		}
		n := binary.LittleEndian.Uint32(h[0:])
		if n == 0 || n > maxPayload {
			return out, expect - 1, end, nil
		}
		body = slices.Grow(body[:0], int(n))[:n]
		if _, err := io.ReadFull(r, body); err != nil {
			return out, expect - 1, end, nil
		}
		crc := crc32.Update(crc32.Update(0, castagnoli, h[8:16]), castagnoli, body)
		if crc != binary.LittleEndian.Uint32(h[4:]) {
			return out, expect - 1, end, nil
		}
		if seq := binary.LittleEndian.Uint64(h[8:]); seq != expect {
			// Left from the segment's earlier life as another one: the
			// new records end here.
			return out, expect - 1, end, nil
		}
		end += headerSize + int64(n)
		if expect <= applied {
			continue
		}
		p, err := decodeDelivery(body)
		if err != nil {
			// The checksum held, so this is no torn write.
			return nil, 0, 0, fmt.Errorf("intake: %s: record %d: %w", filepath.Base(path), expect, err)
		}
		// Queued in the wire form, as a delivery accepted now would be.
		e := entry{seq: expect, received: time.Unix(0, p.Received).UTC(), alerts: len(p.Alerts), body: slices.Clone(body)}
		if !wire.IsWire(body) {
			e.body = encodeDelivery(p.Integration, e.received, p.Alerts)
		}
		out = append(out, e)
	}
}

// segmentName is the file name of the segment whose first record is seq.
func segmentName(seq uint64) string { return fmt.Sprintf("%020d%s", seq, segmentExt) }

// listSegments returns the segments in dir by first sequence number.
func listSegments(dir string) ([]uint64, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("intake: %w", err)
	}
	var out []uint64
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), segmentExt)
		if !ok || e.IsDir() {
			continue
		}
		seq, err := strconv.ParseUint(name, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("intake: unexpected file %s in %s", e.Name(), dir)
		}
		out = append(out, seq)
	}
	slices.Sort(out)
	return out, nil
}

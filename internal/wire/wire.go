// Package wire is the compact binary form of alerts, written by the intake
// journal and the store once for every alert received. It replaces
// reflection JSON on that path: about half the bytes and a fraction of the
// CPU, which is what an alert storm spends its time on (BENCHMARKS.md).
//
// An encoding starts with a version byte that JSON never starts with, so a
// reader tells it from the JSON written before it.
package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/klaxonhq/klaxon/escalation"
)

// Version is the first byte of every encoding of this package.
const Version byte = 1

// ErrCorrupt is returned for bytes that are not a valid encoding.
var ErrCorrupt = errors.New("wire: corrupt encoding")

// IsWire reports whether b is an encoding of this package rather than
// JSON.
func IsWire(b []byte) bool { return len(b) > 0 && b[0] == Version }

// AppendString appends s, length first.
func AppendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// AppendTime appends t to the nanosecond with its zone offset; the zero
// time is one byte.
func AppendTime(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return append(b, 0)
	}
	_, off := t.Zone()
	b = append(b, 1)
	b = binary.AppendVarint(b, t.Unix())
	b = binary.AppendUvarint(b, uint64(t.Nanosecond()))
	return binary.AppendVarint(b, int64(off))
}

// AlertsSize bounds the bytes AppendAlerts appends for alerts, so that a
// caller can size its buffer once.
func AlertsSize(alerts []escalation.Alert) int {
	n := binary.MaxVarintLen64
	for i := range alerts {
		n += alertSize(&alerts[i])
	}
	return n
}

// alertSize bounds the bytes AppendAlert appends for a.
func alertSize(a *escalation.Alert) int {
	n := 7*binary.MaxVarintLen32 + len(a.DedupKey) + len(a.GroupKey) + len(a.State) + len(a.Severity) +
		len(a.Summary) + len(a.Details) + len(a.Source) + 2*binary.MaxVarintLen32 + 2*maxTime
	for k, v := range a.Labels {
		n += 2*binary.MaxVarintLen32 + len(k) + len(v)
	}
	for _, l := range a.Links {
		n += 2*binary.MaxVarintLen32 + len(l.Href) + len(l.Text)
	}
	return n
}

// maxTime is the most bytes AppendTime appends.
const maxTime = 1 + 3*binary.MaxVarintLen64

// AppendAlerts appends the number of alerts, then each.
func AppendAlerts(b []byte, alerts []escalation.Alert) []byte {
	b = binary.AppendUvarint(b, uint64(len(alerts)))
	for i := range alerts {
		b = AppendAlert(b, &alerts[i])
	}
	return b
}

// AppendAlert appends a.
func AppendAlert(b []byte, a *escalation.Alert) []byte {
	b = AppendString(b, a.DedupKey)
	b = AppendString(b, a.GroupKey)
	b = AppendString(b, string(a.State))
	b = AppendString(b, a.Severity)
	b = AppendString(b, a.Summary)
	b = AppendString(b, a.Details)
	b = AppendString(b, a.Source)
	b = binary.AppendUvarint(b, uint64(len(a.Labels)))
	for k, v := range a.Labels {
		b = AppendString(b, k)
		b = AppendString(b, v)
	}
	b = binary.AppendUvarint(b, uint64(len(a.Links)))
	for _, l := range a.Links {
		b = AppendString(b, l.Href)
		b = AppendString(b, l.Text)
	}
	b = AppendTime(b, a.StartsAt)
	return AppendTime(b, a.EndsAt)
}

// AppendRecord appends the encoding of rec, version byte first.
func AppendRecord(b []byte, rec *escalation.AlertRecord) []byte {
	b = slices.Grow(b, 1+3*binary.MaxVarintLen64+len(rec.Service)+len(rec.Integration)+2*maxTime+alertSize(&rec.Alert))
	b = append(b, Version)
	b = AppendString(b, rec.Service)
	b = AppendString(b, rec.Integration)
	b = binary.AppendVarint(b, rec.IncidentID)
	b = AppendTime(b, rec.FirstSeen)
	b = AppendTime(b, rec.LastSeen)
	return AppendAlert(b, &rec.Alert)
}

// DecodeRecord decodes what AppendRecord wrote.
func DecodeRecord(b []byte) (escalation.AlertRecord, error) {
	d := recordDecoder(b)
	var rec escalation.AlertRecord
	rec.Service = d.String()
	rec.Integration = d.String()
	rec.IncidentID = d.Varint()
	rec.FirstSeen = d.Time()
	rec.LastSeen = d.Time()
	rec.Alert = d.Alert()
	return rec, d.Finish()
}

// RecordIncident reads only the incident id of an alert record that
// AppendRecord wrote, without decoding the rest: a scan for one incident's
// alerts then allocates nothing for the others. ok is false when b is not
// such a record.
func RecordIncident(b []byte) (id int64, ok bool) {
	d := recordDecoder(b)
	d.skipString() // service
	d.skipString() // integration
	id = d.Varint()
	return id, d.err == nil
}

// PageIncident reads only the incident id of a page that AppendPage
// wrote: a scan of every page for a few incidents' then decodes only
// theirs. ok is false when b is not such a page.
func PageIncident(b []byte) (id int64, ok bool) {
	d := recordDecoder(b)
	d.Varint() // page id
	id = d.Varint()
	return id, d.err == nil
}

// skipString passes over a string without copying it.
func (d *Decoder) skipString() {
	n := d.Uvarint()
	if n > uint64(len(d.b)) {
		d.fail("string of %d bytes with %d left", n, len(d.b))
		return
	}
	d.b = d.b[n:]
}

// Decoder reads an encoding field by field. The first problem sticks: later
// reads return zero values, and Err or Finish reports it.
type Decoder struct {
	b   []byte
	err error
}

// NewDecoder reads b.
func NewDecoder(b []byte) *Decoder { return &Decoder{b: b} }

// recordDecoder reads a record's encoding past its version byte; another
// version is a problem Finish reports.
func recordDecoder(b []byte) *Decoder {
	d := NewDecoder(b)
	if d.Byte() != Version {
		d.fail("not version %d", Version)
	}
	return d
}

// Err is the first problem met, if any.
func (d *Decoder) Err() error { return d.err }

// Finish reports the first problem, or bytes left over.
func (d *Decoder) Finish() error {
	if d.err == nil && len(d.b) > 0 {
		d.fail("%d bytes left over", len(d.b))
	}
	return d.err
}

func (d *Decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, args...))
	}
	d.b = nil
}

// Byte reads one byte.
func (d *Decoder) Byte() byte {
	if len(d.b) == 0 {
		d.fail("truncated")
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

// Uvarint reads an unsigned varint.
func (d *Decoder) Uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("bad uvarint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

// Varint reads a signed varint.
func (d *Decoder) Varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail("bad varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

// String reads what AppendString wrote.
func (d *Decoder) String() string {
	n := d.Uvarint()
	if n > uint64(len(d.b)) {
		d.fail("string of %d bytes with %d left", n, len(d.b))
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

// count reads a count of items each at least min bytes long, refusing one
// the remaining bytes cannot hold (so a corrupt count allocates nothing).
func (d *Decoder) count(min int) int {
	n := d.Uvarint()
	if n > uint64(len(d.b)/min) {
		d.fail("%d items cannot fit in %d bytes", n, len(d.b))
		return 0
	}
	return int(n)
}

// Time reads what AppendTime wrote: in UTC when its offset was zero, else
// in a fixed zone of that offset (as JSON decoding gives).
func (d *Decoder) Time() time.Time {
	switch d.Byte() {
	case 0:
		return time.Time{}
	case 1:
	default:
		d.fail("bad time flag")
		return time.Time{}
	}
	sec := d.Varint()
	nsec := d.Uvarint()
	off := d.Varint()
	if nsec >= 1e9 || off <= -24*3600 || off >= 24*3600 {
		d.fail("bad time")
		return time.Time{}
	}
	t := time.Unix(sec, int64(nsec))
	if off == 0 {
		return t.UTC()
	}
	return t.In(time.FixedZone("", int(off)))
}

// minAlert is the fewest bytes an encoded alert takes: seven empty
// strings, no labels, no links and two zero times, a byte each.
const minAlert = 11

// Alerts reads what AppendAlerts wrote.
func (d *Decoder) Alerts() []escalation.Alert {
	n := d.count(minAlert)
	if n == 0 {
		return nil
	}
	out := make([]escalation.Alert, n)
	for i := range out {
		out[i] = d.Alert()
	}
	if d.err != nil {
		return nil
	}
	return out
}

// Alert reads what AppendAlert wrote.
func (d *Decoder) Alert() escalation.Alert {
	var a escalation.Alert
	a.DedupKey = d.String()
	a.GroupKey = d.String()
	a.State = escalation.AlertState(d.String())
	a.Severity = d.String()
	a.Summary = d.String()
	a.Details = d.String()
	a.Source = d.String()
	if n := d.count(2); n > 0 {
		a.Labels = make(map[string]string, n)
		for range n {
			k := d.String()
			a.Labels[k] = d.String()
		}
	}
	if n := d.count(2); n > 0 {
		a.Links = make([]escalation.Link, n)
		for i := range a.Links {
			a.Links[i] = escalation.Link{Href: d.String(), Text: d.String()}
		}
	}
	a.StartsAt = d.Time()
	a.EndsAt = d.Time()
	if d.err != nil {
		return escalation.Alert{}
	}
	return a
}

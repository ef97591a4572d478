package wire

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/escalation"
)

// full is a record with every field set, so that a field added to Alert or
// AlertRecord and forgotten here fails TestEveryFieldIsSet.
func full() escalation.AlertRecord {
	return escalation.AlertRecord{
		Service:     "checkout",
		Integration: "prometheus",
		IncidentID:  42,
		FirstSeen:   time.Date(2026, 11, 21, 3, 4, 5, 6, time.UTC),
		LastSeen:    time.Date(2026, 11, 21, 3, 9, 0, 0, time.UTC),
		Alert: escalation.Alert{
			DedupKey: "a1b2c3", GroupKey: `{}:{alertname="DomainExpiring"}`, State: escalation.AlertFiring,
			Severity: "critical", Summary: "example.com expires in 2 days", Details: "renew it ☎",
			Source: "prometheus", Labels: map[string]string{"alertname": "DomainExpiring", "team": "web"},
			Links:    []escalation.Link{{Href: "https://grafana.example/d/1", Text: "dashboard"}},
			StartsAt: time.Date(2026, 11, 21, 4, 4, 5, 0, time.FixedZone("", 3600)),
			EndsAt:   time.Date(2026, 11, 21, 5, 0, 0, 0, time.UTC),
		},
	}
}

func TestEveryFieldIsSet(t *testing.T) {
	rec := full()
	for _, v := range []reflect.Value{reflect.ValueOf(rec), reflect.ValueOf(rec.Alert)} {
		for i := range v.NumField() {
			if v.Field(i).IsZero() {
				t.Errorf("%s.%s is zero in full(): set it, and encode it", v.Type().Name(), v.Type().Field(i).Name)
			}
		}
	}
}

func TestARecordReadsBackAsJSONWouldGiveIt(t *testing.T) {
	for _, rec := range []escalation.AlertRecord{full(), {Service: "s", Alert: escalation.Alert{DedupKey: "k", State: escalation.AlertResolved}}} {
		b := AppendRecord(nil, &rec)
		if !IsWire(b) {
			t.Fatal("an encoding does not start with the version byte")
		}
		got, err := DecodeRecord(b)
		if err != nil {
			t.Fatal(err)
		}
		// Compared as JSON: the same instants and offsets, whatever zone
		// JSON decoding would pick for an offset (Local when it matches).
		js, _ := json.Marshal(rec)
		gotJS, _ := json.Marshal(got)
		if string(gotJS) != string(js) {
			t.Errorf("wire gave\n%s\nwant\n%s", gotJS, js)
		}
		if off := func(t time.Time) int { _, o := t.Zone(); return o }; off(got.Alert.StartsAt) != off(rec.Alert.StartsAt) {
			t.Errorf("StartsAt offset %d; want %d", off(got.Alert.StartsAt), off(rec.Alert.StartsAt))
		}
		if len(b) >= len(js) {
			t.Errorf("wire takes %d bytes, JSON %d", len(b), len(js))
		}
	}
}

func TestJSONIsNotMistakenForWire(t *testing.T) {
	js, _ := json.Marshal(full())
	if IsWire(js) || IsWire(nil) {
		t.Error("JSON taken for wire")
	}
}

func TestCorruptBytesAreRefused(t *testing.T) {
	rec := full()
	b := AppendRecord(nil, &rec)
	for _, bad := range [][]byte{
		nil,
		{Version},
		b[:len(b)-1],
		append(append([]byte{}, b...), 0),
		{Version, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, // a varint too long
		{Version, 5, 'a'}, // a string longer than what is left
		{2, 0},            // another version
	} {
		if _, err := DecodeRecord(bad); !errors.Is(err, ErrCorrupt) {
			t.Errorf("DecodeRecord(%x) = %v, want ErrCorrupt", bad, err)
		}
	}
}

func FuzzDecodeRecord(f *testing.F) {
	rec := full()
	f.Add(AppendRecord(nil, &rec))
	f.Add([]byte{Version, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		rec, err := DecodeRecord(b)
		if err != nil {
			return
		}
		// What decodes re-encodes to something that decodes the same.
		again, err := DecodeRecord(AppendRecord(nil, &rec))
		if err != nil {
			t.Fatalf("re-encoding of a decoded record does not decode: %v", err)
		}
		if !reflect.DeepEqual(again, rec) {
			t.Fatalf("round trip changed the record:\n%+v\n%+v", rec, again)
		}
	})
}

func BenchmarkEncode(b *testing.B) {
	rec := full()
	b.Run("wire", func(b *testing.B) {
		var buf []byte
		for b.Loop() {
			buf = AppendRecord(buf[:0], &rec)
		}
	})
	b.Run("json", func(b *testing.B) {
		for b.Loop() {
			if _, err := json.Marshal(&rec); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkDecode(b *testing.B) {
	rec := full()
	w := AppendRecord(nil, &rec)
	js, _ := json.Marshal(&rec)
	b.Run("wire", func(b *testing.B) {
		for b.Loop() {
			if _, err := DecodeRecord(w); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("json", func(b *testing.B) {
		for b.Loop() {
			var r escalation.AlertRecord
			if err := json.Unmarshal(js, &r); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func TestAlertSizeBoundsTheEncoding(t *testing.T) {
	rec := full()
	alerts := []escalation.Alert{rec.Alert, {}}
	if got, bound := len(AppendAlerts(nil, alerts)), AlertsSize(alerts); got > bound {
		t.Errorf("AppendAlerts wrote %d bytes; AlertsSize said at most %d", got, bound)
	}
	if got := len(AppendAlert(nil, &escalation.Alert{})); got != minAlert {
		t.Errorf("an empty alert takes %d bytes; minAlert says %d", got, minAlert)
	}
	if n := testing.AllocsPerRun(100, func() { AppendRecord(nil, &rec) }); n != 1 && !raceEnabled {
		t.Errorf("AppendRecord allocates %v times; want once, sized up front", n)
	}
}

package wire

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/escalation"
)

// fill sets every field of v, however deep, to a value of its own: a field
// added to Incident, Event or Page and not to its encoding then reads back
// zero, and the round trip below fails.
func fill(v reflect.Value, n *int) {
	*n++
	switch v.Kind() {
	case reflect.String:
		v.SetString(fmt.Sprintf("s%d ☎", *n))
	case reflect.Int, reflect.Int64:
		if v.Type() == reflect.TypeFor[escalation.Priority]() {
			v.SetInt(int64(escalation.P2)) // JSON takes only P1 to P5
			return
		}
		v.SetInt(int64(*n))
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem(), n)
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 2, 2))
		for i := range 2 {
			fill(v.Index(i), n)
		}
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[time.Time]() {
			zone := time.UTC
			if *n%2 == 0 {
				zone = time.FixedZone("", -5*3600)
			}
			v.Set(reflect.ValueOf(time.Date(2026, 11, 22, 3, *n, 5, *n, zone)))
			return
		}
		for i := range v.NumField() {
			fill(v.Field(i), n)
		}
	default:
		panic(fmt.Sprintf("fill: no value for a %s", v.Type()))
	}
}

func filled[T any]() T {
	var v T
	n := 0
	fill(reflect.ValueOf(&v).Elem(), &n)
	return v
}

// A record reads back as JSON would give it: compared as JSON, the same
// instants and offsets whatever zone JSON decoding would pick.
func roundTrip[T any](t *testing.T, v T, enc func([]byte, *T) []byte, dec func([]byte) (T, error)) {
	t.Helper()
	b := enc(nil, &v)
	if !IsWire(b) {
		t.Fatal("an encoding does not start with the version byte")
	}
	got, err := dec(b)
	if err != nil {
		t.Fatal(err)
	}
	js, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	gotJS, _ := json.Marshal(got)
	if string(gotJS) != string(js) {
		t.Errorf("wire gave\n%s\nwant\n%s", gotJS, js)
	}
	if len(b) >= len(js) {
		t.Errorf("wire takes %d bytes, JSON %d", len(b), len(js))
	}
	if n := testing.AllocsPerRun(20, func() { enc(nil, &v) }); n != 1 && !raceEnabled {
		t.Errorf("encoding allocates %v times; want once, sized up front", n)
	}
	for cut := range len(b) {
		if _, err := dec(b[:cut]); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("the first %d of %d bytes decoded (%v), want ErrCorrupt", cut, len(b), err)
		}
	}
	if _, err := dec(append(b, 0)); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("a byte left over decoded (%v), want ErrCorrupt", err)
	}
}

func TestIncidentsEventsAndPagesReadBackAsJSONWouldGiveThem(t *testing.T) {
	t.Run("incident", func(t *testing.T) {
		roundTrip(t, filled[escalation.Incident](), AppendIncident, DecodeIncident)
		roundTrip(t, escalation.Incident{ID: 1, Status: escalation.StatusTriggered, Priority: escalation.P3},
			AppendIncident, DecodeIncident)
	})
	t.Run("event", func(t *testing.T) {
		roundTrip(t, filled[escalation.Event](), AppendEvent, DecodeEvent)
		roundTrip(t, escalation.Event{Kind: escalation.EventAlertAttached}, AppendEvent, DecodeEvent)
	})
	t.Run("page", func(t *testing.T) {
		roundTrip(t, filled[escalation.Page](), AppendPage, DecodePage)
		roundTrip(t, escalation.Page{ID: 7, Status: escalation.PageQueued}, AppendPage, DecodePage)
	})
}

func TestRecordsOfEveryKindRefuseJSONAndOtherVersions(t *testing.T) {
	inc, ev, p := filled[escalation.Incident](), filled[escalation.Event](), filled[escalation.Page]()
	for name, js := range map[string]any{"incident": inc, "event": ev, "page": p} {
		b, _ := json.Marshal(js)
		if IsWire(b) {
			t.Errorf("a %s's JSON is taken for wire", name)
		}
	}
	for _, bad := range [][]byte{nil, {2, 0}, {Version, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}} {
		_, e1 := DecodeIncident(bad)
		_, e2 := DecodeEvent(bad)
		_, e3 := DecodePage(bad)
		for _, err := range []error{e1, e2, e3} {
			if !errors.Is(err, ErrCorrupt) {
				t.Errorf("%x decoded (%v), want ErrCorrupt", bad, err)
			}
		}
	}
}

// FuzzDecodeRecords: no input panics a decoder, and whatever decodes
// re-encodes to the same record.
func FuzzDecodeRecords(f *testing.F) {
	inc, ev, p := filled[escalation.Incident](), filled[escalation.Event](), filled[escalation.Page]()
	f.Add(AppendIncident(nil, &inc))
	f.Add(AppendEvent(nil, &ev))
	f.Add(AppendPage(nil, &p))
	f.Fuzz(func(t *testing.T, b []byte) {
		fuzzRoundTrip(t, b, AppendIncident, DecodeIncident)
		fuzzRoundTrip(t, b, AppendEvent, DecodeEvent)
		fuzzRoundTrip(t, b, AppendPage, DecodePage)
	})
}

func fuzzRoundTrip[T any](t *testing.T, b []byte, enc func([]byte, *T) []byte, dec func([]byte) (T, error)) {
	v, err := dec(b)
	if err != nil {
		return
	}
	again, err := dec(enc(nil, &v))
	if err != nil {
		t.Fatalf("re-encoding of a decoded %T does not decode: %v", v, err)
	}
	if !reflect.DeepEqual(again, v) {
		t.Fatalf("round trip changed the %T:\n%+v\n%+v", v, v, again)
	}
}

func BenchmarkIncident(b *testing.B) {
	inc := filled[escalation.Incident]()
	w := AppendIncident(nil, &inc)
	js, _ := json.Marshal(&inc)
	b.Run("encode/wire", func(b *testing.B) {
		var buf []byte
		for b.Loop() {
			buf = AppendIncident(buf[:0], &inc)
		}
	})
	b.Run("encode/json", func(b *testing.B) {
		for b.Loop() {
			if _, err := json.Marshal(&inc); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decode/wire", func(b *testing.B) {
		for b.Loop() {
			if _, err := DecodeIncident(w); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decode/json", func(b *testing.B) {
		for b.Loop() {
			var got escalation.Incident
			if err := json.Unmarshal(js, &got); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// An incident written before its public priority and services, and its
// watches, were kept (layout 1: public) reads back public with neither and
// no watches: the engine then shows it as it is now, and watches the
// schedules its runs page for.
func TestAnIncidentWrittenBeforeWatchesStillReads(t *testing.T) {
	inc := filled[escalation.Incident]()
	inc.Public.Priority, inc.Public.Services, inc.Escalation.Watches = 0, nil, nil
	inc.ImpactFiring, inc.SplitAt = 0, time.Time{}
	withPublic := AppendIncident(nil, &inc)
	pub := inc.Public
	inc.Public = nil
	without := AppendIncident(nil, &inc)
	// The layout byte is where the two first differ; the public fields
	// are followed by a zero priority and an empty list, two bytes, and
	// the record ends with an empty list of watches, a zero impact count
	// and a zero split time, one byte each.
	at := 0
	for withPublic[at] == without[at] {
		at++
	}
	public := len(withPublic) - len(without) - 2
	legacy := append(append(append([]byte{}, withPublic[:at]...), 1), withPublic[at+1:at+public]...)
	legacy = append(legacy, withPublic[at+public+2:len(withPublic)-3]...)

	got, err := DecodeIncident(legacy)
	if err != nil {
		t.Fatal(err)
	}
	inc.Public = pub
	if !reflect.DeepEqual(got, inc) {
		t.Fatalf("read back\n%+v\nwant\n%+v", got, inc)
	}
}

// An incident written before impact alerts were counted (layouts 3 and 4)
// reads back with none counted and no split due: it keeps the impacts
// attached, as it did when it was written.
func TestAnIncidentWrittenBeforeSplitsStillReads(t *testing.T) {
	inc := filled[escalation.Incident]()
	private := inc
	private.Public = nil
	withPublic, without := AppendIncident(nil, &inc), AppendIncident(nil, &private)
	layout := 0 // the first byte where the two differ
	for withPublic[layout] == without[layout] {
		layout++
	}
	tail := len(binary.AppendVarint(nil, int64(inc.ImpactFiring))) + len(AppendTime(nil, inc.SplitAt))
	for _, c := range []struct {
		b    []byte
		want escalation.Incident
	}{{withPublic, inc}, {without, private}} {
		old := append([]byte{}, c.b[:len(c.b)-tail]...)
		old[layout] -= 2
		got, err := DecodeIncident(old)
		if err != nil {
			t.Fatal(err)
		}
		c.want.ImpactFiring, c.want.SplitAt = 0, time.Time{}
		if !reflect.DeepEqual(got, c.want) {
			t.Fatalf("read back\n%+v\nwant\n%+v", got, c.want)
		}
	}
}

// RecordIncident reads an alert record's incident as DecodeRecord does,
// and refuses what is not a record.
func TestRecordIncidentReadsOnlyTheIncident(t *testing.T) {
	rec := escalation.AlertRecord{Service: "api", Integration: "prometheus", IncidentID: 4242,
		Alert: escalation.Alert{DedupKey: "fp1", State: escalation.AlertFiring, Labels: map[string]string{"alertname": "DiskFull"}}}
	b := AppendRecord(nil, &rec)
	if id, ok := RecordIncident(b); !ok || id != rec.IncidentID {
		t.Fatalf("RecordIncident = %d, %v; want %d", id, ok, rec.IncidentID)
	}
	for _, bad := range [][]byte{nil, {Version}, b[:3], []byte(`{"service":"api"}`)} {
		if _, ok := RecordIncident(bad); ok {
			t.Errorf("RecordIncident(%q) read an incident", bad)
		}
	}
}

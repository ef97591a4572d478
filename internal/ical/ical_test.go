package ical

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.ics from Write's output")

var stamp = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

// twoShifts is a week of a payments rotation: Zoë hands over to Ravi on
// Monday at 09:00 Paris time. The events are given out of order, and Zoë's
// shift carries everything that needs escaping or folding.
func twoShifts() Calendar {
	paris := time.FixedZone("CET", 3600)
	return Calendar{
		Name:        "Klaxon on-call: payments, primary",
		Description: "Who Klaxon pages first for payments",
		Refresh:     time.Hour,
		Events: []Event{
			{
				UID:      "payments/primary/2026-03-16T08:00:00Z@klaxon",
				Summary:  "On call: Ravi Shankar",
				Start:    time.Date(2026, 3, 16, 9, 0, 0, 0, paris),
				End:      time.Date(2026, 3, 23, 9, 0, 0, 0, paris),
				Location: "payments",
				URL:      "https://klaxon.example.com/schedules/payments?layer=primary&from=2026-03-16",
			},
			{
				UID:         "payments/primary/2026-03-09T08:00:00Z@klaxon",
				Summary:     "On call: Zoë Ångström-Łukasiewicz — primary; cards, loans → payouts",
				Description: "Klaxon pages you first for payments.\r\nAck with: ack <id>\nEscalates to C:\\oncall\\secondary after 5m; then the team, by SMS, then by voice.",
				Start:       time.Date(2026, 3, 9, 9, 0, 0, 0, paris),
				End:         time.Date(2026, 3, 16, 9, 0, 0, 0, paris),
				Location:    "payments",
			},
		},
	}
}

func write(t testing.TB, cal Calendar) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Write(&buf, cal, stamp); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestGolden(t *testing.T) {
	got := write(t, twoShifts())
	golden := filepath.Join("testdata", "oncall.golden.ics")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (run go test ./internal/ical -update and review the diff)\ngot:\n%s", golden, got)
	}
	f, err := parseFeed(got)
	if err != nil {
		t.Fatal(err)
	}
	if err := checkFeed(f); err != nil {
		t.Fatal(err)
	}
	if len(f.events) != 2 {
		t.Fatalf("%d events, want 2", len(f.events))
	}
	zoe := f.events[0]
	if v := zoe["DTSTART"].value; v != "20260309T080000Z" {
		t.Errorf("first event starts %s, want Zoë's shift at 20260309T080000Z", v)
	}
	desc, err := unescapeText(zoe["DESCRIPTION"].value)
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.ReplaceAll(twoShifts().Events[1].Description, "\r\n", "\n"); desc != want {
		t.Errorf("description round trip:\ngot  %q\nwant %q", desc, want)
	}
	if got, want := f.props["REFRESH-INTERVAL"], (prop{"REFRESH-INTERVAL", []string{"VALUE=DURATION"}, "PT1H"}); !equalProp(got, want) {
		t.Errorf("REFRESH-INTERVAL: got %+v, want %+v", got, want)
	}
	if got := f.props["X-PUBLISHED-TTL"].value; got != "PT1H" {
		t.Errorf("X-PUBLISHED-TTL: got %q", got)
	}
}

func equalProp(a, b prop) bool {
	return a.name == b.name && a.value == b.value && slices.Equal(a.params, b.params)
}

// TestWriteStructure checks calendars unlike the golden one, by their
// parsed structure.
func TestWriteStructure(t *testing.T) {
	shift := Event{UID: "u", Summary: "On call: ana", Start: stamp, End: stamp.Add(time.Hour)}
	for _, tt := range []struct {
		name       string
		cal        Calendar
		wantEvents int
		want       map[string]string // calendar properties; "" for absent
	}{
		{"no events", Calendar{Name: "empty"}, 0, map[string]string{
			"X-WR-CALNAME": "empty", "PRODID": DefaultProdID, "X-WR-CALDESC": "", "REFRESH-INTERVAL": "", "X-PUBLISHED-TTL": "",
		}},
		{"own prodid, escaped", Calendar{Name: "a, b", ProdID: "-//Acme//Pager; v2//EN", Events: []Event{shift}}, 1, map[string]string{
			"X-WR-CALNAME": `a\, b`, "PRODID": `-//Acme//Pager\; v2//EN`,
		}},
		{"refresh in days and seconds", Calendar{Refresh: 36*time.Hour + time.Second}, 0, map[string]string{
			"REFRESH-INTERVAL": "P1DT12H0M1S", "X-PUBLISHED-TTL": "P1DT12H0M1S",
		}},
		{"optional event properties left out", Calendar{Events: []Event{{UID: "u", Start: stamp, End: stamp.Add(time.Minute), Description: "\x00\x01"}}}, 1, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f, err := parseFeed(write(t, tt.cal))
			if err != nil {
				t.Fatal(err)
			}
			if err := checkFeed(f); err != nil {
				t.Fatal(err)
			}
			if len(f.events) != tt.wantEvents {
				t.Fatalf("%d events, want %d", len(f.events), tt.wantEvents)
			}
			for name, want := range tt.want {
				if got := f.props[name].value; got != want {
					t.Errorf("%s: got %q, want %q", name, got, want)
				}
			}
			for _, e := range f.events {
				if e["TRANSP"].value != "TRANSPARENT" {
					t.Errorf("event %s is not transparent: on call is not busy", e["UID"].value)
				}
				for _, name := range []string{"DESCRIPTION", "LOCATION", "URL"} {
					if p, ok := e[name]; ok && p.value == "" {
						t.Errorf("empty %s written", name)
					}
				}
			}
		})
	}
}

func TestFold(t *testing.T) {
	for _, tt := range []struct {
		name     string
		line     string
		wantLens []int // octets of each physical line, leading space included
		notUTF8  bool
	}{
		{"short", "SUMMARY:On call", []int{15}, false},
		{"exactly 75 octets", strings.Repeat("a", 75), []int{75}, false},
		{"76 octets", strings.Repeat("a", 76), []int{75, 2}, false},
		{"long ASCII", "SUMMARY:" + strings.Repeat("a", 200), []int{75, 75, 60}, false},
		{"2-octet runes", "SUMMARY:" + strings.Repeat("é", 100), []int{74, 75, 61}, false},
		{"3-octet runes", "SUMMARY:" + strings.Repeat("€", 60), []int{74, 73, 43}, false},
		{"4-octet runes", "SUMMARY:" + strings.Repeat("🚨", 30), []int{72, 57}, false},
		{"mixed runes", "DESCRIPTION:" + strings.Repeat("aé€🚨 ", 40), nil, false},
		{"spaces at the fold", strings.Repeat(" ", 160), []int{75, 75, 12}, false},
		{"not UTF-8", strings.Repeat("\x80", 160), []int{75, 75, 12}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			lw := lineWriter{w: bufio.NewWriter(&buf)}
			lw.fold(tt.line)
			if err := lw.w.Flush(); err != nil {
				t.Fatal(err)
			}
			out, ok := strings.CutSuffix(buf.String(), "\r\n")
			if !ok {
				t.Fatalf("no final CRLF: %q", buf.String())
			}
			lines := strings.Split(out, "\r\n")
			var lens []int
			var unfolded strings.Builder
			for i, l := range lines {
				lens = append(lens, len(l))
				if len(l) > maxLine {
					t.Errorf("line %d has %d octets", i+1, len(l))
				}
				if !tt.notUTF8 && !utf8.ValidString(l) {
					t.Errorf("line %d is not valid UTF-8: %q", i+1, l)
				}
				if i > 0 {
					if !strings.HasPrefix(l, " ") {
						t.Fatalf("continuation %d does not start with a space: %q", i+1, l)
					}
					l = l[1:]
					// Folding is as late as it can be: the next rune did not fit.
					if _, size := utf8.DecodeRuneInString(l); !tt.notUTF8 && len(lines[i-1])+size <= maxLine {
						t.Errorf("line %d (%d octets) was folded early", i, len(lines[i-1]))
					}
				}
				unfolded.WriteString(l)
			}
			if unfolded.String() != tt.line {
				t.Errorf("unfolding gives %q, want %q", unfolded.String(), tt.line)
			}
			if tt.wantLens != nil && !slices.Equal(lens, tt.wantLens) {
				t.Errorf("line lengths %v, want %v", lens, tt.wantLens)
			}
		})
	}
}

func TestText(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"On call: ana", "On call: ana"},
		{`C:\oncall`, `C:\\oncall`},
		{"primary; payments, checkout", `primary\; payments\, checkout`},
		{"a\nb", `a\nb`},
		{"a\r\nb", `a\nb`},
		{"a\rb", `a\nb`},
		{"a\n\nb\r\n\r\n", `a\n\nb\n\n`},
		{"a\r\r\nb", `a\n\nb`},
		{`\n`, `\\n`},
		{"tab\tkept", "tab\tkept"},
		{"bell\a esc\x1b nul\x00 del\x7f nel\u0085 gone", "bell esc nul del nel gone"},
		{"Zoë 🚨 Łukasiewicz", "Zoë 🚨 Łukasiewicz"},
		{"bad \xff\xfe utf-8", "bad \uFFFD\uFFFD utf-8"},
		{"truncated \xe2\x82", "truncated \uFFFD\uFFFD"},
		{"", ""},
	} {
		if got := text(tt.in); got != tt.want {
			t.Errorf("text(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestURI(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"https://klaxon.example.com/i/42?a=1,2;b", "https://klaxon.example.com/i/42?a=1,2;b"},
		{"https://klaxon.example.com/\r\nX-EVIL:1\t", "https://klaxon.example.com/X-EVIL:1"},
		{"\x00", ""},
	} {
		if got := uri(tt.in); got != tt.want {
			t.Errorf("uri(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestDuration(t *testing.T) {
	for _, tt := range []struct {
		d    time.Duration
		want string
	}{
		{time.Second, "PT1S"},
		{90 * time.Second, "PT1M30S"},
		{time.Hour, "PT1H"},
		{time.Hour + time.Second, "PT1H0M1S"},
		{time.Hour + time.Minute, "PT1H1M"},
		{24 * time.Hour, "P1D"},
		{7*24*time.Hour + 30*time.Minute, "P7DT30M"},
		{time.Minute + 1500*time.Millisecond, "PT1M1S"},
	} {
		if got := duration(tt.d); got != tt.want {
			t.Errorf("duration(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

func TestOrderIsDeterministic(t *testing.T) {
	base := []Event{
		{UID: "a", Start: stamp, End: stamp.Add(2 * time.Hour)},
		{UID: "c", Start: stamp, End: stamp.Add(time.Hour)},
		{UID: "b", Start: stamp, End: stamp.Add(time.Hour)},
		{UID: "d", Start: stamp.Add(-time.Hour), End: stamp},
		{UID: "e", Start: stamp.In(time.FixedZone("X", -5*3600)).Add(time.Minute), End: stamp.Add(time.Hour)},
	}
	want := write(t, Calendar{Events: base})
	f, err := parseFeed(want)
	if err != nil {
		t.Fatal(err)
	}
	var uids []string
	for _, e := range f.events {
		uids = append(uids, e["UID"].value)
	}
	if got := strings.Join(uids, ""); got != "dbcae" {
		t.Errorf("order %s, want dbcae (by start, end, then UID)", got)
	}
	for _, perm := range [][]int{{4, 3, 2, 1, 0}, {2, 0, 4, 1, 3}, {1, 4, 0, 3, 2}} {
		events := make([]Event, len(base))
		for i, j := range perm {
			events[i] = base[j]
		}
		before := slices.Clone(events)
		if got := write(t, Calendar{Events: events}); !bytes.Equal(got, want) {
			t.Errorf("order %v renders differently:\n%s", perm, got)
		}
		if !slices.EqualFunc(events, before, func(a, b Event) bool { return a == b }) {
			t.Errorf("Write reordered the caller's events")
		}
	}
}

func TestInvalidCalendar(t *testing.T) {
	ok := Event{UID: "u", Summary: "On call", Start: stamp, End: stamp.Add(time.Hour)}
	with := func(f func(*Event)) []Event {
		e := ok
		f(&e)
		return []Event{e}
	}
	for _, tt := range []struct {
		name  string
		cal   Calendar
		stamp time.Time
		want  string
	}{
		{"no UID", Calendar{Events: with(func(e *Event) { e.UID = "" })}, stamp, "no UID"},
		{"UID of controls only", Calendar{Events: with(func(e *Event) { e.UID = "\x00\x1b\u0085" })}, stamp, "no UID"},
		{"UID twice", Calendar{Events: []Event{ok, ok}}, stamp, "UID used twice"},
		{"UIDs equal once cleaned", Calendar{Events: append(with(func(e *Event) { e.UID = "u\x00" }), ok)}, stamp, "UID used twice"},
		{"end at start", Calendar{Events: with(func(e *Event) { e.End = e.Start })}, stamp, "not after start"},
		{"end before start", Calendar{Events: with(func(e *Event) { e.End = e.Start.Add(-time.Hour) })}, stamp, "not after start"},
		{"end within the start's second", Calendar{Events: with(func(e *Event) { e.End = e.Start.Add(time.Second / 2) })}, stamp, "not after start"},
		{"zero start", Calendar{Events: with(func(e *Event) { e.Start = time.Time{} })}, stamp, "start: unset"},
		{"year 10000", Calendar{Events: with(func(e *Event) { e.End = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) })}, stamp, "year 10000"},
		{"year 0 in UTC", Calendar{Events: with(func(e *Event) {
			e.Start = time.Date(1, 1, 1, 0, 30, 0, 0, time.FixedZone("X", 3600))
		})}, stamp, "year 0"},
		{"zero stamp", Calendar{}, time.Time{}, "stamp: unset"},
		{"negative refresh", Calendar{Refresh: -time.Hour}, stamp, "refresh"},
		{"refresh under a second", Calendar{Refresh: time.Millisecond}, stamp, "refresh"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			err := Write(&buf, tt.cal, tt.stamp)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got error %v, want one saying %q", err, tt.want)
			}
			if buf.Len() > 0 {
				t.Errorf("wrote %d octets of an invalid calendar", buf.Len())
			}
		})
	}
}

// failingWriter takes room octets, then fails.
type failingWriter struct{ room int }

var errDiskFull = errors.New("disk full")

func (w *failingWriter) Write(p []byte) (int, error) {
	if len(p) <= w.room {
		w.room -= len(p)
		return len(p), nil
	}
	n := w.room
	w.room = 0
	return n, errDiskFull
}

func TestWriterErrors(t *testing.T) {
	cal := Calendar{Name: "big"}
	for i := range 300 {
		start := stamp.Add(time.Duration(i) * time.Hour)
		cal.Events = append(cal.Events, Event{UID: fmt.Sprint(i), Summary: "On call: ana", Start: start, End: start.Add(time.Hour)})
	}
	size := len(write(t, cal))
	for _, room := range []int{0, 1, 4095, 4096, size / 2, size - 1} {
		t.Run(fmt.Sprint(room), func(t *testing.T) {
			err := Write(&failingWriter{room: room}, cal, stamp)
			if !errors.Is(err, errDiskFull) {
				t.Fatalf("got %v, want an error wrapping %v", err, errDiskFull)
			}
			if !strings.HasPrefix(err.Error(), "ical: ") {
				t.Errorf("error %q does not say where it is from", err)
			}
		})
	}
	if err := Write(&failingWriter{room: size}, cal, stamp); err != nil {
		t.Errorf("with room for all %d octets: %v", size, err)
	}
}

// Package ical renders Klaxon's on-call shifts as an iCalendar (RFC 5545)
// feed that people subscribe to from Google Calendar, Apple Calendar or
// Outlook.
//
// Times are written in UTC: the feed then needs no VTIMEZONE, and every
// client shows the shifts in its user's own zone. Events are transparent
// (TRANSP:TRANSPARENT) because being on call is not being busy: a week of
// on-call must not block a person's free/busy for that week.
package ical

import (
	"bufio"
	"cmp"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// ContentType is the media type to serve a feed with.
const ContentType = "text/calendar; charset=utf-8"

// DefaultProdID names Klaxon as the feed's producer when Calendar.ProdID is
// empty.
const DefaultProdID = "-//Klaxon//Klaxon on-call//EN"

// Event is one on-call shift.
type Event struct {
	// UID identifies the event across refreshes: clients update the event
	// with the same UID rather than add a copy, so derive it from what makes
	// the shift itself (schedule, person, start), not from its position.
	UID string
	// Summary is the title; Description, Location and URL are optional.
	Summary, Description, Location string
	// Start and End are the shift, [Start, End), to the second.
	Start, End time.Time
	URL        string
}

// Calendar is a feed of events.
type Calendar struct {
	Name        string // X-WR-CALNAME, the name clients show
	Description string // X-WR-CALDESC, optional
	ProdID      string // DefaultProdID when empty
	Events      []Event
	// Refresh, when set, asks clients to poll the feed this often
	// (REFRESH-INTERVAL and Outlook's X-PUBLISHED-TTL); whole seconds.
	Refresh time.Duration
}

// Write renders cal to w with DTSTAMP stamp. Events are ordered by start,
// end and UID, so one calendar always renders the same bytes. An invalid
// calendar is reported before anything is written.
func Write(w io.Writer, cal Calendar, stamp time.Time) error {
	events, err := prepare(cal, stamp)
	if err != nil {
		return err
	}
	lw := lineWriter{w: bufio.NewWriter(w)}
	lw.prop("BEGIN", "VCALENDAR")
	lw.prop("VERSION", "2.0")
	lw.prop("PRODID", text(cmp.Or(cal.ProdID, DefaultProdID)))
	lw.prop("CALSCALE", "GREGORIAN")
	lw.prop("METHOD", "PUBLISH")
	lw.prop("X-WR-CALNAME", text(cal.Name))
	lw.optional("X-WR-CALDESC", text(cal.Description))
	if cal.Refresh > 0 {
		d := duration(cal.Refresh)
		lw.prop("REFRESH-INTERVAL;VALUE=DURATION", d)
		lw.prop("X-PUBLISHED-TTL", d)
	}
	dtstamp := dateTime(stamp)
	for _, e := range events {
		lw.prop("BEGIN", "VEVENT")
		lw.prop("UID", e.uid)
		lw.prop("DTSTAMP", dtstamp)
		lw.prop("DTSTART", dateTime(e.Start))
		lw.prop("DTEND", dateTime(e.End))
		lw.prop("SUMMARY", text(e.Summary))
		lw.optional("DESCRIPTION", text(e.Description))
		lw.optional("LOCATION", text(e.Location))
		lw.optional("URL", uri(e.URL))
		lw.prop("TRANSP", "TRANSPARENT")
		lw.prop("END", "VEVENT")
	}
	lw.prop("END", "VCALENDAR")
	// bufio.Writer keeps its first error, so checking the flush is enough.
	if err := lw.w.Flush(); err != nil {
		return fmt.Errorf("ical: writing calendar %q: %w", cal.Name, err)
	}
	return nil
}

// event is an Event with its UID escaped once, for the duplicate check and
// the sort.
type event struct {
	Event
	uid string
}

// prepare validates the calendar and returns its events in output order,
// leaving cal.Events as it was.
func prepare(cal Calendar, stamp time.Time) ([]event, error) {
	if err := checkTime(stamp); err != nil {
		return nil, fmt.Errorf("ical: stamp: %w", err)
	}
	if cal.Refresh < 0 || (cal.Refresh > 0 && cal.Refresh < time.Second) {
		return nil, fmt.Errorf("ical: refresh %v: want 0 (unset) or at least a second", cal.Refresh)
	}
	events := make([]event, len(cal.Events))
	seen := make(map[string]bool, len(cal.Events))
	for i, e := range cal.Events {
		uid := text(e.UID)
		if err := checkEvent(e, uid, seen); err != nil {
			return nil, fmt.Errorf("ical: event %d (uid %q): %w", i+1, e.UID, err)
		}
		seen[uid] = true
		events[i] = event{Event: e, uid: uid}
	}
	slices.SortFunc(events, func(a, b event) int {
		return cmp.Or(a.Start.Compare(b.Start), a.End.Compare(b.End), strings.Compare(a.uid, b.uid))
	})
	return events, nil
}

func checkEvent(e Event, uid string, seen map[string]bool) error {
	switch {
	case uid == "":
		return errors.New("no UID")
	case seen[uid]:
		// Clients keep one event per UID, so a duplicate would hide a shift.
		return errors.New("UID used twice")
	}
	if err := checkTime(e.Start); err != nil {
		return fmt.Errorf("start: %w", err)
	}
	if err := checkTime(e.End); err != nil {
		return fmt.Errorf("end: %w", err)
	}
	// Compare what is written: DTEND must be later than DTSTART.
	if !e.End.Truncate(time.Second).After(e.Start.Truncate(time.Second)) {
		return fmt.Errorf("end %s is not after start %s", dateTime(e.End), dateTime(e.Start))
	}
	return nil
}

// checkTime accepts the times a DATE-TIME can hold: four-digit years. The
// zero time is refused as the unset value it almost always is.
func checkTime(t time.Time) error {
	if t.IsZero() {
		return errors.New("unset")
	}
	if y := t.UTC().Year(); y < 1 || y > 9999 {
		return fmt.Errorf("year %d is out of range 1–9999", y)
	}
	return nil
}

// dateTime formats t as a UTC DATE-TIME, 19970714T173000Z.
func dateTime(t time.Time) string { return t.UTC().Format("20060102T150405Z") }

// duration formats d, whole seconds and positive, as a DURATION. The
// grammar allows no gaps within the time part: an hour and a second is
// PT1H0M1S, not PT1H1S.
func duration(d time.Duration) string {
	s := int64(d / time.Second)
	days, s := s/86400, s%86400
	h, m, sec := s/3600, s/60%60, s%60
	b := []byte{'P'}
	if days > 0 {
		b = strconv.AppendInt(b, days, 10)
		b = append(b, 'D')
	}
	if h == 0 && m == 0 && sec == 0 {
		return string(b)
	}
	b = append(b, 'T')
	if h > 0 {
		b = strconv.AppendInt(b, h, 10)
		b = append(b, 'H')
	}
	if m > 0 || (h > 0 && sec > 0) {
		b = strconv.AppendInt(b, m, 10)
		b = append(b, 'M')
	}
	if sec > 0 {
		b = strconv.AppendInt(b, sec, 10)
		b = append(b, 'S')
	}
	return string(b)
}

// text escapes s as a TEXT value: backslash, semicolon, comma and line
// breaks (CRLF, CR or LF, each as one \n) are escaped; tabs are kept; other
// control characters, which no content line may hold, are dropped; invalid
// UTF-8 becomes U+FFFD.
func text(s string) string { return clean(s, true) }

// uri cleans a URI value, which is not escaped: only control characters,
// tabs and line breaks included, are dropped.
func uri(s string) string { return clean(s, false) }

func clean(s string, escape bool) string {
	var b strings.Builder
	b.Grow(len(s))
	for i, r := range s { // range yields U+FFFD for each invalid byte
		switch {
		case !escape:
			if !unicode.IsControl(r) {
				b.WriteRune(r)
			}
		case r == '\r' && i+1 < len(s) && s[i+1] == '\n':
			// the LF that follows writes the line break
		case r == '\r' || r == '\n':
			b.WriteString(`\n`)
		case r == '\\' || r == ';' || r == ',':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\t' || !unicode.IsControl(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// maxLine is the longest a physical line may be, in octets, without its
// CRLF (RFC 5545 §3.1).
const maxLine = 75

// lineWriter writes content lines, folded.
type lineWriter struct{ w *bufio.Writer }

// prop writes NAME:value; value must be valid UTF-8 free of controls but
// the tab, as text, uri and the formatters make it.
func (lw lineWriter) prop(name, value string) {
	lw.fold(name + ":" + value)
}

// optional writes the property only when it has a value.
func (lw lineWriter) optional(name, value string) {
	if value != "" {
		lw.prop(name, value)
	}
}

// fold writes line as physical lines of at most maxLine octets, each
// continuation starting with a space, and cuts only between UTF-8 sequences
// so that every physical line is valid UTF-8 on its own.
func (lw lineWriter) fold(line string) {
	limit := maxLine
	for len(line) > limit {
		cut := limit
		for cut > 0 && !utf8.RuneStart(line[cut]) {
			cut--
		}
		if cut == 0 { // not UTF-8 after all: cut by octets rather than loop
			cut = limit
		}
		lw.w.WriteString(line[:cut])
		lw.w.WriteString("\r\n ")
		line = line[cut:]
		limit = maxLine - 1 // the leading space counts
	}
	lw.w.WriteString(line)
	lw.w.WriteString("\r\n")
}

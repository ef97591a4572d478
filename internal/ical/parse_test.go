package ical

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

// This file is a small iCalendar reader written from RFC 5545 alone, so
// that the tests check Write's output against the standard rather than
// against Write's own helpers.

// prop is one unfolded content line.
type prop struct {
	name   string
	params []string // NAME=value, as written
	value  string
}

// feed is a parsed calendar: its own properties and its events'.
type feed struct {
	props  map[string]prop
	events []map[string]prop
}

// parseFeed unfolds data and parses every content line as
// NAME[;PARAM=value...]:value, checking on the way that lines end in CRLF,
// physical lines are at most 75 octets of valid UTF-8 free of controls, and
// BEGIN/END nest as one VCALENDAR holding VEVENTs.
func parseFeed(data []byte) (feed, error) {
	s := string(data)
	if !strings.HasSuffix(s, "\r\n") {
		return feed{}, errors.New("feed does not end with CRLF")
	}
	var logical []string
	for i, p := range strings.Split(strings.TrimSuffix(s, "\r\n"), "\r\n") {
		if err := checkPhysical(p); err != nil {
			return feed{}, fmt.Errorf("physical line %d %q: %w", i+1, p, err)
		}
		if p[0] == ' ' || p[0] == '\t' {
			if len(logical) == 0 || len(p) == 1 {
				return feed{}, fmt.Errorf("physical line %d: stray continuation %q", i+1, p)
			}
			logical[len(logical)-1] += p[1:]
			continue
		}
		logical = append(logical, p)
	}

	var f feed
	var stack []string
	closed := false
	for i, l := range logical {
		p, err := parseLine(l)
		if err != nil {
			return feed{}, fmt.Errorf("content line %d %q: %w", i+1, l, err)
		}
		if closed {
			return feed{}, fmt.Errorf("content line %d %q: after END:VCALENDAR", i+1, l)
		}
		switch p.name {
		case "BEGIN":
			switch {
			case len(stack) == 0 && p.value != "VCALENDAR":
				return feed{}, fmt.Errorf("content line %d: %s outside VCALENDAR", i+1, p.value)
			case len(stack) > 0 && p.value != "VEVENT", len(stack) > 1:
				return feed{}, fmt.Errorf("content line %d: BEGIN:%s inside %s", i+1, p.value, stack[len(stack)-1])
			}
			stack = append(stack, p.value)
			if p.value == "VEVENT" {
				f.events = append(f.events, map[string]prop{})
			} else {
				f.props = map[string]prop{}
			}
			continue
		case "END":
			if len(stack) == 0 || stack[len(stack)-1] != p.value {
				return feed{}, fmt.Errorf("content line %d: END:%s does not close %v", i+1, p.value, stack)
			}
			stack = stack[:len(stack)-1]
			closed = len(stack) == 0
			continue
		}
		var into map[string]prop
		switch len(stack) {
		case 0:
			return feed{}, fmt.Errorf("content line %d: %s outside VCALENDAR", i+1, p.name)
		case 1:
			into = f.props
		default:
			into = f.events[len(f.events)-1]
		}
		if _, dup := into[p.name]; dup {
			return feed{}, fmt.Errorf("content line %d: %s repeated in %s", i+1, p.name, stack[len(stack)-1])
		}
		into[p.name] = p
	}
	if !closed {
		return feed{}, fmt.Errorf("unterminated %v", stack)
	}
	return f, nil
}

func checkPhysical(p string) error {
	switch {
	case p == "":
		return errors.New("empty line")
	case len(p) > 75:
		return fmt.Errorf("%d octets, more than 75", len(p))
	case !utf8.ValidString(p):
		return errors.New("invalid UTF-8")
	}
	for _, r := range p {
		if r != '\t' && (r < 0x20 || r == 0x7f) {
			return fmt.Errorf("control character %U", r)
		}
	}
	return nil
}

// parseLine splits contentline = name *(";" param) ":" value.
func parseLine(l string) (prop, error) {
	i := strings.IndexAny(l, ";:")
	if i < 0 {
		return prop{}, errors.New("no colon")
	}
	p := prop{name: l[:i]}
	if !isName(p.name) {
		return prop{}, fmt.Errorf("bad name %q", p.name)
	}
	rest := l[i:]
	for rest[0] == ';' {
		eq := strings.IndexByte(rest, '=')
		if eq < 0 || !isName(rest[1:eq]) {
			return prop{}, fmt.Errorf("bad parameter in %q", rest)
		}
		n := eq + 1
		for { // param-value *("," param-value)
			if n < len(rest) && rest[n] == '"' {
				q := strings.IndexByte(rest[n+1:], '"')
				if q < 0 {
					return prop{}, fmt.Errorf("unterminated quoted parameter in %q", rest)
				}
				n += q + 2
			} else {
				for n < len(rest) && !strings.ContainsRune(`";:,`, rune(rest[n])) {
					n++
				}
			}
			if n < len(rest) && rest[n] == ',' {
				n++
				continue
			}
			break
		}
		if n == len(rest) {
			return prop{}, errors.New("no colon after the parameters")
		}
		p.params = append(p.params, rest[1:n])
		rest = rest[n:]
	}
	if rest[0] != ':' {
		return prop{}, fmt.Errorf("expected a colon at %q", rest)
	}
	p.value = rest[1:]
	return p, nil
}

func isName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// unescapeText reads a single TEXT value, in which a bare comma or
// semicolon is an error.
func unescapeText(v string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		switch c := v[i]; c {
		case '\\':
			if i++; i == len(v) {
				return "", errors.New("trailing backslash")
			}
			switch v[i] {
			case '\\', ';', ',':
				b.WriteByte(v[i])
			case 'n', 'N':
				b.WriteByte('\n')
			default:
				return "", fmt.Errorf(`bad escape \%c`, v[i])
			}
		case ';', ',':
			return "", fmt.Errorf("unescaped %c", c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

var utcDateTime = regexp.MustCompile(`^[0-9]{8}T[0-9]{6}Z$`)

// checkFeed checks what every Klaxon feed must hold: the calendar's fixed
// properties, and in each event a UID, UTC DTSTAMP, DTSTART before DTEND,
// and a SUMMARY; events in start order, UIDs unique, TEXT values well
// escaped.
func checkFeed(f feed) error {
	for name, want := range map[string]string{"VERSION": "2.0", "CALSCALE": "GREGORIAN", "METHOD": "PUBLISH"} {
		if got := f.props[name].value; got != want {
			return fmt.Errorf("%s is %q, want %q", name, got, want)
		}
	}
	for _, name := range []string{"PRODID", "X-WR-CALNAME"} {
		if _, ok := f.props[name]; !ok {
			return fmt.Errorf("calendar has no %s", name)
		}
	}
	for _, name := range []string{"PRODID", "X-WR-CALNAME", "X-WR-CALDESC"} {
		if _, err := unescapeText(f.props[name].value); err != nil {
			return fmt.Errorf("calendar %s: %w", name, err)
		}
	}
	uids := map[string]bool{}
	lastStart := ""
	for i, e := range f.events {
		for _, name := range []string{"UID", "DTSTAMP", "DTSTART", "DTEND", "SUMMARY"} {
			if _, ok := e[name]; !ok {
				return fmt.Errorf("event %d has no %s", i+1, name)
			}
		}
		for _, name := range []string{"DTSTAMP", "DTSTART", "DTEND"} {
			if v := e[name].value; !utcDateTime.MatchString(v) || len(e[name].params) > 0 {
				return fmt.Errorf("event %d: %s %q %v is not a UTC DATE-TIME", i+1, name, v, e[name].params)
			}
		}
		start, end := e["DTSTART"].value, e["DTEND"].value
		if end <= start {
			return fmt.Errorf("event %d: DTEND %s is not after DTSTART %s", i+1, end, start)
		}
		if start < lastStart {
			return fmt.Errorf("event %d starts at %s, before the one above (%s)", i+1, start, lastStart)
		}
		lastStart = start
		for _, name := range []string{"UID", "SUMMARY", "DESCRIPTION", "LOCATION"} {
			if _, err := unescapeText(e[name].value); err != nil {
				return fmt.Errorf("event %d %s: %w", i+1, name, err)
			}
		}
		if uid := e["UID"].value; uid == "" || uids[uid] {
			return fmt.Errorf("event %d: UID %q empty or repeated", i+1, uid)
		}
		uids[e["UID"].value] = true
	}
	return nil
}

// The reader must itself be able to fail, or the tests built on it prove
// nothing.
func TestParseFeedRejects(t *testing.T) {
	const ok = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:a\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
	if _, err := parseFeed([]byte(ok)); err != nil {
		t.Fatalf("a valid feed: %v", err)
	}
	for _, tt := range []struct{ name, feed string }{
		{"bare LF", strings.Replace(ok, "VERSION:2.0\r\n", "VERSION:2.0\n", 1)},
		{"no final CRLF", strings.TrimSuffix(ok, "\r\n")},
		{"76 octets", strings.Replace(ok, "UID:a", "UID:"+strings.Repeat("a", 72), 1)},
		{"invalid UTF-8", strings.Replace(ok, "UID:a", "UID:\xc3", 1)},
		{"control character", strings.Replace(ok, "UID:a", "UID:a\x1b", 1)},
		{"empty line", strings.Replace(ok, "VERSION:2.0\r\n", "VERSION:2.0\r\n\r\n", 1)},
		{"continuation first", " " + ok},
		{"no colon", strings.Replace(ok, "UID:a", "UID a", 1)},
		{"bad name", strings.Replace(ok, "UID:a", "U_ID:a", 1)},
		{"bad parameter", strings.Replace(ok, "UID:a", "UID;X:a", 1)},
		{"unterminated quote", strings.Replace(ok, "UID:a", `UID;X="a:b`, 1)},
		{"END mismatch", strings.Replace(ok, "END:VEVENT", "END:VTODO", 1)},
		{"unterminated", strings.TrimSuffix(ok, "END:VCALENDAR\r\n")},
		{"content after the calendar", ok + "X-A:b\r\n"},
		{"property outside", "X-A:b\r\n" + ok},
		{"nested calendar", strings.Replace(ok, "BEGIN:VEVENT", "BEGIN:VCALENDAR", 1)},
		{"repeated property", strings.Replace(ok, "UID:a", "UID:a\r\nUID:b", 1)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := parseFeed([]byte(tt.feed)); err == nil {
				t.Errorf("accepted %q", tt.feed)
			}
		})
	}
	f, err := parseFeed([]byte(strings.Replace(ok, "UID:a", "UID;X=\"q;:,\",b;Y=c:a;b", 1)))
	if err != nil {
		t.Fatal(err)
	}
	if got := f.events[0]["UID"]; got.value != "a;b" || strings.Join(got.params, "|") != `X="q;:,",b|Y=c` {
		t.Errorf("parameters: got %+v", got)
	}
}

func TestUnescapeTextRejects(t *testing.T) {
	for _, v := range []string{`a\`, `a\x`, `a,b`, `a;b`} {
		if _, err := unescapeText(v); err == nil {
			t.Errorf("unescapeText(%q) accepted", v)
		}
	}
}

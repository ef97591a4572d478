package ingest

import (
	"bytes"
	"encoding/binary"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"
)

// decodeAlertmanager fills m from an Alertmanager webhook body, as
// decodeJSON would. A webhook as Alertmanager writes it is read by a
// scanner over the bytes, with no reflection and no token objects: in an
// alert flood this parse is the largest share of the request path that is
// Klaxon's own. Anything off that path (a null, a number that is not an
// int, a field name in other case, a repeated name, invalid UTF-8, deep
// nesting, a syntax error) is decoded by decodeJSON instead, so the values
// and errors are encoding/json's whatever the body
// (FuzzDecodeJSONIsEncodingJSON holds them to it).
func decodeAlertmanager(body []byte, m *amMessage) error {
	if readAlertmanager(body, m) {
		return nil
	}
	*m = amMessage{}
	return decodeJSON(body, m)
}

// readAlertmanager reads body with the scanner; false means the body left
// its path, and m holds anything.
func readAlertmanager(body []byte, m *amMessage) bool {
	s := amScanners.Get().(*amScanner)
	s.b, s.i = body, 0
	ok := s.message(m) && s.end()
	s.b = nil // not to keep the body alive in the pool
	if cap(s.buf) > 64<<10 {
		s.buf = nil // nor one huge escaped string
	}
	amScanners.Put(s)
	return ok
}

// amScanners keeps scanners for reuse, for their interned names.
var amScanners = sync.Pool{New: func() any { return new(amScanner) }}

// amScanner reads the common shape of a webhook; each method reports false
// as soon as the input leaves it. It accepts only what encoding/json
// accepts and reads the same way, and leaves the rest to it.
type amScanner struct {
	b    []byte
	i    int               // the next byte to read
	buf  []byte            // an escaped string, unquoted
	strs map[string]string // see intern
}

var (
	amMessageFields = []string{"version", "groupKey", "truncatedAlerts", "alerts"}
	amAlertFields   = []string{"status", "labels", "annotations", "startsAt", "endsAt", "generatorURL", "fingerprint"}
)

// maxSkipDepth bounds the nesting of a value the scanner skips; deeper
// ones go to encoding/json, which has its own limit.
const maxSkipDepth = 64

func (s *amScanner) message(m *amMessage) bool {
	return s.object(amMessageFields, func(field int) bool {
		switch field {
		case 0:
			return s.string(&m.Version)
		case 1:
			return s.string(&m.GroupKey)
		case 2:
			return s.int(&m.TruncatedAlerts)
		default:
			return s.alerts(&m.Alerts)
		}
	})
}

// end reports whether nothing but whitespace follows the value.
func (s *amScanner) end() bool { return s.peek() == 0 && s.i == len(s.b) }

func (s *amScanner) alerts(out *[]amAlert) bool {
	as := []amAlert{}
	ok := s.elements(func() bool {
		as = append(as, amAlert{})
		return s.alert(&as[len(as)-1])
	})
	if !ok {
		return false
	}
	*out = as
	return true
}

func (s *amScanner) alert(a *amAlert) bool {
	return s.object(amAlertFields, func(field int) bool {
		switch field {
		case 0:
			return s.string(&a.Status)
		case 1:
			return s.stringMap(&a.Labels)
		case 2:
			return s.stringMap(&a.Annotations)
		case 3:
			return s.string(&a.StartsAt)
		case 4:
			return s.string(&a.EndsAt)
		case 5:
			return s.string(&a.GeneratorURL)
		default:
			return s.string(&a.Fingerprint)
		}
	})
}

// object reads an object whose names are fields (field reads the value of
// fields[i]) or names encoding/json ignores, whose values are skipped.
func (s *amScanner) object(fields []string, field func(i int) bool) bool {
	var seen uint32
	return s.members(func(name []byte) bool {
		switch i, other := match(name, fields); {
		case i >= 0:
			if seen&(1<<i) != 0 || !field(i) {
				return false
			}
			seen |= 1 << i
			return true
		case other:
			return false
		default:
			return s.skip(0)
		}
	})
}

// members reads an object, calling value with each name (valid until the
// next read) to read its value.
func (s *amScanner) members(value func(name []byte) bool) bool {
	if !s.take('{') {
		return false
	}
	if s.take('}') {
		return true
	}
	for {
		name, ok := s.unquoted()
		if !ok || !s.take(':') || !value(name) {
			return false
		}
		if s.take('}') {
			return true
		}
		if !s.take(',') {
			return false
		}
	}
}

// elements reads an array, calling value to read each element.
func (s *amScanner) elements(value func() bool) bool {
	if !s.take('[') {
		return false
	}
	if s.take(']') {
		return true
	}
	for {
		if !value() {
			return false
		}
		if s.take(']') {
			return true
		}
		if !s.take(',') {
			return false
		}
	}
}

// peek skips whitespace and returns the next byte, 0 at the end.
func (s *amScanner) peek() byte {
	for ; s.i < len(s.b); s.i++ {
		switch c := s.b[s.i]; c {
		case ' ', '\t', '\n', '\r':
		default:
			return c
		}
	}
	return 0
}

// take reads c if it comes next (after whitespace).
func (s *amScanner) take(c byte) bool {
	if s.peek() != c {
		return false
	}
	s.i++
	return true
}

// unquoted reads a string (an object name or a value), unquoted; the
// bytes are valid until the next read. Control characters, invalid UTF-8
// and bad escapes leave the path.
func (s *amScanner) unquoted() ([]byte, bool) {
	if !s.take('"') {
		return nil, false
	}
	start, escaped, ascii := s.i, false, true
	for {
		// Eight plain bytes at a time, then one at a time up to the
		// next byte that is not plain.
		for s.i+8 <= len(s.b) && !notPlain(binary.LittleEndian.Uint64(s.b[s.i:])) {
			s.i += 8
		}
		for s.i < len(s.b) && plain(s.b[s.i]) {
			s.i++
		}
		if s.i >= len(s.b) {
			return nil, false
		}
		switch c := s.b[s.i]; {
		case c == '"':
			v := s.b[start:s.i]
			s.i++
			if !ascii && !utf8.Valid(v) {
				return nil, false
			}
			if !escaped {
				return v, true
			}
			var err error
			s.buf, err = jsontext.AppendUnquote(s.buf[:0], s.b[start-1:s.i])
			return s.buf, err == nil
		case c == '\\':
			escaped = true
			s.i += 2 // the escaped byte cannot end the string
		case c < 0x20:
			return nil, false
		default: // the start of a multi-byte UTF-8 sequence, or invalid
			ascii = false
			s.i++
		}
	}
}

// plain reports whether a string holds c as it is: ASCII, neither a
// quote nor a backslash nor a control character.
func plain(c byte) bool { return 0x20 <= c && c < utf8.RuneSelf && c != '"' && c != '\\' }

// notPlain reports whether any of the eight bytes of w is not plain: below
// 0x20, a quote, a backslash, or not ASCII. below(x, n) is non-zero if and
// only if some byte of x is below n, for n ≤ 0x80 ("hasless" in Bit
// Twiddling Hacks); a quote or a backslash is a zero byte of w xor copies
// of it.
func notPlain(w uint64) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	below := func(x uint64, n uint64) uint64 { return (x - n*ones) &^ x & highs }
	return (below(w, 0x20) | below(w^('"'*ones), 1) | below(w^('\\'*ones), 1) | w&highs) != 0
}

// skip reads a value of any kind, checking its syntax.
func (s *amScanner) skip(depth int) bool {
	if depth > maxSkipDepth {
		return false
	}
	switch s.peek() {
	case '"':
		_, ok := s.unquoted()
		return ok
	case '{':
		return s.members(func([]byte) bool { return s.skip(depth + 1) })
	case '[':
		return s.elements(func() bool { return s.skip(depth + 1) })
	case 't':
		return s.literal("true")
	case 'f':
		return s.literal("false")
	case 'n':
		return s.literal("null")
	default:
		_, ok := s.number()
		return ok
	}
}

func (s *amScanner) literal(lit string) bool {
	if !bytes.HasPrefix(s.b[s.i:], []byte(lit)) {
		return false
	}
	s.i += len(lit)
	return true
}

// number reads a number as JSON writes it and returns its text.
func (s *amScanner) number() ([]byte, bool) {
	start := s.i
	if s.i < len(s.b) && s.b[s.i] == '-' {
		s.i++
	}
	switch {
	case s.i < len(s.b) && s.b[s.i] == '0':
		s.i++
	case s.digits() == 0:
		return nil, false
	}
	if s.i < len(s.b) && s.b[s.i] == '.' {
		s.i++
		if s.digits() == 0 {
			return nil, false
		}
	}
	if s.i < len(s.b) && (s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		s.i++
		if s.i < len(s.b) && (s.b[s.i] == '+' || s.b[s.i] == '-') {
			s.i++
		}
		if s.digits() == 0 {
			return nil, false
		}
	}
	return s.b[start:s.i], true
}

// digits reads a run of decimal digits and returns its length.
func (s *amScanner) digits() int {
	start := s.i
	for s.i < len(s.b) && '0' <= s.b[s.i] && s.b[s.i] <= '9' {
		s.i++
	}
	return s.i - start
}

// match finds name among fields (i < 0: not there), or else reports
// whether encoding/json might still take it for one: it matches field
// names without regard to case, and folds some non-ASCII letters (K, ſ)
// to ASCII ones.
func match(name []byte, fields []string) (i int, other bool) {
	for i, f := range fields {
		if string(name) == f {
			return i, false
		}
	}
	for _, c := range name {
		if c >= utf8.RuneSelf {
			return -1, true
		}
	}
	for _, f := range fields {
		if len(name) == len(f) && strings.EqualFold(string(name), f) {
			return -1, true
		}
	}
	return -1, false
}

func (s *amScanner) string(out *string) bool { return s.text(out, false) }

// text reads a string into out, interned if asked (see intern).
func (s *amScanner) text(out *string, interned bool) bool {
	b, ok := s.unquoted()
	if !ok {
		return false
	}
	if interned {
		*out = s.intern(b)
	} else {
		*out = string(b)
	}
	return true
}

// intern returns b as a string, shared with earlier ones if short: label
// and annotation names recur in every webhook, from a small set. The
// table is emptied when full, so odd names cannot grow it.
func (s *amScanner) intern(b []byte) string {
	if len(b) > maxInterned {
		return string(b)
	}
	if v, ok := s.strs[string(b)]; ok {
		return v
	}
	if s.strs == nil || len(s.strs) >= maxInternedStrings {
		s.strs = make(map[string]string, maxInternedStrings)
	}
	v := string(b)
	s.strs[v] = v
	return v
}

const (
	maxInterned        = 32
	maxInternedStrings = 1024
)

// int reads a number encoding/json would put in an int: an integer
// literal in range (it refuses 1.0 and 1e3 for an int).
func (s *amScanner) int(out *int) bool {
	s.peek() // the whitespace before it
	text, ok := s.number()
	if !ok {
		return false
	}
	n, err := strconv.ParseInt(string(text), 10, strconv.IntSize)
	if err != nil {
		return false
	}
	*out = int(n)
	return true
}

func (s *amScanner) stringMap(out *map[string]string) bool {
	m := make(map[string]string)
	ok := s.members(func(name []byte) bool {
		k := s.intern(name)
		if _, dup := m[k]; dup {
			return false
		}
		var v string
		if !s.string(&v) {
			return false
		}
		m[k] = v
		return true
	})
	if !ok {
		return false
	}
	*out = m
	return true
}

package ingest

import (
	"bytes"
	"io"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"
)

// decodeAlertmanager fills m from an Alertmanager webhook body, as
// decodeJSON would. A webhook as Alertmanager writes it is read token by
// token, with no reflection: in an alert flood this parse is the largest
// share of the request path. Anything off that path (a null, a number
// that is not an int, a field name in other case, a repeated name,
// invalid UTF-8, a syntax error) is decoded by decodeJSON instead, so the
// values and errors are encoding/json's whatever the body
// (FuzzDecodeJSONIsEncodingJSON holds them to it).
func decodeAlertmanager(body []byte, m *amMessage) error {
	if readAlertmanager(body, m) {
		return nil
	}
	*m = amMessage{}
	return decodeJSON(body, m)
}

// readAlertmanager reads body with the token reader; false means the body
// left its path, and m holds anything.
func readAlertmanager(body []byte, m *amMessage) bool {
	r := amReaders.Get().(*amReader)
	r.d.Reset(bytes.NewBuffer(body), jsontext.AllowDuplicateNames(true))
	ok := r.message(m)
	r.d.Reset(r.idle) // not to keep the body alive in the pool
	if cap(r.name) > 64<<10 {
		r.name = nil // nor one huge escaped string
	}
	amReaders.Put(r)
	return ok
}

// amReaders keeps decoders for reuse: a new one allocates about 80 KB of
// buffers and state, and took 32 µs a webhook against 8 µs reused.
var amReaders = sync.Pool{New: func() any {
	idle := new(bytes.Buffer)
	return &amReader{d: jsontext.NewDecoder(idle), idle: idle}
}}

// amReader reads the common shape of a webhook; each method reports false
// as soon as the input leaves it. Repeated names are its own to spot
// (jsontext's check allocates per object): encoding/json keeps the last
// of them, or merges maps, so they go to it.
type amReader struct {
	d    *jsontext.Decoder
	idle *bytes.Buffer     // empty: what d reads between uses
	name []byte            // an escaped string, unquoted
	strs map[string]string // see intern
}

var (
	amMessageFields = []string{"version", "groupKey", "truncatedAlerts", "alerts"}
	amAlertFields   = []string{"status", "labels", "annotations", "startsAt", "endsAt", "generatorURL", "fingerprint"}
)

func (r *amReader) message(m *amMessage) bool {
	ok := r.object(amMessageFields, func(field int) bool {
		switch field {
		case 0:
			return r.string(&m.Version)
		case 1:
			return r.string(&m.GroupKey)
		case 2:
			return r.int(&m.TruncatedAlerts)
		default:
			return r.alerts(&m.Alerts)
		}
	})
	if !ok {
		return false
	}
	_, err := r.d.ReadToken()
	return err == io.EOF // one value, nothing after it
}

func (r *amReader) alerts(out *[]amAlert) bool {
	if !r.open('[') {
		return false
	}
	as := []amAlert{}
	for r.d.PeekKind() == '{' {
		as = append(as, amAlert{})
		a := &as[len(as)-1]
		ok := r.object(amAlertFields, func(field int) bool {
			switch field {
			case 0:
				return r.string(&a.Status)
			case 1:
				return r.stringMap(&a.Labels)
			case 2:
				return r.stringMap(&a.Annotations)
			case 3:
				return r.string(&a.StartsAt)
			case 4:
				return r.string(&a.EndsAt)
			case 5:
				return r.string(&a.GeneratorURL)
			default:
				return r.string(&a.Fingerprint)
			}
		})
		if !ok {
			return false
		}
	}
	if !r.close(']') {
		return false
	}
	*out = as
	return true
}

// object reads an object whose names are fields (field reads the value of
// fields[i]) or names encoding/json ignores, whose values are skipped.
func (r *amReader) object(fields []string, field func(i int) bool) bool {
	if !r.open('{') {
		return false
	}
	var seen uint32
	for r.d.PeekKind() == '"' {
		name, ok := r.unquoted()
		if !ok {
			return false
		}
		switch i, other := match(name, fields); {
		case i >= 0:
			if seen&(1<<i) != 0 || !field(i) {
				return false
			}
			seen |= 1 << i
		case other:
			return false
		default:
			if r.d.SkipValue() != nil {
				return false
			}
		}
	}
	return r.close('}')
}

// open reads the start of an array or object ('[' or '{').
func (r *amReader) open(k jsontext.Kind) bool {
	if r.d.PeekKind() != k {
		return false
	}
	_, err := r.d.ReadToken()
	return err == nil
}

// close reads the end of an array or object (']' or '}').
func (r *amReader) close(k jsontext.Kind) bool {
	tok, err := r.d.ReadToken()
	return err == nil && tok.Kind() == k
}

// unquoted reads a string (an object name or a value), unquoted; the
// bytes are valid until the next read.
func (r *amReader) unquoted() ([]byte, bool) {
	if r.d.PeekKind() != '"' {
		return nil, false
	}
	v, err := r.d.ReadValue()
	if err != nil || len(v) < 2 {
		return nil, false
	}
	if bytes.IndexByte(v, '\\') < 0 {
		return v[1 : len(v)-1], true
	}
	r.name, err = jsontext.AppendUnquote(r.name[:0], v)
	return r.name, err == nil
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
		if strings.EqualFold(string(name), f) {
			return -1, true
		}
	}
	return -1, false
}

func (r *amReader) string(out *string) bool { return r.text(out, false) }

// text reads a string into out, interned if asked (see intern).
func (r *amReader) text(out *string, interned bool) bool {
	b, ok := r.unquoted()
	if !ok {
		return false
	}
	if interned {
		*out = r.intern(b)
	} else {
		*out = string(b)
	}
	return true
}

// intern returns b as a string, shared with earlier ones if short: label
// and annotation names recur in every webhook, from a small set. The
// table is emptied when full, so odd names cannot grow it.
func (r *amReader) intern(b []byte) string {
	if len(b) > maxInterned {
		return string(b)
	}
	if s, ok := r.strs[string(b)]; ok {
		return s
	}
	if r.strs == nil || len(r.strs) >= maxInternedStrings {
		r.strs = make(map[string]string, maxInternedStrings)
	}
	s := string(b)
	r.strs[s] = s
	return s
}

const (
	maxInterned        = 32
	maxInternedStrings = 1024
)

// int reads a number encoding/json would put in an int: an integer
// literal in range (it refuses 1.0 and 1e3 for an int).
func (r *amReader) int(out *int) bool {
	if r.d.PeekKind() != '0' {
		return false
	}
	tok, err := r.d.ReadToken()
	if err != nil {
		return false
	}
	n, err := strconv.ParseInt(tok.String(), 10, strconv.IntSize)
	if err != nil {
		return false
	}
	*out = int(n)
	return true
}

func (r *amReader) stringMap(out *map[string]string) bool {
	if !r.open('{') {
		return false
	}
	m := make(map[string]string)
	for r.d.PeekKind() == '"' {
		var k, v string
		if !r.text(&k, true) || !r.string(&v) {
			return false
		}
		if _, dup := m[k]; dup {
			return false
		}
		m[k] = v
	}
	if !r.close('}') {
		return false
	}
	*out = m
	return true
}

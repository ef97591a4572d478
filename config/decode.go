package config

import (
	"fmt"
	"math"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// backquoted matches the values yaml.v3 quotes in its type errors; they are
// cut from the (normally unreachable) decode error since they may be secrets.
var backquoted = regexp.MustCompile("`[^`]*`")

// decoder checks a yaml.Node tree against the Config types before yaml.v3
// decodes it. Node.Decode has no KnownFields option, and its errors name Go
// types, not config paths, and quote values (secrets included), so the walk
// does the strict part itself: unknown and duplicate keys, wrong shapes and
// unparsable numbers and durations, each with its path and line. It expands
// ${VAR} in the scalars it visits (so after YAML parsing, never in the raw
// text) and rewrites each node it rejects to the zero value of its type, so
// the decode that follows succeeds and indices stay stable for the semantic
// checks.
type decoder struct {
	lookupEnv func(string) (string, bool)
	problems  Problems
	// bad holds the paths already reported, so the validator stays quiet
	// about the zero values left in their place.
	bad map[string]bool
	// done memoizes visits: aliases may share nodes, and walking each
	// (node, type) once keeps alias bombs linear and expansion single.
	done   map[visit]bool
	active map[*yaml.Node]bool
	// scalars records the scalars already expanded; the value is whether
	// the text came from a ${...}, which then must not be quoted back.
	scalars map[*yaml.Node]bool
}

type visit struct {
	n *yaml.Node
	t reflect.Type
}

func newDecoder(lookupEnv func(string) (string, bool)) *decoder {
	return &decoder{
		lookupEnv: lookupEnv,
		bad:       map[string]bool{},
		done:      map[visit]bool{},
		active:    map[*yaml.Node]bool{},
		scalars:   map[*yaml.Node]bool{},
	}
}

// decode walks doc against c's type, then decodes it into c, keeping the
// values already in c for absent keys.
func (d *decoder) decode(doc *yaml.Node, c *Config) {
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 0 {
		return
	}
	root := doc
	if doc.Kind == yaml.DocumentNode {
		root = doc.Content[0]
	}
	d.walk(root, reflect.TypeOf(c).Elem(), "")
	if err := doc.Decode(c); err != nil {
		d.problems = append(d.problems, Problem{Message: "decode: " + backquoted.ReplaceAllString(err.Error(), "`…`")})
	}
}

func (d *decoder) walk(n *yaml.Node, t reflect.Type, path string) {
	if n.Kind == yaml.AliasNode {
		if n.Alias == nil || d.active[n.Alias] {
			d.fail(n, t, path, fmt.Sprintf("alias refers to a value that contains it (line %d)", n.Line))
			return
		}
		n = n.Alias
	}
	if d.done[visit{n, t}] {
		return
	}
	d.done[visit{n, t}] = true
	d.active[n] = true
	defer delete(d.active, n)

	if isNull(n) {
		return // an absent value: the field keeps its zero or default
	}
	switch {
	case t == reflect.TypeFor[time.Duration]():
		d.duration(n, t, path)
	case t.Kind() == reflect.Pointer:
		d.walk(n, t.Elem(), path)
	case t.Kind() == reflect.String:
		if d.scalar(n, t, path) {
			n.Tag = "!!str" // keep the text verbatim: "null", "0x1", "yes" are strings here
		}
	case t.Kind() == reflect.Int || t.Kind() == reflect.Int64:
		d.integer(n, t, path)
	case t.Kind() == reflect.Bool:
		d.boolean(n, t, path)
	case t.Kind() == reflect.Struct:
		d.mapping(n, t, path, structFields(t))
	case t.Kind() == reflect.Map && t.Key().Kind() == reflect.String:
		d.mapping(n, t, path, nil)
	case t.Kind() == reflect.Slice:
		d.sequence(n, t, path)
	default:
		d.fail(n, t, path, fmt.Sprintf("internal error: no decoder for %s", t))
	}
}

// mapping checks a struct (fields non-nil) or a map[string]T (fields nil).
func (d *decoder) mapping(n *yaml.Node, t reflect.Type, path string, fields []field) {
	if n.Kind != yaml.MappingNode {
		d.fail(n, t, path, d.mismatch(n, t))
		return
	}
	seen := map[string]int{}
	kept := make([]*yaml.Node, 0, len(n.Content))
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if isMergeKey(k) {
			d.merge(v, t, path)
			kept = append(kept, k, v)
			continue
		}
		if k.Kind != yaml.ScalarNode {
			d.problems = append(d.problems, Problem{path, fmt.Sprintf("keys must be plain names (line %d)", k.Line)})
			continue
		}
		p := join(path, k.Value)
		if first, dup := seen[k.Value]; dup {
			d.problems = append(d.problems, Problem{p, fmt.Sprintf("duplicate key at line %d (first at line %d)", k.Line, first)})
			continue
		}
		seen[k.Value] = k.Line
		var et reflect.Type
		if fields == nil {
			et = t.Elem()
		} else {
			f, ok := findField(fields, k.Value)
			if !ok {
				d.problems = append(d.problems, Problem{p, fmt.Sprintf("unknown key %q (line %d); known keys: %s", k.Value, k.Line, fieldNames(fields))})
				continue
			}
			et = f.t
		}
		k.Tag = "!!str" // a map key like 1 or ~ is still the string it reads as
		d.walk(v, et, p)
		kept = append(kept, k, v)
	}
	n.Content = kept
}

// merge checks the value of a YAML merge key (<<: *base), a mapping or a
// list of them, as more of the mapping it sits in.
func (d *decoder) merge(v *yaml.Node, t reflect.Type, path string) {
	items := []*yaml.Node{v}
	if v.Kind == yaml.SequenceNode {
		items = v.Content
	}
	for _, item := range items {
		target := item
		if item.Kind == yaml.AliasNode && item.Alias != nil {
			target = item.Alias
		}
		// walk lets an empty value through as "absent"; a merge of one
		// is an error to yaml.v3.
		if isNull(target) {
			d.fail(item, t, path, fmt.Sprintf("<< at line %d merges nothing: give it a mapping (<<: *base) or a list of them", item.Line))
			continue
		}
		d.walk(item, t, path)
	}
}

func (d *decoder) sequence(n *yaml.Node, t reflect.Type, path string) {
	if n.Kind != yaml.SequenceNode {
		d.fail(n, t, path, d.mismatch(n, t))
		return
	}
	for i, item := range n.Content {
		p := fmt.Sprintf("%s[%d]", path, i)
		target := item
		if item.Kind == yaml.AliasNode && item.Alias != nil {
			target = item.Alias
		}
		if isNull(target) {
			// yaml.v3 would drop the item and shift the indices after it.
			d.fail(target, t.Elem(), p, fmt.Sprintf("empty list item (line %d)", item.Line))
			continue
		}
		d.walk(item, t.Elem(), p)
	}
}

func (d *decoder) integer(n *yaml.Node, t reflect.Type, path string) {
	if !d.scalar(n, t, path) {
		return
	}
	v, err := strconv.ParseInt(n.Value, 10, t.Bits())
	if err != nil {
		d.fail(n, t, path, fmt.Sprintf("%s is not a whole number (line %d)", d.show(n), n.Line))
		return
	}
	n.Tag, n.Style, n.Value = "!!int", 0, strconv.FormatInt(v, 10)
}

// boolean accepts true and false only: YAML 1.1's yes/no/on/off are too easy
// to write by accident.
func (d *decoder) boolean(n *yaml.Node, t reflect.Type, path string) {
	if !d.scalar(n, t, path) {
		return
	}
	switch n.Value {
	case "true", "false":
		n.Tag, n.Style = "!!bool", 0
	default:
		d.fail(n, t, path, fmt.Sprintf("%s is not true or false (line %d)", d.show(n), n.Line))
	}
}

// duration accepts what time.ParseDuration does, including a bare 0, which
// yaml.v3 alone rejects, and days.
func (d *decoder) duration(n *yaml.Node, t reflect.Type, path string) {
	if !d.scalar(n, t, path) {
		return
	}
	v, err := parseDuration(n.Value)
	if err != nil {
		d.fail(n, t, path, fmt.Sprintf("%s is not a duration; write it with a unit, like 30s, 2m, 1h30m or 90d (line %d)", d.show(n), n.Line))
		return
	}
	n.Tag, n.Style, n.Value = "!!str", 0, v.String()
}

// maxDays bounds a duration's days: a century is past any retention, and
// far below where time.Duration overflows.
const maxDays = 36500

// parseDuration is time.ParseDuration with a leading count of days (24h
// each), as retentions are thought of: "90d", "1d12h".
func parseDuration(s string) (time.Duration, error) {
	days, rest, ok := strings.Cut(s, "d")
	if !ok {
		return time.ParseDuration(s)
	}
	// A sign leads: "-1d" is a negative duration, for the field's own
	// check to say so, as "-24h" is.
	sign := time.Duration(1)
	if d, neg := strings.CutPrefix(days, "-"); neg {
		sign, days = -1, d
	}
	n, err := strconv.ParseUint(days, 10, 32)
	if err != nil || n > maxDays {
		return 0, fmt.Errorf("%q: days must be a whole number up to %d", s, maxDays)
	}
	v := time.Duration(n) * 24 * time.Hour
	if rest == "" {
		return sign * v, nil
	}
	r, err := time.ParseDuration(rest)
	if err != nil || r < 0 || r > math.MaxInt64-v {
		return 0, fmt.Errorf("%q: what follows the days is not a duration, or too long a one", s)
	}
	return sign * (v + r), nil
}

// scalar checks that n is a scalar and expands its ${VAR} references once.
func (d *decoder) scalar(n *yaml.Node, t reflect.Type, path string) bool {
	if n.Kind != yaml.ScalarNode {
		d.fail(n, t, path, d.mismatch(n, t))
		return false
	}
	if _, ok := d.scalars[n]; ok {
		return true
	}
	d.scalars[n] = strings.Contains(n.Value, "${")
	v, problems := expand(n.Value, d.lookupEnv)
	if len(problems) > 0 {
		for _, msg := range problems {
			d.problems = append(d.problems, Problem{path, msg})
		}
		d.bad[path] = true
		*n = *zeroNode(t, n)
		return false
	}
	n.Value = v
	return true
}

// fail reports a problem at path and turns n into the zero value of t.
func (d *decoder) fail(n *yaml.Node, t reflect.Type, path, msg string) {
	d.problems = append(d.problems, Problem{path, msg})
	d.bad[path] = true
	*n = *zeroNode(t, n)
}

// show quotes a scalar for a message, unless it came from the environment.
func (d *decoder) show(n *yaml.Node) string {
	if d.scalars[n] {
		return "the value from ${...}"
	}
	return strconv.Quote(n.Value)
}

func (d *decoder) mismatch(n *yaml.Node, t reflect.Type) string {
	got := "a single value"
	switch n.Kind {
	case yaml.MappingNode:
		got = "a mapping"
	case yaml.SequenceNode:
		got = "a list"
	}
	return fmt.Sprintf("expected %s, got %s (line %d)", describe(t), got, n.Line)
}

func describe(t reflect.Type) string {
	switch {
	case t == reflect.TypeFor[time.Duration]():
		return "a duration"
	case t.Kind() == reflect.Pointer:
		return describe(t.Elem())
	case t.Kind() == reflect.String:
		return "a string"
	case t.Kind() == reflect.Int || t.Kind() == reflect.Int64:
		return "a whole number"
	case t.Kind() == reflect.Slice:
		return "a list"
	default:
		return "a mapping"
	}
}

// zeroNode is a node yaml.v3 decodes to the zero value of t (null would
// drop a list item), at the position of at.
func zeroNode(t reflect.Type, at *yaml.Node) *yaml.Node {
	n := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Line: at.Line, Column: at.Column}
	switch {
	case t == reflect.TypeFor[time.Duration]():
		n.Tag, n.Value = "!!str", "0s"
	case t.Kind() == reflect.String:
		n.Tag = "!!str"
	case t.Kind() == reflect.Int || t.Kind() == reflect.Int64:
		n.Tag, n.Value = "!!int", "0"
	case t.Kind() == reflect.Bool:
		n.Tag, n.Value = "!!bool", "false"
	case t.Kind() == reflect.Struct || t.Kind() == reflect.Map:
		n.Kind, n.Tag = yaml.MappingNode, "!!map"
	case t.Kind() == reflect.Slice:
		n.Kind, n.Tag = yaml.SequenceNode, "!!seq"
	}
	return n
}

func isNull(n *yaml.Node) bool {
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!null" {
		return false
	}
	switch n.Value {
	case "", "~", "null", "Null", "NULL":
		return true
	}
	return false
}

// isMergeKey matches the keys yaml.v3 treats as merges.
func isMergeKey(k *yaml.Node) bool {
	return k.Kind == yaml.ScalarNode && k.Value == "<<" && (k.Tag == "" || k.Tag == "!" || k.ShortTag() == "!!merge")
}

// field is a struct field as the YAML sees it.
type field struct {
	name string
	t    reflect.Type
}

func structFields(t reflect.Type) []field {
	var fs []field
	for f := range t.Fields() {
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "" || name == "-" {
			continue
		}
		fs = append(fs, field{name, f.Type})
	}
	return fs
}

func findField(fs []field, name string) (field, bool) {
	for _, f := range fs {
		if f.name == name {
			return f, true
		}
	}
	return field{}, false
}

func fieldNames(fs []field) string {
	names := make([]string, len(fs))
	for i, f := range fs {
		names[i] = f.name
	}
	return strings.Join(names, ", ")
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

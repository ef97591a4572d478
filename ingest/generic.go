package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/klaxonhq/klaxon/escalation"
	"github.com/klaxonhq/klaxon/internal/web"
)

// FormatGeneric reads any JSON webhook through field paths from the config.
const FormatGeneric = "generic"

// GenericSpec maps a JSON body to alerts. Paths are dot-separated object
// keys, with numbers indexing arrays: "data.alerts", "labels.host",
// "checks.0.id".
type GenericSpec struct {
	// Alerts is the path of an array of alerts; empty means the body is
	// one alert. The other paths are read inside each alert.
	Alerts   string
	DedupKey string // required
	GroupKey string
	Summary  string
	Details  string
	Severity string
	Source   string
	// Labels is the path of an object whose scalar values become labels.
	Labels string
	// Status is the path of the alert's state; empty means every alert
	// fires. A value in ResolvedValues (default: resolved, ok, recovered,
	// closed, up, normal) resolves; any other value fires.
	Status         string
	ResolvedValues []string
}

// defaultResolvedValues are the words monitors use for "it is fine now".
func defaultResolvedValues() []string {
	return []string{"resolved", "ok", "recovered", "closed", "up", "normal"}
}

// FieldProblem is what is wrong with one of a GenericSpec's paths, named
// by its config key (dedup_key, labels).
type FieldProblem struct {
	Field   string
	Message string
}

// Problems checks every path of the spec, in the config's order, so that
// a config check reports them all at once rather than the first.
func (s GenericSpec) Problems() []FieldProblem {
	var out []FieldProblem
	for _, f := range []struct{ name, path string }{{"alerts", s.Alerts}, {"dedup_key", s.DedupKey},
		{"group_key", s.GroupKey}, {"summary", s.Summary}, {"details", s.Details}, {"severity", s.Severity},
		{"source", s.Source}, {"labels", s.Labels}, {"status", s.Status}} {
		switch {
		case f.path == "" && f.name == "dedup_key":
			out = append(out, FieldProblem{f.name, "required: the path of the alert's identity"})
		case f.path != "" && slices.Contains(strings.Split(f.path, "."), ""):
			out = append(out, FieldProblem{f.name, fmt.Sprintf("%q has an empty step (write a.b.c)", f.path)})
		}
	}
	return out
}

// Validate checks the spec's paths: every problem, each naming its field.
func (s GenericSpec) Validate() error {
	var errs []error
	for _, p := range s.Problems() {
		errs = append(errs, fmt.Errorf("%s: %s", p.Field, p.Message))
	}
	return errors.Join(errs...)
}

// ParseGeneric reads body by spec. Unknown fields are ignored; an alert
// without a dedup key is a problem named by its index.
func ParseGeneric(spec GenericSpec, body []byte) (Batch, error) {
	var doc any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := web.DecodeAll(dec, &doc); err != nil {
		return Batch{}, escalation.Errorf(escalation.CodeInvalid, "%s", jsonProblem(err))
	}
	items := []any{doc}
	if spec.Alerts != "" {
		v, ok := lookup(doc, spec.Alerts)
		arr, isArr := v.([]any)
		if !ok || !isArr {
			return Batch{}, escalation.Errorf(escalation.CodeInvalid, "%s: want an array of alerts", spec.Alerts)
		}
		items = arr
	}
	resolved := spec.ResolvedValues
	if len(resolved) == 0 {
		resolved = defaultResolvedValues()
	}
	var probs problems
	var alerts []escalation.Alert
	for i, item := range items {
		at := func(p string) string {
			if p == "" {
				return ""
			}
			v, _ := lookup(item, p)
			return scalar(v)
		}
		a := escalation.Alert{DedupKey: at(spec.DedupKey), GroupKey: at(spec.GroupKey), Summary: at(spec.Summary),
			Details: at(spec.Details), Source: at(spec.Source), Severity: escalation.NormalizeSeverity(at(spec.Severity)), State: escalation.AlertFiring}
		if a.DedupKey == "" {
			probs.add("alerts[%d]: %s: required (the alert's identity)", i, spec.DedupKey)
			continue
		}
		if spec.Status != "" && slices.ContainsFunc(resolved, func(r string) bool { return strings.EqualFold(r, at(spec.Status)) }) {
			a.State = escalation.AlertResolved
		}
		if spec.Labels != "" {
			if m, ok := lookupObject(item, spec.Labels); ok {
				a.Labels = map[string]string{}
				for k, v := range m {
					if s := scalar(v); s != "" {
						a.Labels[k] = s
					}
				}
			}
		}
		if a.Summary == "" {
			a.Summary = a.DedupKey
		}
		alerts = append(alerts, a)
	}
	if err := probs.err(); err != nil {
		return Batch{}, err
	}
	return Batch{Alerts: alerts}, nil
}

// lookup follows a dotted path.
func lookup(v any, path string) (any, bool) {
	for _, part := range strings.Split(path, ".") {
		switch node := v.(type) {
		case map[string]any:
			next, ok := node[part]
			if !ok {
				return nil, false
			}
			v = next
		case []any:
			i, err := strconv.Atoi(part)
			if err != nil || i < 0 || i >= len(node) {
				return nil, false
			}
			v = node[i]
		default:
			return nil, false
		}
	}
	return v, true
}

func lookupObject(v any, path string) (map[string]any, bool) {
	o, ok := lookup(v, path)
	m, isMap := o.(map[string]any)
	return m, ok && isMap
}

// scalar writes a JSON scalar as text; objects and arrays are not scalars.
func scalar(v any) string {
	switch x := v.(type) {
	case string:
		return strings.TrimSpace(x)
	case json.Number:
		return x.String()
	case bool:
		return strconv.FormatBool(x)
	}
	return ""
}

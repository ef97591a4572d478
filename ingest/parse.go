package ingest

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	jsonv1 "github.com/go-json-experiment/json/v1"

	"github.com/klaxonhq/klaxon/escalation"
)

// maxProblems bounds how many problems one error lists, so a huge bad body
// cannot produce a huge error message (or log line).
const maxProblems = 10

// problems collects validation failures so the sender learns about all of
// them in one round trip.
type problems []string

func (p *problems) add(format string, args ...any) { *p = append(*p, fmt.Sprintf(format, args...)) }

// list returns the problems to report, capped at maxProblems.
func (p problems) list() []string {
	if len(p) <= maxProblems {
		return p
	}
	out := append([]string(nil), p[:maxProblems]...)
	return append(out, fmt.Sprintf("and %d more problems", len(p)-maxProblems))
}

// err is nil without problems, else one CodeInvalid error listing them.
func (p problems) err() error {
	if len(p) == 0 {
		return nil
	}
	return escalation.Errorf(escalation.CodeInvalid, "%s", strings.Join(p.list(), "; "))
}

// decodeJSON unmarshals a webhook body into v, as encoding/json would. The
// decoding runs on the JSON v2 engine (go-json-experiment/json/v1, the
// upstream of the standard library's encoding/json/v2 experiment, with the
// v1 API and behaviour), which takes half the time on an Alertmanager
// webhook: in an alert storm the parse is the largest share of the request
// path. A body it refuses is decoded again by encoding/json, so that errors,
// and the messages jsonProblem makes of them, are the standard library's;
// only a wrongly typed field's path is taken from the v2 engine, which
// numbers the array elements on it ("alerts.1.labels.x", where the
// standard library says "alerts.labels").
func decodeJSON(body []byte, v any) error {
	first := jsonv1.Unmarshal(body, v)
	if first == nil {
		return nil
	}
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.Pointer && !rv.IsNil() {
		rv.Elem().SetZero() // what the failed decode filled in
	}
	err := json.Unmarshal(body, v)
	var typ *json.UnmarshalTypeError
	var typV2 *jsonv1.UnmarshalTypeError
	if errors.As(err, &typ) && errors.As(first, &typV2) && samePath(typV2.Field, typ.Field) {
		typ.Field = typV2.Field
	}
	return err
}

// samePath reports whether the v2 engine's path names encoding/json's
// field: the same without its array indices, or under it (a map's key).
func samePath(v2, std string) bool {
	p := withoutIndices(v2)
	return std != "" && (p == std || strings.HasPrefix(p, std+"."))
}

// withoutIndices drops a field path's array indices.
func withoutIndices(f string) string {
	parts := strings.Split(f, ".")
	return strings.Join(slices.DeleteFunc(parts, func(p string) bool { _, err := strconv.Atoi(p); return err == nil }), ".")
}

// fieldPath writes a decoding error's field path as the parsers name
// problems: the element of the alerts list in brackets
// ("alerts.1.labels.x" is "alerts[1].labels.x").
func fieldPath(f string) string {
	parts := strings.Split(f, ".")
	var b strings.Builder
	for i, p := range parts {
		if _, err := strconv.Atoi(p); err == nil && i > 0 && parts[i-1] == "alerts" {
			b.WriteString("[" + p + "]")
			continue
		}
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(p)
	}
	return b.String()
}

// jsonProblem describes a decoding error in terms of the sender's document:
// the byte offset of a syntax error, or the field whose type is wrong.
func jsonProblem(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("malformed JSON at offset %d: %v", syn.Offset, syn)
	case errors.As(err, &typ):
		if typ.Field == "" {
			return fmt.Sprintf("body must be a JSON object, not %s", clipRaw(typ.Value))
		}
		return fmt.Sprintf("%s: must be %s, not %s (offset %d)", fieldPath(typ.Field), jsonKind(typ.Type), clipRaw(typ.Value), typ.Offset)
	}
	return fmt.Sprintf("malformed JSON: %v", err)
}

// jsonKind names the JSON type that decodes into t.
func jsonKind(t reflect.Type) string {
	if t == nil {
		return "a different type"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Map, reflect.Struct:
		return "an object"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	}
	return "a different type"
}

// prioritySeverity maps a P1–P5 priority (Opsgenie's, Datadog's) onto the
// normalised severities: P1 critical, P2 error, P3 warning, P4 and P5 info.
func prioritySeverity(p string) (string, bool) {
	switch strings.ToUpper(strings.TrimSpace(p)) {
	case "P1":
		return "critical", true
	case "P2":
		return "error", true
	case "P3":
		return "warning", true
	case "P4", "P5":
		return "info", true
	}
	return "", false
}

// webLink returns the link if href is an absolute http(s) URL. Links end up
// in chat messages and the UI, where a javascript: or data: URL from a
// monitor would be an injection vector, so anything else is dropped.
func webLink(href, text string) (escalation.Link, bool) {
	href = strings.TrimSpace(href)
	u, err := url.Parse(href)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return escalation.Link{}, false
	}
	return escalation.Link{Href: href, Text: strings.TrimSpace(text)}, true
}

// clip quotes a sender-supplied value for an error message, shortened so a
// huge value cannot blow up replies and log lines.
func clip(s string) string { return strconv.Quote(clipRaw(s)) }

func clipRaw(s string) string {
	const maxRunes = 64
	if utf8.RuneCountInString(s) > maxRunes {
		s = string([]rune(s)[:maxRunes]) + "…"
	}
	return s
}

// alertPath names a delivery's i-th alert in its problems ("alerts[i]"),
// formatted only when there is a problem to report.
type alertPath int

func (p alertPath) String() string { return "alerts[" + strconv.Itoa(int(p)) + "]" }

// groupAlert is one alert of a grouped notification (Alertmanager, Grafana)
// that converts itself, adding its problems under path.
type groupAlert interface {
	alert(path alertPath, probs *problems) (escalation.Alert, bool)
}

// groupBatch converts a grouped notification's alerts, all with the group's
// key, reporting every problem at once.
func groupBatch[A groupAlert](items []A, groupKey string, truncated int) (Batch, error) {
	var probs problems
	alerts := make([]escalation.Alert, 0, len(items))
	for i, a := range items {
		alert, ok := a.alert(alertPath(i), &probs)
		if ok {
			alert.GroupKey = groupKey
			alerts = append(alerts, alert)
		}
	}
	if err := probs.err(); err != nil {
		return Batch{}, err
	}
	return Batch{Alerts: alerts, Truncated: max(truncated, 0)}, nil
}

package ingest

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/klaxonhq/klaxon/escalation"
)

// datadogTransitions lists the $ALERT_TRANSITION values Datadog documents,
// for error messages.
const datadogTransitions = "Triggered, Re-Triggered, Warn, Re-Warn, No Data, Re-No Data, Renotify or Recovered"

// ParseDatadog parses a Datadog webhook: the default payload of the Webhooks
// integration ($EVENT_TITLE, $EVENT_MSG, $DATE, ...) or a custom payload
// that adds the documented alert variables. Values are read as text whether
// the template quoted them or not. The fields read, with the variable meant
// to fill each:
//
//	title            $EVENT_TITLE       "[P1] [Triggered on {host:a}] Name": transition, scope, priority
//	body             $EVENT_MSG         details
//	date             $DATE              epoch milliseconds: when it fired or recovered
//	transition       $ALERT_TRANSITION  (or alert_transition) firing or resolved; wins over the title
//	aggregation_key  $AGGREG_KEY        (or aggreg_key) dedup key
//	alert_id         $ALERT_ID          the monitor: dedup key with the scope when there is no aggregation key
//	alert_title      $ALERT_TITLE       summary
//	priority         $ALERT_PRIORITY    (or alert_priority) severity, P1..P5
//	alert_type       $ALERT_TYPE        severity when there is no priority
//	scope            $ALERT_SCOPE       (or alert_scope) labels and source
//	hostname         $HOSTNAME          source
//	tags             $TAGS              labels ("env:prod,team:db")
//	link             $LINK              link to the event
//
// Without an aggregation key or alert id (the default payload) the dedup
// key is derived from the title's scope and monitor name, which a trigger
// and its recovery share. Errors are CodeInvalid and name the offending
// field.
func ParseDatadog(body []byte) (Batch, error) {
	var raw map[string]json.RawMessage
	if err := decodeJSON(body, &raw); err != nil {
		return Batch{}, escalation.Errorf(escalation.CodeInvalid, "%s", jsonProblem(err))
	}
	var probs problems
	// text reads the first non-empty of the named fields as text; a field
	// holding an object or array is a problem.
	text := func(names ...string) string {
		for _, name := range names {
			v, ok := raw[name]
			if !ok {
				continue
			}
			s, ok := ddText(v)
			if !ok {
				probs.add("%s: must be a string or a number, not %s", name, jsonValueKind(v))
				continue
			}
			if s = strings.TrimSpace(s); s != "" {
				return s
			}
		}
		return ""
	}
	title := ddParseTitle(text("title"))
	alertTitle := ddParseTitle(text("alert_title"))
	transition := text("transition", "alert_transition")
	aggKey := text("aggregation_key", "aggreg_key")
	alertID := text("alert_id")
	priority := text("priority", "alert_priority")
	alertType := text("alert_type")
	scope := text("scope", "alert_scope")
	hostname := text("hostname")
	tags := text("tags")
	link := text("link")
	details := text("body")
	date := text("date")
	if len(probs) > 0 {
		return Batch{}, probs.err()
	}

	var out escalation.Alert
	if transition == "" {
		transition = title.transition
	}
	switch state, ok := ddState(transition); {
	case transition == "":
		probs.add(`transition: required: add "transition": "$ALERT_TRANSITION" to the payload, or keep the default title ("[Triggered] ...")`)
	case !ok:
		probs.add("transition: %s is not %s", clip(transition), datadogTransitions)
	default:
		out.State = state
	}
	if scope == "" {
		scope = title.scope
	}
	name := alertTitle.name
	if name == "" {
		name = title.name
	}
	switch {
	case aggKey != "":
		out.DedupKey = aggKey
	case alertID != "" && scope != "":
		out.DedupKey = "monitor/" + alertID + "/" + scope
	case alertID != "":
		out.DedupKey = "monitor/" + alertID
	case name != "":
		out.DedupKey = labelsKey(map[string]string{"name": name, "scope": scope})
	default:
		probs.add("aggregation_key, alert_id or title: required to tell alerts apart")
	}
	if err := probs.err(); err != nil {
		return Batch{}, err
	}

	out.Summary = name
	if out.Summary == "" {
		out.Summary = "Datadog alert " + out.DedupKey
	}
	out.Details = ddBody(details)
	if priority == "" {
		priority = title.priority
	}
	out.Severity = ddSeverity(priority, alertType, transition)
	out.Source = hostname
	if out.Source == "" {
		out.Source = scope
	}
	// An unreadable date is dropped, not rejected: it is informational,
	// and Datadog does not retry a 400, so the page would be lost.
	if at := ddTime(date); out.State == escalation.AlertResolved {
		out.EndsAt = at
	} else {
		out.StartsAt = at
	}
	out.Labels = ddLabels(tags, scope)
	if alertID != "" {
		if out.Labels == nil {
			out.Labels = map[string]string{}
		}
		out.Labels["monitor_id"] = alertID
	}
	if l, ok := webLink(link, "Event"); ok {
		out.Links = append(out.Links, l)
	}
	if l, ok := webLink(markdownLink(details, "Monitor Status"), "Monitor Status"); ok {
		out.Links = append(out.Links, l)
	}
	return Batch{Alerts: []escalation.Alert{out}}, nil
}

// ddText reads a template value as text: a string, or the literal of a
// number or boolean (a template that leaves $DATE unquoted). Null is empty.
func ddText(raw json.RawMessage) (string, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "", true
	}
	switch raw[0] {
	case '"':
		var s string
		return s, json.Unmarshal(raw, &s) == nil
	case '{', '[':
		return "", false
	}
	if string(raw) == "null" {
		return "", true
	}
	return string(raw), true
}

// jsonValueKind names the JSON type of a raw value, for error messages.
func jsonValueKind(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '[' {
		return "an array"
	}
	return "an object"
}

// ddTitle is what a Datadog event title says besides the monitor's name.
type ddTitle struct {
	priority, transition, scope, name string
}

// ddParseTitle splits an event title: "[P1] [Triggered on {host:a,env:b}]
// CPU high" has priority P1, transition Triggered, scope "host:a,env:b" and
// name "CPU high". A bracket that is not a transition ("[TEST]") stays in
// the name.
func ddParseTitle(s string) ddTitle {
	var t ddTitle
	s = strings.TrimSpace(s)
	if len(s) >= 4 && s[0] == '[' && (s[1] == 'P' || s[1] == 'p') && s[2] >= '1' && s[2] <= '5' && s[3] == ']' {
		t.priority, s = strings.ToUpper(s[1:3]), strings.TrimSpace(s[4:])
	}
	if body, ok := strings.CutPrefix(s, "["); ok {
		var transition, scope, rest string
		if before, after, on := strings.Cut(body, " on {"); on && !strings.Contains(before, "]") {
			// A scope may hold "]" itself; it ends at "}]".
			if sc, r, closed := strings.Cut(after, "}]"); closed {
				transition, scope, rest = before, sc, r
			}
		} else if inner, r, closed := strings.Cut(body, "]"); closed {
			transition, rest = inner, r
		}
		if _, known := ddState(transition); known {
			t.transition, t.scope, s = strings.TrimSpace(transition), strings.TrimSpace(scope), strings.TrimSpace(rest)
		}
	}
	t.name = s
	return t
}

// ddState maps an alert transition to an alert state. Every documented
// transition but Recovered means the monitor is in a state it notifies
// about (alert, warn, no data), so it fires.
func ddState(transition string) (escalation.AlertState, bool) {
	t := strings.ToLower(strings.TrimSpace(transition))
	switch t {
	case "triggered", "re-triggered", "warn", "re-warn", "no data", "re-no data", "renotify":
		return escalation.AlertFiring, true
	case "recovered":
		return escalation.AlertResolved, true
	}
	return "", false
}

// ddSeverity picks a severity: the monitor's priority (P1..P5) when set,
// else the alert type (error, warning, info; success says nothing), else
// warning for a Warn transition.
func ddSeverity(priority, alertType, transition string) string {
	if s, ok := prioritySeverity(priority); ok {
		return s
	}
	if priority != "" {
		return escalation.NormalizeSeverity(priority)
	}
	switch t := strings.ToLower(alertType); t {
	case "error", "warning", "info":
		return t
	}
	if t := strings.ToLower(transition); t == "warn" || t == "re-warn" {
		return "warning"
	}
	return ""
}

// ddBody strips the %%% markers that wrap Datadog's markdown.
func ddBody(s string) string {
	s = strings.TrimSpace(s)
	s = strings.TrimSpace(strings.TrimPrefix(s, "%%%"))
	return strings.TrimSpace(strings.TrimSuffix(s, "%%%"))
}

// ddTime reads $DATE, epoch milliseconds. Values below 1e11 are taken as
// seconds ($DATE_POSIX): as milliseconds they would fall in 1973.
func ddTime(s string) time.Time {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n <= 0 {
		return time.Time{}
	}
	if n < 1e11 {
		return time.Unix(n, 0).UTC()
	}
	return time.UnixMilli(n).UTC()
}

// ddLabels turns comma-separated key:value tags into labels; the alert's
// scope wins over the monitor's tags. Tags without a value are left out.
func ddLabels(lists ...string) map[string]string {
	var labels map[string]string
	for _, list := range lists {
		for tag := range strings.SplitSeq(list, ",") {
			k, v, ok := strings.Cut(strings.TrimSpace(tag), ":")
			k, v = strings.TrimSpace(k), strings.TrimSpace(v)
			if !ok || k == "" || v == "" || len(v) > pdMaxLabelValue {
				continue
			}
			if labels == nil {
				labels = map[string]string{}
			}
			labels[k] = v
		}
	}
	return labels
}

// markdownLink returns the target of the markdown link [text](target) in s,
// or "".
func markdownLink(s, text string) string {
	_, after, ok := strings.Cut(s, "["+text+"](")
	if !ok {
		return ""
	}
	target, _, ok := strings.Cut(after, ")")
	if !ok {
		return ""
	}
	return target
}

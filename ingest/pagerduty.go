package ingest

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/klaxonhq/klaxon/escalation"
)

// PagerDuty Events API v2 limits.
const (
	pdMaxSummary  = 1024
	pdMaxDedupKey = 255
	// pdMaxLabelValue keeps free-text custom details out of the labels;
	// they stay readable in Details.
	pdMaxLabelValue = 256
)

// PagerDuty event actions.
const (
	ActionTrigger     = "trigger"
	ActionAcknowledge = "acknowledge"
	ActionResolve     = "resolve"
)

// Event is one PagerDuty Events API v2 event.
type Event struct {
	// RoutingKey selects and authenticates the integration. Never logged.
	RoutingKey string           `json:"routing_key"`
	Action     string           `json:"action"`
	Alert      escalation.Alert `json:"alert"`
}

// InvalidEventError lists everything wrong with an event, as PagerDuty's 400
// body does. It is a CodeInvalid error for escalation.ErrorCode.
type InvalidEventError struct {
	Problems []string
}

func (e *InvalidEventError) Error() string {
	return "invalid event: " + strings.Join(e.Problems, "; ")
}

// Unwrap lets errors.As find the coded error behind it.
func (e *InvalidEventError) Unwrap() error {
	return &escalation.Error{Code: escalation.CodeInvalid, Message: e.Error()}
}

// MalformedEventError is a body that is not a JSON object at all; PagerDuty
// calls it an "Unrecognized object". It is a CodeInvalid error.
type MalformedEventError struct {
	Problem string
}

func (e *MalformedEventError) Error() string { return e.Problem }

// Unwrap lets errors.As find the coded error behind it.
func (e *MalformedEventError) Unwrap() error {
	return &escalation.Error{Code: escalation.CodeInvalid, Message: e.Problem}
}

type pdEvent struct {
	RoutingKey  string     `json:"routing_key"`
	EventAction string     `json:"event_action"`
	DedupKey    string     `json:"dedup_key"`
	Payload     *pdPayload `json:"payload"`
	Client      string     `json:"client"`
	ClientURL   string     `json:"client_url"`
	Links       []pdLink   `json:"links"`
}

type pdPayload struct {
	Summary       string          `json:"summary"`
	Timestamp     string          `json:"timestamp"`
	Severity      string          `json:"severity"`
	Source        string          `json:"source"`
	Component     string          `json:"component"`
	Group         string          `json:"group"`
	Class         string          `json:"class"`
	CustomDetails json.RawMessage `json:"custom_details"`
}

type pdLink struct {
	Href string `json:"href"`
	Text string `json:"text"`
}

// ParsePagerDutyEvent parses an Events API v2 event (POST /v2/enqueue). A
// body that is not a JSON object gives a *MalformedEventError; an event
// that breaks the API's rules gives an *InvalidEventError listing every
// problem. A trigger without dedup_key gets a random one, which the caller
// returns to the sender.
func ParsePagerDutyEvent(body []byte) (Event, error) {
	var probs problems
	var e pdEvent
	if err := decodeJSON(body, &e); err != nil {
		var typ *json.UnmarshalTypeError
		if !errors.As(err, &typ) || typ.Field == "" {
			return Event{}, &MalformedEventError{Problem: jsonProblem(err)}
		}
		// A field of the wrong type is one more problem with an event
		// that was otherwise decoded.
		probs.add("%s", jsonProblem(err))
	}

	ev := Event{RoutingKey: e.RoutingKey, Action: e.EventAction}
	a := &ev.Alert
	if e.RoutingKey == "" {
		probs.add("routing_key is required")
	}
	switch e.EventAction {
	case ActionTrigger:
		a.State = escalation.AlertFiring
	case ActionAcknowledge:
		a.State = escalation.AlertAcknowledged
	case ActionResolve:
		a.State = escalation.AlertResolved
	case "":
		probs.add("event_action is required")
	default:
		probs.add("event_action must be one of trigger, acknowledge, resolve")
	}
	a.DedupKey = e.DedupKey
	switch {
	case utf8.RuneCountInString(e.DedupKey) > pdMaxDedupKey:
		probs.add("dedup_key must be at most %d characters", pdMaxDedupKey)
	case strings.TrimSpace(e.DedupKey) == "" && (e.EventAction == ActionAcknowledge || e.EventAction == ActionResolve):
		probs.add("dedup_key is required for %s", e.EventAction)
	}
	// Acknowledge and resolve act on an existing alert; PagerDuty ignores
	// their payload, and so does Klaxon.
	if e.EventAction == ActionTrigger {
		if e.Payload == nil {
			probs.add("payload is required")
		} else {
			e.Payload.validate(&probs)
		}
	}
	if len(probs) > 0 {
		return Event{}, &InvalidEventError{Problems: probs.list()}
	}
	if e.EventAction == ActionTrigger {
		e.fill(a)
		if strings.TrimSpace(a.DedupKey) == "" {
			a.DedupKey = newDedupKey()
		}
	}
	return ev, nil
}

func (p *pdPayload) validate(probs *problems) {
	switch n := utf8.RuneCountInString(p.Summary); {
	case strings.TrimSpace(p.Summary) == "":
		probs.add("payload.summary is required")
	case n > pdMaxSummary:
		probs.add("payload.summary must be at most %d characters", pdMaxSummary)
	}
	if strings.TrimSpace(p.Source) == "" {
		probs.add("payload.source is required")
	}
	switch p.Severity {
	case "critical", "error", "warning", "info":
	case "":
		probs.add("payload.severity is required")
	default:
		probs.add("payload.severity must be one of critical, error, warning, info")
	}
}

// fill copies a valid trigger's payload into the alert.
func (e *pdEvent) fill(a *escalation.Alert) {
	p := e.Payload
	a.Summary = strings.TrimSpace(p.Summary)
	a.Source = strings.TrimSpace(p.Source)
	a.Severity = p.Severity
	a.StartsAt = pdTime(p.Timestamp)
	a.Details, a.Labels = customDetails(p.CustomDetails)
	// The payload's own fields win over custom details of the same name.
	for _, kv := range [...][2]string{{"component", p.Component}, {"group", p.Group}, {"class", p.Class}} {
		if v := strings.TrimSpace(kv[1]); v != "" {
			if a.Labels == nil {
				a.Labels = map[string]string{}
			}
			a.Labels[kv[0]] = v
		}
	}
	for _, l := range e.Links {
		if link, ok := webLink(l.Href, l.Text); ok {
			a.Links = append(a.Links, link)
		}
	}
	text := strings.TrimSpace(e.Client)
	if text == "" {
		text = "Client"
	}
	if link, ok := webLink(e.ClientURL, text); ok {
		a.Links = append(a.Links, link)
	}
}

// customDetails renders custom_details as indented JSON for people (a JSON
// string is shown as is) and lifts short string values into labels, where
// services can group and route on them.
func customDetails(raw json.RawMessage) (string, map[string]string) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return strings.TrimSpace(s), nil
	}
	var buf bytes.Buffer
	details := string(raw)
	if json.Indent(&buf, raw, "", "  ") == nil {
		details = buf.String()
	}
	var obj map[string]any
	if json.Unmarshal(raw, &obj) != nil {
		return details, nil
	}
	var labels map[string]string
	for k, v := range obj {
		s, ok := v.(string)
		s = strings.TrimSpace(s)
		if !ok || k == "" || s == "" || len(s) > pdMaxLabelValue {
			continue
		}
		if labels == nil {
			labels = map[string]string{}
		}
		labels[k] = s
	}
	return details, labels
}

// pdTime parses payload.timestamp, ISO 8601 in the forms senders use
// (PagerDuty's own examples write "+0000" without a colon). An unreadable
// timestamp is dropped, not rejected: it is informational, and a 400 would
// lose the page.
func pdTime(s string) time.Time {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}
	}
	layouts := [...]string{
		time.RFC3339Nano,
		"2006-01-02T15:04:05Z0700",
		"2006-01-02T15:04:05Z07",
		"2006-01-02T15:04:05", // no zone: UTC
	}
	for _, layout := range layouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}

// newDedupKey is what PagerDuty does for a trigger without dedup_key: a
// fresh key, so the event opens its own alert.
func newDedupKey() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (it crashes instead)
	return hex.EncodeToString(b[:])
}

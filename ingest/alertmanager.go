package ingest

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/klaxonhq/klaxon/escalation"
)

// Batch is what one webhook delivery carries.
type Batch struct {
	Alerts []escalation.Alert `json:"alerts"`
	// Truncated counts alerts the sender left out (Alertmanager's
	// max_alerts); the alerts present are complete and valid.
	Truncated int `json:"truncated,omitempty"`
	// Note says why a valid delivery carries no alerts (a test
	// notification, a monitor pending or in maintenance): it is answered
	// 200 and nothing is ingested.
	Note string `json:"note,omitempty"`
}

// amMessage is the Alertmanager webhook body (notify/webhook Message).
// Times are strings so that a bad one can be reported with its field.
type amMessage struct {
	Version         string    `json:"version"`
	GroupKey        string    `json:"groupKey"`
	TruncatedAlerts int       `json:"truncatedAlerts"`
	Alerts          []amAlert `json:"alerts"`
}

type amAlert struct {
	Status       string            `json:"status"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     string            `json:"startsAt"`
	EndsAt       string            `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
	Fingerprint  string            `json:"fingerprint"`
}

// ParseAlertmanager parses an Alertmanager webhook (version "4"). Each alert
// keeps its own status: a group reported as firing may contain resolved
// alerts. Errors are CodeInvalid and name the offending field.
func ParseAlertmanager(body []byte) (Batch, error) {
	var m amMessage
	if err := decodeAlertmanager(body, &m); err != nil {
		return Batch{}, escalation.Errorf(escalation.CodeInvalid, "%s", jsonProblem(err))
	}
	if m.Version != "4" {
		return Batch{}, escalation.Errorf(escalation.CodeInvalid, "version: got %s, want \"4\"", clip(m.Version))
	}
	if len(m.Alerts) == 0 {
		return Batch{}, escalation.Errorf(escalation.CodeInvalid, "alerts: required")
	}
	return groupBatch(m.Alerts, m.GroupKey, m.TruncatedAlerts)
}

// alert converts one Alertmanager alert, adding its problems under path.
func (a amAlert) alert(path alertPath, probs *problems) (escalation.Alert, bool) {
	n := len(*probs)
	var out escalation.Alert
	switch a.Status {
	case "firing":
		out.State = escalation.AlertFiring
	case "resolved":
		out.State = escalation.AlertResolved
	case "":
		probs.add("%s.status: required", path)
	default:
		probs.add("%s.status: %s is not firing or resolved", path, clip(a.Status))
	}
	out.DedupKey = strings.TrimSpace(a.Fingerprint)
	if out.DedupKey == "" {
		if len(a.Labels) == 0 {
			probs.add("%s: labels or fingerprint required", path)
		}
		out.DedupKey = labelsKey(a.Labels)
	}
	var err error
	if out.StartsAt, err = amTime(a.StartsAt); err != nil {
		probs.add("%s.startsAt: %v", path, err)
	}
	if out.EndsAt, err = amTime(a.EndsAt); err != nil {
		probs.add("%s.endsAt: %v", path, err)
	}
	if len(*probs) > n {
		return escalation.Alert{}, false
	}

	ann := func(k string) string { return strings.TrimSpace(a.Annotations[k]) }
	out.Severity = escalation.NormalizeSeverity(a.Labels["severity"])
	out.Summary, out.Details = ann("summary"), ann("description")
	if out.Summary == "" {
		// The description moves up rather than appearing twice.
		out.Summary, out.Details = out.Details, ""
	}
	if out.Summary == "" {
		out.Summary = a.Labels["alertname"]
		if inst := a.Labels["instance"]; out.Summary != "" && inst != "" {
			out.Summary += " on " + inst
		}
	}
	if out.Summary == "" {
		out.Summary = "Alertmanager alert " + out.DedupKey
	}
	out.Source = a.Labels["instance"]
	if out.Source == "" {
		out.Source = a.Labels["job"]
	}
	if len(a.Labels) > 0 {
		out.Labels = a.Labels
	}
	if l, ok := webLink(a.GeneratorURL, "Source"); ok {
		out.Links = append(out.Links, l)
	}
	if l, ok := webLink(a.Annotations["runbook_url"], "Runbook"); ok {
		out.Links = append(out.Links, l)
	}
	return out, true
}

// amTime parses an Alertmanager timestamp; Go's zero time, which
// Alertmanager sends for "not ended", stays zero.
func amTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s is not an RFC 3339 time", clip(s))
	}
	if t.IsZero() {
		return time.Time{}, nil
	}
	return t.UTC(), nil
}

// labelsKey derives a dedup key from a label set when the sender gave no
// fingerprint: stable across deliveries and label order, 16 hex digits like
// a fingerprint. Keys and values are quoted so that no two label sets
// encode alike.
func labelsKey(labels map[string]string) string {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	h := sha256.New()
	for _, k := range keys {
		fmt.Fprintf(h, "%s=%s,", strconv.Quote(k), strconv.Quote(labels[k]))
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

package ingest

import (
	"encoding/json"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/klaxonhq/klaxon/escalation"
)

// grafanaMessage is the Grafana unified alerting webhook body (grafana/alerting
// receivers/webhook/v1): Alertmanager's envelope plus orgId, title, state
// and message, which Klaxon does not need. The group's status and state say
// whether any alert fires; each alert carries its own status.
type grafanaMessage struct {
	Version         string         `json:"version"`
	GroupKey        string         `json:"groupKey"`
	TruncatedAlerts int            `json:"truncatedAlerts"`
	Alerts          []grafanaAlert `json:"alerts"`
}

// grafanaAlert is an Alertmanager alert with Grafana's extras.
type grafanaAlert struct {
	amAlert
	SilenceURL   string `json:"silenceURL"`
	DashboardURL string `json:"dashboardURL"`
	PanelURL     string `json:"panelURL"`
	ImageURL     string `json:"imageURL"`
	// Values is raw so that null (no values) and any odd shape fall back
	// to ValueString instead of failing the delivery.
	Values      json.RawMessage `json:"values"`
	ValueString string          `json:"valueString"`
}

// ParseGrafana parses a Grafana unified alerting webhook (version "1").
// Each alert keeps its own status, its fingerprint is the dedup key and the
// message's groupKey the group key. Errors are CodeInvalid and name the
// offending field.
func ParseGrafana(body []byte) (Batch, error) {
	var m grafanaMessage
	if err := decodeJSON(body, &m); err != nil {
		return Batch{}, escalation.Errorf(escalation.CodeInvalid, "%s", jsonProblem(err))
	}
	if m.Version != "1" {
		hint := ""
		if m.Version == "4" {
			hint = " (version 4 is Alertmanager's: give the integration format alertmanager)"
		}
		return Batch{}, escalation.Errorf(escalation.CodeInvalid, "version: got %s, want \"1\"%s", clip(m.Version), hint)
	}
	if len(m.Alerts) == 0 {
		return Batch{}, escalation.Errorf(escalation.CodeInvalid, "alerts: required")
	}
	return groupBatch(m.Alerts, m.GroupKey, m.TruncatedAlerts)
}

// alert converts one Grafana alert: Alertmanager's checks, times, severity,
// labels and links, with Grafana's summary, values and extra links.
func (a grafanaAlert) alert(path alertPath, probs *problems) (escalation.Alert, bool) {
	out, ok := a.amAlert.alert(path, probs)
	if !ok {
		return out, false
	}
	out.Summary = strings.TrimSpace(a.Annotations["summary"])
	if out.Summary == "" {
		out.Summary = strings.TrimSpace(a.Labels["alertname"])
	}
	if out.Summary == "" {
		out.Summary = "Grafana alert " + out.DedupKey
	}
	out.Details = joinText(strings.TrimSpace(a.Annotations["description"]), a.value())
	for _, l := range [...][2]string{
		{a.SilenceURL, "Silence"}, {a.DashboardURL, "Dashboard"}, {a.PanelURL, "Panel"}, {a.ImageURL, "Image"},
	} {
		if link, ok := webLink(l[0], l[1]); ok {
			out.Links = append(out.Links, link)
		}
	}
	return out, true
}

// value renders what made the alert fire the way Grafana's own message does
// ("Value: A=2.473545728e+09, B=0"), falling back to valueString when
// values is null or absent (Grafana 9).
func (a grafanaAlert) value() string {
	var vals map[string]float64
	if json.Unmarshal(a.Values, &vals) == nil && len(vals) > 0 {
		parts := make([]string, 0, len(vals))
		for _, k := range slices.Sorted(maps.Keys(vals)) {
			parts = append(parts, k+"="+strconv.FormatFloat(vals[k], 'g', -1, 64))
		}
		return "Value: " + strings.Join(parts, ", ")
	}
	if s := strings.TrimSpace(a.ValueString); s != "" {
		return "Value: " + s
	}
	return ""
}

// joinText joins the non-empty paragraphs with a blank line.
func joinText(paragraphs ...string) string {
	var out []string
	for _, p := range paragraphs {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, "\n\n")
}

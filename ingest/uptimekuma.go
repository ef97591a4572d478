package ingest

import (
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/klaxonhq/klaxon/escalation"
)

// Uptime Kuma heartbeat states.
const (
	kumaDown        = 0
	kumaUp          = 1
	kumaPending     = 2
	kumaMaintenance = 3
)

// kumaMessage is the body of Uptime Kuma's webhook notification with the
// JSON body type (server/notification-providers/webhook.js). Only the
// fields Klaxon uses are decoded; the monitor object carries dozens more.
type kumaMessage struct {
	Heartbeat *kumaHeartbeat `json:"heartbeat"`
	Monitor   *kumaMonitor   `json:"monitor"`
	Msg       string         `json:"msg"`
}

type kumaHeartbeat struct {
	MonitorID    *int64 `json:"monitorID"`
	Status       *int   `json:"status"`
	Time         string `json:"time"`
	Msg          string `json:"msg"`
	LastDownTime string `json:"lastDownTime"`
}

type kumaMonitor struct {
	ID          *int64    `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	Type        string    `json:"type"`
	URL         string    `json:"url"`
	Hostname    string    `json:"hostname"`
	Tags        []kumaTag `json:"tags"`
}

type kumaTag struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// ParseUptimeKuma parses an Uptime Kuma webhook. A monitor going down
// (heartbeat status 0) fires and coming back up (1) resolves the same alert,
// keyed by the monitor id. Pending (2) and maintenance (3) beats page nobody,
// and neither does a notification without a heartbeat, which is what the
// Test button sends: those give an empty batch with a Note. Errors are
// CodeInvalid and name the offending field.
func ParseUptimeKuma(body []byte) (Batch, error) {
	var m kumaMessage
	if err := decodeJSON(body, &m); err != nil {
		return Batch{}, escalation.Errorf(escalation.CodeInvalid, "%s", jsonProblem(err))
	}
	hb := m.Heartbeat
	if hb == nil {
		if strings.TrimSpace(m.Msg) == "" {
			return Batch{}, escalation.Errorf(escalation.CodeInvalid, "heartbeat: required")
		}
		return Batch{Alerts: []escalation.Alert{}, Note: "notification without a heartbeat (Uptime Kuma's Test button): nothing to page"}, nil
	}
	var out escalation.Alert
	switch {
	case hb.Status == nil:
		return Batch{}, escalation.Errorf(escalation.CodeInvalid, "heartbeat.status: required")
	case *hb.Status == kumaDown:
		out.State = escalation.AlertFiring
	case *hb.Status == kumaUp:
		out.State = escalation.AlertResolved
	case *hb.Status == kumaPending:
		return Batch{Alerts: []escalation.Alert{}, Note: "monitor pending (heartbeat status 2): nothing to page"}, nil
	case *hb.Status == kumaMaintenance:
		return Batch{Alerts: []escalation.Alert{}, Note: "monitor in maintenance (heartbeat status 3): nothing to page"}, nil
	default:
		return Batch{}, escalation.Errorf(escalation.CodeInvalid,
			"heartbeat.status: %d is not 0 (down), 1 (up), 2 (pending) or 3 (maintenance)", *hb.Status)
	}
	mon := m.Monitor
	if mon == nil {
		mon = &kumaMonitor{}
	}
	id := mon.ID
	if id == nil {
		id = hb.MonitorID
	}
	if id == nil {
		return Batch{}, escalation.Errorf(escalation.CodeInvalid, "monitor.id: required")
	}
	// The monitor id, not its name, is stable across down and up and
	// across renames.
	monitorID := strconv.FormatInt(*id, 10)
	out.DedupKey = "uptime-kuma/" + monitorID

	name := strings.TrimSpace(mon.Name)
	if name == "" {
		name = "Uptime Kuma monitor " + monitorID
	}
	out.Summary = name + " is down"
	if out.State == escalation.AlertResolved {
		out.Summary = name + " is up"
	}
	reason := strings.TrimSpace(hb.Msg)
	if reason == "" {
		reason = strings.TrimSpace(m.Msg)
	}
	if reason != "" {
		out.Summary += ": " + reason
	}
	out.Details = strings.TrimSpace(mon.Description)

	at := kumaTime(hb.Time)
	if out.State == escalation.AlertFiring {
		out.StartsAt = at
	} else {
		out.StartsAt, out.EndsAt = kumaTime(hb.LastDownTime), at
	}

	out.Labels = map[string]string{"monitor_id": monitorID}
	if mon.Name != "" {
		out.Labels["monitor"] = name
	}
	if t := strings.TrimSpace(mon.Type); t != "" {
		out.Labels["monitor_type"] = t
	}
	for _, t := range mon.Tags {
		k, v := strings.TrimSpace(t.Name), strings.TrimSpace(t.Value)
		if _, taken := out.Labels[k]; k != "" && v != "" && !taken {
			out.Labels[k] = v
		}
	}

	// Monitors that are not HTTP keep Kuma's placeholder URL "https://",
	// which webLink drops for want of a host.
	target, isWeb := webLink(withoutUserinfo(mon.URL), "Monitored URL")
	out.Source = strings.TrimSpace(mon.Hostname)
	if out.Source == "" && isWeb {
		out.Source = target.Href
	}
	if isWeb {
		out.Links = []escalation.Link{target}
	}
	return Batch{Alerts: []escalation.Alert{out}}, nil
}

// kumaTime parses a heartbeat time, which Kuma writes in UTC without a zone
// ("2026-11-21 11:33:42.658"). An unreadable time is dropped, not rejected:
// it is informational, and a 400 would lose the page.
func kumaTime(s string) time.Time {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}
	}
	for _, layout := range [...]string{"2006-01-02 15:04:05", time.RFC3339Nano, "2006-01-02T15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}

// withoutUserinfo drops user:password@ from a URL: a monitored URL may embed
// credentials, and links end up in pages and chat.
func withoutUserinfo(href string) string {
	u, err := url.Parse(strings.TrimSpace(href))
	if err != nil || u.User == nil {
		return href
	}
	u.User = nil
	return u.String()
}

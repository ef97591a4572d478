package status

import (
	"crypto/sha256"
	"encoding/base32"
	"strings"
	"time"

	"github.com/klaxonhq/klaxon/escalation"
)

// The Statuspage-compatible summary (GET /api/v2/summary.json) lets the
// widgets, aggregators and bots that read Atlassian Statuspage read Klaxon
// too. Like Statuspage's, it lists only the unresolved incidents. Fields
// Klaxon has no notion of are present with Statuspage's empty values
// (null, false), so clients find every key they expect.

type spSummary struct {
	Page                  spPage        `json:"page"`
	Status                spStatus      `json:"status"`
	Components            []spComponent `json:"components"`
	Incidents             []spIncident  `json:"incidents"`
	ScheduledMaintenances []spIncident  `json:"scheduled_maintenances"`
}

type spPage struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	URL       string `json:"url"`
	TimeZone  string `json:"time_zone"`
	UpdatedAt spTime `json:"updated_at"`
}

type spStatus struct {
	Indicator   string `json:"indicator"`
	Description string `json:"description"`
}

type spComponent struct {
	ID                 string          `json:"id"`
	Name               string          `json:"name"`
	Status             ComponentStatus `json:"status"`
	CreatedAt          *spTime         `json:"created_at"`
	UpdatedAt          *spTime         `json:"updated_at"`
	Position           int             `json:"position"`
	Description        *string         `json:"description"`
	Showcase           bool            `json:"showcase"`
	StartDate          *string         `json:"start_date"`
	GroupID            *string         `json:"group_id"`
	PageID             string          `json:"page_id"`
	Group              bool            `json:"group"`
	OnlyShowIfDegraded bool            `json:"only_show_if_degraded"`
	// Components are a group's members; only groups have the key.
	Components []string `json:"components,omitempty"`
}

type spIncident struct {
	ID              string                  `json:"id"`
	Name            string                  `json:"name"`
	Status          escalation.PublicStatus `json:"status"`
	CreatedAt       spTime                  `json:"created_at"`
	UpdatedAt       spTime                  `json:"updated_at"`
	MonitoringAt    *spTime                 `json:"monitoring_at"`
	ResolvedAt      *spTime                 `json:"resolved_at"`
	Impact          string                  `json:"impact"`
	Shortlink       *string                 `json:"shortlink"`
	StartedAt       spTime                  `json:"started_at"`
	PageID          string                  `json:"page_id"`
	IncidentUpdates []spUpdate              `json:"incident_updates"`
	Components      []spIncidentComponent   `json:"components"`
}

type spUpdate struct {
	ID         string                  `json:"id"`
	Status     escalation.PublicStatus `json:"status"`
	Body       string                  `json:"body"`
	IncidentID string                  `json:"incident_id"`
	CreatedAt  spTime                  `json:"created_at"`
	UpdatedAt  spTime                  `json:"updated_at"`
	DisplayAt  spTime                  `json:"display_at"`
	// AffectedComponents lists component transitions an update made;
	// Klaxon records none per update, and Statuspage writes null then too.
	AffectedComponents   []spTransition `json:"affected_components"`
	DeliverNotifications bool           `json:"deliver_notifications"`
}

type spTransition struct {
	Code      string          `json:"code"`
	Name      string          `json:"name"`
	OldStatus ComponentStatus `json:"old_status"`
	NewStatus ComponentStatus `json:"new_status"`
}

type spIncidentComponent struct {
	ID     string          `json:"id"`
	Name   string          `json:"name"`
	Status ComponentStatus `json:"status"`
}

// spTime is written the way Statuspage writes times: UTC, milliseconds.
type spTime time.Time

func (t spTime) MarshalText() ([]byte, error) {
	return []byte(time.Time(t).UTC().Format("2006-01-02T15:04:05.000Z07:00")), nil
}

func (t *spTime) UnmarshalText(b []byte) error {
	v, err := time.Parse(time.RFC3339, string(b))
	*t = spTime(v)
	return err
}

func spTimeOrNil(t time.Time) *spTime {
	if t.IsZero() {
		return nil
	}
	v := spTime(t)
	return &v
}

// spID is a stable Statuspage-style id (12 lowercase letters and digits) for
// things Klaxon has no id for: the page itself and component groups.
func spID(parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return strings.ToLower(base32.StdEncoding.EncodeToString(sum[:]))[:12]
}

func (m *model) statuspage() ([]byte, error) {
	pageID := spID("page", m.page.URL, m.page.Name)
	indicator, description := m.overall.indicator()
	s := spSummary{
		Page: spPage{
			ID:        pageID,
			Name:      m.page.Name,
			URL:       m.page.URL,
			TimeZone:  m.loc.String(),
			UpdatedAt: spTime(m.generated),
		},
		Status:                spStatus{Indicator: indicator, Description: description},
		Components:            []spComponent{},
		Incidents:             []spIncident{},
		ScheduledMaintenances: []spIncident{},
	}
	if s.Page.TimeZone == "UTC" {
		s.Page.TimeZone = "Etc/UTC" // Statuspage's spelling
	}
	component := func(id, name string, st ComponentStatus, updated time.Time, groupID *string) spComponent {
		return spComponent{
			ID: id, Name: name, Status: st, UpdatedAt: spTimeOrNil(updated),
			Position: len(s.Components) + 1, Showcase: true, GroupID: groupID, PageID: pageID,
		}
	}
	for _, g := range m.groups() {
		if g.Name == "" {
			for _, c := range g.Components {
				s.Components = append(s.Components, component(c.ID, c.Name, c.Status, c.UpdatedAt, nil))
			}
			continue
		}
		// Statuspage lists a group as a component of its own, followed by
		// its members pointing back at it.
		gid := spID("group", g.Name)
		var latest time.Time
		for _, c := range g.Components {
			if c.UpdatedAt.After(latest) {
				latest = c.UpdatedAt
			}
		}
		gc := component(gid, g.Name, g.Status, latest, nil)
		gc.Group = true
		at := len(s.Components)
		s.Components = append(s.Components, gc)
		for _, c := range g.Components {
			s.Components[at].Components = append(s.Components[at].Components, c.ID)
			s.Components = append(s.Components, component(c.ID, c.Name, c.Status, c.UpdatedAt, &gid))
		}
	}
	for _, inc := range m.openIncidents() {
		si := spIncident{
			ID:              inc.ID,
			Name:            inc.Title,
			Status:          inc.Status,
			CreatedAt:       spTime(inc.StartedAt),
			UpdatedAt:       spTime(inc.UpdatedAt),
			MonitoringAt:    spTimeOrNil(monitoringSince(inc)),
			ResolvedAt:      spTimeOrNil(inc.ResolvedAt),
			Impact:          inc.Impact,
			StartedAt:       spTime(inc.StartedAt),
			PageID:          pageID,
			IncidentUpdates: []spUpdate{},
			Components:      []spIncidentComponent{},
		}
		if link := m.absolute("#" + incidentAnchor(inc.ID)); link != "" {
			si.Shortlink = &link
		}
		for _, u := range inc.Updates {
			si.IncidentUpdates = append(si.IncidentUpdates, spUpdate{
				ID: u.ID, Status: u.Status, Body: u.Message, IncidentID: inc.ID,
				CreatedAt: spTime(u.At), UpdatedAt: spTime(u.At), DisplayAt: spTime(u.At),
				DeliverNotifications: true,
			})
		}
		for _, id := range inc.Components {
			if c, ok := m.byID[id]; ok {
				si.Components = append(si.Components, spIncidentComponent{ID: c.ID, Name: c.Name, Status: c.Status})
			}
		}
		s.Incidents = append(s.Incidents, si)
	}
	return encodeJSON(s)
}

// monitoringSince is when the incident last moved to monitoring and has
// stayed there or beyond: Statuspage's monitoring_at. Zero if it never did.
func monitoringSince(inc Incident) time.Time {
	var at time.Time
	for _, u := range inc.Updates { // newest first
		switch u.Status {
		case escalation.PublicMonitoring:
			at = u.At
		case escalation.PublicResolved:
			continue
		default:
			return at
		}
	}
	return at
}

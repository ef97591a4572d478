// Package status renders Klaxon's public status page from a snapshot of what
// responders published: an HTML page that reads without JavaScript, Klaxon's
// own JSON, an Atom feed of updates and a Statuspage-compatible summary. It
// serves them over HTTP and exports them as static files, so the page can be
// hosted apart from the infrastructure it reports on.
//
// The package never sees alert labels or internal notes: a Snapshot holds
// only public titles, statuses and messages.
package status

import (
	"fmt"
	"slices"
	"time"

	"github.com/klaxonhq/klaxon/escalation"
)

// Snapshot is everything one rendering of the status page shows.
type Snapshot struct {
	Page       Page
	Components []Component
	// Incidents are the public incidents; the page shows the open ones and
	// those of the last 90 days.
	Incidents []Incident
	// Generated is when the snapshot was taken: the page's "now".
	Generated time.Time
}

// Page describes the status page itself.
type Page struct {
	Name string `json:"name"`
	// URL is the public address of the HTML page; the feed's and the
	// summary's links resolve against it as a browser would. Optional.
	URL string `json:"url,omitempty"`
	// TimeZone (IANA) sets the day boundaries of the 90-day history; UTC
	// when empty.
	TimeZone string `json:"time_zone,omitempty"`
}

// ComponentStatus is how a component is doing, in Statuspage's words.
type ComponentStatus string

// Component statuses, from best to worst; the zero value reads as operational.
const (
	Operational         ComponentStatus = "operational"
	UnderMaintenance    ComponentStatus = "under_maintenance"
	DegradedPerformance ComponentStatus = "degraded_performance"
	PartialOutage       ComponentStatus = "partial_outage"
	MajorOutage         ComponentStatus = "major_outage"
)

// Component is a part of the service customers know by name.
type Component struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// Group gathers components under one heading; empty stands alone.
	Group     string          `json:"group,omitempty"`
	Status    ComponentStatus `json:"status"`
	UpdatedAt time.Time       `json:"updated_at,omitzero"`
}

// Incident impacts, as Statuspage names them; an empty impact reads as none.
const (
	ImpactNone     = "none"
	ImpactMinor    = "minor"
	ImpactMajor    = "major"
	ImpactCritical = "critical"
)

// Incident is one public incident.
type Incident struct {
	ID     string                  `json:"id"`
	Title  string                  `json:"title"`
	Status escalation.PublicStatus `json:"status"`
	// Impact is none, minor, major or critical.
	Impact     string    `json:"impact"`
	StartedAt  time.Time `json:"started_at"`
	UpdatedAt  time.Time `json:"updated_at"`
	ResolvedAt time.Time `json:"resolved_at,omitzero"`
	// Components are the ids of the components it affects.
	Components []string `json:"components"`
	// Updates are newest first.
	Updates []Update `json:"updates"`
}

// Update is one public update of an incident.
type Update struct {
	ID      string                  `json:"id"`
	Status  escalation.PublicStatus `json:"status"`
	Message string                  `json:"message"`
	At      time.Time               `json:"at"`
}

// severity orders component statuses; a higher one is worse.
func (s ComponentStatus) severity() (int, error) {
	switch s {
	case Operational, "":
		return 0, nil
	case UnderMaintenance:
		return 1, nil
	case DegradedPerformance:
		return 2, nil
	case PartialOutage:
		return 3, nil
	case MajorOutage:
		return 4, nil
	}
	return 0, fmt.Errorf("component status %q: want operational, degraded_performance, partial_outage, major_outage or under_maintenance", string(s))
}

func (s ComponentStatus) normal() ComponentStatus {
	if s == "" {
		return Operational
	}
	return s
}

// worse reports whether s is worse than t; both must be valid.
func (s ComponentStatus) worse(t ComponentStatus) bool {
	a, _ := s.severity()
	b, _ := t.severity()
	return a > b
}

// impactLevel orders impacts: 0 none, 1 minor, 2 major, 3 critical.
func impactLevel(impact string) (int, error) {
	switch impact {
	case ImpactNone, "":
		return 0, nil
	case ImpactMinor:
		return 1, nil
	case ImpactMajor:
		return 2, nil
	case ImpactCritical:
		return 3, nil
	}
	return 0, fmt.Errorf("impact %q: want none, minor, major or critical", impact)
}

// impactStatus is what an open incident of the impact makes of a component.
func impactStatus(level int) ComponentStatus {
	switch level {
	case 1:
		return DegradedPerformance
	case 2:
		return PartialOutage
	case 3:
		return MajorOutage
	}
	return Operational
}

// open reports whether the incident is still being worked on.
func (inc Incident) open() bool { return inc.Status != escalation.PublicResolved }

// DeriveComponentStatus is the status of a component from the open public
// incidents affecting it: the worst impact wins (minor → degraded
// performance, major → partial outage, critical → major outage). A component
// in maintenance shows under_maintenance unless an open incident makes it
// worse: responders who publish an incident mean customers to see it.
// Incidents with an unknown impact count as none.
func DeriveComponentStatus(componentID string, inMaintenance bool, incidents []Incident) ComponentStatus {
	worst := 0
	for _, inc := range incidents {
		if !inc.open() || !slices.Contains(inc.Components, componentID) {
			continue
		}
		if l, err := impactLevel(inc.Impact); err == nil && l > worst {
			worst = l
		}
	}
	if worst == 0 && inMaintenance {
		return UnderMaintenance
	}
	return impactStatus(worst)
}

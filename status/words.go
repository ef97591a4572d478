package status

import (
	"strings"

	"github.com/klaxonhq/klaxon/escalation"
)

// label is how the page names a component status.
func (s ComponentStatus) label() string {
	switch s.normal() {
	case UnderMaintenance:
		return "Under maintenance"
	case DegradedPerformance:
		return "Degraded performance"
	case PartialOutage:
		return "Partial outage"
	case MajorOutage:
		return "Major outage"
	}
	return "Operational"
}

// banner is the page's one-line answer to "is it working?".
func (s ComponentStatus) banner() string {
	if s.normal() == Operational {
		return "All systems operational"
	}
	return s.label()
}

// indicator is Statuspage's overall status: its indicator and description.
func (s ComponentStatus) indicator() (indicator, description string) {
	switch s.normal() {
	case UnderMaintenance:
		return "maintenance", "Service Under Maintenance"
	case DegradedPerformance:
		return "minor", "Partially Degraded Service"
	case PartialOutage:
		return "major", "Partial System Outage"
	case MajorOutage:
		return "critical", "Major System Outage"
	}
	return "none", "All Systems Operational"
}

// publicLabel is a public status as a heading: "Investigating".
func publicLabel(s escalation.PublicStatus) string {
	if s == "" {
		return ""
	}
	return strings.ToUpper(string(s[:1])) + string(s[1:])
}

// impactLabel names an incident's impact.
func impactLabel(impact string) string {
	switch impact {
	case ImpactMinor:
		return "Minor impact"
	case ImpactMajor:
		return "Major impact"
	case ImpactCritical:
		return "Critical impact"
	}
	return "No impact"
}

// day describes a history day of the given level (0 no incident, 1 +
// impact level otherwise): the cell's colour class and its words.
func day(level int8) (class, words string) {
	switch level {
	case 1:
		return "none", "incident without impact"
	case 2:
		return "minor", "minor impact"
	case 3:
		return "major", "major impact"
	case 4:
		return "critical", "critical impact"
	}
	return "", "no incidents"
}

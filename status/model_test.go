package status

import (
	"strings"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/escalation"
)

func TestDeriveComponentStatus(t *testing.T) {
	open := func(impact string, components ...string) Incident {
		return Incident{Status: escalation.PublicIdentified, Impact: impact, Components: components}
	}
	resolved := func(impact string, components ...string) Incident {
		return Incident{Status: escalation.PublicResolved, Impact: impact, Components: components}
	}
	for _, tt := range []struct {
		name        string
		maintenance bool
		incidents   []Incident
		want        ComponentStatus
	}{
		{"no incidents", false, nil, Operational},
		{"an open minor incident", false, []Incident{open(ImpactMinor, "api")}, DegradedPerformance},
		{"an open major incident", false, []Incident{open(ImpactMajor, "api", "docs")}, PartialOutage},
		{"an open critical incident", false, []Incident{open(ImpactCritical, "api")}, MajorOutage},
		{"an open incident without impact", false, []Incident{open(ImpactNone, "api")}, Operational},
		{"the worst of several wins", false, []Incident{open(ImpactMinor, "api"), open(ImpactCritical, "api"), open(ImpactMajor, "api")}, MajorOutage},
		{"resolved incidents no longer count", false, []Incident{resolved(ImpactCritical, "api"), open(ImpactMinor, "api")}, DegradedPerformance},
		{"incidents elsewhere do not count", false, []Incident{open(ImpactCritical, "docs")}, Operational},
		{"maintenance", true, nil, UnderMaintenance},
		{"maintenance with an incident without impact", true, []Incident{open(ImpactNone, "api")}, UnderMaintenance},
		{"an incident during maintenance shows", true, []Incident{open(ImpactMajor, "api")}, PartialOutage},
		{"an unknown impact counts as none", false, []Incident{open("catastrophic", "api")}, Operational},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := DeriveComponentStatus("api", tt.maintenance, tt.incidents); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestHistoryMarksEachDayAnIncidentTouched(t *testing.T) {
	snap := ipv4Outage()
	snap.Incidents = []Incident{
		{ID: "overnight", Status: escalation.PublicResolved, Impact: ImpactMinor, Components: []string{"docs"},
			StartedAt: at("2025-07-01T22:00:00Z"), ResolvedAt: at("2025-07-02T03:00:00Z")},
		{ID: "same day, worse", Status: escalation.PublicResolved, Impact: ImpactCritical, Components: []string{"docs"},
			StartedAt: at("2025-07-02T10:00:00Z"), ResolvedAt: at("2025-07-02T10:30:00Z")},
		{ID: "began before the window", Status: escalation.PublicResolved, Impact: ImpactMajor, Components: []string{"api"},
			StartedAt: at("2025-04-01T00:00:00Z"), ResolvedAt: at("2025-04-12T12:00:00Z")},
		{ID: "long over", Status: escalation.PublicResolved, Impact: ImpactCritical, Components: []string{"api"},
			StartedAt: at("2025-03-01T00:00:00Z"), ResolvedAt: at("2025-03-02T00:00:00Z")},
		{ID: "still open", Status: escalation.PublicMonitoring, Impact: ImpactNone, Components: []string{"sms"},
			StartedAt: at("2025-07-08T23:59:00Z")},
	}
	m := mustModel(t, snap)
	if got := m.days[0].Format(time.DateOnly); got != "2025-04-11" {
		t.Fatalf("the history starts on %s, want 2025-04-11 (90 days ending on the snapshot's day)", got)
	}
	want := map[string]map[string]int8{
		"docs": {"2025-07-01": 2, "2025-07-02": 4},
		"api":  {"2025-04-11": 3, "2025-04-12": 3},
		"sms":  {"2025-07-08": 1, "2025-07-09": 1},
	}
	for id, h := range m.history {
		for i, level := range h {
			if day := m.days[i].Format(time.DateOnly); level != want[id][day] {
				t.Errorf("%s on %s: level %d, want %d", id, day, level, want[id][day])
			}
		}
	}
}

func TestHistoryDaysFollowThePageTimeZone(t *testing.T) {
	snap := ipv4Outage()
	snap.Page.TimeZone = "America/Los_Angeles"
	// 03:00 UTC on 2 July is still 1 July in Los Angeles.
	snap.Incidents = []Incident{{ID: "1", Status: escalation.PublicResolved, Impact: ImpactMajor, Components: []string{"docs"},
		StartedAt: at("2025-07-02T03:00:00Z"), ResolvedAt: at("2025-07-02T04:00:00Z")}}
	m := mustModel(t, snap)
	h := m.history["docs"]
	for i, level := range h {
		if day := m.days[i].Format(time.DateOnly); (level != 0) != (day == "2025-07-01") {
			t.Errorf("%s: level %d; only 2025-07-01 (Los Angeles) should be marked", day, level)
		}
	}
	// Across the DST change of 9 March the days stay calendar days.
	snap.Generated = at("2025-04-01T12:00:00Z")
	m = mustModel(t, snap)
	for i := range historyDays {
		if h := m.days[i].Hour(); h != 0 {
			t.Errorf("day %d starts at %02d:00, want midnight", i, h)
		}
	}
}

func TestIncidentsOfTheLast90Days(t *testing.T) {
	snap := ipv4Outage()
	resolvedOn := func(id, day string) Incident {
		end := at(day + "T12:00:00Z")
		return Incident{ID: id, Title: id, Status: escalation.PublicResolved, StartedAt: end.Add(-time.Hour), UpdatedAt: end, ResolvedAt: end}
	}
	snap.Incidents = []Incident{
		resolvedOn("ended 100 days ago", "2025-03-31"),
		resolvedOn("ended on the window's first day", "2025-04-11"),
		{ID: "open for half a year", Title: "x", Status: escalation.PublicMonitoring, StartedAt: at("2025-01-01T00:00:00Z"), UpdatedAt: at("2025-01-02T00:00:00Z")},
		resolvedOn("ended yesterday", "2025-07-08"),
		{ID: "updates out of order", Status: escalation.PublicIdentified, StartedAt: at("2025-07-09T09:00:00Z"), Updates: []Update{
			{ID: "a", Status: escalation.PublicInvestigating, At: at("2025-07-09T09:00:00Z")},
			{ID: "c", Status: escalation.PublicIdentified, At: at("2025-07-09T11:00:00Z")},
			{ID: "b", Status: escalation.PublicInvestigating, At: at("2025-07-09T10:00:00Z")},
		}},
	}
	m := mustModel(t, snap)
	var ids []string
	for _, inc := range m.incidents {
		ids = append(ids, inc.ID)
	}
	if got, want := strings.Join(ids, "|"), "updates out of order|ended yesterday|ended on the window's first day|open for half a year"; got != want {
		t.Errorf("incidents %s, want %s (newest first)", got, want)
	}
	if u := m.incidents[0].Updates; u[0].ID != "c" || u[1].ID != "b" || u[2].ID != "a" {
		t.Errorf("updates %v, want newest first", u)
	}
	if snap.Incidents[4].Updates[1].ID != "c" {
		t.Error("sorting the updates changed the caller's snapshot")
	}
}

func TestOverallStatusIsTheWorst(t *testing.T) {
	snap := ipv4Outage()
	snap.Components[1].Status = UnderMaintenance
	if got := mustModel(t, snap).overall; got != PartialOutage {
		t.Errorf("overall %s, want the API's partial outage over the dashboard's maintenance", got)
	}
	// An open incident counts even when it names no component.
	snap.Incidents = append(snap.Incidents, Incident{ID: "9", Status: escalation.PublicInvestigating, Impact: ImpactCritical, StartedAt: snap.Generated})
	if got := mustModel(t, snap).overall; got != MajorOutage {
		t.Errorf("overall %s, want major_outage from the open critical incident", got)
	}
	snap.Incidents[2].Status = escalation.PublicResolved
	if got := mustModel(t, snap).overall; got != PartialOutage {
		t.Errorf("overall %s, want partial_outage once the critical incident is resolved", got)
	}
}

func TestSnapshotsThePageCannotShow(t *testing.T) {
	for _, tt := range []struct {
		name   string
		change func(*Snapshot)
		want   string
	}{
		{"no page name", func(s *Snapshot) { s.Page.Name = " " }, "needs a name"},
		{"no time", func(s *Snapshot) { s.Generated = time.Time{} }, "no generation time"},
		{"unknown time zone", func(s *Snapshot) { s.Page.TimeZone = "Mars/Olympus_Mons" }, "time zone"},
		{"relative URL", func(s *Snapshot) { s.Page.URL = "status.example.com" }, "absolute"},
		{"not a web URL", func(s *Snapshot) { s.Page.URL = "ftp://status.example.com/" }, "absolute http(s) URL"},
		{"unknown component status", func(s *Snapshot) { s.Components[0].Status = "on_fire" }, `component "api": component status "on_fire"`},
		{"component twice", func(s *Snapshot) { s.Components[1].ID = "api" }, `"api" appears twice`},
		{"unknown impact", func(s *Snapshot) { s.Incidents[0].Impact = "huge" }, `incident "41": impact "huge"`},
		{"unknown incident status", func(s *Snapshot) { s.Incidents[0].Status = "postmortem" }, `incident "41": status "postmortem"`},
		{"unknown update status", func(s *Snapshot) { s.Incidents[1].Updates[0].Status = "" }, `incident "42", update "7"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			snap := ipv4Outage()
			tt.change(&snap)
			_, err := newModel(snap)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one about %s", err, tt.want)
			}
		})
	}
}

func TestZeroValuesReadAsTheDefaults(t *testing.T) {
	snap := ipv4Outage()
	snap.Components[0].Status = ""
	snap.Incidents[1].Impact = ""
	m := mustModel(t, snap)
	if m.components[0].Status != Operational || m.incidents[0].Impact != ImpactNone || m.overall != Operational {
		t.Errorf("status %q, impact %q, overall %q; want operational, none, operational",
			m.components[0].Status, m.incidents[0].Impact, m.overall)
	}
}

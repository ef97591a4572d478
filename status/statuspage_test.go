package status

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"slices"
	"testing"

	"github.com/klaxonhq/klaxon/escalation"
)

func summaryOf(t *testing.T, snap Snapshot) []byte {
	t.Helper()
	b, err := mustModel(t, snap).statuspage()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSummaryHasStatuspagesShape(t *testing.T) {
	fixture, err := os.ReadFile("testdata/statuspage_summary_v2.constructed.json")
	if err != nil {
		t.Fatal(err)
	}
	ours := summaryOf(t, ipv4Outage())

	// Both decode into the same struct, which knows every key of the fixture.
	for name, doc := range map[string][]byte{"fixture": fixture, "summary": ours} {
		dec := json.NewDecoder(bytes.NewReader(doc))
		dec.DisallowUnknownFields()
		var s spSummary
		if err := dec.Decode(&s); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	// And every object has the keys of its counterpart in the fixture.
	var want, got any
	if err := json.Unmarshal(fixture, &want); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(ours, &got); err != nil {
		t.Fatal(err)
	}
	sameKeys(t, "summary", want, got)
}

// sameKeys checks that got has the keys of want, object by object; each
// element of a list is held to the fixture's first element.
func sameKeys(t *testing.T, path string, want, got any) {
	t.Helper()
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			t.Errorf("%s: %T, want an object", path, got)
			return
		}
		gotKeys := slices.Sorted(maps.Keys(g))
		if g["group"] == true { // Statuspage lists a group's members on it
			gotKeys = slices.DeleteFunc(gotKeys, func(k string) bool { return k == "components" })
		}
		if wantKeys := slices.Sorted(maps.Keys(w)); !slices.Equal(gotKeys, wantKeys) {
			t.Errorf("%s: keys %q, want %q", path, gotKeys, wantKeys)
			return
		}
		for k, v := range w {
			if v != nil && g[k] != nil {
				sameKeys(t, path+"."+k, v, g[k])
			}
		}
	case []any:
		g, ok := got.([]any)
		switch {
		case !ok:
			t.Errorf("%s: %T, want a list", path, got)
		case len(w) > 0 && len(g) == 0:
			t.Errorf("%s: empty; the comparison needs at least one element", path)
		case len(w) > 0:
			for i, e := range g {
				sameKeys(t, fmt.Sprintf("%s[%d]", path, i), w[0], e)
			}
		}
	}
}

func TestSummaryDuringIPv4Outage(t *testing.T) {
	var s spSummary
	if err := json.Unmarshal(summaryOf(t, ipv4Outage()), &s); err != nil {
		t.Fatal(err)
	}
	if s.Status != (spStatus{"major", "Partial System Outage"}) {
		t.Errorf("status %+v, want major: Partial System Outage", s.Status)
	}
	if s.Page.Name != "Example" || s.Page.TimeZone != "Etc/UTC" || len(s.Page.ID) != 12 {
		t.Errorf("page %+v", s.Page)
	}
	type row struct {
		id, name string
		status   ComponentStatus
		group    bool
		in       string
	}
	var rows []row
	groups := map[string]string{}
	for _, c := range s.Components {
		if c.Group {
			groups[c.ID] = c.Name
		}
	}
	for i, c := range s.Components {
		if c.Position != i+1 || c.PageID != s.Page.ID {
			t.Errorf("component %s: position %d, page %s", c.Name, c.Position, c.PageID)
		}
		r := row{id: c.ID, name: c.Name, status: c.Status, group: c.Group}
		if c.GroupID != nil {
			r.in = groups[*c.GroupID]
		}
		if c.Group {
			r.id = ""
		}
		rows = append(rows, r)
	}
	want := []row{
		{"", "Platform", PartialOutage, true, ""},
		{"api", "API", PartialOutage, false, "Platform"},
		{"dashboard", "Dashboard", Operational, false, "Platform"},
		{"docs", "Docs", Operational, false, ""},
		{"", "Notifications", Operational, true, ""},
		{"sms", "SMS notifications", Operational, false, "Notifications"},
	}
	if !slices.Equal(rows, want) {
		t.Errorf("components\n%v\nwant\n%v", rows, want)
	}
	if !slices.Equal(s.Components[0].Components, []string{"api", "dashboard"}) {
		t.Errorf("the Platform group lists %q", s.Components[0].Components)
	}

	if len(s.Incidents) != 1 {
		t.Fatalf("%d incidents; the summary lists only the unresolved one", len(s.Incidents))
	}
	inc := s.Incidents[0]
	if inc.ID != "42" || inc.Status != escalation.PublicIdentified || inc.Impact != ImpactMajor ||
		inc.ResolvedAt != nil || inc.MonitoringAt != nil || *inc.Shortlink != "https://status.example.com/#incident-42" {
		t.Errorf("incident %+v", inc)
	}
	if len(inc.IncidentUpdates) != 2 || inc.IncidentUpdates[0].ID != "7" || inc.IncidentUpdates[1].Body != "We are investigating connection timeouts over IPv4." {
		t.Errorf("updates %+v, want both, newest first", inc.IncidentUpdates)
	}
	if len(inc.Components) != 1 || inc.Components[0] != (spIncidentComponent{"api", "API", PartialOutage}) {
		t.Errorf("incident components %+v", inc.Components)
	}
}

func TestSummaryIndicator(t *testing.T) {
	for status, want := range map[ComponentStatus]spStatus{
		Operational:         {"none", "All Systems Operational"},
		UnderMaintenance:    {"maintenance", "Service Under Maintenance"},
		DegradedPerformance: {"minor", "Partially Degraded Service"},
		PartialOutage:       {"major", "Partial System Outage"},
		MajorOutage:         {"critical", "Major System Outage"},
	} {
		snap := ipv4Outage()
		snap.Incidents = nil
		snap.Components[0].Status = Operational
		snap.Components[2].Status = status
		var s spSummary
		if err := json.Unmarshal(summaryOf(t, snap), &s); err != nil {
			t.Fatal(err)
		}
		if s.Status != want || s.Components[3].Status != status {
			t.Errorf("docs %s: status %+v, want %+v", status, s.Status, want)
		}
	}
}

func TestSummaryMonitoringSince(t *testing.T) {
	u := func(s escalation.PublicStatus, when string) Update { return Update{Status: s, At: at(when)} }
	inc := Incident{Updates: []Update{ // newest first
		u(escalation.PublicMonitoring, "2025-07-09T14:00:00Z"),
		u(escalation.PublicMonitoring, "2025-07-09T13:30:00Z"),
		u(escalation.PublicIdentified, "2025-07-09T13:00:00Z"),
		u(escalation.PublicMonitoring, "2025-07-09T12:00:00Z"),
	}}
	if got := monitoringSince(inc); !got.Equal(at("2025-07-09T13:30:00Z")) {
		t.Errorf("monitoring since %s, want 13:30, when the latest stretch of monitoring began", got)
	}
	inc.Updates = inc.Updates[2:]
	if got := monitoringSince(inc); !got.IsZero() {
		t.Errorf("monitoring since %s, want never: it went back to identified", got)
	}
}

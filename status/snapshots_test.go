package status

import (
	"fmt"
	"time"

	"github.com/klaxonhq/klaxon/escalation"
)

// The snapshots the tests render.

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// ipv4Outage is the page during the IPv4 routing outage: the API is partly
// down and its incident open; an SMS delay ten days ago is resolved.
func ipv4Outage() Snapshot {
	return Snapshot{
		Page: Page{Name: "Example", URL: "https://status.example.com/"},
		Components: []Component{
			{ID: "api", Name: "API", Group: "Platform", Status: PartialOutage, UpdatedAt: at("2025-07-09T12:35:00Z")},
			{ID: "dashboard", Name: "Dashboard", Group: "Platform", Status: Operational, UpdatedAt: at("2025-07-01T09:00:00Z")},
			{ID: "docs", Name: "Docs", Status: Operational, UpdatedAt: at("2025-07-01T09:00:00Z")},
			{ID: "sms", Name: "SMS notifications", Group: "Notifications", Status: Operational, UpdatedAt: at("2025-06-29T11:05:00Z")},
		},
		Incidents: []Incident{
			{
				ID: "41", Title: "Delayed SMS notifications", Status: escalation.PublicResolved, Impact: ImpactMinor,
				StartedAt: at("2025-06-29T09:40:00Z"), UpdatedAt: at("2025-06-29T11:05:00Z"), ResolvedAt: at("2025-06-29T11:05:00Z"),
				Components: []string{"sms"},
				Updates: []Update{
					{ID: "3", Status: escalation.PublicResolved, Message: "Messages are delivered on time again.", At: at("2025-06-29T11:05:00Z")},
					{ID: "1", Status: escalation.PublicInvestigating, Message: "Some SMS notifications arrive up to 20 minutes late.\nCalls are not affected.", At: at("2025-06-29T09:40:00Z")},
				},
			},
			{
				ID: "42", Title: "IPv4 traffic failing to reach some services", Status: escalation.PublicIdentified, Impact: ImpactMajor,
				StartedAt: at("2025-07-09T12:32:00Z"), UpdatedAt: at("2025-07-09T12:48:00Z"),
				Components: []string{"api"},
				Updates: []Update{
					{ID: "7", Status: escalation.PublicIdentified, Message: "Our hosting provider's upstream IPv4 routing is unstable. IPv6 is unaffected.", At: at("2025-07-09T12:48:00Z")},
					{ID: "5", Status: escalation.PublicInvestigating, Message: "We are investigating connection timeouts over IPv4.", At: at("2025-07-09T12:35:00Z")},
				},
			},
		},
		Generated: at("2025-07-09T14:18:02Z"),
	}
}

// busyQuarter is a large page: 20 components in four groups and an
// incident every three days for 90 days, each with three updates of
// realistic length, the latest still open.
func busyQuarter() Snapshot {
	now := at("2025-07-09T14:18:02Z")
	snap := Snapshot{Page: Page{Name: "Example Cloud", URL: "https://status.example.com/"}, Generated: now}
	groups := []string{"Platform", "Data", "Notifications", "Regions"}
	for i := range 20 {
		snap.Components = append(snap.Components, Component{
			ID: fmt.Sprintf("c%02d", i), Name: fmt.Sprintf("Component number %d", i+1), Group: groups[i%4],
			Status: Operational, UpdatedAt: now.Add(-time.Duration(i) * time.Hour),
		})
	}
	impacts := []string{ImpactMinor, ImpactMajor, ImpactMinor, ImpactCritical, ImpactNone}
	for i := range 30 {
		start := now.Add(-time.Duration(89-3*i) * 24 * time.Hour).Add(-3 * time.Hour)
		inc := Incident{
			ID: fmt.Sprintf("%d", 100+i), Title: fmt.Sprintf("Elevated error rates on component number %d", i%20+1),
			Status: escalation.PublicResolved, Impact: impacts[i%len(impacts)],
			StartedAt: start, UpdatedAt: start.Add(2 * time.Hour), ResolvedAt: start.Add(2 * time.Hour),
			Components: []string{fmt.Sprintf("c%02d", i%20), fmt.Sprintf("c%02d", (i+7)%20)},
			Updates: []Update{
				{ID: "3", Status: escalation.PublicResolved, Message: "This incident has been resolved. Error rates are back to normal and we are monitoring closely.", At: start.Add(2 * time.Hour)},
				{ID: "2", Status: escalation.PublicIdentified, Message: "We have identified a misbehaving load balancer and are shifting traffic away from it.", At: start.Add(40 * time.Minute)},
				{ID: "1", Status: escalation.PublicInvestigating, Message: "We are investigating elevated error rates affecting some requests. We will post an update within 30 minutes.", At: start},
			},
		}
		if i == 29 {
			inc.Status, inc.UpdatedAt, inc.ResolvedAt = escalation.PublicIdentified, start.Add(40*time.Minute), time.Time{}
			inc.Updates = inc.Updates[1:]
		}
		snap.Incidents = append(snap.Incidents, inc)
	}
	return snap
}

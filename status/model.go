package status

import (
	"cmp"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/klaxonhq/klaxon/escalation"
)

// historyDays is how far back the page, the feed and the history strips look.
const historyDays = 90

// model is a validated snapshot with what every output derives from it:
// the incidents in the window, the overall status and each component's
// history. It is built once per rendering and shared by all outputs.
type model struct {
	page      Page
	base      *url.URL // the page's URL, nil without one
	loc       *time.Location
	generated time.Time
	// components keep the snapshot's order, with statuses normalised.
	components []Component
	byID       map[string]Component
	// incidents are the open ones and those of the window, newest first,
	// each with its updates newest first.
	incidents []Incident
	overall   ComponentStatus
	// days are the starts of the history's days in loc, oldest first; the
	// last is today.
	days [historyDays]time.Time
	// history is each component's worst impact per day: 0 no incident,
	// 1 + impact level otherwise.
	history map[string]*[historyDays]int8
}

func newModel(snap Snapshot) (*model, error) {
	if strings.TrimSpace(snap.Page.Name) == "" {
		return nil, errors.New("status page: the page needs a name")
	}
	if snap.Generated.IsZero() {
		return nil, errors.New("status page: the snapshot has no generation time")
	}
	loc := time.UTC
	if snap.Page.TimeZone != "" {
		l, err := time.LoadLocation(snap.Page.TimeZone)
		if err != nil {
			return nil, fmt.Errorf("status page: time zone: %w", err)
		}
		loc = l
	}
	var base *url.URL
	if snap.Page.URL != "" {
		u, err := url.Parse(snap.Page.URL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return nil, fmt.Errorf("status page: URL %q: want an absolute http(s) URL", snap.Page.URL)
		}
		base = u
	}
	m := &model{
		base:      base,
		page:      snap.Page,
		loc:       loc,
		generated: snap.Generated.UTC(),
		byID:      make(map[string]Component, len(snap.Components)),
		history:   make(map[string]*[historyDays]int8, len(snap.Components)),
		overall:   Operational,
	}
	today := snap.Generated.In(loc)
	for i := range historyDays {
		m.days[i] = time.Date(today.Year(), today.Month(), today.Day()-(historyDays-1-i), 0, 0, 0, 0, loc)
	}

	for _, c := range snap.Components {
		if _, err := c.Status.severity(); err != nil {
			return nil, fmt.Errorf("status page: component %q: %w", c.ID, err)
		}
		if _, dup := m.byID[c.ID]; dup {
			return nil, fmt.Errorf("status page: component id %q appears twice", c.ID)
		}
		c.Status = c.Status.normal()
		m.components = append(m.components, c)
		m.byID[c.ID] = c
		m.history[c.ID] = new([historyDays]int8)
		if c.Status.worse(m.overall) {
			m.overall = c.Status
		}
	}

	windowStart := m.days[0]
	for _, inc := range snap.Incidents {
		level, err := impactLevel(inc.Impact)
		if err != nil {
			return nil, fmt.Errorf("status page: incident %q: %w", inc.ID, err)
		}
		if _, err := escalation.ParsePublicStatus(string(inc.Status)); err != nil {
			return nil, fmt.Errorf("status page: incident %q: %w", inc.ID, err)
		}
		for _, u := range inc.Updates {
			if _, err := escalation.ParsePublicStatus(string(u.Status)); err != nil {
				return nil, fmt.Errorf("status page: incident %q, update %q: %w", inc.ID, u.ID, err)
			}
		}
		if inc.Impact == "" {
			inc.Impact = ImpactNone
		}
		end := inc.end(m.generated)
		m.mark(inc, level, end)
		if inc.open() {
			if s := impactStatus(level); s.worse(m.overall) {
				m.overall = s
			}
		}
		if !inc.open() && end.Before(windowStart) {
			continue
		}
		inc.Updates = slices.Clone(inc.Updates)
		slices.SortStableFunc(inc.Updates, func(a, b Update) int { return b.At.Compare(a.At) })
		m.incidents = append(m.incidents, inc)
	}
	slices.SortStableFunc(m.incidents, func(a, b Incident) int {
		return cmp.Or(b.StartedAt.Compare(a.StartedAt), cmp.Compare(a.ID, b.ID))
	})
	return m, nil
}

// end is when the incident stopped affecting anything: its resolution, or
// now while it is open.
func (inc Incident) end(now time.Time) time.Time {
	switch {
	case !inc.ResolvedAt.IsZero():
		return inc.ResolvedAt
	case !inc.open():
		return inc.UpdatedAt
	}
	return now
}

// mark records the incident's impact on each day it overlaps, for each
// component it affects.
func (m *model) mark(inc Incident, level int, end time.Time) {
	if end.Before(inc.StartedAt) {
		end = inc.StartedAt
	}
	first, last := m.dayIndex(inc.StartedAt), m.dayIndex(end)
	if last < 0 || first >= historyDays {
		return
	}
	first, last = max(first, 0), min(last, historyDays-1)
	for _, id := range inc.Components {
		h := m.history[id]
		if h == nil {
			continue // a component no longer on the page
		}
		for d := first; d <= last; d++ {
			h[d] = max(h[d], int8(level+1))
		}
	}
}

// dayIndex is the index in days of the day holding t: negative before the
// window; the last day (today) holds everything from its start on.
func (m *model) dayIndex(t time.Time) int {
	if t.Before(m.days[0]) {
		return -1
	}
	i, found := slices.BinarySearchFunc(m.days[:], t, func(day, t time.Time) int { return day.Compare(t) })
	if found {
		return i
	}
	return i - 1
}

// openIncidents are the incidents still being worked on.
func (m *model) openIncidents() []Incident {
	var open []Incident
	for _, inc := range m.incidents {
		if inc.open() {
			open = append(open, inc)
		}
	}
	return open
}

// title is the page's heading: "Example status", or the name alone when it
// says so already ("Status", "Example Status").
func (m *model) title() string {
	name := strings.TrimSpace(m.page.Name)
	if strings.HasSuffix(strings.ToLower(name), "status") {
		return name
	}
	return name + " status"
}

// componentNames are the names of the incident's components on the page.
func (m *model) componentNames(inc Incident) []string {
	var names []string
	for _, id := range inc.Components {
		if c, ok := m.byID[id]; ok {
			names = append(names, c.Name)
		}
	}
	return names
}

// group is one heading of the page: a named group of components, or a
// component standing alone (empty Name).
type group struct {
	Name       string
	Status     ComponentStatus
	Components []Component
}

// groups gathers the components under their groups, in the order each group
// first appears.
func (m *model) groups() []group {
	var gs []group
	at := map[string]int{}
	for _, c := range m.components {
		i, ok := at[c.Group]
		if c.Group == "" || !ok {
			i = len(gs)
			gs = append(gs, group{Name: c.Group, Status: Operational})
			if c.Group != "" {
				at[c.Group] = i
			}
		}
		gs[i].Components = append(gs[i].Components, c)
		if c.Status.worse(gs[i].Status) {
			gs[i].Status = c.Status
		}
	}
	return gs
}

// absolute resolves a link of the page against its URL, as a browser would;
// empty when the page has no URL.
func (m *model) absolute(ref string) string {
	if m.base == nil {
		return ""
	}
	r, err := url.Parse(ref)
	if err != nil {
		return "" // refs are built by this package from escaped ids
	}
	return m.base.ResolveReference(r).String()
}

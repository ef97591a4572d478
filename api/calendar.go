package api

import (
	"bytes"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/klaxonhq/klaxon/escalation"
	"github.com/klaxonhq/klaxon/escalation/oncall"
	"github.com/klaxonhq/klaxon/internal/ical"
	"github.com/klaxonhq/klaxon/internal/web"
)

// A feed shows recent past shifts (so "who had it last night" is there) and
// the coming ones; calendar apps poll it every hour.
const (
	calendarPast    = 14 * 24 * time.Hour
	calendarAhead   = 90 * 24 * time.Hour
	calendarRefresh = time.Hour
	// calendarMargin is read beyond both ends, so that the shifts that
	// cross them are shown whole: an event cut at "now - 14 days" would
	// start somewhere else, under another UID, at every poll.
	calendarMargin = 31 * 24 * time.Hour
)

// feedSpans are the schedule's shifts that overlap the feed's window,
// whole (unless a shift outlasts the margin).
func feedSpans(s *oncall.Schedule, now time.Time) []oncall.Span {
	from, to := now.Add(-calendarPast), now.Add(calendarAhead)
	var out []oncall.Span
	for _, sp := range s.Timeline(from.Add(-calendarMargin), to.Add(calendarMargin)) {
		if sp.Person != "" && sp.To.After(from) && sp.From.Before(to) {
			out = append(out, sp)
		}
	}
	return out
}

// calendarAuth accepts an API bearer token or, since calendar apps cannot
// send headers, the calendar token in ?token=. The calendar token opens the
// feeds and nothing else.
func (h *Handler) calendarAuth(next authedFunc) http.Handler {
	api := h.auth(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query().Get("token")
		if q == "" || web.BearerToken(r) != "" {
			api.ServeHTTP(w, r)
			return
		}
		if h.calToken == "" || !web.TokenEqual(q, h.calToken) {
			web.Error(w, r, h.log, escalation.Errorf(escalation.CodeUnauthorized, "invalid calendar token"))
			return
		}
		next(w, r, "calendar")
	})
}

// icsName reads "{name}.ics" from the path; other names are not found.
func icsName(r *http.Request) (string, error) {
	file := r.PathValue("file")
	name, ok := strings.CutSuffix(file, ".ics")
	if !ok || name == "" {
		return "", escalation.Errorf(escalation.CodeNotFound, "no such resource %q (calendar feeds end in .ics)", file)
	}
	return name, nil
}

// scheduleCalendar serves GET /api/v1/schedules/{name}.ics: every shift of
// the schedule, stored overrides included.
func (h *Handler) scheduleCalendar(w http.ResponseWriter, r *http.Request, _ string) {
	name, err := icsName(r)
	if err != nil {
		web.Error(w, r, h.log, err)
		return
	}
	s, err := h.eng.Schedule(r.Context(), name)
	if err != nil {
		web.Error(w, r, h.log, err)
		return
	}
	now := h.clock.Now()
	cal := ical.Calendar{Name: "On call: " + name, Refresh: calendarRefresh,
		Description: fmt.Sprintf("Who is on call for %s (%s)", name, s.Location)}
	for _, sp := range feedSpans(s, now) {
		cal.Events = append(cal.Events, shiftEvent(name, s, sp, sp.Person+" on call ("+name+")"))
	}
	h.writeCalendar(w, r, cal, now)
}

// personCalendar serves GET /api/v1/people/{name}.ics: the person's shifts
// across every schedule.
func (h *Handler) personCalendar(w http.ResponseWriter, r *http.Request, _ string) {
	person, err := icsName(r)
	if err != nil {
		web.Error(w, r, h.log, err)
		return
	}
	if _, ok := h.cat.People[person]; !ok {
		web.Error(w, r, h.log, escalation.Errorf(escalation.CodeNotFound, "unknown person %q", person))
		return
	}
	now := h.clock.Now()
	cal := ical.Calendar{Name: "On call: " + person, Refresh: calendarRefresh,
		Description: fmt.Sprintf("When %s is on call", person)}
	for _, name := range slices.Sorted(maps.Keys(h.cat.Schedules)) {
		s, err := h.eng.Schedule(r.Context(), name)
		if err != nil {
			web.Error(w, r, h.log, err)
			return
		}
		for _, sp := range feedSpans(s, now) {
			if sp.Person == person {
				cal.Events = append(cal.Events, shiftEvent(name, s, sp, "On call: "+name))
			}
		}
	}
	h.writeCalendar(w, r, cal, now)
}

// shiftEvent is one shift. Its UID is made of what the shift is, so a
// refreshed feed updates the event rather than duplicating it.
func shiftEvent(schedule string, s *oncall.Schedule, sp oncall.Span, summary string) ical.Event {
	return ical.Event{
		UID:     fmt.Sprintf("%s-%s-%d@klaxon", schedule, sp.Person, sp.From.Unix()),
		Summary: summary,
		Description: fmt.Sprintf("%s is on call for %s from %s to %s (%s).", sp.Person, schedule,
			sp.From.In(s.Location).Format("Mon Jan 2 15:04"), sp.To.In(s.Location).Format("Mon Jan 2 15:04 MST"), s.Location),
		Start: sp.From,
		End:   sp.To,
	}
}

func (h *Handler) writeCalendar(w http.ResponseWriter, r *http.Request, cal ical.Calendar, now time.Time) {
	var buf bytes.Buffer
	if err := ical.Write(&buf, cal, now); err != nil {
		web.Error(w, r, h.log, fmt.Errorf("render calendar: %w", err))
		return
	}
	w.Header().Set("Content-Type", ical.ContentType)
	w.Header().Set("Cache-Control", "private, max-age=300")
	_, _ = w.Write(buf.Bytes())
}

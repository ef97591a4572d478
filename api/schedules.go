package api

import (
	"maps"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/klaxonhq/klaxon/escalation"
	"github.com/klaxonhq/klaxon/escalation/oncall"
	"github.com/klaxonhq/klaxon/internal/web"
)

// onCallNow is who is on call for a schedule at an instant, and until when.
type onCallNow struct {
	Schedule string    `json:"schedule"`
	Timezone string    `json:"timezone"`
	At       time.Time `json:"at"`
	Person   *string   `json:"person"` // null: nobody
	Until    time.Time `json:"until,omitzero"`
}

type span struct {
	Person *string   `json:"person"`
	From   time.Time `json:"from"`
	To     time.Time `json:"to"`
}

func onCallAt(s *oncall.Schedule, name string, at time.Time) onCallNow {
	out := onCallNow{Schedule: name, Timezone: s.Location.String(), At: at}
	if who, ok := s.OnCall(at); ok {
		out.Person = &who
	}
	if next, ok := s.NextHandoff(at); ok {
		out.Until = next
	}
	return out
}

// schedules serves GET /api/v1/schedules: who is on call now for each.
func (h *Handler) schedules(w http.ResponseWriter, r *http.Request, _ string) {
	now := h.clock.Now()
	out := []onCallNow{}
	for _, name := range slices.Sorted(maps.Keys(h.cat.Schedules)) {
		s, err := h.eng.Schedule(r.Context(), name)
		if err != nil {
			web.Error(w, r, h.log, err)
			return
		}
		out = append(out, onCallAt(s, name, now))
	}
	web.JSON(w, http.StatusOK, map[string]any{"schedules": out})
}

// oncall serves GET /api/v1/schedules/{name}/oncall[?at=RFC3339][&days=N]:
// who is on call at the instant (default now) and the timeline over the
// next N days (default 7, at most 366).
func (h *Handler) oncall(w http.ResponseWriter, r *http.Request, _ string) {
	name := r.PathValue("name")
	s, err := h.eng.Schedule(r.Context(), name)
	if err != nil {
		web.Error(w, r, h.log, err)
		return
	}
	at := h.clock.Now()
	if v := r.URL.Query().Get("at"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			web.Error(w, r, h.log, escalation.Errorf(escalation.CodeInvalid, "at %q: want an RFC 3339 time, like 2025-03-09T08:00:00Z", v))
			return
		}
		// A schedule's timeline far out is no question anyone asks, and
		// past year 9999 it cannot be written as RFC 3339.
		if t.Sub(at).Abs() > 100*365*24*time.Hour {
			web.Error(w, r, h.log, escalation.Errorf(escalation.CodeInvalid, "at %q: want a time within a hundred years of now", v))
			return
		}
		at = t
	}
	days := 7
	if v := r.URL.Query().Get("days"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 366 {
			web.Error(w, r, h.log, escalation.Errorf(escalation.CodeInvalid, "days %q: want a number from 1 to 366", v))
			return
		}
		days = n
	}
	spans := []span{}
	for _, sp := range s.Timeline(at, at.Add(time.Duration(days)*24*time.Hour)) {
		out := span{From: sp.From, To: sp.To}
		if sp.Person != "" {
			out.Person = &sp.Person
		}
		spans = append(spans, out)
	}
	web.JSON(w, http.StatusOK, map[string]any{"on_call": onCallAt(s, name, at), "timeline": spans})
}

package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/klaxonhq/klaxon/escalation"
	"github.com/klaxonhq/klaxon/internal/web"
)

// overrideBody is POST /api/v1/schedules/{name}/overrides: Person covers
// the schedule from From (default now) until To, or for Duration.
type overrideBody struct {
	Person   string    `json:"person"`
	From     time.Time `json:"from"`
	To       time.Time `json:"to"`
	Duration string    `json:"duration"`
	Note     string    `json:"note"`
	// As names the configured person making the override; without it the
	// token's name is recorded.
	As string `json:"as"`
}

// overrides serves GET /api/v1/schedules/{name}/overrides: the stored
// overrides that have not ended.
func (h *Handler) overrides(w http.ResponseWriter, r *http.Request, _ string) {
	ovs, err := h.eng.Overrides(r.Context(), r.PathValue("name"))
	if err != nil {
		web.Error(w, r, h.log, err)
		return
	}
	if ovs == nil {
		ovs = []*escalation.Override{}
	}
	web.JSON(w, http.StatusOK, map[string]any{"overrides": ovs})
}

func (h *Handler) addOverride(w http.ResponseWriter, r *http.Request, token string) {
	var body overrideBody
	if !h.decodeBody(w, r, &body, `{"person": "alice", "from": "2025-03-09T08:00:00Z", "to": "2025-03-09T20:00:00Z"} or "duration": "4h" instead of "to"`) {
		return
	}
	if body.Person == "" {
		web.Error(w, r, h.log, escalation.Errorf(escalation.CodeInvalid, `"person" is required: who covers the schedule`))
		return
	}
	actor, err := h.actingAs(token, body.As)
	if err != nil {
		web.Error(w, r, h.log, err)
		return
	}
	o := escalation.Override{Schedule: r.PathValue("name"), Person: body.Person, From: body.From, To: body.To, Note: body.Note}
	switch {
	case body.Duration != "" && !body.To.IsZero():
		web.Error(w, r, h.log, escalation.Errorf(escalation.CodeInvalid, `give "to" or "duration", not both`))
		return
	case body.Duration != "":
		d, err := time.ParseDuration(body.Duration)
		if err != nil || d <= 0 {
			web.Error(w, r, h.log, escalation.Errorf(escalation.CodeInvalid, "duration %q: want a positive duration like 4h or 90m", body.Duration))
			return
		}
		from := body.From
		if from.IsZero() {
			from = h.clock.Now()
		}
		o.From, o.To = from, from.Add(d)
	case body.To.IsZero():
		web.Error(w, r, h.log, escalation.Errorf(escalation.CodeInvalid, `"to" or "duration" is required: when the override ends`))
		return
	}
	out, err := h.eng.AddOverride(r.Context(), o, actor)
	if err != nil {
		web.Error(w, r, h.log, err)
		return
	}
	web.JSON(w, http.StatusCreated, map[string]any{"override": out})
}

func (h *Handler) deleteOverride(w http.ResponseWriter, r *http.Request, token string) {
	s := r.PathValue("id")
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		web.Error(w, r, h.log, escalation.Errorf(escalation.CodeInvalid, "override ID %q is not a positive number", s))
		return
	}
	actor, err := h.actingAs(token, r.URL.Query().Get("as"))
	if err != nil {
		web.Error(w, r, h.log, err)
		return
	}
	out, err := h.eng.DeleteOverride(r.Context(), r.PathValue("name"), id, actor)
	if err != nil {
		web.Error(w, r, h.log, err)
		return
	}
	web.JSON(w, http.StatusOK, map[string]any{"deleted": out})
}

// actingAs is the actor of a request: the named person when given (who must
// be in the config), else the token.
func (h *Handler) actingAs(token, as string) (escalation.Actor, error) {
	if as == "" {
		return escalation.Actor{Name: token, Via: escalation.ViaAPI}, nil
	}
	if _, ok := h.cat.People[as]; !ok {
		return escalation.Actor{}, escalation.Errorf(escalation.CodeForbidden, "unknown person %q: only people in the config can act", as)
	}
	return escalation.Actor{Name: as, Via: escalation.ViaAPI}, nil
}

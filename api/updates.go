package api

import (
	"net/http"

	"github.com/klaxonhq/klaxon/escalation"
	"github.com/klaxonhq/klaxon/internal/web"
)

// updateBody is POST /api/v1/incidents/{id}/updates: a public update.
type updateBody struct {
	Status  string `json:"status"`
	Message string `json:"message"`
	// Title is required with an incident's first update.
	Title string `json:"title"`
	As    string `json:"as"`
}

func (h *Handler) postUpdate(w http.ResponseWriter, r *http.Request, token string) {
	id, err := incidentID(r)
	if err != nil {
		web.Error(w, r, h.log, err)
		return
	}
	var body updateBody
	if !h.decodeBody(w, r, &body, `{"status": "investigating", "title": "Slow checkout", "message": "..."}`) {
		return
	}
	st, err := escalation.ParsePublicStatus(body.Status)
	if err != nil {
		web.Error(w, r, h.log, escalation.Errorf(escalation.CodeInvalid, "%v", err))
		return
	}
	actor, err := h.actingAs(token, body.As)
	if err != nil {
		web.Error(w, r, h.log, err)
		return
	}
	inc, err := h.eng.PostUpdate(r.Context(), id, escalation.PublicUpdate{Status: st, Message: body.Message, Title: body.Title}, actor)
	if err != nil {
		web.Error(w, r, h.log, err)
		return
	}
	h.log.InfoContext(r.Context(), "public update posted", "incident_id", id, "status", st, "actor", actor.Name)
	web.JSON(w, http.StatusCreated, map[string]any{"incident": inc})
}

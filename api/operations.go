package api

import (
	"bytes"
	"encoding/json"
	"net/http"

	"github.com/klaxonhq/klaxon/escalation"
	"github.com/klaxonhq/klaxon/internal/web"
)

// decodeBody reads a small JSON body strictly; example is what to send.
func (h *Handler) decodeBody(w http.ResponseWriter, r *http.Request, v any, example string) bool {
	raw, err := web.ReadBody(w, r, 64<<10)
	if err != nil {
		web.Error(w, r, h.log, err)
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := web.DecodeAll(dec, v); err != nil {
		web.Error(w, r, h.log, escalation.Errorf(escalation.CodeInvalid, "request body: %v (want %s)", err, example))
		return false
	}
	return true
}

// merge serves POST /api/v1/incidents/{id}/merge {"into": 12}: the
// incident's alerts and keys move into the other, and its pages stop.
func (h *Handler) merge(w http.ResponseWriter, r *http.Request, token string) {
	id, err := incidentID(r)
	if err != nil {
		web.Error(w, r, h.log, err)
		return
	}
	var body struct {
		Into int64  `json:"into"`
		As   string `json:"as"`
	}
	if !h.decodeBody(w, r, &body, `{"into": 12}`) {
		return
	}
	actor, err := h.actingAs(token, body.As)
	if err != nil {
		web.Error(w, r, h.log, err)
		return
	}
	if body.Into <= 0 {
		web.Error(w, r, h.log, escalation.Errorf(escalation.CodeInvalid, `"into" is required: the incident to merge into`))
		return
	}
	inc, err := h.eng.Merge(r.Context(), id, body.Into, actor)
	if err != nil {
		web.Error(w, r, h.log, err)
		return
	}
	h.log.InfoContext(r.Context(), "incident merged", "incident_id", id, "into", inc.ID, "actor", actor.Name)
	web.JSON(w, http.StatusOK, map[string]any{"incident": inc})
}

// priority serves POST /api/v1/incidents/{id}/priority {"priority": "P0"}:
// raising it re-plans the escalation at once with the louder policy.
func (h *Handler) priority(w http.ResponseWriter, r *http.Request, token string) {
	id, err := incidentID(r)
	if err != nil {
		web.Error(w, r, h.log, err)
		return
	}
	var body struct {
		Priority string `json:"priority"`
		As       string `json:"as"`
	}
	if !h.decodeBody(w, r, &body, `{"priority": "P0"}`) {
		return
	}
	p, err := escalation.ParsePriority(body.Priority)
	if err != nil {
		web.Error(w, r, h.log, escalation.Errorf(escalation.CodeInvalid, "%v", err))
		return
	}
	actor, err := h.actingAs(token, body.As)
	if err != nil {
		web.Error(w, r, h.log, err)
		return
	}
	inc, err := h.eng.SetPriority(r.Context(), id, p, actor)
	if err != nil {
		web.Error(w, r, h.log, err)
		return
	}
	web.JSON(w, http.StatusOK, map[string]any{"incident": inc})
}

// backupDB serves GET /api/v1/backup: a consistent copy of the database
// taken while Klaxon runs (restore by stopping Klaxon and putting the file
// in place of the database).
func (h *Handler) backupDB(w http.ResponseWriter, r *http.Request, token string) {
	if h.backup == nil {
		web.Error(w, r, h.log, escalation.Errorf(escalation.CodeNotFound, "backups are not served here"))
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", `attachment; filename="klaxon.db"`)
	n, err := h.backup.Backup(w)
	if err != nil {
		// The 200 is sent: the connection is cut before the body's end,
		// so that the client sees a broken copy, not a short one that
		// looks whole.
		h.log.ErrorContext(r.Context(), "backup failed", "bytes", n, "err", err)
		panic(http.ErrAbortHandler)
	}
	h.log.InfoContext(r.Context(), "backup taken", "bytes", n, "by", token)
}

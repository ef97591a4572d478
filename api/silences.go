package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/klaxonhq/klaxon/escalation"
	"github.com/klaxonhq/klaxon/internal/web"
)

// silences serves GET /api/v1/silences: those that have not ended.
func (h *Handler) silences(w http.ResponseWriter, r *http.Request, _ string) {
	ss, err := h.eng.Silences(r.Context())
	if err != nil {
		web.Error(w, r, h.log, err)
		return
	}
	if ss == nil {
		ss = []*escalation.Silence{}
	}
	web.JSON(w, http.StatusOK, map[string]any{"silences": ss})
}

// addSilence serves POST /api/v1/silences: {"service": "storage",
// "matchers": {"alertname": "DiskFull"}, "duration": "2h", "comment": "..."}
// (or "starts_at"/"ends_at").
func (h *Handler) addSilence(w http.ResponseWriter, r *http.Request, token string) {
	var body struct {
		Service  string            `json:"service"`
		Matchers map[string]string `json:"matchers"`
		StartsAt time.Time         `json:"starts_at"`
		EndsAt   time.Time         `json:"ends_at"`
		Duration string            `json:"duration"`
		Comment  string            `json:"comment"`
		As       string            `json:"as"`
	}
	if !h.decodeBody(w, r, &body, `{"service": "storage", "matchers": {"alertname": "DiskFull"}, "duration": "2h", "comment": "disk swap"}`) {
		return
	}
	actor, err := h.actingAs(token, body.As)
	if err != nil {
		web.Error(w, r, h.log, err)
		return
	}
	s := escalation.Silence{Service: body.Service, Matchers: body.Matchers, StartsAt: body.StartsAt, EndsAt: body.EndsAt, Comment: body.Comment}
	switch {
	case body.Duration != "" && !body.EndsAt.IsZero():
		web.Error(w, r, h.log, escalation.Errorf(escalation.CodeInvalid, `give "ends_at" or "duration", not both`))
		return
	case body.Duration != "":
		d, err := time.ParseDuration(body.Duration)
		if err != nil || d <= 0 {
			web.Error(w, r, h.log, escalation.Errorf(escalation.CodeInvalid, "duration %q: want a positive duration like 2h", body.Duration))
			return
		}
		if s.StartsAt.IsZero() {
			s.StartsAt = h.clock.Now()
		}
		s.EndsAt = s.StartsAt.Add(d)
	case body.EndsAt.IsZero():
		web.Error(w, r, h.log, escalation.Errorf(escalation.CodeInvalid, `"ends_at" or "duration" is required`))
		return
	}
	out, err := h.eng.AddSilence(r.Context(), s, actor)
	if err != nil {
		web.Error(w, r, h.log, err)
		return
	}
	web.JSON(w, http.StatusCreated, map[string]any{"silence": out})
}

// expireSilence serves DELETE /api/v1/silences/{id}: it ends now.
func (h *Handler) expireSilence(w http.ResponseWriter, r *http.Request, token string) {
	s := r.PathValue("id")
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		web.Error(w, r, h.log, escalation.Errorf(escalation.CodeInvalid, "silence ID %q is not a positive number", s))
		return
	}
	actor, err := h.actingAs(token, r.URL.Query().Get("as"))
	if err != nil {
		web.Error(w, r, h.log, err)
		return
	}
	out, err := h.eng.ExpireSilence(r.Context(), id, actor)
	if err != nil {
		web.Error(w, r, h.log, err)
		return
	}
	web.JSON(w, http.StatusOK, map[string]any{"silence": out})
}

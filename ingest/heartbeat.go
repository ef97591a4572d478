package ingest

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/klaxonhq/klaxon/escalation"
	"github.com/klaxonhq/klaxon/internal/web"
)

// Pinger records heartbeat pings.
type Pinger interface {
	Ping(ctx context.Context, name string, kind escalation.PingKind) error
}

// Heartbeats serves the dead man's switches: GET or POST
// /heartbeat/{name} (the job ran), …/fail (it failed) and …/start (it
// began). A ping authenticates with the heartbeat's token as a bearer token
// or, for a bare curl in a crontab, ?token=. A body is ignored.
type Heartbeats struct {
	beats map[string]*escalation.Heartbeat
	ping  Pinger
	log   *slog.Logger
}

// NewHeartbeats serves the catalog's heartbeats; log may be nil.
func NewHeartbeats(beats map[string]*escalation.Heartbeat, p Pinger, log *slog.Logger) *Heartbeats {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Heartbeats{beats: beats, ping: p, log: log}
}

// Register adds the heartbeat routes to mux.
func (h *Heartbeats) Register(mux *http.ServeMux) {
	for _, m := range []string{http.MethodGet, http.MethodPost} {
		mux.HandleFunc(m+" /heartbeat/{name}", h.serve(escalation.PingOK))
		mux.HandleFunc(m+" /heartbeat/{name}/fail", h.serve(escalation.PingFail))
		mux.HandleFunc(m+" /heartbeat/{name}/start", h.serve(escalation.PingStart))
	}
}

func (h *Heartbeats) serve(kind escalation.PingKind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("name")
		hb, ok := h.beats[name]
		if !ok {
			web.Error(w, r, h.log, escalation.Errorf(escalation.CodeNotFound, "unknown heartbeat %s", clip(name)))
			return
		}
		token := web.BearerToken(r)
		if token == "" {
			token = r.URL.Query().Get("token")
		}
		switch {
		case token == "":
			web.Error(w, r, h.log, escalation.Errorf(escalation.CodeUnauthorized, "missing token: send Authorization: Bearer <token> or ?token=<token>"))
			return
		case !web.TokenEqual(token, hb.Token):
			web.Error(w, r, h.log, escalation.Errorf(escalation.CodeUnauthorized, "invalid token for heartbeat %s", clip(name)))
			return
		}
		if err := h.ping.Ping(r.Context(), name, kind); err != nil {
			web.Error(w, r, h.log, err)
			return
		}
		web.JSON(w, http.StatusOK, map[string]string{"status": "ok", "heartbeat": name, "ping": string(kind)})
	}
}

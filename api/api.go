// Package api serves Klaxon's JSON API for people and scripts: list and read
// incidents with their timelines, acknowledge and resolve them; see who is
// on call and put someone else on call with overrides.
package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/klaxonhq/klaxon/escalation"
	"github.com/klaxonhq/klaxon/escalation/oncall"
	"github.com/klaxonhq/klaxon/internal/web"
)

// Engine is what the API needs from the core.
type Engine interface {
	Incident(ctx context.Context, id int64) (*escalation.Incident, []escalation.Event, error)
	Incidents(ctx context.Context, status escalation.Status, limit int) ([]*escalation.Incident, error)
	Acknowledge(ctx context.Context, id int64, by escalation.Actor) (*escalation.Incident, error)
	AddNote(ctx context.Context, id int64, text string, by escalation.Actor) (*escalation.Incident, error)
	Resolve(ctx context.Context, id int64, by escalation.Actor, note string) (*escalation.Incident, error)
	Schedule(ctx context.Context, name string) (*oncall.Schedule, error)
	Overrides(ctx context.Context, schedule string) ([]*escalation.Override, error)
	AddOverride(ctx context.Context, o escalation.Override, by escalation.Actor) (*escalation.Override, error)
	DeleteOverride(ctx context.Context, schedule string, id int64, by escalation.Actor) (*escalation.Override, error)
	PostUpdate(ctx context.Context, id int64, u escalation.PublicUpdate, by escalation.Actor) (*escalation.Incident, error)
	Merge(ctx context.Context, src, dst int64, by escalation.Actor) (*escalation.Incident, error)
	SetPriority(ctx context.Context, id int64, p escalation.Priority, by escalation.Actor) (*escalation.Incident, error)
	AddSilence(ctx context.Context, s escalation.Silence, by escalation.Actor) (*escalation.Silence, error)
	Silences(ctx context.Context) ([]*escalation.Silence, error)
	ExpireSilence(ctx context.Context, id int64, by escalation.Actor) (*escalation.Silence, error)
}

// Backuper writes a consistent copy of the database while it is in use.
type Backuper interface {
	Backup(w io.Writer) (int64, error)
}

// Drafter renders an incident's postmortem draft as Markdown.
type Drafter interface {
	Draft(ctx context.Context, id int64) (string, error)
}

// Token is a named bearer token; the name is recorded as the actor unless
// the request acts as a named person.
type Token struct {
	Name  string
	Token string
}

// List sizes of GET /api/v1/incidents (?limit=N).
const (
	defaultListLimit = 100
	maxListLimit     = 1000
)

// Options configure a Handler.
type Options struct {
	Engine Engine
	Tokens []Token
	// CalendarToken, when set, reads the .ics feeds from a ?token= query,
	// for calendar apps that cannot send a bearer token.
	CalendarToken string
	// Drafts renders postmortem drafts (nil: the endpoint answers 404).
	Drafts Drafter
	// Backup copies the database for GET /api/v1/backup (nil: 404).
	Backup Backuper
	// Catalog: the people a request may act as, and the schedules.
	Catalog *escalation.Catalog
	Clock   escalation.Clock
	Logger  *slog.Logger
}

// Handler serves /api/v1.
type Handler struct {
	eng      Engine
	tokens   []Token
	calToken string
	drafts   Drafter
	backup   Backuper
	cat      *escalation.Catalog
	clock    escalation.Clock
	log      *slog.Logger
}

// NewHandler builds the API.
func NewHandler(o Options) *Handler {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Handler{eng: o.Engine, tokens: o.Tokens, calToken: o.CalendarToken, drafts: o.Drafts, backup: o.Backup, cat: o.Catalog, clock: o.Clock, log: log}
}

// Register adds the API to mux: all of /api/v1, served from the API's own
// mux, so that a path no route takes, or a method its routes do not take,
// is answered in the API's JSON rather than net/http's plain text.
func (h *Handler) Register(mux *http.ServeMux) {
	routes := http.NewServeMux()
	routes.Handle("GET /api/v1/incidents", h.auth(h.list))
	routes.Handle("GET /api/v1/incidents/{id}", h.auth(h.get))
	routes.Handle("POST /api/v1/incidents/{id}/ack", h.auth(h.ack))
	routes.Handle("POST /api/v1/incidents/{id}/resolve", h.auth(h.resolve))
	routes.Handle("POST /api/v1/incidents/{id}/updates", h.auth(h.postUpdate))
	routes.Handle("GET /api/v1/incidents/{id}/postmortem.md", h.auth(h.postmortem))
	routes.Handle("POST /api/v1/incidents/{id}/merge", h.auth(h.merge))
	routes.Handle("POST /api/v1/incidents/{id}/priority", h.auth(h.priority))
	routes.Handle("GET /api/v1/backup", h.auth(h.backupDB))
	routes.Handle("GET /api/v1/silences", h.auth(h.silences))
	routes.Handle("POST /api/v1/silences", h.auth(h.addSilence))
	routes.Handle("DELETE /api/v1/silences/{id}", h.auth(h.expireSilence))
	routes.Handle("GET /api/v1/schedules", h.auth(h.schedules))
	routes.Handle("GET /api/v1/schedules/{name}/oncall", h.auth(h.oncall))
	routes.Handle("GET /api/v1/schedules/{name}/overrides", h.auth(h.overrides))
	routes.Handle("POST /api/v1/schedules/{name}/overrides", h.auth(h.addOverride))
	routes.Handle("DELETE /api/v1/schedules/{name}/overrides/{id}", h.auth(h.deleteOverride))
	routes.Handle("GET /api/v1/schedules/{file}", h.calendarAuth(h.scheduleCalendar))
	routes.Handle("GET /api/v1/people/{file}", h.calendarAuth(h.personCalendar))
	api := h.routed(routes)
	mux.Handle("/api/v1/", api)
	mux.Handle("/api/v1", api) // not redirected to /api/v1/ only to be a miss there
}

// routed serves a request by its route, and a miss in JSON. A miss needs
// no token, as before: requests are routed first and each route checks
// the token, so an unknown path was a 404 and a wrong method a 405 to
// anyone. Asking for a token first would hide nothing worth hiding (the
// routes are documented) and would change those statuses.
func (h *Handler) routed(routes *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		miss, pattern := routes.Handler(r)
		if pattern != "" {
			routes.ServeHTTP(w, r) // which sets the path values routes.Handler does not
			return
		}
		// ServeMux's own answer tells a wrong method (405, with the
		// methods the path takes in Allow) from a path no route takes.
		rec := &missRecorder{header: http.Header{}}
		miss.ServeHTTP(rec, r)
		if rec.code == http.StatusMethodNotAllowed {
			allow := rec.header.Get("Allow")
			w.Header().Set("Allow", allow)
			// The error shape web.Error writes; no error code maps to 405.
			web.JSON(w, http.StatusMethodNotAllowed, map[string]string{
				"error": fmt.Sprintf("%s is not allowed on %s; it takes %s", r.Method, r.URL.Path, allow)})
			return
		}
		web.Error(w, r, h.log, escalation.Errorf(escalation.CodeNotFound, "%s is not an API route", r.URL.Path))
	})
}

// missRecorder keeps the status and headers of ServeMux's answer to a
// miss, and drops its plain-text body.
type missRecorder struct {
	header http.Header
	code   int
}

func (m *missRecorder) Header() http.Header         { return m.header }
func (m *missRecorder) Write(b []byte) (int, error) { return len(b), nil }
func (m *missRecorder) WriteHeader(code int)        { m.code = code }

type authedFunc func(w http.ResponseWriter, r *http.Request, token string)

// auth checks the bearer token against every configured one in constant
// time and passes the matching token's name on.
func (h *Handler) auth(next authedFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		presented := web.BearerToken(r)
		if presented == "" {
			web.Error(w, r, h.log, escalation.Errorf(escalation.CodeUnauthorized, "missing bearer token: send Authorization: Bearer <api token>"))
			return
		}
		name := ""
		for _, t := range h.tokens {
			if web.TokenEqual(presented, t.Token) {
				name = t.Name
			}
		}
		if name == "" {
			web.Error(w, r, h.log, escalation.Errorf(escalation.CodeUnauthorized, "invalid API token"))
			return
		}
		next(w, r, name)
	})
}

func (h *Handler) list(w http.ResponseWriter, r *http.Request, _ string) {
	var status escalation.Status
	if s := r.URL.Query().Get("status"); s != "" {
		st, err := escalation.ParseStatus(s)
		if err != nil {
			web.Error(w, r, h.log, escalation.Errorf(escalation.CodeInvalid, "%v", err))
			return
		}
		status = st
	}
	limit := defaultListLimit
	if s := r.URL.Query().Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxListLimit {
			web.Error(w, r, h.log, escalation.Errorf(escalation.CodeInvalid, "limit %q: want a number from 1 to %d", s, maxListLimit))
			return
		}
		limit = n
	}
	incs, err := h.eng.Incidents(r.Context(), status, limit)
	if err != nil {
		web.Error(w, r, h.log, err)
		return
	}
	if incs == nil {
		incs = []*escalation.Incident{}
	}
	web.JSON(w, http.StatusOK, map[string]any{"incidents": incs})
}

func (h *Handler) get(w http.ResponseWriter, r *http.Request, _ string) {
	id, err := incidentID(r)
	if err != nil {
		web.Error(w, r, h.log, err)
		return
	}
	inc, events, err := h.eng.Incident(r.Context(), id)
	if err != nil {
		web.Error(w, r, h.log, err)
		return
	}
	if events == nil {
		events = []escalation.Event{}
	}
	web.JSON(w, http.StatusOK, map[string]any{"incident": inc, "timeline": events})
}

// actionBody is the optional body of ack and resolve.
type actionBody struct {
	// As names the configured person acting; without it the token's name
	// is recorded.
	As   string `json:"as"`
	Note string `json:"note"`
}

func (h *Handler) action(w http.ResponseWriter, r *http.Request, token string) (int64, escalation.Actor, actionBody, bool) {
	id, err := incidentID(r)
	if err != nil {
		web.Error(w, r, h.log, err)
		return 0, escalation.Actor{}, actionBody{}, false
	}
	raw, err := web.ReadBody(w, r, 64<<10)
	if err != nil {
		web.Error(w, r, h.log, err)
		return 0, escalation.Actor{}, actionBody{}, false
	}
	var body actionBody
	if len(raw) > 0 {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := web.DecodeAll(dec, &body); err != nil {
			web.Error(w, r, h.log, escalation.Errorf(escalation.CodeInvalid, "request body: %v (want {\"as\": \"person\", \"note\": \"...\"})", err))
			return 0, escalation.Actor{}, actionBody{}, false
		}
	}
	actor, err := h.actingAs(token, body.As)
	if err != nil {
		web.Error(w, r, h.log, err)
		return 0, escalation.Actor{}, actionBody{}, false
	}
	return id, actor, body, true
}

func (h *Handler) ack(w http.ResponseWriter, r *http.Request, token string) {
	id, actor, body, ok := h.action(w, r, token)
	if !ok {
		return
	}
	if body.Note != "" {
		if err := escalation.CheckNote(body.Note); err != nil {
			web.Error(w, r, h.log, err)
			return
		}
	}
	inc, err := h.eng.Acknowledge(r.Context(), id, actor)
	if err != nil {
		web.Error(w, r, h.log, err)
		return
	}
	// A note with the ack ("looking at it, DB failover") goes on the
	// timeline after it, rather than being dropped.
	if body.Note != "" {
		if inc, err = h.eng.AddNote(r.Context(), id, body.Note, actor); err != nil {
			web.Error(w, r, h.log, err)
			return
		}
	}
	h.log.InfoContext(r.Context(), "incident acknowledged", "incident_id", id, "actor", actor.Name, "via", actor.Via)
	web.JSON(w, http.StatusOK, map[string]any{"incident": inc})
}

func (h *Handler) resolve(w http.ResponseWriter, r *http.Request, token string) {
	id, actor, body, ok := h.action(w, r, token)
	if !ok {
		return
	}
	inc, err := h.eng.Resolve(r.Context(), id, actor, body.Note)
	if err != nil {
		web.Error(w, r, h.log, err)
		return
	}
	h.log.InfoContext(r.Context(), "incident resolved", "incident_id", id, "actor", actor.Name, "via", actor.Via)
	web.JSON(w, http.StatusOK, map[string]any{"incident": inc})
}

func incidentID(r *http.Request) (int64, error) {
	s := r.PathValue("id")
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, escalation.Errorf(escalation.CodeInvalid, "incident ID %q is not a positive number", s)
	}
	return id, nil
}

// postmortem serves GET /api/v1/incidents/{id}/postmortem.md: a Markdown
// draft in the shape of an outage report, to edit and publish.
func (h *Handler) postmortem(w http.ResponseWriter, r *http.Request, _ string) {
	id, err := incidentID(r)
	if err != nil {
		web.Error(w, r, h.log, err)
		return
	}
	if h.drafts == nil {
		web.Error(w, r, h.log, escalation.Errorf(escalation.CodeNotFound, "postmortem drafts are not served here"))
		return
	}
	md, err := h.drafts.Draft(r.Context(), id)
	if err != nil {
		web.Error(w, r, h.log, err)
		return
	}
	w.Header().Set("Content-Type", "text/markdown; charset=utf-8")
	_, _ = w.Write([]byte(md))
}

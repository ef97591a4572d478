package ingest

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/klaxonhq/klaxon/escalation"
	"github.com/klaxonhq/klaxon/internal/web"
)

// Integration formats this package knows.
const (
	FormatAlertmanager = "alertmanager"
	FormatGrafana      = "grafana"
	FormatUptimeKuma   = "uptime-kuma"
	FormatDatadog      = "datadog"
	// FormatPagerDuty integrations receive Events API v2 events at
	// /v2/enqueue; their token is the routing key.
	FormatPagerDuty = "pagerduty"
	// FormatOpsgenie integrations receive Opsgenie Alert API requests at
	// /v2/alerts; their token is the GenieKey.
	FormatOpsgenie = "opsgenie"
)

// hookParsers maps each format /hooks accepts to its parser.
func hookParsers() map[string]func(body []byte) (Batch, error) {
	return map[string]func([]byte) (Batch, error){
		FormatAlertmanager: ParseAlertmanager,
		FormatGrafana:      ParseGrafana,
		FormatUptimeKuma:   ParseUptimeKuma,
		FormatDatadog:      ParseDatadog,
	}
}

// Formats lists, sorted, every integration format Klaxon ingests: those
// /hooks accepts, pagerduty (/v2/enqueue) and opsgenie (/v2/alerts).
func Formats() []string {
	out := append(slices.Collect(maps.Keys(hookParsers())), FormatPagerDuty, FormatOpsgenie, FormatGeneric)
	slices.Sort(out)
	return out
}

// Ingester is the consumer-side view of the engine. Ingest returns only
// after the alerts are stored durably.
type Ingester interface {
	Ingest(ctx context.Context, integration string, alerts []escalation.Alert) (escalation.IngestResult, error)
}

// Handler serves the webhook endpoints monitors send alerts to.
type Handler struct {
	integrations map[string]*escalation.Integration
	// pagerduty and opsgenie list the integrations /v2/enqueue and
	// /v2/alerts authenticate against, by name, so lookups are
	// deterministic.
	pagerduty []namedIntegration
	opsgenie  []namedIntegration
	// parsers maps an integration format to its /hooks parser.
	parsers map[string]func(body []byte) (Batch, error)
	// generic holds the generic integrations' field paths, by name.
	generic map[string]GenericSpec
	ing     Ingester
	log     *slog.Logger
	maxBody int64
}

type namedIntegration struct {
	name string
	in   *escalation.Integration
}

// NewHandler serves the integrations of a catalog, which must not change
// afterwards. maxBody bounds request bodies (0: web.DefaultMaxBody); log may
// be nil.
func NewHandler(integrations map[string]*escalation.Integration, ing Ingester, log *slog.Logger, maxBody int64) *Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &Handler{
		integrations: integrations,
		parsers:      hookParsers(),
		ing:          ing,
		log:          log,
		maxBody:      maxBody,
	}
	for _, name := range slices.Sorted(maps.Keys(integrations)) {
		switch in := integrations[name]; {
		case in == nil:
		case in.Format == FormatPagerDuty:
			h.pagerduty = append(h.pagerduty, namedIntegration{name, in})
		case in.Format == FormatOpsgenie:
			h.opsgenie = append(h.opsgenie, namedIntegration{name, in})
		}
	}
	return h
}

// WithGeneric gives the generic integrations their field paths, by
// integration name; a generic integration without a spec answers 400.
func (h *Handler) WithGeneric(specs map[string]GenericSpec) *Handler {
	h.generic = specs
	return h
}

// Register adds the webhook routes to mux. The URL-token form is for
// senders that cannot set headers; it puts the secret in the path, so
// access logs in front of it must not record /hooks paths verbatim.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.HandleFunc("POST /hooks/{integration}", h.hook)
	mux.HandleFunc("POST /hooks/{integration}/{token}", h.hook)
	mux.HandleFunc("POST /v2/enqueue", h.enqueue)
	mux.HandleFunc("POST /v2/alerts", h.opsgenieCreate)
	mux.HandleFunc("POST /v2/alerts/{identifier}/close", h.opsgenieAction(OpsgenieClose))
	mux.HandleFunc("POST /v2/alerts/{identifier}/acknowledge", h.opsgenieAction(OpsgenieAcknowledge))
}

// hookReply is the 200 body of /hooks.
type hookReply struct {
	Status string `json:"status"`
	escalation.IngestResult
	Truncated int    `json:"truncated_alerts,omitempty"`
	Note      string `json:"note,omitempty"`
}

// hook serves POST /hooks/{integration}[/{token}]. Checks run cheapest and
// least revealing first; the body is read only for an authenticated sender.
func (h *Handler) hook(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("integration")
	in, ok := h.integrations[name]
	if !ok || in == nil {
		h.fail(w, r, name, escalation.Errorf(escalation.CodeNotFound, "unknown integration %s", clip(name)))
		return
	}
	token := r.PathValue("token")
	if token == "" {
		token = web.BearerToken(r)
	}
	if token == "" {
		h.fail(w, r, name, escalation.Errorf(escalation.CodeUnauthorized,
			"missing bearer token: send Authorization: Bearer <token>, or post to /hooks/<integration>/<token>"))
		return
	}
	if !web.TokenEqual(token, in.Token) {
		h.fail(w, r, name, escalation.Errorf(escalation.CodeUnauthorized, "invalid token for integration %s", clip(name)))
		return
	}
	parse, ok := h.parsers[in.Format]
	if spec, generic := h.generic[name]; generic && in.Format == FormatGeneric {
		parse, ok = func(b []byte) (Batch, error) { return ParseGeneric(spec, b) }, true
	}
	if !ok {
		msg := "integration %s has format %s, which /hooks does not accept"
		switch in.Format {
		case FormatPagerDuty:
			msg = "integration %s has format %s: send PagerDuty Events API v2 events to POST /v2/enqueue"
		case FormatOpsgenie:
			msg = "integration %s has format %s: send Opsgenie Alert API requests to POST /v2/alerts"
		case FormatGeneric:
			msg = "integration %s is %s but no field paths are configured for it"
		}
		h.fail(w, r, name, escalation.Errorf(escalation.CodeInvalid, msg, clip(name), clip(in.Format)))
		return
	}
	body, err := web.ReadBody(w, r, h.maxBody)
	if err != nil {
		h.fail(w, r, name, err)
		return
	}
	batch, err := parse(body)
	if err != nil {
		h.fail(w, r, name, err)
		return
	}
	if len(batch.Alerts) == 0 {
		// A test notification or a state that pages nobody: the sender
		// gets its 200, and no incident is opened.
		h.log.DebugContext(r.Context(), "webhook carries no alerts", "integration", name,
			"format", in.Format, "note", batch.Note)
		web.JSON(w, http.StatusOK, hookReply{Status: "ok",
			IngestResult: escalation.IngestResult{Incidents: []int64{}}, Note: batch.Note})
		return
	}
	if batch.Truncated > 0 {
		// The left-out alerts never reach Klaxon; the sender's limit
		// (Alertmanager's or Grafana's max_alerts) needs raising.
		h.log.WarnContext(r.Context(), "sender truncated alerts", "integration", name,
			"received", len(batch.Alerts), "truncated", batch.Truncated)
	}
	res, err := h.ing.Ingest(r.Context(), name, batch.Alerts)
	if err != nil {
		h.fail(w, r, name, err)
		return
	}
	h.log.DebugContext(r.Context(), "webhook accepted", "integration", name, "format", in.Format,
		"alerts", len(batch.Alerts), "created", res.Created, "reopened", res.Reopened,
		"updated", res.Updated, "unchanged", res.Unchanged, "ignored", res.Ignored, "queued", res.Queued)
	status := "ok"
	if res.Queued > 0 {
		// Durably taken, applied to incidents right after this answer.
		status = "accepted"
	}
	web.JSON(w, http.StatusOK, hookReply{Status: status, IngestResult: res, Truncated: batch.Truncated})
}

var _ web.Appender = hookReply{}

// AppendJSON (web.Appender) writes the answer of a delivery taken into the
// journal and nothing else: in an alert flood that is every answer, and
// reflection was a tenth of the handler's CPU. ok is false for any other
// reply.
func (r hookReply) AppendJSON(b []byte) (_ []byte, ok bool) {
	res := r.IngestResult
	if r.Status != "accepted" || r.Note != "" || len(res.Incidents) != 0 || res.Incidents == nil ||
		res.Created != 0 || res.Reopened != 0 || res.Updated != 0 || res.Unchanged != 0 || res.Ignored != 0 {
		return b, false
	}
	b = append(b, `{"status":"accepted","incidents":[],"created":0,"reopened":0,"updated":0,"unchanged":0,"ignored":0`...)
	if res.Queued != 0 {
		b = strconv.AppendInt(append(b, `,"queued":`...), int64(res.Queued), 10)
	}
	if r.Truncated != 0 {
		b = strconv.AppendInt(append(b, `,"truncated_alerts":`...), int64(r.Truncated), 10)
	}
	return append(b, "}\n"...), true
}

// pdReply is PagerDuty's response body, success and error alike.
type pdReply struct {
	Status   string   `json:"status"`
	Message  string   `json:"message"`
	DedupKey string   `json:"dedup_key,omitempty"`
	Errors   []string `json:"errors,omitempty"`
}

// enqueue serves POST /v2/enqueue, the PagerDuty Events API v2, so tools
// with a PagerDuty integration can page through Klaxon by changing the URL.
// PagerDuty answers 202, and 400 for anything the sender must not retry.
func (h *Handler) enqueue(w http.ResponseWriter, r *http.Request) {
	body, err := web.ReadBody(w, r, h.maxBody)
	if err != nil {
		h.fail(w, r, "", err)
		return
	}
	ev, err := ParsePagerDutyEvent(body)
	var malformed *MalformedEventError
	var invalid *InvalidEventError
	switch {
	case errors.As(err, &malformed):
		h.rejected(r, "", http.StatusBadRequest, malformed.Problem)
		web.JSON(w, http.StatusBadRequest, pdReply{Status: "Unrecognized object",
			Message: "Event object format is unrecognized", Errors: []string{"JSON parse error"}})
		return
	case errors.As(err, &invalid):
		h.rejected(r, "", http.StatusBadRequest, invalid.Error())
		web.JSON(w, http.StatusBadRequest, pdReply{Status: "invalid event",
			Message: "Event object is invalid", Errors: invalid.Problems})
		return
	case err != nil:
		h.fail(w, r, "", err)
		return
	}
	name, ok := h.routingKey(ev.RoutingKey)
	if !ok {
		h.rejected(r, "", http.StatusBadRequest, "unknown routing key")
		web.JSON(w, http.StatusBadRequest, pdReply{Status: "invalid event",
			Message: "Event object is invalid", Errors: []string{"Invalid routing key"}})
		return
	}
	res, err := h.ing.Ingest(r.Context(), name, []escalation.Alert{ev.Alert})
	if err != nil {
		h.fail(w, r, name, err)
		return
	}
	h.log.DebugContext(r.Context(), "event accepted", "integration", name, "format", FormatPagerDuty,
		"action", ev.Action, "dedup_key", ev.Alert.DedupKey, "created", res.Created,
		"reopened", res.Reopened, "updated", res.Updated, "unchanged", res.Unchanged, "ignored", res.Ignored)
	web.JSON(w, http.StatusAccepted, pdReply{Status: "success", Message: "Event processed", DedupKey: ev.Alert.DedupKey})
}

// routingKey finds the PagerDuty integration whose token is key.
func (h *Handler) routingKey(key string) (string, bool) { return tokenOwner(h.pagerduty, key) }

// tokenOwner finds the first integration, by name, whose token is key.
// Every token is compared, in constant time, so the time taken does not
// tell which integration (if any) matched.
func tokenOwner(list []namedIntegration, key string) (string, bool) {
	found := ""
	for _, p := range list {
		if web.TokenEqual(key, p.in.Token) && found == "" {
			found = p.name
		}
	}
	return found, found != ""
}

// schemeToken returns the credential of an "Authorization: <scheme> <token>"
// header (the scheme in any case), or "".
func schemeToken(r *http.Request, scheme string) string {
	h := r.Header.Get("Authorization")
	if len(h) > len(scheme) && strings.EqualFold(h[:len(scheme)], scheme) && h[len(scheme)] == ' ' {
		return strings.TrimSpace(h[len(scheme)+1:])
	}
	return ""
}

// fail answers with err's status. Internal errors get a generic body even
// when coded (web.Error would show a coded message) and are logged here
// without the request path, which may hold a URL token.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, integration string, err error) {
	code := escalation.ErrorCode(err)
	if code == escalation.CodeInternal {
		h.log.ErrorContext(r.Context(), "ingest failed", "integration", integration, "err", err)
		web.JSON(w, http.StatusInternalServerError, map[string]string{"error": "internal error"})
		return
	}
	status := web.Status(code)
	h.rejected(r, integration, status, escalation.ErrorMessage(err))
	if code == escalation.CodeUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="klaxon"`)
	}
	web.Error(w, r, h.log, err) // sets Retry-After for a rate-limited sender
}

// rejected logs a refused request. Reasons never include a token.
func (h *Handler) rejected(r *http.Request, integration string, status int, reason string) {
	who := slog.String("integration", integration)
	if integration == "" {
		who = slog.String("endpoint", r.Pattern)
	}
	h.log.InfoContext(r.Context(), "webhook rejected", who, "status", status, "reason", reason)
}

package ingest

import (
	"crypto/rand"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/klaxonhq/klaxon/escalation"
	"github.com/klaxonhq/klaxon/internal/web"
)

// ogReply is the Opsgenie Alert API's response body: result on success,
// message (and for a 422 the problems by field) on failure; took in seconds
// and the request id always.
type ogReply struct {
	Result    string            `json:"result,omitempty"`
	Message   string            `json:"message,omitempty"`
	Errors    map[string]string `json:"errors,omitempty"`
	Took      float64           `json:"took"`
	RequestID string            `json:"requestId"`
}

// ogRequest is one Opsgenie API request being answered.
type ogRequest struct {
	w     http.ResponseWriter
	r     *http.Request
	start time.Time
	id    string
}

func (q ogRequest) reply(status int, body ogReply) {
	body.Took = math.Round(time.Since(q.start).Seconds()*1000) / 1000
	body.RequestID = q.id
	q.w.Header().Set("X-Request-ID", q.id)
	web.JSON(q.w, status, body)
}

// opsgenieCreate serves POST /v2/alerts, the Opsgenie Alert API's create,
// so tools with an Opsgenie integration can page through Klaxon by changing
// the API host.
func (h *Handler) opsgenieCreate(w http.ResponseWriter, r *http.Request) {
	h.serveOpsgenie(w, r, "create", ParseOpsgenieCreate)
}

// opsgenieAction serves POST /v2/alerts/{identifier}/close and
// /acknowledge for alerts identified by alias.
func (h *Handler) opsgenieAction(action string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		identifier, identifierType := r.PathValue("identifier"), r.URL.Query().Get("identifierType")
		h.serveOpsgenie(w, r, action, func(body []byte) (Batch, error) {
			return ParseOpsgenieAction(action, identifier, identifierType, body)
		})
	}
}

// serveOpsgenie authenticates the GenieKey, parses the body and ingests the
// alert, answering in Opsgenie's shape throughout. Opsgenie answers 202
// before it processes a request; Klaxon answers 202 only once the alert is
// stored, so a sender that sees it never has to resend.
func (h *Handler) serveOpsgenie(w http.ResponseWriter, r *http.Request, action string, parse func([]byte) (Batch, error)) {
	q := ogRequest{w: w, r: r, start: time.Now(), id: newRequestID()}
	key := schemeToken(r, "GenieKey")
	if key == "" {
		h.ogReject(q, "", http.StatusUnauthorized, "Could not authenticate: send the header Authorization: GenieKey <key>", nil)
		return
	}
	name, ok := tokenOwner(h.opsgenie, key)
	if !ok {
		h.ogReject(q, "", http.StatusUnauthorized, "Could not authenticate", nil)
		return
	}
	body, err := web.ReadBody(w, r, h.maxBody)
	if err != nil {
		h.ogFail(q, name, err)
		return
	}
	batch, err := parse(body)
	var malformed *MalformedEventError
	var invalid *InvalidEventError
	switch {
	case errors.As(err, &malformed):
		h.ogReject(q, name, http.StatusBadRequest, malformed.Problem, nil)
		return
	case errors.As(err, &invalid):
		h.ogReject(q, name, http.StatusUnprocessableEntity, "Request body is not processable. Please check the errors.", invalid.Problems)
		return
	case err != nil:
		h.ogFail(q, name, err)
		return
	}
	res, err := h.ing.Ingest(r.Context(), name, batch.Alerts)
	if err != nil {
		h.ogFail(q, name, err)
		return
	}
	h.log.DebugContext(r.Context(), "opsgenie request accepted", "integration", name, "format", FormatOpsgenie,
		"action", action, "request_id", q.id, "created", res.Created, "reopened", res.Reopened,
		"updated", res.Updated, "unchanged", res.Unchanged, "ignored", res.Ignored)
	q.reply(http.StatusAccepted, ogReply{Result: "Request will be processed"})
}

// ogReject answers a refused request. Problems, each "field: reason", are
// listed by field as Opsgenie's 422 does.
func (h *Handler) ogReject(q ogRequest, integration string, status int, message string, problems []string) {
	reason := message
	var byField map[string]string
	if len(problems) > 0 {
		reason = strings.Join(problems, "; ")
		byField = make(map[string]string, len(problems))
		for _, p := range problems {
			field, why, ok := strings.Cut(p, ": ")
			if !ok {
				field, why = "body", p
			}
			if prev, dup := byField[field]; dup {
				why = prev + "; " + why
			}
			byField[field] = why
		}
	}
	h.rejected(q.r, integration, status, reason)
	if status == http.StatusUnauthorized {
		q.w.Header().Set("WWW-Authenticate", `GenieKey realm="klaxon"`)
	}
	q.reply(status, ogReply{Message: message, Errors: byField})
}

// ogFail answers with err's status in Opsgenie's shape. Internal errors are
// logged and answered with a generic message.
func (h *Handler) ogFail(q ogRequest, integration string, err error) {
	code := escalation.ErrorCode(err)
	if code == escalation.CodeInternal {
		h.log.ErrorContext(q.r.Context(), "ingest failed", "integration", integration, "request_id", q.id, "err", err)
		q.reply(http.StatusInternalServerError, ogReply{Message: "internal error"})
		return
	}
	web.SetRetryAfter(q.w, err)
	h.ogReject(q, integration, web.Status(code), escalation.ErrorMessage(err), nil)
}

// newRequestID returns a random UUID (version 4), the form of Opsgenie's
// request ids.
func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (it crashes instead)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

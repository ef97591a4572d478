package twilio

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/klaxonhq/klaxon/bot"
	"github.com/klaxonhq/klaxon/escalation"
	"github.com/klaxonhq/klaxon/internal/web"
)

// maxWebhookBody bounds an inbound webhook; real ones are under 2 KiB.
const maxWebhookBody = 64 << 10

// Replies people see or hear.
const (
	unknownNumberReply = "This number is not known to Klaxon. Ask your Klaxon admin to add it to your profile."
	smsInternalReply   = "Something went wrong; your reply was not recorded. Try again or use the API."
	voiceInternalReply = "Something went wrong; your answer was not recorded. Please reply by SMS or use the API."
	unknownPageReply   = "Sorry, Klaxon could not find this page. Please reply by SMS or use the API."
	repromptLead       = "Sorry, that is not an option."
	resolveNote        = "resolved by phone keypress"
)

// Engine is the consumer-side view of the core the webhooks need.
type Engine interface {
	bot.Engine
	Page(ctx context.Context, id int64) (*escalation.Page, error)
	PageReport(ctx context.Context, pageID int64, delivered bool, detail string) error
}

// Webhooks answers Twilio's inbound SMS and Gather callbacks. Every request
// must carry a valid X-Twilio-Signature for the public URL.
type Webhooks struct {
	authToken string
	publicURL string
	eng       Engine
	people    *escalation.Catalog
	log       *slog.Logger
}

// NewWebhooks builds the handlers. publicURL is the base URL Twilio calls
// (the one configured on the number and used in Gather actions); a nil log
// discards.
func NewWebhooks(authToken, publicURL string, eng Engine, people *escalation.Catalog, log *slog.Logger) *Webhooks {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if authToken == "" {
		log.Warn("twilio webhooks have no auth token; every request will be rejected")
	}
	return &Webhooks{
		authToken: authToken,
		publicURL: strings.TrimRight(publicURL, "/"),
		eng:       eng,
		people:    people,
		log:       log,
	}
}

// Register adds POST /twilio/sms and POST /twilio/voice/gather to mux.
func (h *Webhooks) Register(mux *http.ServeMux) {
	mux.HandleFunc("POST /twilio/sms", h.handleSMS)
	mux.HandleFunc("POST "+gatherPath, h.handleGather)
	mux.HandleFunc("POST "+statusPath, h.handleStatus)
}

// handleStatus takes Twilio's delivery reports (StatusCallback) for SMS
// and calls: delivered, or failed after Twilio accepted the page.
func (h *Webhooks) handleStatus(w http.ResponseWriter, r *http.Request) {
	form, ok := h.verify(w, r)
	if !ok {
		return
	}
	id, err := strconv.ParseInt(r.URL.Query().Get("page"), 10, 64)
	if err != nil || id <= 0 {
		http.Error(w, "status callback without a page", http.StatusBadRequest)
		return
	}
	delivered, detail, final := reportOf(form)
	if !final {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if err := h.eng.PageReport(r.Context(), id, delivered, detail); err != nil {
		status := web.Status(escalation.ErrorCode(err))
		if status == http.StatusInternalServerError {
			h.log.ErrorContext(r.Context(), "twilio status callback", "page_id", id, "err", err)
		}
		http.Error(w, http.StatusText(status), status)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// reportOf reads a status callback: whether the page reached the person,
// a line for the timeline, and whether the status is final.
func reportOf(form url.Values) (delivered bool, detail string, final bool) {
	if st := form.Get("MessageStatus"); st != "" {
		switch st {
		case "delivered", "read":
			return true, "twilio: SMS " + st, true
		case "undelivered", "failed":
			detail = "twilio: SMS " + st
			if code := form.Get("ErrorCode"); code != "" {
				detail += " (error " + code + ")"
			}
			return false, detail, true
		}
		return false, "", false
	}
	switch st := form.Get("CallStatus"); st {
	case "completed":
		return true, "twilio: call answered", true
	case "busy", "no-answer", "failed", "canceled":
		return false, "twilio: call " + st, true
	}
	return false, "", false
}

// verify reads and authenticates a webhook and returns its POST params. On
// failure it has already answered, and nothing may be executed.
func (h *Webhooks) verify(w http.ResponseWriter, r *http.Request) (url.Values, bool) {
	sig := r.Header.Get("X-Twilio-Signature")
	if sig == "" {
		h.reject(w, r, "missing signature")
		return nil, false
	}
	body, err := web.ReadBody(w, r, maxWebhookBody)
	if err != nil {
		status := web.Status(escalation.ErrorCode(err))
		h.log.WarnContext(r.Context(), "twilio webhook unreadable", "path", r.URL.Path, "status", status, "err", err)
		http.Error(w, http.StatusText(status), status)
		return nil, false
	}
	// The signature is over the parsed params, so the raw body is parsed
	// here rather than by r.ParseForm, which would mix in the query.
	form, err := url.ParseQuery(string(body))
	if err != nil {
		h.reject(w, r, "unparsable form")
		return nil, false
	}
	if !ValidSignature(h.authToken, h.publicURL+r.URL.RequestURI(), form, sig) {
		h.reject(w, r, "bad signature")
		return nil, false
	}
	return form, true
}

func (h *Webhooks) reject(w http.ResponseWriter, r *http.Request, reason string) {
	h.log.WarnContext(r.Context(), "twilio webhook rejected", "path", r.URL.Path, "reason", reason,
		"remote_addr", r.RemoteAddr)
	http.Error(w, "forbidden", http.StatusForbidden)
}

func writeTwiML(w http.ResponseWriter, doc string) {
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, doc)
}

// handleSMS runs an SMS reply as a bot command from the person whose phone
// sent it, and answers with the outcome as an SMS.
func (h *Webhooks) handleSMS(w http.ResponseWriter, r *http.Request) {
	form, ok := h.verify(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	msgSID := form.Get("MessageSid")
	person := h.personByPhone(form.Get("From"))
	if person == nil {
		h.log.InfoContext(ctx, "sms from unknown number", "message_sid", msgSID, "from_suffix", lastDigits(form.Get("From")))
		writeTwiML(w, messageTwiML(unknownNumberReply))
		return
	}
	writeTwiML(w, messageTwiML(h.runSMS(ctx, person, form.Get("Body"), msgSID)))
}

func (h *Webhooks) personByPhone(phone string) *escalation.Person {
	if h.people == nil || phone == "" {
		return nil
	}
	p, ok := h.people.PersonByPhone(phone)
	if !ok {
		return nil
	}
	return p
}

// runSMS parses and executes one SMS command and returns the reply text.
func (h *Webhooks) runSMS(ctx context.Context, person *escalation.Person, text, msgSID string) string {
	cmd, err := bot.Parse(text)
	if err != nil {
		h.log.InfoContext(ctx, "sms command not understood", "person", person.Name, "message_sid", msgSID)
		return err.Error()
	}
	actor := escalation.Actor{Name: person.Name, Via: escalation.ViaSMS}
	reply, err := bot.Execute(ctx, h.eng, actor, cmd)
	attrs := []any{"person", person.Name, "verb", cmd.Verb, "incident_id", cmd.IncidentID, "all", cmd.All, "message_sid", msgSID}
	if err != nil {
		if escalation.ErrorCode(err) == escalation.CodeInternal {
			h.log.ErrorContext(ctx, "sms command failed", append(attrs, "err", err)...)
			return smsInternalReply
		}
		h.log.InfoContext(ctx, "sms command refused", append(attrs, "reason", escalation.ErrorMessage(err))...)
		return escalation.ErrorMessage(err)
	}
	h.log.InfoContext(ctx, "sms command executed", attrs...)
	return reply
}

// handleGather acts on the key pressed during a voice page: 1 acknowledges,
// 2 resolves, anything else asks again.
func (h *Webhooks) handleGather(w http.ResponseWriter, r *http.Request) {
	form, ok := h.verify(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	// The page ID comes from the query, which the signature covers.
	pageID, err := strconv.ParseInt(r.URL.Query().Get("page"), 10, 64)
	if err != nil || pageID <= 0 {
		h.log.WarnContext(ctx, "voice keypress for malformed page id", "call_sid", form.Get("CallSid"))
		writeTwiML(w, sayHangupTwiML(unknownPageReply))
		return
	}
	page, err := h.eng.Page(ctx, pageID)
	if err != nil {
		if escalation.ErrorCode(err) == escalation.CodeNotFound {
			h.log.WarnContext(ctx, "voice keypress for unknown page", "page_id", pageID, "call_sid", form.Get("CallSid"))
			writeTwiML(w, sayHangupTwiML(unknownPageReply))
			return
		}
		h.log.ErrorContext(ctx, "voice keypress: loading page", "page_id", pageID, "err", err)
		writeTwiML(w, sayHangupTwiML(voiceInternalReply))
		return
	}

	actor := escalation.Actor{Name: page.Person, Via: escalation.ViaVoice}
	digits := form.Get("Digits")
	var (
		inc  *escalation.Incident
		verb string
	)
	switch digits {
	case "1":
		verb = "acknowledged"
		inc, err = h.eng.Acknowledge(ctx, page.IncidentID, actor)
	case "2":
		verb = "resolved"
		inc, err = h.eng.Resolve(ctx, page.IncidentID, actor, resolveNote)
	default:
		h.log.InfoContext(ctx, "voice keypress not an option", "person", page.Person, "page_id", page.ID,
			"incident_id", page.IncidentID, "digits", digits)
		writeTwiML(w, xmlHeader+gatherTwiML(gatherURL(h.publicURL, page.ID), page.Text, repromptLead))
		return
	}
	attrs := []any{"person", page.Person, "page_id", page.ID, "incident_id", page.IncidentID, "action", verb}
	if err != nil {
		if escalation.ErrorCode(err) == escalation.CodeInternal {
			h.log.ErrorContext(ctx, "voice keypress failed", append(attrs, "err", err)...)
			writeTwiML(w, sayHangupTwiML(voiceInternalReply))
			return
		}
		h.log.InfoContext(ctx, "voice keypress refused", append(attrs, "reason", escalation.ErrorMessage(err))...)
		writeTwiML(w, sayHangupTwiML(escalation.ErrorMessage(err)))
		return
	}
	id := page.IncidentID
	if inc != nil {
		id = inc.ID
	}
	h.log.InfoContext(ctx, "voice keypress executed", attrs...)
	writeTwiML(w, sayHangupTwiML("Incident "+strconv.FormatInt(id, 10)+" "+verb+". Thank you."))
}

// lastDigits keeps enough of a phone number to recognise it in a log
// without recording the whole number.
func lastDigits(phone string) string {
	if len(phone) <= 4 {
		return phone
	}
	return phone[len(phone)-4:]
}

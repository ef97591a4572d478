// Package slack is Klaxon's Slack adapter: the /klaxon slash command and the
// incident message buttons (both signed with the app's signing secret and
// run through the one bot grammar), the Block Kit rendering of incidents, and
// a Web API client to post and update incident messages and send DMs.
package slack

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	slackgo "github.com/slack-go/slack"
	"github.com/slack-go/slack/slackutilsx"

	"github.com/klaxonhq/klaxon/bot"
	"github.com/klaxonhq/klaxon/escalation"
	"github.com/klaxonhq/klaxon/internal/web"
)

// Via is the Actor.Via of actions taken in Slack.
const Via = "slack"

const (
	// Slack wants an answer within 3s; the rest of the budget is the network.
	defaultBudget         = 2500 * time.Millisecond
	defaultCommandTimeout = 30 * time.Second
	followUpTimeout       = 10 * time.Second
	// A slash command is under 4 KiB; a block_actions payload carries the
	// whole message it came from.
	maxCommandBody     = 64 << 10
	maxInteractionBody = web.DefaultMaxBody
)

// Replies people see.
const (
	workingReply  = "Working on it…"
	internalReply = "Something went wrong; Klaxon has logged it. Try again, or use the API."
)

func unknownUserReply(userID string) string {
	return "You are not a Klaxon responder. Ask your Klaxon admin to add your Slack user ID (" +
		userID + ") to the config."
}

// Engine is what the handler needs from the core: the bot commands, and the
// incident itself, to re-render the message a button was clicked on
// (*escalation.Engine is one).
type Engine interface {
	bot.Engine
	Incident(ctx context.Context, id int64) (*escalation.Incident, []escalation.Event, error)
}

// People finds the Klaxon person behind a Slack user id.
type People interface {
	PersonBySlackID(userID string) (person string, ok bool)
}

// StaticPeople is a People read from config: Slack user id → person name.
type StaticPeople map[string]string

// PersonBySlackID looks the user up.
func (p StaticPeople) PersonBySlackID(userID string) (string, bool) {
	name, ok := p[userID]
	return name, ok && name != ""
}

// Options configure a Handler.
type Options struct {
	// SigningSecret is the Slack app's signing secret; without it every
	// request is refused.
	SigningSecret string
	Engine        Engine
	// People maps Slack users to Klaxon people; nil knows nobody.
	People People
	// Clock decides the signature's 5-minute window; nil is the wall clock.
	Clock escalation.Clock
	// Log defaults to discarding.
	Log *slog.Logger
	// Budget is how long a slash command may run before Slack is answered
	// "Working on it…" and the outcome is posted to response_url instead.
	// Default 2.5s.
	Budget time.Duration
	// CommandTimeout bounds a command that outlives its request. Default 30s.
	CommandTimeout time.Duration
	// HTTPClient posts to response_url. Default: a client with a 10s timeout.
	HTTPClient *http.Client
}

// Handler answers Slack's slash commands and button clicks.
type Handler struct {
	secret         string
	eng            Engine
	people         People
	clock          escalation.Clock
	log            *slog.Logger
	budget         time.Duration
	commandTimeout time.Duration
	http           *http.Client
	// pending counts commands and follow-ups still running after their
	// request was answered.
	pending sync.WaitGroup
}

// NewHandler builds a Handler, filling in defaults. Engine is required.
func NewHandler(o Options) *Handler {
	if o.Engine == nil {
		panic("slack: Options.Engine is nil")
	}
	h := &Handler{
		secret:         o.SigningSecret,
		eng:            o.Engine,
		people:         o.People,
		clock:          o.Clock,
		log:            o.Log,
		budget:         o.Budget,
		commandTimeout: o.CommandTimeout,
		http:           o.HTTPClient,
	}
	if h.people == nil {
		h.people = StaticPeople(nil)
	}
	if h.clock == nil {
		h.clock = escalation.SystemClock{}
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if h.budget <= 0 {
		h.budget = defaultBudget
	}
	if h.commandTimeout <= 0 {
		h.commandTimeout = defaultCommandTimeout
	}
	if h.http == nil {
		h.http = &http.Client{Timeout: followUpTimeout}
	}
	if h.secret == "" {
		h.log.Warn("slack handler has no signing secret; every request will be rejected")
	}
	return h
}

// Register adds POST /slack/commands (the slash command's Request URL) and
// POST /slack/interactions (the app's Interactivity Request URL) to mux.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.Handle("POST /slack/commands", web.Recover(h.log, http.HandlerFunc(h.handleCommand)))
	mux.Handle("POST /slack/interactions", web.Recover(h.log, http.HandlerFunc(h.handleInteraction)))
}

// Wait blocks until commands and response_url follow-ups that outlived
// their requests are done; call it once the HTTP server has shut down and
// RunSocketMode has returned.
func (h *Handler) Wait() { h.pending.Wait() }

// message is Slack's reply shape, both as the HTTP answer to a slash
// command and as a POST to response_url.
type message struct {
	ResponseType string `json:"response_type,omitempty"`
	// ReplaceOriginal is set on replies to button clicks: true swaps the
	// incident message for its new rendering, false adds a reply beside it.
	ReplaceOriginal *bool           `json:"replace_original,omitempty"`
	Text            string          `json:"text"`
	Blocks          []slackgo.Block `json:"blocks,omitempty"`
}

// ephemeral is a reply only its asker sees. Replies echo titles from
// monitors and what people typed, so they are escaped: "<!channel>" in an
// alert title must not notify a whole channel.
func ephemeral(text string) *message {
	return &message{ResponseType: slackgo.ResponseTypeEphemeral, Text: slackutilsx.EscapeMessage(text)}
}

// request is one command from Slack, whichever way it arrived.
type request struct {
	source      string // "slash_command" or "button", for logs
	userID      string
	text        string
	responseURL string
	// button: every reply goes to responseURL, and the incident it names
	// is re-rendered in place of the message the button was on.
	button     bool
	incidentID int64
}

// verified reads and authenticates a request. On failure it has answered,
// and nothing may be executed.
func (h *Handler) verified(w http.ResponseWriter, r *http.Request, limit int64) (url.Values, bool) {
	body, err := web.ReadBody(w, r, limit)
	if err != nil {
		status := web.Status(escalation.ErrorCode(err))
		h.log.WarnContext(r.Context(), "slack request unreadable", "path", r.URL.Path, "status", status, "err", err)
		http.Error(w, escalation.ErrorMessage(err), status)
		return nil, false
	}
	if err := Verify(h.secret, r.Header, body, h.clock.Now()); err != nil {
		h.log.WarnContext(r.Context(), "slack request rejected", "path", r.URL.Path, "reason", err.Error(),
			"remote_addr", r.RemoteAddr)
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return nil, false
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		h.badRequest(w, r, "request body is not a valid form")
		return nil, false
	}
	return form, true
}

func (h *Handler) badRequest(w http.ResponseWriter, r *http.Request, msg string) {
	h.log.WarnContext(r.Context(), "slack request refused", "path", r.URL.Path, "reason", msg)
	http.Error(w, msg, http.StatusBadRequest)
}

// handleCommand answers the slash command: "/klaxon ack 42".
func (h *Handler) handleCommand(w http.ResponseWriter, r *http.Request) {
	form, ok := h.verified(w, r, maxCommandBody)
	if !ok {
		return
	}
	req := request{
		source:      "slash_command",
		userID:      form.Get("user_id"),
		text:        form.Get("text"),
		responseURL: form.Get("response_url"),
	}
	if req.userID == "" {
		h.badRequest(w, r, "slash command has no user_id")
		return
	}
	web.JSON(w, http.StatusOK, h.handle(r.Context(), req))
}

// handleInteraction answers a button click on an incident message. Slack
// ignores the body of this answer, so it is an empty 200 and the outcome
// goes to the payload's response_url.
func (h *Handler) handleInteraction(w http.ResponseWriter, r *http.Request) {
	form, ok := h.verified(w, r, maxInteractionBody)
	if !ok {
		return
	}
	raw := form.Get("payload")
	if raw == "" {
		h.badRequest(w, r, "interaction has no payload")
		return
	}
	var cb slackgo.InteractionCallback
	if err := json.Unmarshal([]byte(raw), &cb); err != nil {
		h.badRequest(w, r, "interaction payload is not valid JSON")
		return
	}
	req, reason, err := buttonRequest(cb)
	if err != nil {
		h.badRequest(w, r, err.Error())
		return
	}
	if reason != "" {
		h.log.InfoContext(r.Context(), "slack interaction ignored", "reason", reason, "slack_user_id", cb.User.ID)
		w.WriteHeader(http.StatusOK)
		return
	}
	h.handle(r.Context(), req)
	w.WriteHeader(http.StatusOK)
}

// buttonRequest turns a block_actions payload into a command. A payload
// that is not a click on one of Klaxon's buttons (another interaction type,
// another app feature's action) is ignored, with the reason; one that looks
// like Klaxon's but is malformed is an error.
func buttonRequest(cb slackgo.InteractionCallback) (req request, ignored string, err error) {
	if cb.Type != slackgo.InteractionTypeBlockActions {
		return request{}, fmt.Sprintf("interaction type %q", cb.Type), nil
	}
	actions := cb.ActionCallback.BlockActions
	if len(actions) == 0 {
		return request{}, "", fmt.Errorf("block_actions payload has no actions")
	}
	// A click is one action; Slack never batches them.
	act := actions[0]
	switch act.ActionID {
	case ActionAck, ActionResolve, ActionEscalate:
	default:
		return request{}, fmt.Sprintf("action %q is not Klaxon's", act.ActionID), nil
	}
	if cb.User.ID == "" {
		return request{}, "", fmt.Errorf("block_actions payload has no user")
	}
	// The value is checked here rather than left to the grammar: a value
	// of "all" would otherwise make an Ack button mean "ack all".
	id, err := strconv.ParseInt(act.Value, 10, 64)
	if err != nil || id <= 0 {
		return request{}, "", fmt.Errorf("%s button value %q is not an incident id", act.ActionID, act.Value)
	}
	return request{
		source:      "button",
		userID:      cb.User.ID,
		text:        act.ActionID + " " + strconv.FormatInt(id, 10),
		responseURL: cb.ResponseURL,
		button:      true,
		incidentID:  id,
	}, "", nil
}

// unescape undoes the three escapes Slack applies to message text
// in one pass, so that "&amp;lt;" becomes "&lt;", as typed.
func unescape(text string) string {
	return strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&").Replace(text)
}

// handle runs one command and returns the slash command's immediate answer.
// Replies to button clicks, and outcomes that take longer than the budget,
// are posted to the request's response_url in the background.
func (h *Handler) handle(ctx context.Context, req request) *message {
	attrs := []any{"source", req.source, "slack_user_id", req.userID}
	person, ok := h.people.PersonBySlackID(req.userID)
	if !ok {
		h.log.InfoContext(ctx, "slack command from unknown user", attrs...)
		return h.reply(ctx, req, ephemeral(unknownUserReply(req.userID)), attrs)
	}
	attrs = append(attrs, "person", person)
	// "reassign 42 <@U024BE7LH>" names a Slack user; the grammar wants @alice.
	// Slack sends what the person typed with &, < and > escaped; a note or
	// a public update must read as typed, not as "Payments &amp; checkout".
	cmd, err := bot.Parse(unescape(bot.ResolveMentions(req.text, h.people.PersonBySlackID)))
	if err != nil {
		h.log.InfoContext(ctx, "slack command not understood", attrs...)
		return h.reply(ctx, req, ephemeral(err.Error()), attrs)
	}
	// Clipped: the goroutines below each append their own attributes.
	attrs = slices.Clip(append(attrs, "verb", cmd.Verb, "incident_id", cmd.IncidentID, "all", cmd.All))
	done := h.start(ctx, escalation.Actor{Name: person, Via: Via}, cmd, attrs)

	if req.button {
		h.later(ctx, attrs, func(ctx context.Context) {
			h.postResponse(ctx, req.responseURL, h.buttonMessage(ctx, req.incidentID, <-done, attrs), attrs)
		})
		return nil
	}
	timer := time.NewTimer(h.budget)
	defer timer.Stop()
	select {
	case out := <-done:
		return out.slashMessage(cmd)
	case <-timer.C:
		h.log.InfoContext(ctx, "slack command outlived its budget; answering by response_url", attrs...)
		h.later(ctx, attrs, func(ctx context.Context) {
			h.postResponse(ctx, req.responseURL, (<-done).slashMessage(cmd), attrs)
		})
		return ephemeral(workingReply)
	}
}

// reply answers a request that ran nothing: in the HTTP answer for a slash
// command, by response_url for a button.
func (h *Handler) reply(ctx context.Context, req request, msg *message, attrs []any) *message {
	if !req.button {
		return msg
	}
	msg.ReplaceOriginal = new(false)
	h.later(ctx, attrs, func(ctx context.Context) { h.postResponse(ctx, req.responseURL, msg, attrs) })
	return nil
}

// outcome is what running a command came to.
type outcome struct {
	text string
	// changed: the command succeeded and may have changed incidents.
	changed bool
}

// slashMessage shows a change to the whole channel, so the team sees who
// took the incident; questions, help and refusals stay with the person who
// asked.
func (o outcome) slashMessage(cmd bot.Command) *message {
	msg := ephemeral(o.text)
	if o.changed && !cmd.Question() {
		msg.ResponseType = slackgo.ResponseTypeInChannel
	}
	return msg
}

// buttonMessage re-renders the incident in place when the click changed it,
// read back from the engine so that it shows whatever the verb did. If the
// click was refused, or the incident cannot be read, the person gets the
// reply as text beside the message.
func (h *Handler) buttonMessage(ctx context.Context, id int64, o outcome, attrs []any) *message {
	if o.changed {
		inc, err := h.readIncident(ctx, id)
		if err == nil {
			return &message{ReplaceOriginal: new(true), Text: IncidentText(inc), Blocks: IncidentBlocks(inc)}
		}
		h.log.ErrorContext(ctx, "slack: reading the incident to re-render it", append(attrs, "err", err)...)
	}
	msg := ephemeral(o.text)
	msg.ReplaceOriginal = new(false)
	return msg
}

func (h *Handler) readIncident(ctx context.Context, id int64) (inc *escalation.Incident, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("panic: %v", v)
		}
	}()
	ctx, cancel := context.WithTimeout(ctx, h.commandTimeout)
	defer cancel()
	inc, _, err = h.eng.Incident(ctx, id)
	if err == nil && inc == nil {
		err = fmt.Errorf("incident #%d: engine returned none", id)
	}
	return inc, err
}

// start runs the command in the background, detached from the request so a
// slow engine call still completes after Slack has been answered. The
// outcome arrives on the channel exactly once, even if the command panics.
func (h *Handler) start(ctx context.Context, actor escalation.Actor, cmd bot.Command, attrs []any) <-chan outcome {
	done := make(chan outcome, 1)
	h.pending.Add(1)
	go func() {
		defer h.pending.Done()
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), h.commandTimeout)
		defer cancel()
		done <- h.execute(ctx, actor, cmd, attrs)
	}()
	return done
}

func (h *Handler) execute(ctx context.Context, actor escalation.Actor, cmd bot.Command, attrs []any) (out outcome) {
	defer func() {
		if v := recover(); v != nil {
			h.log.ErrorContext(ctx, "panic in slack command", append(attrs, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))...)
			out = outcome{text: internalReply}
		}
	}()
	text, err := bot.Execute(ctx, h.eng, actor, cmd)
	if err != nil {
		if escalation.ErrorCode(err) == escalation.CodeInternal {
			h.log.ErrorContext(ctx, "slack command failed", append(attrs, "err", err)...)
			return outcome{text: internalReply}
		}
		h.log.InfoContext(ctx, "slack command refused", append(attrs, "reason", escalation.ErrorMessage(err))...)
		return outcome{text: escalation.ErrorMessage(err)}
	}
	h.log.InfoContext(ctx, "slack command executed", attrs...)
	return outcome{text: text, changed: true}
}

// later runs fn in the background, detached from the request, with panics
// contained: the process outlives any one reply.
func (h *Handler) later(ctx context.Context, attrs []any, fn func(ctx context.Context)) {
	h.pending.Add(1)
	go func() {
		defer h.pending.Done()
		defer func() {
			if v := recover(); v != nil {
				h.log.ErrorContext(ctx, "panic in slack follow-up", append(attrs, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))...)
			}
		}()
		fn(context.WithoutCancel(ctx))
	}()
}

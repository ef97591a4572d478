package discord

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/klaxonhq/klaxon/bot"
	"github.com/klaxonhq/klaxon/escalation"
	"github.com/klaxonhq/klaxon/internal/web"
)

// InteractionsPath is the endpoint to enter as the application's
// Interactions Endpoint URL (under Klaxon's public URL).
const InteractionsPath = "/discord/interactions"

// Via is the Actor.Via of actions taken from Discord.
const Via = "discord"

const (
	// DefaultBudget is how long an interaction may run before Klaxon defers
	// its answer: Discord gives up on an endpoint after 3 seconds.
	DefaultBudget = 2500 * time.Millisecond
	// followupWindow bounds a deferred command and the delivery of its
	// result; Discord keeps an interaction's token for 15 minutes.
	followupWindow = 14 * time.Minute
	// maxInteractionBody bounds a request; a button's interaction carries
	// the whole message it sits on, embeds included.
	maxInteractionBody = 256 << 10
	// maxContent is Discord's limit on a message's text.
	maxContent  = 2000
	commandName = "klaxon"
)

// Replies people see.
const (
	internalReply = "Something went wrong; Klaxon logged the error. Check the incident before trying again."
	unknownButton = "Klaxon does not know this button."
)

func notResponderReply(userID string) string {
	return "You are not a Klaxon responder. Ask your Klaxon admin to add your Discord user id " + userID + " to your Klaxon profile."
}

// Engine is the consumer-side view of the core the interactions need: the
// bot commands, and the incident a button acted on, to re-render it.
type Engine interface {
	bot.Engine
	Incident(ctx context.Context, id int64) (*escalation.Incident, []escalation.Event, error)
}

// People tells who a Discord user is in Klaxon.
type People interface {
	// PersonByDiscordID returns the name of the person with that Discord
	// user ID (a snowflake, as a string).
	PersonByDiscordID(userID string) (name string, ok bool)
}

// PeopleFunc adapts a function to People.
type PeopleFunc func(userID string) (name string, ok bool)

// PersonByDiscordID calls f.
func (f PeopleFunc) PersonByDiscordID(userID string) (string, bool) { return f(userID) }

// Followups delivers the answers that missed Discord's 3-second window.
// *Client implements it.
type Followups interface {
	// EditResponse replaces the original response: the deferred reply of a
	// command, or the message whose button was pressed.
	EditResponse(ctx context.Context, appID, token string, edit *discordgo.WebhookEdit) error
	// FollowUp sends a message only the person who acted sees.
	FollowUp(ctx context.Context, appID, token, text string) error
}

// HandlerOptions configure a Handler. All but Log and Budget are required.
type HandlerOptions struct {
	// PublicKey is the application's key, from the developer portal
	// (ParsePublicKey reads its hex form).
	PublicKey ed25519.PublicKey
	// AppID is the application ID, for delivering deferred answers.
	AppID     string
	Engine    Engine
	People    People
	Followups Followups
	// Log defaults to discarding.
	Log *slog.Logger
	// Budget is how long a command may run before its answer is deferred
	// (DefaultBudget when 0).
	Budget time.Duration
	// Clock decides the signature's 5-minute window; nil is the wall clock.
	Clock escalation.Clock
}

// Handler serves Discord's interactions endpoint: it answers PINGs, runs
// /klaxon commands and incident buttons as bot commands, and defers what
// takes longer than the budget.
type Handler struct {
	key       ed25519.PublicKey
	appID     string
	eng       Engine
	people    People
	followups Followups
	log       *slog.Logger
	budget    time.Duration
	clock     escalation.Clock
	// after starts the budget's timer; tests replace it to decide when the
	// budget runs out.
	after func(time.Duration) <-chan time.Time
}

// NewHandler builds the interactions handler.
func NewHandler(o HandlerOptions) (*Handler, error) {
	var problems []string
	if len(o.PublicKey) != ed25519.PublicKeySize {
		problems = append(problems, fmt.Sprintf("public key is %d bytes, want %d", len(o.PublicKey), ed25519.PublicKeySize))
	}
	if o.AppID == "" {
		problems = append(problems, "application ID is empty")
	}
	if o.Engine == nil {
		problems = append(problems, "no engine")
	}
	if o.People == nil {
		problems = append(problems, "no people directory")
	}
	if o.Followups == nil {
		problems = append(problems, "no follow-up client")
	}
	if len(problems) > 0 {
		return nil, errors.New("discord interactions: " + strings.Join(problems, "; "))
	}
	h := &Handler{
		key:       o.PublicKey,
		appID:     o.AppID,
		eng:       o.Engine,
		people:    o.People,
		followups: o.Followups,
		log:       o.Log,
		budget:    o.Budget,
		clock:     o.Clock,
		after:     time.After,
	}
	if h.clock == nil {
		h.clock = escalation.SystemClock{}
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if h.budget <= 0 {
		h.budget = DefaultBudget
	}
	return h, nil
}

// Register adds POST /discord/interactions to mux. A panic while answering
// is logged and answered with a 500; it never takes Klaxon down.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.Handle("POST "+InteractionsPath, web.Recover(h.log, http.HandlerFunc(h.serve)))
}

// interaction is the part of Discord's interaction object Klaxon reads.
type interaction struct {
	ID    string                    `json:"id"`
	AppID string                    `json:"application_id"`
	Type  discordgo.InteractionType `json:"type"`
	Token string                    `json:"token"`
	// Member is set in guilds, User in DMs.
	Member *struct {
		User *discordUser `json:"user"`
	} `json:"member"`
	User *discordUser    `json:"user"`
	Data interactionData `json:"data"`
}

type discordUser struct {
	ID string `json:"id"`
}

type interactionData struct {
	// Commands.
	Name    string          `json:"name"`
	Options []commandOption `json:"options"`
	// Components.
	CustomID      string                  `json:"custom_id"`
	ComponentType discordgo.ComponentType `json:"component_type"`
}

type commandOption struct {
	Name  string                                 `json:"name"`
	Type  discordgo.ApplicationCommandOptionType `json:"type"`
	Value json.RawMessage                        `json:"value"`
}

func (in *interaction) userID() string {
	if in.Member != nil && in.Member.User != nil && in.Member.User.ID != "" {
		return in.Member.User.ID
	}
	if in.User != nil {
		return in.User.ID
	}
	return ""
}

// response is an interaction callback. Klaxon's own type rather than
// discordgo's, whose data always carries "components" and "embeds", null or
// not: what is sent is exactly the fields set here.
type response struct {
	Type discordgo.InteractionResponseType `json:"type"`
	Data *responseData                     `json:"data,omitempty"`
}

type responseData struct {
	Content         string                        `json:"content,omitempty"`
	Embeds          []*discordgo.MessageEmbed     `json:"embeds,omitempty"`
	Components      *[]discordgo.MessageComponent `json:"components,omitempty"`
	Flags           discordgo.MessageFlags        `json:"flags,omitempty"`
	AllowedMentions *mentions                     `json:"allowed_mentions,omitempty"`
}

// mentions is allowed_mentions as Discord documents it for callbacks;
// discordgo's type adds "replied_user", which only replies use.
type mentions struct {
	Parse []string `json:"parse"`
}

// noPings is noMentions for interaction callbacks.
func noPings() *mentions { return &mentions{Parse: []string{}} }

// outcome is what a command or button came to.
type outcome struct {
	text string
	// private replies (refusals, answers to questions) are ephemeral:
	// only the person who acted sees them.
	private bool
	// incident is set when a button worked: its message is re-rendered.
	incident *escalation.Incident
}

func (o outcome) response() response {
	if o.incident != nil {
		embeds, components := IncidentMessage(o.incident)
		return response{Type: discordgo.InteractionResponseUpdateMessage, Data: &responseData{
			Embeds: embeds, Components: &components, AllowedMentions: noPings(),
		}}
	}
	d := &responseData{Content: truncate(o.text, maxContent), AllowedMentions: noPings()}
	if o.private {
		d.Flags = discordgo.MessageFlagsEphemeral
	}
	return response{Type: discordgo.InteractionResponseChannelMessageWithSource, Data: d}
}

func (h *Handler) serve(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	body, err := web.ReadBody(w, r, maxInteractionBody)
	if err != nil {
		status := web.Status(escalation.ErrorCode(err))
		h.log.WarnContext(ctx, "discord interaction unreadable", "status", status, "err", err, "remote_addr", r.RemoteAddr)
		http.Error(w, escalation.ErrorMessage(err), status)
		return
	}
	if err := Verify(h.key, r.Header, body, h.clock.Now()); err != nil {
		// Discord sends bad signatures on purpose and delists endpoints
		// that accept them: 401, and nothing is executed.
		h.log.WarnContext(ctx, "discord interaction rejected", "reason", err, "remote_addr", r.RemoteAddr)
		http.Error(w, "invalid request signature", http.StatusUnauthorized)
		return
	}
	var in interaction
	if err := json.Unmarshal(body, &in); err != nil {
		h.log.WarnContext(ctx, "discord interaction malformed", "err", err)
		http.Error(w, "malformed interaction", http.StatusBadRequest)
		return
	}
	switch in.Type {
	case discordgo.InteractionPing:
		web.JSON(w, http.StatusOK, response{Type: discordgo.InteractionResponsePong})
	case discordgo.InteractionApplicationCommand:
		h.command(ctx, &in, httpResponder{w})
	case discordgo.InteractionMessageComponent:
		h.button(ctx, &in, httpResponder{w})
	default:
		h.log.WarnContext(ctx, "discord interaction of unsupported type", "interaction_id", in.ID, "type", int(in.Type))
		http.Error(w, fmt.Sprintf("unsupported interaction type %d", in.Type), http.StatusBadRequest)
	}
}

// responder sends an interaction's initial response: the HTTP endpoint
// writes it as its answer, the Gateway posts it to the interaction's
// callback.
type responder interface {
	respond(ctx context.Context, r response)
	// refuse turns away an interaction Klaxon cannot act on at all.
	refuse(ctx context.Context, status int, reason string)
}

type httpResponder struct{ w http.ResponseWriter }

func (h httpResponder) respond(_ context.Context, r response) {
	web.JSON(h.w, http.StatusOK, r)
	// A deferred answer must reach Discord before the edit that follows it.
	_ = http.NewResponseController(h.w).Flush()
}

func (h httpResponder) refuse(_ context.Context, status int, reason string) {
	http.Error(h.w, reason, status)
}

// command runs /klaxon: its one option is the command line.
func (h *Handler) command(ctx context.Context, in *interaction, rs responder) {
	if in.Data.Name != commandName {
		h.log.InfoContext(ctx, "discord command unknown", "interaction_id", in.ID, "command", in.Data.Name)
		rs.respond(ctx, outcome{text: fmt.Sprintf("Klaxon answers /%s only, not /%s.", commandName, in.Data.Name), private: true}.response())
		return
	}
	var line string
	for _, opt := range in.Data.Options {
		if opt.Name == CommandOption && opt.Type == discordgo.ApplicationCommandOptionString {
			// A value that is not a string leaves the line empty, and
			// bot.Parse explains what to type.
			_ = json.Unmarshal(opt.Value, &line)
		}
	}
	h.run(ctx, in, line, false, rs)
}

// button runs an incident button: custom_id "ack:42" is the command "ack 42".
func (h *Handler) button(ctx context.Context, in *interaction, rs responder) {
	verb, id, ok := strings.Cut(in.Data.CustomID, ":")
	n, err := strconv.ParseInt(id, 10, 64)
	known := verb == buttonAck || verb == buttonResolve || verb == buttonEscalate
	if in.Data.ComponentType != discordgo.ButtonComponent || !ok || !known || err != nil || n <= 0 {
		h.log.WarnContext(ctx, "discord button unknown", "interaction_id", in.ID, "custom_id", in.Data.CustomID)
		rs.respond(ctx, outcome{text: unknownButton, private: true}.response())
		return
	}
	h.run(ctx, in, verb+" "+strconv.FormatInt(n, 10), true, rs)
}

// run parses and executes a command line for the Discord user who sent it,
// answering within the budget or deferring the answer.
func (h *Handler) run(ctx context.Context, in *interaction, line string, isButton bool, rs responder) {
	userID := in.userID()
	if userID == "" {
		h.log.WarnContext(ctx, "discord interaction has no user", "interaction_id", in.ID)
		rs.refuse(ctx, http.StatusBadRequest, "interaction has no user")
		return
	}
	person, ok := h.people.PersonByDiscordID(userID)
	if !ok {
		h.log.InfoContext(ctx, "discord user is not a responder", "interaction_id", in.ID, "discord_user_id", userID)
		rs.respond(ctx, outcome{text: notResponderReply(userID), private: true}.response())
		return
	}
	// A mention typed in the command ("reassign 42 @bob") arrives as
	// <@snowflake>; the grammar knows Klaxon's names.
	line = bot.ResolveMentions(line, h.people.PersonByDiscordID)
	cmd, err := bot.Parse(line)
	if err != nil {
		h.log.InfoContext(ctx, "discord command not understood", "interaction_id", in.ID, "person", person)
		rs.respond(ctx, outcome{text: err.Error(), private: true}.response())
		return
	}

	// The command outlives the interaction's delivery when it is deferred.
	workCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), followupWindow)
	done := make(chan outcome, 1)
	go func() { done <- h.execute(workCtx, in, person, cmd, isButton) }()
	select {
	case o := <-done:
		cancel()
		rs.respond(ctx, o.response())
	case <-h.after(h.budget):
		deferred := response{Type: discordgo.InteractionResponseDeferredMessageUpdate}
		if !isButton {
			// The deferred answer's visibility is fixed now, before the
			// outcome is known: private, so an error never lands in the
			// channel.
			deferred = response{Type: discordgo.InteractionResponseDeferredChannelMessageWithSource,
				Data: &responseData{Flags: discordgo.MessageFlagsEphemeral}}
		}
		// Discord has the deferral before the edit arrives: respond returns
		// once it is sent.
		rs.respond(ctx, deferred)
		h.log.InfoContext(ctx, "discord command deferred", "interaction_id", in.ID, "person", person, "budget", h.budget)
		go h.deliverLate(workCtx, cancel, in, isButton, done)
	}
}

// execute runs a parsed command as person. It never panics: it runs outside
// the request's goroutine, where nothing else would recover.
func (h *Handler) execute(ctx context.Context, in *interaction, person string, cmd bot.Command, isButton bool) (o outcome) {
	attrs := []any{"interaction_id", in.ID, "person", person, "verb", cmd.Verb, "incident_id", cmd.IncidentID, "all", cmd.All}
	defer func() {
		if v := recover(); v != nil {
			h.log.ErrorContext(ctx, "panic in discord command", append(attrs, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))...)
			o = outcome{text: internalReply, private: true}
		}
	}()
	actor := escalation.Actor{Name: person, Via: Via}
	text, err := bot.Execute(ctx, h.eng, actor, cmd)
	if err != nil {
		if escalation.ErrorCode(err) == escalation.CodeInternal {
			h.log.ErrorContext(ctx, "discord command failed", append(attrs, "err", err)...)
			return outcome{text: internalReply, private: true}
		}
		h.log.InfoContext(ctx, "discord command refused", append(attrs, "reason", escalation.ErrorMessage(err))...)
		return outcome{text: escalation.ErrorMessage(err), private: true}
	}
	h.log.InfoContext(ctx, "discord command executed", attrs...)
	if !isButton || cmd.IncidentID == 0 {
		// A change shows to the channel, so the team sees who took the
		// incident; a question's answer stays with the person who asked.
		return outcome{text: text, private: cmd.Question()}
	}
	inc, _, err := h.eng.Incident(ctx, cmd.IncidentID)
	if err != nil {
		// The action happened; only the message cannot be redrawn.
		h.log.WarnContext(ctx, "discord button: re-reading the incident failed", append(attrs, "err", err)...)
		return outcome{text: text, private: true}
	}
	return outcome{incident: inc}
}

// deliverLate waits for a deferred command and delivers its outcome: a
// command's by editing the deferred reply; a button's by redrawing the
// incident's message, or, when there is nothing to redraw, by a message only
// the person who pressed it sees.
func (h *Handler) deliverLate(ctx context.Context, cancel context.CancelFunc, in *interaction, isButton bool, done <-chan outcome) {
	defer cancel()
	defer func() {
		if v := recover(); v != nil {
			h.log.ErrorContext(ctx, "panic delivering a deferred discord answer", "interaction_id", in.ID,
				"panic", fmt.Sprint(v), "stack", string(debug.Stack()))
		}
	}()
	var o outcome
	select {
	case o = <-done:
	case <-ctx.Done():
		h.log.ErrorContext(ctx, "discord command outlived its interaction", "interaction_id", in.ID, "err", ctx.Err())
		return
	}
	var err error
	switch {
	case o.incident != nil:
		embeds, components := IncidentMessage(o.incident)
		err = h.followups.EditResponse(ctx, h.appID, in.Token, &discordgo.WebhookEdit{
			Embeds: &embeds, Components: &components, AllowedMentions: noMentions(),
		})
	case isButton:
		err = h.followups.FollowUp(ctx, h.appID, in.Token, truncate(o.text, maxContent))
	default:
		text := truncate(o.text, maxContent)
		err = h.followups.EditResponse(ctx, h.appID, in.Token, &discordgo.WebhookEdit{
			Content: &text, AllowedMentions: noMentions(),
		})
	}
	if err != nil {
		h.log.ErrorContext(ctx, "delivering a deferred discord answer failed", "interaction_id", in.ID, "err", err)
		return
	}
	h.log.InfoContext(ctx, "deferred discord answer delivered", "interaction_id", in.ID)
}
